#!/usr/bin/env bash
# "exec is not a crash: the new program keeps the pid
# and opens the file again". That holds only for the process that opened
# the file first (header.lastPid == its pid). H opens the file (pid H in
# the header); J joins while H runs; H exits normally (not the last user:
# state stays 1, right); J then exec()s. J's descriptor is close-on-exec,
# so its lock goes; the new image is alone, finds state 1 with lastPid H
# != its own pid, and prints 'was not closed cleanly (last opened by pid H,
# which crashed, was killed or called _exit)': H exited normally and J only
# exec'd. Expected: no 'not closed cleanly' message; state 0 at the end.
. "$(dirname "$0")/../include/window_test_lib.bash" persist_exec_of_joiner_is_not_a_crash
build_wprobe
export MAPWARDEN_REPORT=none
f="$tmp/heap.mw"
WIN="MAPWARDEN_WINDOW_HEAP=0x500000000000:16M:persist=$f"
X=0x500000010000
state_of() { "$PY" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(56); print(struct.unpack_from("<I",d,32)[0])' "$1"; }

start H "$WIN" -- pid map $X 0x1000 wait
await H READY || { fail "H did not start"; cat "$tmp/H.log" "$tmp/H.err"; done_all; }
start J "$WIN" MAPWARDEN_LOG=info -- pid map $X 0x1000 wait exec pid map $X 0x1000
await J READY || { fail "J did not start"; cat "$tmp/J.log" "$tmp/J.err"; done_all; }
tell H; finish H
[ "$status" -eq 0 ] || { fail "H: status $status"; cat "$tmp/H.err"; }
tell J; finish J
[ "$status" -eq 0 ] || { fail "J: status $status"; cat "$tmp/J.log" "$tmp/J.err"; }
[ "$(grep -c '^PID ' "$tmp/J.log")" -eq 2 ] || { fail "J did not exec"; cat "$tmp/J.log" "$tmp/J.err"; }
if grep -q "not closed cleanly" "$tmp/J.err"; then fail "J's exec'd image reports a crash:"; cat "$tmp/J.err"; fi
st=$(state_of "$f")
[ "$st" = 0 ] || fail "everyone exited normally, state $st"
ok "exec of a process that joined the file is not a crash"
done_all
