#!/usr/bin/env bash
# When the kernel refuses the filter (here: a launcher's own seccomp filter
# answers EPERM to seccomp(2)), MAPWARDEN_RAW_SYSCALLS=trap says so in one
# line on standard error, with the errno, and the program runs as with the
# trap off: no SIGSYS handler of mapwarden's, raw calls go to the kernel
# (a raw munmap in the window leaves its hole), status 0.
. "$(dirname "$0")/../include/report_test_lib.bash" rawrefused

cat >"$tmp/launch.c" <<'C'
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
    (void)argc;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_seccomp, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof *f, f};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) {
        perror("launcher filter");
        return 2;
    }
    execv(argv[1], argv + 1);
    perror("execv");
    return 127;
}
C
cat >"$tmp/prog.c" <<'C'
#include <signal.h>
#include "common.h"
#include "win_helpers.h"
#include "inline_syscall.h"
int main(void) {
    struct sigaction now;
    CHECK(sigaction(SIGSYS, NULL, &now) == 0 && now.sa_handler == SIG_DFL);
    CHECK(own_syscall(SYS_munmap, (long)W(0x600000), 2 * PAGE, 0, 0, 0, 0) == 0);
    CHECK(kernel_unmapped((uintptr_t)W(0x600000), (uintptr_t)W(0x600000) + 2 * PAGE)); /* the hole: not trapped */
    CHECK(munmap(W(0x600000), 2 * PAGE) == 0);
    CHECK_WHOLE();
    return 0;
}
C
$CC -std=gnu11 -O1 -Wall -o "$tmp/launch" "$tmp/launch.c" || { echo "cannot compile the launcher"; exit 1; }
$CC -std=gnu11 -O1 -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile prog"; exit 1; }

"$tmp/launch" /usr/bin/env LD_PRELOAD="$LIB" MAPWARDEN_RAW_SYSCALLS=trap "$tmp/prog" >"$tmp/out" 2>"$tmp/err"
status=$?
[ $status -eq 0 ] || { fail "status $status"; show; }
want="mapwarden: MAPWARDEN_RAW_SYSCALLS=trap: the kernel refused the seccomp filter (errno 1); raw system calls are not trapped"
[ "$(grep -c '^mapwarden: MAPWARDEN_RAW_SYSCALLS' "$tmp/err")" = 1 ] && grep -qxF "$want" "$tmp/err" \
    || { fail "expected exactly: $want"; show; }
ok "a refused filter is said once, and the program runs without the trap"
exit $((failures > 0))
