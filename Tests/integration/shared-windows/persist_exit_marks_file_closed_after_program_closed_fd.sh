#!/usr/bin/env bash
# A program that closes the descriptors it did not open
# (daemons do: close_range(3, ~0U, 0), or a loop up to the limit), or dup2()s
# over one, closes the window file's descriptor too. mapwarden notices that
# on the next anonymous mmap in the window (stillOpen / reopen), but not at
# exit: BackingFile.closeAtExit starts with `guard stillOpen else { return }`,
# so a program that exits normally after closing it never marks the file
# closed. The next run then reports 'was not closed cleanly', a crash that
# did not happen. Reopening does not save it ("reopen": closed, then an
# mmap in the window reopens the file with a shared lock): the old
# description is not gone, the mapping made through it still holds a
# reference to it, and with it its shared OFD lock, which nothing can
# release any more; closeAtExit's F_WRLCK on the new description then
# fails against the process's own pinned lock, so it never marks the file
# closed. (Fix: take the lock on a description that is never mmap()ed,
# and map through a second, unlocked one; at exit, reopen if needed.)
# Expected: after a normal exit, state 0 and no message on the next run,
# whether the program closed the descriptor, dup2()ed over it, or closed it
# and mapped again (reopen) before exiting.
. "$(dirname "$0")/../include/window_test_lib.bash" persist_exit_marks_file_closed_after_program_closed_fd
build_wprobe
export MAPWARDEN_REPORT=none
f="$tmp/heap.mw"
WIN="MAPWARDEN_WINDOW_HEAP=0x500000000000:16M:persist=$f"
cat >"$tmp/closer.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char *p = mmap((void *)0x500000000000, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)0x500000000000) { perror("mmap"); return 3; }
    p[0]++;
    if (!strcmp(argv[1], "close_range")) {
        if (syscall(SYS_close_range, 3U, ~0U, 0) != 0) for (int fd = 3; fd < 4096; fd++) close(fd);
    } else if (!strcmp(argv[1], "dup2")) {
        int null = open("/dev/null", O_RDWR);
        for (int fd = 3; fd < 4096; fd++) if (fd != null && fcntl(fd, F_GETFD) >= 0) dup2(null, fd);
    } else if (!strcmp(argv[1], "reopen")) {
        syscall(SYS_close_range, 3U, ~0U, 0);
        char *q = mmap((void *)0x500000001000, 4096, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (q != (void *)0x500000001000) { perror("mmap after close"); return 4; }
        q[0]++;
    }
    return 0;
}
C
$CC -O1 -o "$tmp/closer" "$tmp/closer.c" || { echo "cannot compile"; exit 1; }
state_of() { "$PY" -c 'import struct,sys; d=open(sys.argv[1],"rb").read(56); print(struct.unpack_from("<I",d,32)[0])' "$1"; }

for how in close_range dup2 reopen; do
    rm -f "$f"
    env "$WIN" LD_PRELOAD="$LIB" "$tmp/closer" $how >"$tmp/out" 2>"$tmp/err"; status=$?
    [ "$status" -eq 0 ] || { fail "$how: status $status"; show; continue; }
    st=$(state_of "$f")
    [ "$st" = 0 ] || fail "$how: the program exited normally, but the file's state is $st (open)"
    run "$WIN" MAPWARDEN_LOG=info -- map 0x500000000000 0x1000
    if grep -q "not closed cleanly" "$tmp/err"; then fail "$how: the next run reports a crash:"; cat "$tmp/err"; fi
    ok "$how, then a normal exit: closed cleanly"
done
done_all
