#!/usr/bin/env bash
# MAPWARDEN_LOG=debug: one line for start-up and one per call that touched
# the window (with its result); nothing at the default level.
set -u
fail() { echo "log_debug_prints_window_calls: $*"; exit 1; }
cat >"$BUILD/debug_prog.c" <<'C'
#define _GNU_SOURCE
#include <sys/mman.h>
int main(void) {
    char *w = (char *)0x400000000000UL;
    char *p = mmap(w + 0x10000, 0x3000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != w + 0x10000) return 1;
    if (mprotect(w + 0x40000, 0x1000, PROT_READ) == 0) return 2; /* free: ENOMEM */
    munmap(p, 0x3000);
    void *q = mmap(0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); /* not the window: no line */
    return q == MAP_FAILED;
}
C
$CC -o "$BUILD/debug_prog" "$BUILD/debug_prog.c" || fail "cannot build"
out=$(MAPWARDEN_LOG=debug LD_PRELOAD="$LIB" "$BUILD/debug_prog" 2>&1) || fail "program failed: $out"
expect() { grep -qF -- "$1" <<<"$out" || fail "missing line: $1
got:
$out"; }
expect "mapwarden: window 0x400000000000-0x410000000000 (1T) reserved"
expect "mapwarden: mmap 0x400000010000+0x3000 prot 0x3 flags 0x32 -> 0x400000010000"
expect "mapwarden: mprotect 0x400000040000+0x1000 prot 0x1 -> ENOMEM (cannot allocate memory)"
expect "mapwarden: munmap 0x400000010000+0x3000 -> 0x0"
[ "$(grep -c '^mapwarden:' <<<"$out")" = 4 ] || fail "expected exactly 4 lines, got:
$out"
out=$(LD_PRELOAD="$LIB" "$BUILD/debug_prog" 2>&1) || fail "program failed at the default level: $out"
[ -z "$out" ] || fail "the default level printed: $out"
echo "log_debug_prints_window_calls: ok"
