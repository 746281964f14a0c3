#!/usr/bin/env bash
# Named windows, configuration: MAPWARDEN_WINDOW_<NAME> from the
# environment and from the config file (MAPWARDEN_CONFIG), both reserved
# before main (PROT_NONE lines in /proc/self/maps) and listed by
# mapwarden_windows in lowercase; the environment wins per key, and an
# empty value removes a window the file declares; adjacent windows are
# fine. Config errors (exit 78 before main, a message naming the key):
# overlapping windows (both named, with the other's key and range),
# MAPWARDEN_WINDOW_DEFAULT, a bad or too long name, a ninth window, an
# unknown option (the known ones listed), two backings, persist without a
# path. A named
# window that cannot be reserved (a page mapped there before mapwarden
# starts; a window over the non-PIE executable) -> the message names it,
# exit 71; under MAPWARDEN_ON_RESERVE_FAILURE=warn the program runs with no
# window at all.
. "$(dirname "$0")/../include/window_test_lib.bash" named_config
build_wprobe
export MAPWARDEN_REPORT=none

expect_78() { # what
    [ "$status" -eq 78 ] || { fail "$1: exit status $status, expected 78"; show; return 1; }
    ! grep -q "MAIN REACHED" "$tmp/out" || { fail "$1: main ran"; show; return 1; }
    grep -q '^mapwarden: ' "$tmp/err" || { fail "$1: no mapwarden message"; show; return 1; }
    return 0
}
has() { # what, fixed string on a line that starts with mapwarden:
    grep '^mapwarden: ' "$tmp/err" | grep -qF -- "$2" || { fail "$1: no message line contains '$2'"; show; }
}
has_line() { # what, fixed strings that must all be on one mapwarden: line
    local what=$1; shift
    local lines; lines=$(grep '^mapwarden: ' "$tmp/err")
    for s in "$@"; do lines=$(grep -F -- "$s" <<<"$lines"); done
    [ -n "$lines" ] || { fail "$what: no single message line contains all of: $*"; show; }
}
maps_has() { grep -q "^$1 ---p" "$tmp/maps" || { fail "$2: no reservation line '$1 ---p' in maps"; cat "$tmp/maps"; }; }
cat_maps() { # ENV...: /proc/self/maps of a cat child under the preload
    env "$@" LD_PRELOAD="$LIB" cat /proc/self/maps >"$tmp/maps" 2>"$tmp/err"
    status=$?
    [ "$status" -eq 0 ] || { fail "cat exited $status"; cat "$tmp/err"; }
}

# --- from the environment
cat_maps MAPWARDEN_WINDOW_IPC=0x500000000000:1G
maps_has 400000000000-410000000000 "env: default window"
maps_has 500000000000-500040000000 "env: ipc window"
run MAPWARDEN_WINDOW_IPC=0x500000000000:1G -- main windows query 0x500000001000
[ "$status" -eq 0 ] && grep -q "MAIN REACHED" "$tmp/out" || { fail "env: status $status"; show; }
[ ! -s "$tmp/err" ] || { fail "env: a valid named window prints something"; show; }
grep -q '^WINDOWS 2$' "$tmp/out" || { fail "env: not two windows"; show; }
grep -q '^WINDOW ipc 0x500000000000 0x40000000 0 -$' "$tmp/out" || { fail "env: no window 'ipc'"; show; }
grep -q '^QUERY 1 ipc ' "$tmp/out" || { fail "env: query in the ipc window"; show; }
# lowercase: a mixed-case name is listed lowercase
run MAPWARDEN_WINDOW_My_Heap2=0x500000000000:16M -- windows
grep -q '^WINDOW my_heap2 0x500000000000 0x1000000 ' "$tmp/out" || { fail "MAPWARDEN_WINDOW_My_Heap2 is not listed as my_heap2"; show; }
# options accepted: private, and on the default window too
run MAPWARDEN_WINDOW_IPC=0x500000000000:16M:private MAPWARDEN_WINDOW=0x400000000000:1G:private -- main windows
[ "$status" -eq 0 ] && grep -q '^WINDOW ipc 0x500000000000 0x1000000 0 -$' "$tmp/out" &&
    grep -q '^WINDOW default 0x400000000000 0x40000000 0 -$' "$tmp/out" || { fail ":private options"; show; }
ok "named window from the environment"

# --- from the config file; the environment wins per key; an empty value removes a file's window
cat >"$tmp/w.env" <<'F'
# two named windows
MAPWARDEN_WINDOW_IPC=0x500000000000:1G
export MAPWARDEN_WINDOW_HEAP="0x510000000000:16M"   # quoted, exported
F
cat_maps MAPWARDEN_CONFIG="$tmp/w.env"
maps_has 500000000000-500040000000 "file: ipc"
maps_has 510000000000-510001000000 "file: heap"
maps_has 400000000000-410000000000 "file: default"
run MAPWARDEN_CONFIG="$tmp/w.env" -- main windows
grep -q '^WINDOWS 3$' "$tmp/out" || { fail "file: not three windows"; show; }
# file + environment: both kinds of window
cat_maps MAPWARDEN_CONFIG="$tmp/w.env" MAPWARDEN_WINDOW_EXTRA=0x520000000000:8M
maps_has 520000000000-520000800000 "file + env: extra"
maps_has 510000000000-510001000000 "file + env: heap"
# the environment's value for a key the file has
cat_maps MAPWARDEN_CONFIG="$tmp/w.env" MAPWARDEN_WINDOW_IPC=0x530000000000:16M
maps_has 530000000000-530001000000 "env over file: ipc moved"
! grep -q '^500000000000-' "$tmp/maps" || fail "env over file: the file's ipc window is reserved too"
# an empty value in the environment removes the file's window
cat_maps MAPWARDEN_CONFIG="$tmp/w.env" MAPWARDEN_WINDOW_IPC=
! grep -q '^500000000000-' "$tmp/maps" || fail "MAPWARDEN_WINDOW_IPC= does not remove the file's window"
maps_has 510000000000-510001000000 "empty value: heap stays"
maps_has 400000000000-410000000000 "empty value: default stays"
run MAPWARDEN_CONFIG="$tmp/w.env" MAPWARDEN_WINDOW_IPC= -- main windows
[ "$status" -eq 0 ] && grep -q '^WINDOWS 2$' "$tmp/out" && ! grep -q '^WINDOW ipc' "$tmp/out" || { fail "empty value: windows"; show; }
# ... and an empty value for a window nobody declared is harmless
run MAPWARDEN_WINDOW_NOBODY= -- main windows
[ "$status" -eq 0 ] && grep -q '^WINDOWS 1$' "$tmp/out" || { fail "MAPWARDEN_WINDOW_NOBODY= alone"; show; }
ok "named windows from the config file, the environment winning"

# --- adjacent windows do not overlap
run MAPWARDEN_WINDOW_A=0x500000000000:1G MAPWARDEN_WINDOW_B=0x500040000000:1G MAPWARDEN_WINDOW_C=0x3fffc0000000:1G -- main windows
[ "$status" -eq 0 ] && grep -q '^WINDOWS 4$' "$tmp/out" || { fail "adjacent windows refused"; show; }
grep '^WINDOW ' "$tmp/out" | awk '{print $2}' | tr '\n' ' ' | grep -qx 'c default a b ' ||
    { fail "windows not in address order"; show; }
ok "adjacent windows, address order"

# --- overlaps: both windows named, the other's key and range given
run MAPWARDEN_WINDOW_IPC=0x400000000000:1G -- main
if expect_78 "overlap with default"; then
    has_line "overlap with default" 'MAPWARDEN_WINDOW_IPC="0x400000000000:1G"' '"default"' "MAPWARDEN_WINDOW," "0x400000000000-0x410000000000"
    grep -qi overlap "$tmp/err" || fail "overlap with default: the word overlap is missing"
fi
run MAPWARDEN_WINDOW_IPC=0x500000000000:1G MAPWARDEN_WINDOW_HEAP=0x50003ffff000:1M -- main
if expect_78 "overlap of two named"; then
    has_line "overlap of two named" MAPWARDEN_WINDOW_IPC MAPWARDEN_WINDOW_HEAP
    grep '^mapwarden: ' "$tmp/err" | grep -qE '0x500000000000-0x500040000000|0x50003ffff000-0x500040000000' ||
        { fail "overlap of two named: no range in the message"; show; }
fi
# overlap between a file window and an environment window
printf 'MAPWARDEN_WINDOW_IPC=0x500000000000:1G\n' >"$tmp/ipc.env"
run MAPWARDEN_CONFIG="$tmp/ipc.env" MAPWARDEN_WINDOW_OTHER=0x500020000000:16M -- main
expect_78 "overlap file/env" && has_line "overlap file/env" MAPWARDEN_WINDOW_IPC MAPWARDEN_WINDOW_OTHER
# a named window containing the default one
run MAPWARDEN_WINDOW_BIG=0x300000000000:64T -- main
expect_78 "named window containing the default" && has_line "named window containing the default" MAPWARDEN_WINDOW_BIG '"default"'
ok "overlapping windows -> 78"

# --- MAPWARDEN_WINDOW_DEFAULT, bad names, too many windows, unknown options
run MAPWARDEN_WINDOW_DEFAULT=0x500000000000:1G -- main
expect_78 "MAPWARDEN_WINDOW_DEFAULT" && has "MAPWARDEN_WINDOW_DEFAULT" "MAPWARDEN_WINDOW_DEFAULT"
printf 'MAPWARDEN_WINDOW_DEFAULT=0x500000000000:1G\n' >"$tmp/default.env"
run MAPWARDEN_CONFIG="$tmp/default.env" -- main
expect_78 "MAPWARDEN_WINDOW_DEFAULT in a file" && has "MAPWARDEN_WINDOW_DEFAULT in a file" "$tmp/default.env:1:"
run MAPWARDEN_WINDOW_default=0x500000000000:1G -- main
expect_78 "MAPWARDEN_WINDOW_default (lowercase)"
n31=ABCDEFGHIJABCDEFGHIJABCDEFGHIJA; n32=${n31}B
run "MAPWARDEN_WINDOW_$n31=0x500000000000:16M" -- main windows
[ "$status" -eq 0 ] && grep -q "^WINDOW ${n31,,} 0x500000000000 " "$tmp/out" || { fail "a 31-character name is refused"; show; }
run "MAPWARDEN_WINDOW_$n32=0x500000000000:16M" -- main
expect_78 "a 32-character name" && has "a 32-character name" "MAPWARDEN_WINDOW_$n32"
run "MAPWARDEN_WINDOW_=0x500000000000:16M" -- main
expect_78 "an empty name" && has "an empty name" 'MAPWARDEN_WINDOW_="0x500000000000:16M"'
run "MAPWARDEN_WINDOW_A-B=0x500000000000:16M" -- main
expect_78 "a name with a dash (environment)" && has "a name with a dash (environment)" 'MAPWARDEN_WINDOW_A-B="0x500000000000:16M"'
printf 'MAPWARDEN_WINDOW_A.B=0x500000000000:16M\n' >"$tmp/dot.env"
run MAPWARDEN_CONFIG="$tmp/dot.env" -- main
expect_78 "a name with a dot (file)"
# eight windows in all are fine, nine are not
eight=(MAPWARDEN_WINDOW_W1=0x500000000000:16M MAPWARDEN_WINDOW_W2=0x501000000000:16M MAPWARDEN_WINDOW_W3=0x502000000000:16M
       MAPWARDEN_WINDOW_W4=0x503000000000:16M MAPWARDEN_WINDOW_W5=0x504000000000:16M MAPWARDEN_WINDOW_W6=0x505000000000:16M
       MAPWARDEN_WINDOW_W7=0x506000000000:16M)
run "${eight[@]}" -- main windows
[ "$status" -eq 0 ] && grep -q '^WINDOWS 8$' "$tmp/out" || { fail "eight windows (default + 7) refused"; show; }
run "${eight[@]}" MAPWARDEN_WINDOW_W8=0x507000000000:16M -- main
expect_78 "nine windows" && { grep '^mapwarden: ' "$tmp/err" | grep -qE 'MAPWARDEN_WINDOW_W[1-8]' || { fail "nine windows: no key named"; show; }; }
# nine declared, one removed by an empty value: eight
printf 'MAPWARDEN_WINDOW_W8=0x507000000000:16M\n' >"$tmp/w8.env"
run "${eight[@]}" MAPWARDEN_CONFIG="$tmp/w8.env" MAPWARDEN_WINDOW_W1= -- main windows
[ "$status" -eq 0 ] && grep -q '^WINDOWS 8$' "$tmp/out" || { fail "nine declared, one removed"; show; }
# unknown option: the known ones listed
run MAPWARDEN_WINDOW_IPC=0x500000000000:16M:sharde -- main
if expect_78 "unknown option"; then
    has_line "unknown option" 'MAPWARDEN_WINDOW_IPC="0x500000000000:16M:sharde"' private shared persist
    has "unknown option" sharde
fi
run MAPWARDEN_WINDOW=0x400000000000:1G:bogus -- main
expect_78 "unknown option on the default window" && has "unknown option on the default window" 'MAPWARDEN_WINDOW="0x400000000000:1G:bogus"'
run MAPWARDEN_WINDOW_IPC=0x500000000000:16M:shared,persist=/nonexistent/x.mw -- main
expect_78 "two backings" && has "two backings" 'MAPWARDEN_WINDOW_IPC="0x500000000000:16M:shared,persist=/nonexistent/x.mw"'
run MAPWARDEN_WINDOW_IPC=0x500000000000:16M:persist -- main
expect_78 "persist without a path" && has "persist without a path" MAPWARDEN_WINDOW_IPC
run MAPWARDEN_WINDOW_IPC=0x500000000000:16M:persist= -- main
expect_78 "persist= empty path"
# a bad base or size in a named window: the same checks as the default window
run MAPWARDEN_WINDOW_IPC=0x500000000123:16M -- main
expect_78 "unaligned named window" && has_line "unaligned named window" 'MAPWARDEN_WINDOW_IPC="0x500000000123:16M"' page-aligned
run MAPWARDEN_WINDOW_IPC=0x800000000000:1G -- main
expect_78 "named window past user space" && has_line "named window past user space" MAPWARDEN_WINDOW_IPC "user space"
ok "bad names, DEFAULT, nine windows, options -> 78"

# --- a named window that cannot be reserved
cat >"$tmp/blocker.c" <<'C'
#define _GNU_SOURCE
#include <stdlib.h>
#include "raw_syscall.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
__attribute__((constructor)) static void ctor(void) {
    unsigned long addr = strtoul(getenv("BLOCK_AT"), NULL, 16);
    long r = raw_syscall(SYS_mmap, addr, 4096UL, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0L);
    if (r != (long)addr) { static const char m[] = "blocker: could not map its page\n"; write(2, m, sizeof m - 1); }
}
C
$CC -I "$(dirname "$0")/../include" -I "$(dirname "$0")/../../../CShim/include" -shared -fPIC -o "$tmp/blocker.so" "$tmp/blocker.c" || { echo "cannot compile the blocker"; exit 1; }
blocked() { # ENV...: wprobe main query under the preload, the blocker's constructor running first
    env "$@" MAPWARDEN_REPORT=none LD_PRELOAD="$LIB:$tmp/blocker.so" "$tmp/wprobe" main query 0x400000010000 >"$tmp/out" 2>"$tmp/err"
    status=$?
}
blocked MAPWARDEN_WINDOW_IPC=0x500000000000:1G BLOCK_AT=0x500000100000
if [ "$status" -eq 71 ] && ! grep -q "MAIN REACHED" "$tmp/out"; then
    has_line "occupied named window" '"ipc"' 0x500000000000-0x500040000000
    has "occupied named window" "500000100000-500000101000 r--p"
    ! grep -q "blocker: could not" "$tmp/err" || fail "the blocker did not get its page"
else fail "occupied named window: status $status, expected 71 before main"; show; fi
# warn: no window at all, the default one included
blocked MAPWARDEN_WINDOW_IPC=0x500000000000:1G BLOCK_AT=0x500000100000 MAPWARDEN_ON_RESERVE_FAILURE=warn
[ "$status" -eq 0 ] && grep -q "MAIN REACHED" "$tmp/out" && grep -q "QUERY error ENODEV" "$tmp/out" ||
    { fail "warn, occupied named window: expected main to run with no window (query ENODEV)"; show; }
has "warn, occupied named window" '"ipc"'
env MAPWARDEN_WINDOW_IPC=0x500000000000:1G BLOCK_AT=0x500000100000 MAPWARDEN_ON_RESERVE_FAILURE=warn \
    LD_PRELOAD="$LIB:$tmp/blocker.so" cat /proc/self/maps >"$tmp/maps" 2>/dev/null
! grep -qE '^(400000000000-410000000000|500000000000-500040000000) ' "$tmp/maps" ||
    { fail "warn: a window is still reserved after the named one failed"; cat "$tmp/maps"; }
# the default window blocked while a named one is fine: the default is named
blocked MAPWARDEN_WINDOW_IPC=0x500000000000:1G BLOCK_AT=0x400000200000
[ "$status" -eq 71 ] && has_line "occupied default window" '"default"' 0x400000000000-0x410000000000 ||
    { fail "occupied default window next to a named one: status $status"; show; }
# a window over the (non-PIE) executable itself
printf '#include <stdio.h>\nint main(void) { printf("MAIN REACHED\\n"); return 0; }\n' >"$tmp/nopie.c"
$CC -fno-pie -no-pie -o "$tmp/nopie" "$tmp/nopie.c" || { echo "cannot compile nopie"; exit 1; }
env MAPWARDEN_WINDOW_EXE=0x400000:16M LD_PRELOAD="$LIB" "$tmp/nopie" >"$tmp/out" 2>"$tmp/err"
status=$?
[ "$status" -eq 71 ] && ! grep -q "MAIN REACHED" "$tmp/out" && has_line "window over the executable" '"exe"' 0x400000-0x1400000 ||
    { fail "a window over the executable: status $status, expected 71 naming \"exe\""; show; }
ok "a named window that cannot be reserved -> 71 naming it"

done_all
