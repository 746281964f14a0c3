#!/usr/bin/env bash
# Guards a subtle property: the OFD lock that
# tells "who still uses the window's file" lives on an open file
# description, and a MAP_SHARED mapping holds a reference to the
# description it was made through: the description (and its lock) lives as
# long as the descriptor OR any mapping made through it. A forked child
# gets a description of its own (ownDescriptionAfterFork), but the mappings
# it inherited still pin the parent's description. The daemon pattern: the
# parent maps in the window, forks, and exits normally at once; the child
# exits normally later, the last user. This works only because the
# parent's closeAtExit "steps aside" (F_UNLCK on its description) before it
# exits: without that, the lock on the parent's description, kept alive by
# the child's inherited mappings, would make the child believe another
# user remains, and state 1 would stay. (Where no F_UNLCK is possible, the
# pinning does bite: see persist_exit_marks_file_closed_after_program_closed_fd.)
# Expected: state 0 after both exit normally; no message on the next run.
. "$(dirname "$0")/../include/window_test_lib.bash" persist_parent_exiting_before_child_closes_cleanly
build_wprobe
export MAPWARDEN_REPORT=none
f="$tmp/heap.mw"
WIN="MAPWARDEN_WINDOW_HEAP=0x500000000000:16M:persist=$f"
cat >"$tmp/daemon.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char *p = mmap((void *)0x500000000000, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)0x500000000000) { perror("mmap"); return 3; }
    p[0] = 1;
    int fds[2];
    if (pipe(fds) != 0) return 4;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 5;
    if (pid > 0) return 0;                 /* the parent exits normally at once */
    close(fds[1]);
    char c;
    while (read(fds[0], &c, 1) > 0) {}     /* EOF: the parent is gone */
    while (getppid() == pid) {}            /* (not needed; the pipe says it) */
    p[1] = 2;                              /* the child still uses the window */
    FILE *done = fopen(argv[1], "w");
    if (done) { fprintf(done, "%d\n", (int)getpid()); fclose(done); }
    return 0;                              /* ... and exits normally, last */
}
C
$CC -O1 -o "$tmp/daemon" "$tmp/daemon.c" || { echo "cannot compile"; exit 1; }
state_of() { "$PY" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(56); print(struct.unpack_from("<I",d,32)[0])' "$1"; }

env "$WIN" LD_PRELOAD="$LIB" "$tmp/daemon" "$tmp/done" >"$tmp/out" 2>"$tmp/err"; status=$?
[ "$status" -eq 0 ] || { fail "the parent: status $status"; show; }
# wait for the child to have exited (it writes $tmp/done just before)
for _ in $(seq 300); do [ -s "$tmp/done" ] && break; sleep 0.1; done
[ -s "$tmp/done" ] || { fail "the child never finished"; done_all; }
child=$(cat "$tmp/done")
# Its exit is complete (handlers run, descriptors closed) once it is a
# zombie: whoever adopted it (pid 1, here slow to reap) need not have
# reaped it yet.
exited() { [ ! -e "/proc/$1" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]; }
for _ in $(seq 300); do exited "$child" && break; sleep 0.05; done
exited "$child" || fail "the child (pid $child) has not exited after 15 s"
st=$(state_of "$f")
[ "$st" = 0 ] || fail "parent and child both exited normally, but the file's state is $st (open)"
run "$WIN" MAPWARDEN_LOG=info -- map 0x500000000000 0x1000
if grep -q "not closed cleanly" "$tmp/err"; then fail "the next run reports a crash:"; cat "$tmp/err"; fi
ok "a forked child that outlives its parent marks the file closed"
done_all
