#!/usr/bin/env bash
# A program that leaks mappings until the kernel's
# vm.max_map_count refuses more (ENOMEM) is the one that most needs the
# report; at exit every new mapping mapwarden makes for the report may fail
# the same way. The report must still be written, complete (it can use
# static memory), and MAPWARDEN_LEAK_EXITCODE must still apply: today the
# output buffer's mmap fails and the report file is left empty, silently.
. "$(dirname "$0")/../include/report_test_lib.bash" lmaxmap

cat >"$tmp/prog.c" <<'C'
#include "common.h"
/* Window pages one after another, alternating protections (no merging):
 * one VMA each, until the kernel refuses. */
int main(void) {
    long n = 0;
    for (;; n++) {
        char *p = mmap(W(0x10000 + (size_t)n * PAGE), PAGE, n % 2 ? PROT_READ : PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) { CHECK(errno == ENOMEM); break; }
        if (n > 2000000) { fprintf(stderr, "no limit reached\n"); return 2; }
    }
    printf("LEAKED %ld\n", n);
    return 0;
}
C
$CC -std=gnu11 -O1 -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile"; exit 1; }

for depth in 0 32; do
    env MAPWARDEN_BACKTRACE_DEPTH=$depth MAPWARDEN_LEAK_EXITCODE=23 MAPWARDEN_REPORT="$tmp/r.txt" LD_PRELOAD="$LIB" \
        "$tmp/prog" >"$tmp/out" 2>"$tmp/err"
    status=$?
    n=$(sed -n 's/^LEAKED //p' "$tmp/out")
    if [ $status -ne 23 ] || [ -z "$n" ] || ! grep -q "^SUMMARY: mapwarden: [0-9]* bytes leaked in $n mappings" "$tmp/r.txt"; then
        echo "FAIL: depth $depth: status $status (expected 23), program leaked ${n:-?} mappings; report file has $(wc -c <"$tmp/r.txt") bytes:"
        tail -n 3 "$tmp/r.txt"; head -n 5 "$tmp/err"
        failures=$((failures + 1))
    else
        echo "ok: depth $depth: $n leaks reported"
    fi
done
exit $((failures > 0))
