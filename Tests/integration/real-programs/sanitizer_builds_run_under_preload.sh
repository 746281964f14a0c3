#!/usr/bin/env bash
# Sanitizers: programs built with gcc's -fsanitize=address and
# -fsanitize=thread, run under the preload. Each holds the window, makes a
# fixed mapping round (the main thread and a second thread), checks the
# registry, and frees everything; the sanitizer still catches its bug class
# under the preload.
#  - ASan: needs ASAN_OPTIONS=verify_asan_link_order=0 when libmapwarden.so
#    comes first in LD_PRELOAD (otherwise ASan refuses to start, checked
#    here), or libasan.so preloaded before libmapwarden.so. The default
#    window works.
#  - TSan (gcc 12's runtime): it maps its shadow and PROT_NONE-protects the
#    gaps of its layout before main, including 0x340000000000-0x550000000000,
#    which holds the default window: mapwarden reports the collision and
#    exits 71 (checked). A window inside a TSan application range
#    (0x566000000000:64G, above where PIE binaries load; or low memory
#    0x1000000000:64G) works.
# A sanitizer that this toolchain cannot build or run is skipped with the
# reason (the environment, not the library).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
include=$root/Tests/integration/include
out="$BUILD/sanitizer_builds_run_under_preload"
mkdir -p "$out"
fail() { echo "sanitizer_builds_run_under_preload: $*"; exit 1; }

cat >"$out/prog.c" <<'C'
#include "common.h"
#include <pthread.h>
static char *volatile sink;
static void *thread_round(void *arg) {
    (void)arg;
    char *p = mmap(W(0x200000), 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != W(0x200000)) return (void *)1;
    p[PAGE + 1] = 2;
    return NULL;
}
static int shared_counter;
static void *racer(void *arg) { (void)arg; shared_counter++; return NULL; }
int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "overflow")) { /* ASan must still see this */
        char *h = malloc(16);
        sink = h;
        h[16 + (argc > 5)] = 1;
        free(h);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "race")) { /* TSan must still see this */
        pthread_t a, b;
        pthread_create(&a, NULL, racer, NULL); pthread_create(&b, NULL, racer, NULL);
        pthread_join(a, NULL); pthread_join(b, NULL);
        return 0;
    }
    struct mapwarden_info info;
    CHECK(mapwarden_query != NULL);
    CHECK(mapwarden_query(W(0), &info) == 0 && info.window_base == window_base());
    CHECK(registry_consistent() == 0);
    CHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 1);
    char *p = mmap(W(0x10000), 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == W(0x10000));
    memset(p, 0xAB, 3 * PAGE);
    CHECK(query_state(p + PAGE) == MAPWARDEN_MAPPED);
    CHECK(mprotect(p + PAGE, PAGE, PROT_READ) == 0);
    CHECK(registry_consistent() == 3);
    pthread_t t;
    void *r;
    CHECK(pthread_create(&t, NULL, thread_round, NULL) == 0);
    CHECK(pthread_join(t, &r) == 0 && r == NULL);
    CHECK(registry_consistent() == 4);
    CHECK((unsigned char)p[2 * PAGE + 5] == 0xAB);
    char *m = mremap(p, 3 * PAGE, 3 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, W(0x300000));
    CHECK(m == W(0x300000));
    CHECK((unsigned char)m[5] == 0xAB && query_state(p) == MAPWARDEN_FREE);
    CHECK(munmap(W(0), window_size()) == 0);
    CHECK(registry_consistent() == 0);
    CHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 1);
    puts("sanitized program: window held, fixed round done");
    return 0;
}
C

status=0
expect() { # description, expected status ("0", "nonzero" or a number), pattern ('' for none), command...
    local what=$1 want=$2 pattern=$3; shift 3
    timeout 20 "$@" >"$out/run.log" 2>&1
    local st=$? ok=1
    case $want in
        nonzero) [ $st -ne 0 ] || ok=0 ;;
        *) [ $st -eq "$want" ] || ok=0 ;;
    esac
    if [ -n "$pattern" ] && ! grep -qE "$pattern" "$out/run.log"; then ok=0; fi
    if [ $ok = 1 ]; then echo "ok: $what (exit $st)"
    else echo "FAILED: $what: exit $st, expected $want${pattern:+ and /$pattern/}"; sed 's/^/    /' "$out/run.log" | head -30; status=1; fi
}
cflags=(-std=gnu11 -O1 -g -Wall -pthread -I "$include" -I "$root/CShim/include")

# ASan
if $CC "${cflags[@]}" -fsanitize=address -o "$out/asan" "$out/prog.c" 2>"$out/asan.cc.log" &&
   "$out/asan" overflow 2>&1 | grep -q heap-buffer-overflow; then
    libasan=$($CC -print-file-name=libasan.so)
    expect "ASan, libmapwarden.so first, verify_asan_link_order=0" 0 'window held' \
        env ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD="$LIB" "$out/asan"
    expect "ASan, libasan.so preloaded first" 0 'window held' env LD_PRELOAD="$libasan:$LIB" "$out/asan"
    expect "ASan, libasan.so first, custom window" 0 'window held' \
        env MAPWARDEN_WINDOW=0x500000000000:64G LD_PRELOAD="$libasan:$LIB" "$out/asan"
    expect "ASan refuses a preload ahead of it without the option" nonzero 'does not come first' \
        env LD_PRELOAD="$LIB" "$out/asan"
    expect "ASan still catches a heap overflow under the preload" nonzero 'heap-buffer-overflow' \
        env ASAN_OPTIONS=verify_asan_link_order=0 LD_PRELOAD="$LIB" "$out/asan" overflow
else
    echo "skipped: ASan does not build or run with $CC here:"; sed 's/^/    /' "$out/asan.cc.log" | head -5
fi

# TSan
if $CC "${cflags[@]}" -fsanitize=thread -o "$out/tsan" "$out/prog.c" 2>"$out/tsan.cc.log" &&
   "$out/tsan" race 2>&1 | grep -q 'data race'; then
    expect "TSan, default window: collides with TSan's protected gap, exit 71" 71 \
        'cannot reserve the window "default" 0x400000000000.*EEXIST' env LD_PRELOAD="$LIB" "$out/tsan"
    grep -E '^mapwarden:   ' "$out/run.log" | sed 's/^/    collision: /'
    expect "TSan, window 0x566000000000:64G" 0 'window held' \
        env MAPWARDEN_WINDOW=0x566000000000:64G LD_PRELOAD="$LIB" "$out/tsan"
    expect "TSan, window 0x1000000000:64G" 0 'window held' \
        env MAPWARDEN_WINDOW=0x1000000000:64G LD_PRELOAD="$LIB" "$out/tsan"
    expect "TSan still catches a data race under the preload" nonzero 'data race' \
        env MAPWARDEN_WINDOW=0x566000000000:64G LD_PRELOAD="$LIB" "$out/tsan" race
else
    echo "skipped: TSan does not build or run with $CC here:"; sed 's/^/    /' "$out/tsan.cc.log" | head -5
fi
exit $status
