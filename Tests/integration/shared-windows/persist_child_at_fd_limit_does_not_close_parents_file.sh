#!/usr/bin/env bash
# BackingFile.ownDescriptionAfterFork opens the window's
# file again in a forked child; when that open fails (the process is at
# RLIMIT_NOFILE: EMFILE; or the file was renamed) it silently keeps the
# parent's open file description, and so the parent's OFD lock: the two
# processes are one "user" to the kernel. When the child exits normally,
# its closeAtExit asks for F_WRLCK on that shared description: the lock is
# its own owner's, so the kernel CONVERTS the parent's shared lock into an
# exclusive one and the child marks the file closed (state 0) while the
# parent still runs. Worse, the description stays open in the parent with
# the exclusive lock on it: every process that starts with the window now
# blocks in F_OFD_SETLKW (BackingFile.open, shared lock) until the parent
# exits: a hang before main.
# Expected: while the parent still runs after its child exited normally,
# state is 1 and a new run with the window starts (and exits 0) at once.
. "$(dirname "$0")/../include/window_test_lib.bash" persist_child_at_fd_limit_does_not_close_parents_file
build_wprobe
export MAPWARDEN_REPORT=none
f="$tmp/heap.mw"
WIN="MAPWARDEN_WINDOW_HEAP=0x500000000000:16M:persist=$f"
cat >"$tmp/parent.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char *p = mmap((void *)0x500000000000, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)0x500000000000) { perror("mmap"); return 3; }
    p[0] = 1;
    /* use every descriptor: the child's open() gets EMFILE */
    int first = -1, last = -1, fd;
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) { if (first < 0) first = fd; last = fd; }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 5;
    if (pid == 0) { p[1] = 2; exit(0); }   /* the child exits normally */
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) return 6;
    for (fd = first; fd >= 0 && fd <= last; fd++) close(fd);
    printf("READY\n");
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) {}   /* still running, still using the window */
    p[2] = 3;
    return 0;
}
C
$CC -O1 -o "$tmp/parent" "$tmp/parent.c" || { echo "cannot compile"; exit 1; }
state_of() { "$PY" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(56); print(struct.unpack_from("<I",d,32)[0])' "$1"; }

mkfifo "$tmp/in" "$tmp/pout"
(ulimit -n 256; exec env "$WIN" LD_PRELOAD="$LIB" "$tmp/parent" <"$tmp/in" >"$tmp/pout" 2>"$tmp/perr") &
ppid=$!; bg_pids+=("$ppid")
exec {pin}>"$tmp/in" {pout}<"$tmp/pout"
if IFS= read -r -t 10 -u $pout line && [ "$line" = READY ]; then
    st=$(state_of "$f")
    [ "$st" = 1 ] || fail "the parent still uses the file, but its child's exit set state $st (closed)"
    { timeout 10 env "$WIN" LD_PRELOAD="$LIB" "$tmp/wprobe" map 0x500000100000 0x1000 >"$tmp/out" 2>"$tmp/err" </dev/null; status=$?; } 2>/dev/null
    [ "$status" -ne 124 ] || fail "a new run with the window hangs at start-up (killed after 10 s): the parent's description holds an exclusive lock"
    [ "$status" -eq 124 ] || [ "$status" -eq 0 ] || { fail "a new run: status $status"; show; }
else
    fail "the parent did not get ready"; cat "$tmp/perr"
fi
echo go >&$pin
exec {pin}>&- 
wait "$ppid"; pst=$?
[ "$pst" -eq 0 ] || { fail "the parent: status $pst"; cat "$tmp/perr"; }
ok "a forked child that cannot reopen the file does not take over its parent's lock"
done_all
