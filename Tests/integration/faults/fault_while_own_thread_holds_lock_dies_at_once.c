/*
 * A signal handler that interrupted mapwarden while it held its lock (the
 * handler knows: mapwarden_query answers EAGAIN there) and then faults in
 * a window: the fault handler must not wait for that lock (its own thread
 * holds it) nor read the registry halfway through a change. The process
 * dies of SIGSEGV, at once, with an explanation that says the registry
 * could not be read, and without a report (exit's rule: not while the
 * registry is mid-change). Stacks are off: libunwind cannot walk the
 * engine's frames a handler interrupted (see signals/).
 */
#include "fault_helpers.h"
#include <sys/time.h>

volatile char sink;
static volatile int armed;

static void on_alarm(int sig) {
    (void)sig;
    struct mapwarden_info info;
    if (!armed) return;
    if (mapwarden_query(W(0), &info) == -1 && errno == EAGAIN) {
        armed = 0;
        sink = *(volatile char *)W(0x40000000); /* the fault, inside mapwarden's call */
    }
}

static int crash(const char *what) {
    (void)what;
    leave_a_leak();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every = {{0, 50}, {0, 50}};
    setitimer(ITIMER_REAL, &every, NULL);
    armed = 1;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        void *p = mmap(W(0x100000), 16 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        munmap(p, 16 * PAGE);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20) return 9; /* never landed inside the lock */
    }
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);
    static struct outcome o;
    static const char *const no_stacks[] = {"MAPWARDEN_BACKTRACE_DEPTH=0", NULL};
    run_child("inside", &o, no_stacks);
    if (WIFEXITED(o.status) && WEXITSTATUS(o.status) == 9) {
        printf("skipped: no SIGALRM landed while mapwarden held its lock in 20 s\n");
        return 0;
    }
    check_killed_by(&o, SIGSEGV);
    char head[200];
    snprintf(head, sizeof head,
             "mapwarden: SIGSEGV at %p (read): in a window; its registry could not be read (mapwarden was changing it), no more is known\n",
             (void *)W(0x40000000));
    CHECK_HAS(o.err, head);
    CHECK(o.report[0] == 0);
    return 0;
}
