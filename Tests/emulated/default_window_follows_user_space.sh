#!/usr/bin/env bash
# The default window under qemu-aarch64, chosen from the guest's user space
# (docs/configuration.md, "The default window"):
# - unconfigured, the guest's stack just below 0x5500000000 reads as a
#   39-bit VA: the window 0x5000000000:16G is reserved before main and
#   serves a MAP_FIXED in place;
# - with a 64 GiB guest address space (qemu -R 0x1000000000, a stack below
#   2^36) no default fits: start-up stops with status 78 and names the end
#   of user space, before main, never with an empty window; a configured
#   window works there; with MAPWARDEN_ON_RESERVE_FAILURE=warn the program
#   runs without a window, having been told why;
# - each bundled config (config/*.env) starts the program.
set -u
unset MAPWARDEN_WINDOW MAPWARDEN_CONFIG MAPWARDEN_ON_RESERVE_FAILURE MAPWARDEN_LOG
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "$BUILD/default_window.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- status $status; stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"; exit 1; }
cat >"$tmp/probe.c" <<'C'
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "mapwarden.h"
#pragma weak mapwarden_windows
#pragma weak mapwarden_query
int main(void) {
    printf("MAIN REACHED\n");
    struct mapwarden_window w[MAPWARDEN_WINDOWS_MAX];
    int n = mapwarden_windows ? mapwarden_windows(w, MAPWARDEN_WINDOWS_MAX) : -1;
    if (n < 0) { printf("windows %s\n", errno == ENODEV ? "ENODEV" : strerror(errno)); return 0; }
    for (int i = 0; i < n && i < MAPWARDEN_WINDOWS_MAX; i++) {
        printf("window %s %#lx %#zx\n", w[i].name, (unsigned long)w[i].base, w[i].size);
        if (strcmp(w[i].name, "default") != 0) continue;
        char *want = (char *)w[i].base + 0x100000;
        char *p = mmap(want, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != want) { printf("fixed failed\n"); return 3; }
        strcpy(p, "hello");
        struct mapwarden_info info;
        if (mapwarden_query(p, &info) != 0 || info.state != MAPWARDEN_MAPPED) { printf("not recorded\n"); return 4; }
        munmap(p, 1 << 16);
        printf("fixed served in place\n");
    }
    return 0;
}
C
$CC -I "$root/CShim/include" -o "$tmp/probe" "$tmp/probe.c" || { echo "cannot compile the probe"; exit 1; }
run() { # emulator options..., then -- KEY=VALUE...
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    env "$@" QEMU_SET_ENV="LD_PRELOAD=$LIB" $RUNNER "${opts[@]}" "$tmp/probe" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

# --- unconfigured: the 39-bit default
run --
[ "$status" -eq 0 ] || fail "unconfigured: status $status"
grep -q '^window default 0x5000000000 0x400000000$' "$tmp/out" || fail "unconfigured: not the 39-bit default window"
grep -q '^fixed served in place$' "$tmp/out" || fail "unconfigured: MAP_FIXED not served in the window"
echo "ok: 39-bit default 0x5000000000:16G"

# --- a 64 GiB guest: no default window fits
run -R 0x1000000000 --
[ "$status" -eq 78 ] || fail "64 GiB guest: status $status, expected 78"
! grep -q "MAIN REACHED" "$tmp/out" || fail "64 GiB guest: main ran"
grep -q '^mapwarden: MAPWARDEN_WINDOW is not set and no default window fits this address space (user space ends at 0x1000000000): set MAPWARDEN_WINDOW=BASE:SIZE$' "$tmp/err" ||
    fail "64 GiB guest: the error does not name the end of user space"
! grep -q 'window 0-0\|0x0-0x0' "$tmp/out" "$tmp/err" || fail "64 GiB guest: an empty window"
echo "ok: no default in a 64 GiB guest -> 78, naming 0x1000000000"

run -R 0x1000000000 -- MAPWARDEN_WINDOW=0x800000000:1G
[ "$status" -eq 0 ] || fail "64 GiB guest, configured: status $status"
grep -q '^window default 0x800000000 0x40000000$' "$tmp/out" || fail "64 GiB guest, configured: window not held"
grep -q '^fixed served in place$' "$tmp/out" || fail "64 GiB guest, configured: MAP_FIXED not served"
echo "ok: a configured window in a 64 GiB guest"

run -R 0x1000000000 -- MAPWARDEN_ON_RESERVE_FAILURE=warn
[ "$status" -eq 0 ] || fail "64 GiB guest, warn: status $status"
grep -q '^windows ENODEV$' "$tmp/out" || fail "64 GiB guest, warn: a window is held"
grep -q 'no default window fits' "$tmp/err" || fail "64 GiB guest, warn: nothing said"
echo "ok: warn runs without a window and says why"

# --- the bundled configs
for cfg in "$root"/config/*.env; do
    run -- MAPWARDEN_CONFIG="$cfg"
    [ "$status" -eq 0 ] || fail "$(basename "$cfg"): status $status"
    grep -q '^window default ' "$tmp/out" || fail "$(basename "$cfg"): no default window"
    grep -q '^fixed served in place$' "$tmp/out" || fail "$(basename "$cfg"): MAP_FIXED not served"
    echo "ok: $(basename "$cfg")"
done
echo "all ok"
