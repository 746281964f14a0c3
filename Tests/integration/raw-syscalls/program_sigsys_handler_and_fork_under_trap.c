// MAPWARDEN_RAW_SYSCALLS=trap beside a program's own SIGSYS handler, and
// across fork (docs/raw-syscalls.md):
//  - sigaction(SIGSYS) answers what the program set, while the kernel
//    keeps mapwarden's handler (read with a raw rt_sigaction);
//  - a SIGSYS that is not mapwarden's (raise) goes to the program's handler,
//    once, with its siginfo; a trapped call does not reach it;
//  - with the program's disposition SIG_DFL, such a SIGSYS kills the
//    process with SIGSYS, as without mapwarden;
//  - a forked child inherits the filter and the handler: its trapped call
//    is served and recorded in the child's registry;
//  - getpid in a loop is unchanged.
// ENV: MAPWARDEN_RAW_SYSCALLS=trap
#define MW_TEST_KERNEL_VIEW_FROM_MAPS
#include "common.h"
#include "win_helpers.h"
#include "inline_syscall.h"
#include <signal.h>
#include <sys/wait.h>

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

static volatile int calls, last_code;
static void own_handler(int sig, siginfo_t *info, void *ctx) {
    (void)ctx;
    if (sig == SIGSYS) calls++;
    last_code = info->si_code;
}

/* The handler in the kernel, as the kernel says (not libc's sigaction). */
static void *kernel_handler(int sig) {
    struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } k;
    CHECK(own_syscall(SYS_rt_sigaction, sig, 0, (long)&k, 8, 0, 0) == 0);
    return k.handler;
}

int main(void) {
    CHECK(seccomp_mode() == 2);
    void *ours = kernel_handler(SIGSYS);
    CHECK(ours != SIG_DFL);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = own_handler;
    sa.sa_flags = SA_SIGINFO;
    CHECK(sigaction(SIGSYS, &sa, &old) == 0);
    CHECK(old.sa_handler == SIG_DFL); /* what the program had: nothing */
    CHECK(sigaction(SIGSYS, NULL, &old) == 0);
    CHECK((old.sa_flags & SA_SIGINFO) && old.sa_sigaction == own_handler);
    CHECK(kernel_handler(SIGSYS) == ours);

    /* not mapwarden's SIGSYS: the program's handler */
    CHECK(raise(SIGSYS) == 0);
    CHECK(calls == 1 && last_code == SI_TKILL);

    /* a trapped call: served, the program's handler not called */
    char *m = W(0x200000);
    CHECK(own_syscall(SYS_mmap, (long)m, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == (long)m);
    CHECK_MAPPED(m, m, 2 * P, RW);
    CHECK(calls == 1);

    /* fork: the child's trapped calls are its own registry's */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char *c = W(0x300000);
        if (own_syscall(SYS_mmap, (long)c, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != (long)c) _exit(2);
        if (query_state(c) != MAPWARDEN_MAPPED) _exit(3);
        if (own_syscall(SYS_munmap, (long)m, 2 * P, 0, 0, 0, 0) != 0) _exit(4);
        if (query_state(m) != MAPWARDEN_FREE || strcmp(perms_at(m), "---p") != 0) _exit(5);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) { fprintf(stderr, "child status %#x\n", st); return 1; }
    CHECK_MAPPED(m, m, 2 * P, RW); /* the parent's registry: unchanged */
    CHECK(query_state(W(0x300000)) == MAPWARDEN_FREE);

    /* the program's SIG_DFL: a SIGSYS that is not ours kills with SIGSYS */
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        signal(SIGSYS, SIG_DFL);
        raise(SIGSYS);
        _exit(0);
    }
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)) { fprintf(stderr, "child status %#x, expected SIGSYS\n", st); return 1; }

    long me = getpid();
    for (int i = 0; i < 100000; i++) CHECK(own_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0) == me);
    CHECK(munmap(m, 2 * P) == 0);
    CHECK_WHOLE();
    return 0;
}
