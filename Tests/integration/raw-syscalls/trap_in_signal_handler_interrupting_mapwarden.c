// MAPWARDEN_RAW_SYSCALLS=trap, a trap that interrupts mapwarden: the
// handler of signals/handler_maps_in_window_without_deadlock.c, with its
// mmap and munmap made by its own `syscall` instructions. An interval timer
// fires SIGALRM every 50 us while the main thread hammers its own part of
// the window through libc (map / write / mprotect / munmap); each raw call
// of the handler is trapped (SIGSYS inside the SIGALRM handler) and served
// by the engine, through the deferred path when the alarm interrupted the
// engine holding its lock. No deadlock
// (the test runs in a child, whose code never sleeps: the parent takes it
// for deadlocked when it sleeps 1 s in a row, on the lock's futex; a child
// that is merely slow on a loaded machine is waited for, up to 60 s), and at
// the end the registry matches the kernel, with no hole, and the window is
// one line again. Also checked every 2000 cycles on the way.
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>
// ENV: MAPWARDEN_RAW_SYSCALLS=trap
#define MW_TEST_KERNEL_VIEW_FROM_MAPS
#include "common.h"
#include "rob_helpers.h"
#include "inline_syscall.h"

static volatile sig_atomic_t handled, handler_failures;

static void on_alarm(int sig) {
    (void)sig;
    int saved = errno;
    char *p = W(0x40000000) + (handled % 16) * 4 * PAGE;
    long q = own_syscall(SYS_mmap, (long)p, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (q != (long)p) { handler_failures++; errno = saved; return; }
    if (p[0] != 0 || p[PAGE] != 0) handler_failures++;
    p[0] = 'h'; p[2 * PAGE - 1] = 'h';
    if (own_syscall(SYS_munmap, (long)p, 2 * PAGE, 0, 0, 0, 0) != 0) handler_failures++;
    handled++;
    errno = saved;
}

static int run(void *arg) {
    (void)arg;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval it = { { 0, 50 }, { 0, 50 } };
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    uint64_t seed = 4242;
    double t0 = rob_now();
    long cycles = 0;
    while (rob_now() - t0 < 1.5) {
        size_t pages = 1 + rob_below(&seed, 4), off = rob_below(&seed, 60);
        char *p = W(0x80000000) + off * PAGE;
        char *q = mmap(p, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        CHECK(q == p);
        memset(p, 'm', pages * PAGE);
        CHECK(mprotect(p, pages * PAGE, PROT_READ) == 0);
        CHECK(p[pages * PAGE - 1] == 'm');
        if (pages > 2) CHECK(munmap(p + PAGE, PAGE) == 0);
        CHECK(munmap(p, pages * PAGE) == 0);
        if (++cycles % 2000 == 0) {
            /* Block the timer while the checker reads (it uses stdio). */
            sigset_t s, old;
            sigemptyset(&s); sigaddset(&s, SIGALRM);
            sigprocmask(SIG_BLOCK, &s, &old);
            int n = registry_consistent();
            if (n != 0) { fprintf(stderr, "after %ld cycles and %d handler runs: registry_consistent() = %d\n", cycles, (int)handled, n); exit(1); }
            sigprocmask(SIG_SETMASK, &old, NULL);
        }
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
    fprintf(stderr, "%ld cycles, %d handler runs, %d handler failures\n", cycles, (int)handled, (int)handler_failures);
    CHECK(handler_failures == 0);
    CHECK(handled > 100);
    CHECK(registry_consistent() == 0);
    CHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 1);
    return 0;
}

int main(void) {
    CHECK(seccomp_mode() == 2);
    CHECK(registry_consistent() == 0);
    /* (no alarm in the child: the interval timer uses SIGALRM) */
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(run(NULL));
    int st = 0;
    const char *why = NULL;
    double t0 = rob_now();
    if (rob_wait_unless_deadlocked(pid, &st, NULL, 10000, 1.0, 60.0, &why) == 0) {
        kill(pid, SIGKILL); waitpid(pid, &st, 0);
        fprintf(stderr, "deadlock: the child was %s after %.1f s\n", why, rob_now() - t0);
        return 1;
    }
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "the child failed (%s %d): see above\n", WIFSIGNALED(st) ? "signal" : "exit status",
                WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        return 1;
    }
    return 0;
}
