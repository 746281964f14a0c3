#!/usr/bin/env bash
# A start-up that gives up must not leave a window's
# file marked "open". Start-up opens the windows' files in address order;
# the first one ("heap", alone) is checked, marked state 1 with this pid
# and opens+1; the second ("log") is refused (made for another base). The
# process then exits with 71 (abort) or runs with no window (warn), and
# nothing ever marks "heap" closed again: Startup.release closes the
# descriptor only. The next run that uses "heap" alone then reports
# 'was not closed cleanly (last opened by pid <the refused run>)', a crash
# that never happened (and the refused run is counted as an opening).
# Expected: after a refused start-up, heap's header is as before (state 0),
# and the next run prints no 'not closed cleanly'.
. "$(dirname "$0")/../include/window_test_lib.bash" persist_refused_startup_leaves_file_closed
build_wprobe
export MAPWARDEN_REPORT=none
heap="$tmp/heap.mw"; logf="$tmp/log.mw"
HEAP="MAPWARDEN_WINDOW_HEAP=0x500000000000:16M:persist=$heap"
X=0x500000010000

state_of() { "$PY" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(56); print(struct.unpack_from("<I",d,32)[0], struct.unpack_from("<Q",d,48)[0])' "$1"; }

# heap: made and closed cleanly by a normal run
run "$HEAP" -- map $X 0x1000 fill $X 0x1000 3
[ "$status" -eq 0 ] || { fail "first run: status $status"; show; }
before=$(state_of "$heap")
[ "${before%% *}" = 0 ] || fail "after a clean run heap's state is not 0: $before"
# log: a file made for another base
run "MAPWARDEN_WINDOW_LOG=0x520000000000:16M:persist=$logf" -- main
[ "$status" -eq 0 ] || { fail "making log.mw: status $status"; show; }

for policy in abort warn; do
    run "$HEAP" "MAPWARDEN_WINDOW_LOG=0x530000000000:16M:persist=$logf" MAPWARDEN_ON_RESERVE_FAILURE=$policy -- main
    grep -q "made for base" "$tmp/err" || { fail "$policy: log.mw was not refused"; show; }
    after=$(state_of "$heap")
    [ "${after%% *}" = 0 ] || fail "$policy: the refused start-up left heap.mw marked open (state/opens '$after', before '$before')"
    run "$HEAP" MAPWARDEN_LOG=info -- map $X 0x1000 check $X 0x1000 3
    [ "$status" -eq 0 ] || { fail "$policy: the next run: status $status"; show; }
    if grep -q "not closed cleanly" "$tmp/err"; then fail "$policy: the next run reports a crash that did not happen:"; cat "$tmp/err"; fi
    ok "$policy: a refused start-up leaves heap.mw closed"
done
done_all
