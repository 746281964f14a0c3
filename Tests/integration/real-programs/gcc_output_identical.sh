#!/usr/bin/env bash
# gcc (driver, cc1, as, collect2, ld; also an -flto build through
# lto-wrapper) compiles a C file under the preload exactly as without it:
# the same diagnostics, byte-identical binaries, and the binaries behave the
# same (same output, same exit status) with and without the preload.
set -u
fail() { echo "gcc_output_identical: $*"; exit 1; }
GCC=${GCC:-gcc}
command -v "$GCC" >/dev/null || fail "gcc is not installed (CI installs it); cannot run the gcc check"
out="$BUILD/gcc_output_identical"
rm -rf "$out"; mkdir -p "$out/plain" "$out/pre"

cat >"$out/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
struct item { unsigned key; char name[24]; };
static int by_key(const void *a, const void *b) {
    unsigned x = ((const struct item *)a)->key, y = ((const struct item *)b)->key;
    return (x > y) - (x < y);
}
static unsigned unused_var_warning(void) { int unused; return 0; }
int main(int argc, char **argv) {
    (void)argv;
    size_t n = 300000;
    struct item *v = malloc(n * sizeof *v); /* big: malloc uses mmap */
    if (!v) return 2;
    unsigned s = 12345;
    for (size_t i = 0; i < n; i++) { s = s * 1103515245u + 12345u; v[i].key = s >> 8; snprintf(v[i].name, sizeof v[i].name, "n%zu", i); }
    qsort(v, n, sizeof *v, by_key);
    unsigned long sum = 0;
    for (size_t i = 0; i < n; i += 1000) sum = sum * 31 + v[i].key + strlen(v[i].name);
    char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 3;
    memset(m, 7, 1 << 20);
    if (munmap(m, 1 << 20) != 0) return 4;
    printf("argc %d first %u last %u sum %lu %s\n", argc, v[0].key, v[n - 1].key, sum, v[n / 2].name);
    free(v);
    return 17;
}
C

build() { # dir: compile in $out with outputs in dir
    local d=$1
    (cd "$out" &&
        "$GCC" -O2 -g -Wall -Wextra -o "$d/prog" prog.c 2>"$d/diag.txt" &&
        "$GCC" -O2 -flto -o "$d/prog_lto" prog.c 2>/dev/null &&
        "$GCC" -O1 -c -o "$d/prog.o" prog.c 2>/dev/null &&
        "$GCC" -E -P prog.c | sha256sum >"$d/cpp.txt" &&
        "$GCC" -O2 -S -o "$d/prog.s" prog.c 2>/dev/null)
}
timeout 60 bash -c "$(declare -f build); out='$out' GCC='$GCC'; build plain" || fail "gcc fails without the preload"
timeout 60 env LD_PRELOAD="$LIB" bash -c "$(declare -f build); out='$out' GCC='$GCC'; build pre" || fail "gcc fails under the preload"

# The compiler really ran with the window (cc1 is a grandchild of the driver).
echo 'int x;' >"$out/w.c"
LD_PRELOAD="$LIB" "$GCC" -c -o "$out/w.o" "$out/w.c" -wrapper /bin/sh,-c,'grep -q "^400000000000-410000000000 ---p" /proc/self/maps && exec "$0" "$@"' ||
    fail "the compiler's subprocesses do not hold the window under the preload"

status=0
for f in prog prog_lto prog.o prog.s cpp.txt diag.txt; do
    cmp -s "$out/plain/$f" "$out/pre/$f" || { echo "gcc_output_identical: $f differs with the preload"; status=1; }
done
grep -q "unused variable" "$out/pre/diag.txt" || { echo "gcc_output_identical: the expected warning is missing:"; cat "$out/pre/diag.txt"; status=1; }
for bin in prog prog_lto; do
    a=$(timeout 10 "$out/plain/$bin" x y 2>&1); sa=$?
    b=$(timeout 10 env LD_PRELOAD="$LIB" "$out/pre/$bin" x y 2>&1); sb=$?
    c=$(timeout 10 env LD_PRELOAD="$LIB" "$out/plain/$bin" x y 2>&1); sc=$?
    [ $sa -eq 17 ] || { echo "gcc_output_identical: $bin exits $sa (expected 17): $a"; status=1; }
    [ "$a|$sa" = "$b|$sb" ] && [ "$a|$sa" = "$c|$sc" ] || { echo "gcc_output_identical: $bin behaves differently: '$a' ($sa) / '$b' ($sb) / '$c' ($sc)"; status=1; }
done
[ $status -eq 0 ] && echo "gcc_output_identical: ok: $a (exit $sa)"
exit $status
