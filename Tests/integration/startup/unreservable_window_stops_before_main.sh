#!/usr/bin/env bash
# Start-up: the window cannot be reserved. An occupied window (a blocker
# library whose constructor maps a page inside it with a raw
# a raw mmap system call before mapwarden's constructor runs, or the program's
# own .preinit_array doing the same) gives exit status 71 before main with
# the colliding /proc/self/maps line printed; a too small `ulimit -v` gives
# 71 with RLIMIT_AS in the message. Never a signal. Under
# MAPWARDEN_ON_RESERVE_FAILURE=warn (and for a bad config) the program runs,
# exit 0, without a window (mapwarden_query: ENODEV; no window in maps).
set -u
unset MAPWARDEN_WINDOW MAPWARDEN_CONFIG MAPWARDEN_ON_RESERVE_FAILURE MAPWARDEN_LOG
here=$(cd "$(dirname "$0")" && pwd)
include=$(cd "$here/../include" && pwd)
tmp=$(mktemp -d "$BUILD/unreservable_window_stops_before_main.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
status=0
: >"$tmp/out"; : >"$tmp/err"
fail() { echo "FAIL: $*"; echo "--- status $status; stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"; exit 1; }

# The probe: says it reached main, asks mapwarden about the window,
# and makes a MAP_FIXED there (served by the kernel alone when no window is held).
cat >"$tmp/probe.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "mapwarden.h"
int main(void) {
    printf("MAIN REACHED\n");
    fflush(stdout);
    int (*q)(const void *, struct mapwarden_info *) = (int (*)(const void *, struct mapwarden_info *))dlsym(RTLD_DEFAULT, "mapwarden_query");
    if (!q) { printf("query missing\n"); return 2; }
    struct mapwarden_info info;
    errno = 0;
    const char *w = getenv("MAPWARDEN_WINDOW");
    unsigned long at = w ? strtoul(w, NULL, 16) : 0x400000000000UL;
    int r = q((void *)(at + 0x10000), &info);
    if (r == 0) printf("query window %#lx %#zx\n", (unsigned long)info.window_base, info.window_size);
    else printf("query %s\n", errno == ENODEV ? "ENODEV" : strerror(errno));
    char *p = mmap((void *)0x400000010000UL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != (char *)0x400000010000UL) { printf("fixed failed\n"); return 3; }
    p[0] = 1;
    printf("fixed ok\n");
    return 0;
}
C
$CC -I "$here/../../../CShim/include" -o "$tmp/probe" "$tmp/probe.c" -ldl || { echo "cannot compile the probe"; exit 1; }

# The blocker: maps one page at BLOCK_AT (default inside the default window)
# with a raw system call that mapwarden cannot see.
cat >"$tmp/blocker.c" <<'C'
#define _GNU_SOURCE
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "raw_syscall.h"
static void block(void) {
    const char *at = getenv("BLOCK_AT");
    unsigned long addr = at ? strtoul(at, NULL, 16) : 0x400000100000UL;
    long r = raw_syscall(SYS_mmap, addr, 4096UL, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0L);
    if (r != (long)addr) { static const char m[] = "blocker: could not map its page\n"; write(2, m, sizeof m - 1); }
}
#ifdef PREINIT
int main(void);
__attribute__((section(".preinit_array"), used)) static void (*preinit)(void) = block;
#else
__attribute__((constructor)) static void ctor(void) { block(); }
#endif
C
$CC -I "$include" -I "$here/../../../CShim/include" -shared -fPIC -o "$tmp/blocker.so" "$tmp/blocker.c" || { echo "cannot compile the blocker"; exit 1; }
# The same blocking done by the program's own .preinit_array, which runs
# before every shared library's constructor.
cat "$tmp/blocker.c" >"$tmp/preinit.c"
printf '#include <stdio.h>\nint main(void) { printf("MAIN REACHED\\n"); return 0; }\n' >>"$tmp/preinit.c"
$CC -I "$include" -I "$here/../../../CShim/include" -DPREINIT -o "$tmp/preinit" "$tmp/preinit.c" || { echo "cannot compile the preinit program"; exit 1; }

# glibc runs the constructors of LD_PRELOAD libraries in reverse list order
# (the last one first), so a blocker that must run BEFORE mapwarden's
# constructor is listed after it.
blocked() { # program, KEY=VALUE...
    local prog=$1; shift
    env "$@" LD_PRELOAD="$LIB:$tmp/blocker.so" "$prog" >"$tmp/out" 2>"$tmp/err"
    status=$?
}
plain() { # program, KEY=VALUE...
    local prog=$1; shift
    env "$@" LD_PRELOAD="$LIB" "$prog" >"$tmp/out" 2>"$tmp/err"
    status=$?
}
expect_71() { # what
    [ "$status" -eq 71 ] || fail "$1: exit status $status, expected 71"
    ! grep -q "MAIN REACHED" "$tmp/out" || fail "$1: main ran"
    grep -q '^mapwarden: ' "$tmp/err" || fail "$1: no mapwarden message"
    ! grep -q "blocker: could not" "$tmp/err" || fail "$1: the blocker did not get its page"
}
expect_runs_without_window() { # what
    [ "$status" -eq 0 ] || fail "$1: exit status $status, expected 0"
    grep -q "MAIN REACHED" "$tmp/out" || fail "$1: main did not run"
    grep -q "query ENODEV" "$tmp/out" || fail "$1: mapwarden_query does not say ENODEV"
    grep -q "fixed ok" "$tmp/out" || fail "$1: a plain MAP_FIXED failed"
}

# --- occupied window, default window
blocked "$tmp/probe"
expect_71 "occupied window"
grep -q '^mapwarden: .*0x400000000000-0x410000000000' "$tmp/err" || fail "occupied window: the window is not named"
grep -qE '^mapwarden: .*(EEXIST|collid)' "$tmp/err" || fail "occupied window: the reason is not given"
grep -q '^mapwarden: .*400000100000-400000101000 r--p' "$tmp/err" || fail "occupied window: the colliding maps line is not printed"
grep -q 'status 71' "$tmp/err" || fail "occupied window: the exit status is not announced"
echo "ok: occupied window -> 71"

# --- occupied, a configured window, blocker at its last page
blocked "$tmp/probe" MAPWARDEN_WINDOW=0x500000000000:1G BLOCK_AT=0x50003ffff000
expect_71 "occupied configured window"
grep -q '^mapwarden: .*50003ffff000-500040000000 r--p' "$tmp/err" || fail "occupied configured window: no collision line"
# a page just past the window's end does not collide
blocked "$tmp/probe" MAPWARDEN_WINDOW=0x500000000000:1G BLOCK_AT=0x500040000000
[ "$status" -eq 0 ] && grep -q "MAIN REACHED" "$tmp/out" || fail "a page next to the window blocks it"
grep -q "query window 0x500000000000 0x40000000" "$tmp/out" || fail "the window next to the page is not held"
echo "ok: configured window"

# --- occupied by the program's own .preinit_array
plain "$tmp/preinit"
expect_71 "occupied by preinit_array"
grep -q '^mapwarden: .*400000100000-400000101000' "$tmp/err" || fail "preinit: no collision line"
echo "ok: preinit_array blocker -> 71"

# --- RLIMIT_AS too small for the window
(ulimit -v 4000000; exec env LD_PRELOAD="$LIB" "$tmp/probe") >"$tmp/out" 2>"$tmp/err"
status=$?
expect_71 "ulimit -v"
grep -q '^mapwarden: .*RLIMIT_AS' "$tmp/err" || fail "ulimit -v: RLIMIT_AS not mentioned"
grep -q '^mapwarden: .*ENOMEM' "$tmp/err" || fail "ulimit -v: ENOMEM not mentioned"
# a window that fits the limit works
(ulimit -v 4000000; exec env LD_PRELOAD="$LIB" MAPWARDEN_WINDOW=0x500000000000:1G "$tmp/probe") >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 0 ] && grep -q "query window 0x500000000000 0x40000000" "$tmp/out" || fail "a small window under ulimit -v"
echo "ok: ulimit -v -> 71"

# --- warn: the program runs without a window
blocked "$tmp/probe" MAPWARDEN_ON_RESERVE_FAILURE=warn
expect_runs_without_window "warn, occupied"
grep -q '^mapwarden: .*400000100000-400000101000' "$tmp/err" || fail "warn, occupied: the collision is not reported"
(ulimit -v 4000000; exec env LD_PRELOAD="$LIB" MAPWARDEN_ON_RESERVE_FAILURE=warn "$tmp/probe") >"$tmp/out" 2>"$tmp/err"
status=$?
expect_runs_without_window "warn, ulimit -v"
grep -q '^mapwarden: .*RLIMIT_AS' "$tmp/err" || fail "warn, ulimit -v: RLIMIT_AS not mentioned"
plain "$tmp/probe" MAPWARDEN_ON_RESERVE_FAILURE=warn MAPWARDEN_WINDOW=garbage
expect_runs_without_window "warn, bad config"
grep -q '^mapwarden: environment: MAPWARDEN_WINDOW="garbage"' "$tmp/err" || fail "warn, bad config: the problem is not reported"
plain "$tmp/probe" MAPWARDEN_ON_RESERVE_FAILURE=warn MAPWARDEN_CONFIG=/nonexistent
expect_runs_without_window "warn, missing file"
env MAPWARDEN_ON_RESERVE_FAILURE=warn MAPWARDEN_WINDOW=garbage LD_PRELOAD="$LIB" cat /proc/self/maps >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 0 ] || fail "warn: cat exited $status"
! grep -q '^400000000000-410000000000' "$tmp/out" || fail "warn, bad config: a window is reserved anyway"
echo "ok: warn runs the program without a window"

# --- and the normal case, for contrast
plain "$tmp/probe"
[ "$status" -eq 0 ] && grep -q "query window 0x400000000000 0x10000000000" "$tmp/out" || fail "the default window is not held"
echo "all ok"

