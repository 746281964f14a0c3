#!/usr/bin/env bash
# Crash detection when one user exits while another
# starts. The last user A, at normal exit, takes the exclusive OFD lock
# (closeAtExit), writes state 0, and keeps the lock until the kernel closes
# its descriptors: after exit_mm, which for a process with a 1 TiB
# reservation and shared mappings is not instant. A process B starting
# meanwhile fails F_WRLCK, so it waits for a shared lock (BackingFile.open,
# alone = false), gets it when A is gone, and joins WITHOUT touching the
# header: the file is in use by B but says state 0 (closed), pid A. If B
# then crashes, the next run sees state 0 and reports nothing: the crash
# is lost. (A joiner that finds state 0 has seen the last user leave: it
# should mark the file open and take over, as a first user does.)
# The test plays A's part with a small helper that does exactly what
# closeAtExit does (F_OFD_SETLK F_WRLCK on byte 0, pwrite state 0) and
# releases the lock only once B is seen waiting for it in /proc/locks.
# Expected: after B is SIGKILLed, the next run prints 'not closed cleanly
# (last opened by pid B)'.
. "$(dirname "$0")/../include/window_test_lib.bash" persist_crash_of_joiner_during_last_exit_is_detected
build_wprobe
export MAPWARDEN_REPORT=none
f="$tmp/heap.mw"
WIN="MAPWARDEN_WINDOW_HEAP=0x500000000000:16M:persist=$f"
X=0x500000010000
cat >"$tmp/leaver.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <unistd.h>
/* argv[1]: the file. Takes the exclusive OFD lock as an exiting last user
 * does, marks the header closed, says LOCKED, and waits for a line on stdin
 * before it exits (dropping the lock). */
int main(int argc, char **argv) {
    int fd = open(argv[1], O_RDWR);
    if (fd < 0) { perror("open"); return 1; }
    struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
    if (fcntl(fd, F_OFD_SETLK, &l) != 0) { perror("F_OFD_SETLK"); return 2; }
    uint32_t closed = 0;
    if (pwrite(fd, &closed, 4, 32) != 4) { perror("pwrite"); return 3; }
    printf("LOCKED\n"); fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) {}
    return 0;
}
C
$CC -O1 -o "$tmp/leaver" "$tmp/leaver.c" || { echo "cannot compile"; exit 1; }
state_of() { "$PY" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(56); print(struct.unpack_from("<I",d,32)[0], struct.unpack_from("<Q",d,40)[0])' "$1"; }

# the file exists, closed cleanly
run "$WIN" -- map $X 0x1000
[ "$status" -eq 0 ] || { fail "first run: status $status"; show; done_all; }
# A, the last user, is exiting: it holds the exclusive lock
mkfifo "$tmp/ain" "$tmp/aout"
"$tmp/leaver" "$f" <"$tmp/ain" >"$tmp/aout" 2>"$tmp/aerr" &
apid=$!; bg_pids+=("$apid")
exec {ain}>"$tmp/ain" {aout}<"$tmp/aout"
IFS= read -r -t 10 -u $aout line && [ "$line" = LOCKED ] || { fail "the helper did not lock"; cat "$tmp/aerr"; done_all; }
# B starts now, and waits for the lock
start B "$WIN" -- pid map $X 0x1000 wait
# (/proc/locks lists the whole machine's locks: look for a waiter on this
# file's inode, not any OFD lock waiter, which another test run may be)
ino=$(stat -c %i "$f")
waited=0
for _ in $(seq 600); do grep -qE -- "-> OFDLCK .* [0-9a-f]+:[0-9a-f]+:$ino " /proc/locks && { waited=1; break; }; sleep 0.05; done
[ "$waited" = 1 ] || fail "B was not seen waiting for the lock on $f (inode $ino) in /proc/locks"
echo go >&$ain; exec {ain}>&-; wait "$apid"
await B READY || { fail "B did not start"; cat "$tmp/B.log" "$tmp/B.err"; done_all; }
pidb=$(sed -n 's/^PID //p' "$tmp/B.log")
echo "while B runs: state/pid $(state_of "$f") (B is $pidb)"
kill_finish B
[ "$status" -eq 137 ] || fail "B: status $status"
run "$WIN" -- map $X 0x1000
[ "$status" -eq 0 ] || { fail "the run after B: status $status"; show; }
grep -qE "not closed cleanly \(last opened by pid $pidb\b" "$tmp/err" ||
    { fail "B was SIGKILLed while it was the file's only user, but the next run reports no crash of pid $pidb"; show; }
ok "a user that started while the last one was leaving is seen to crash"
done_all
