#!/usr/bin/env bash
# Persistent windows, crash detection. Run 1 writes, then kills
# itself with SIGKILL: the header says state 1; run 2 prints (at the
# default log level) 'window "heap": PATH was not closed cleanly (last
# opened by pid <run 1>)...' and still maps and reads the data, and exits
# cleanly (state 0); run 3 prints nothing. _exit is a crash too. A run that
# exec()s itself (same pid) is no crash: no message, and the exec'd image
# reads the data; MAPWARDEN_LOG=quiet silences the message. Two users at
# once: the holder opens first, a second run joins, writes and exits
# normally while the holder still runs (no message for it, and the file is
# not marked clean); the holder is SIGKILLed; the next run reports unclean,
# naming the holder's pid. A forked child is a user of its own: its normal
# exit does not mark the file clean while the parent holds it.
. "$(dirname "$0")/../include/window_test_lib.bash" persist_crash
build_wprobe
export MAPWARDEN_REPORT=none
f="$tmp/heap.mw"
BASE=0x500000000000
WIN="MAPWARDEN_WINDOW_HEAP=$BASE:16M:persist=$f"
X=0x500000010000; LEN=0x3000

state_pid_opened() { "$PY" -c '
import struct, sys
d = open(sys.argv[1], "rb").read(56)
st, pid, n = struct.unpack_from("<I", d, 32)[0], struct.unpack_from("<Q", d, 40)[0], struct.unpack_from("<Q", d, 48)[0]
print(st, pid, n)' "$1"; }
unclean_line() { grep '^mapwarden: ' "$tmp/err" | grep -F "not closed cleanly"; }
expect_unclean() { # what, pid
    local line; line=$(unclean_line)
    [ -n "$line" ] || { fail "$1: no 'not closed cleanly' message"; show; return; }
    grep -qF '"heap"' <<<"$line" && grep -qF "$f" <<<"$line" || fail "$1: the message does not name the window and the file: $line"
    grep -qE "last opened by pid $2\b" <<<"$line" || fail "$1: the message does not give pid $2: $line"
    [ "$(grep -c 'not closed cleanly' "$tmp/err")" -eq 1 ] || fail "$1: more than one message"
}
expect_clean() { # what
    [ -z "$(grep 'not closed cleanly' "$tmp/err")" ] || { fail "$1: a 'not closed cleanly' message"; show; }
}

# --- run 1 is killed
run "$WIN" -- pid map $X $LEN fill $X $LEN 21 kill
pid1=$(sed -n 's/^PID //p' "$tmp/out")
[ "$status" -eq 137 ] || { fail "run 1: status $status, expected 137 (SIGKILL)"; show; }
[ -n "$pid1" ] || fail "run 1 did not print its pid"
[ "$(state_pid_opened "$f" 2>/dev/null)" = "1 $pid1 1" ] || fail "after SIGKILL: state/pid/opened '$(state_pid_opened "$f" 2>&1)', expected '1 $pid1 1'"
# --- run 2 reports it, maps anyway and reads the data
run "$WIN" -- pid map $X $LEN check $X $LEN 21
pid2=$(sed -n 's/^PID //p' "$tmp/out")
[ "$status" -eq 0 ] && grep -qx "CHECKED 21" "$tmp/out" || { fail "run 2 after the crash: status $status or no data"; show; }
expect_unclean "run 2 after SIGKILL" "$pid1"
[ "$(state_pid_opened "$f")" = "0 $pid2 2" ] || fail "after run 2: state/pid/opened '$(state_pid_opened "$f")', expected '0 $pid2 2'"
# --- run 3: clean
run "$WIN" -- map $X $LEN check $X $LEN 21
[ "$status" -eq 0 ] || { fail "run 3: status $status"; show; }
expect_clean "run 3 after a clean run 2"
[ ! -s "$tmp/err" ] || { fail "run 3 printed something"; show; }
ok "SIGKILL is reported once, then clean"

# --- _exit is a crash too; MAPWARDEN_LOG=quiet silences the message (and the data is there)
run "$WIN" -- pid map $X $LEN fill $X $LEN 22 _exit
pidx=$(sed -n 's/^PID //p' "$tmp/out")
[ "$status" -eq 0 ] || { fail "_exit run: status $status"; show; }
[ "$(state_pid_opened "$f" | cut -d' ' -f1)" = 1 ] || fail "after _exit the state is not 1"
run "$WIN" MAPWARDEN_LOG=quiet -- map $X $LEN check $X $LEN 22
[ "$status" -eq 0 ] && [ ! -s "$tmp/err" ] || { fail "MAPWARDEN_LOG=quiet after _exit: status $status or something printed"; show; }
[ "$(state_pid_opened "$f" | cut -d' ' -f1)" = 0 ] || fail "after a clean quiet run the state is not 0"
run "$WIN" -- pid map $X $LEN fill $X $LEN 22 _exit
pidx=$(sed -n 's/^PID //p' "$tmp/out")
run "$WIN" -- map $X $LEN check $X $LEN 22
[ "$status" -eq 0 ] || { fail "after _exit: status $status"; show; }
expect_unclean "after _exit" "$pidx"
ok "_exit is a crash; LOG=quiet silences it"

# --- exec keeps the pid: no crash
run "$WIN" -- pid map $X $LEN fill $X $LEN 23 exec pid map $X $LEN check $X $LEN 23
[ "$status" -eq 0 ] && grep -qx "CHECKED 23" "$tmp/out" || { fail "exec: status $status or the exec'd image lacks the data"; show; }
[ "$(grep -c '^PID ' "$tmp/out")" -eq 2 ] && [ "$(grep '^PID ' "$tmp/out" | sort -u | wc -l)" -eq 1 ] || { fail "exec: not the same pid"; show; }
expect_clean "exec of itself"
[ "$(state_pid_opened "$f" | cut -d' ' -f1)" = 0 ] || fail "after exec and a normal exit the state is not 0"
run "$WIN" -- map $X $LEN check $X $LEN 23
expect_clean "the run after the exec'd one"
# exec, then SIGKILL in the new image: still a crash (of that pid)
run "$WIN" -- pid map $X $LEN fill $X $LEN 24 exec kill
pidk=$(sed -n 's/^PID //p' "$tmp/out")
run "$WIN" -- map $X $LEN check $X $LEN 24
expect_unclean "SIGKILL after exec" "$pidk"
ok "exec is not a crash"

# --- two users at once: the first to leave does not mark it clean
start H "$WIN" -- pid map $X $LEN fill $X $LEN 25 wait check $X $LEN 26 wait
if ! await H READY; then fail "the holder did not start"; cat "$tmp/H.log" "$tmp/H.err"; done_all; fi
pidh=$(sed -n 's/^PID //p' "$tmp/H.log")
[ "$(state_pid_opened "$f" | cut -d' ' -f1-2)" = "1 $pidh" ] || fail "while the holder runs: state/pid '$(state_pid_opened "$f")', expected '1 $pidh'"
opened=$(state_pid_opened "$f" | cut -d' ' -f3)
run "$WIN" -- pid map $X $LEN check $X $LEN 25 fill $X $LEN 26
[ "$status" -eq 0 ] && grep -qx "CHECKED 25" "$tmp/out" || { fail "the joining run: status $status or no data"; show; }
pidj=$(sed -n 's/^PID //p' "$tmp/out")
expect_clean "a run joining a window in use"   # state 1 means in use here, not a crash
# A joining process marks the file open with its pid (the last to open it);
# its normal exit, not the last user's, leaves it open; the count of
# first openings is unchanged.
[ "$(state_pid_opened "$f")" = "1 $pidj $opened" ] ||
    fail "after a joining run's normal exit: header '$(state_pid_opened "$f")', expected '1 $pidj $opened' (open, last opened by the joiner)"
tell H
await H READY || fail "the holder does not see the joining run's data (26)"
kill_finish H
[ "$status" -eq 137 ] || fail "the holder: status $status, expected 137"
run "$WIN" -- map $X $LEN check $X $LEN 26
[ "$status" -eq 0 ] || { fail "after the holder was killed: status $status"; show; }
expect_unclean "after the holder was killed (the joining run had exited normally)" "$pidj"
ok "a user leaving while another holds the file does not mark it clean"

# --- a forked child is a user of its own: its normal exit does not mark the file clean
start F "$WIN" -- pid map $X $LEN forkfill $X $LEN 27 check $X $LEN 27 wait
if await F READY; then
    pidf=$(sed -n 's/^PID //p' "$tmp/F.log")
    grep -qx "CHILD FILLED 27" "$tmp/F.log" && grep -qx "CHECKED 27" "$tmp/F.log" || fail "fork: the parent does not see its child's write"
    [ "$(state_pid_opened "$f" | cut -d' ' -f1)" = 1 ] || fail "a forked child's normal exit marked the file clean while its parent holds it"
    kill_finish F
    run "$WIN" -- map $X $LEN check $X $LEN 27
    expect_unclean "the parent killed after its child exited normally" "$pidf"
else fail "F did not start"; cat "$tmp/F.log" "$tmp/F.err"; fi
ok "a forked child's exit does not hide its parent's crash"

# --- and the other way round: the holder leaves normally last -> clean
start H "$WIN" -- map $X $LEN wait
await H READY || fail "the holder (2) did not start"
run "$WIN" -- map $X $LEN check $X $LEN 26
expect_clean "joining the second holder"
tell H
finish H
[ "$status" -eq 0 ] || fail "the holder (2): status $status"
[ "$(state_pid_opened "$f" | cut -d' ' -f1)" = 0 ] || fail "the last user left normally, but the state is not 0"
run "$WIN" -- map $X $LEN check $X $LEN 26
expect_clean "after the last user left normally"
ok "the last user to leave normally marks it clean"

done_all
