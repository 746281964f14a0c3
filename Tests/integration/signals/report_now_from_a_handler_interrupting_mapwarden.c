// mapwarden_report_now called from a signal handler: an interval timer fires
// SIGALRM every 200 us while the main thread maps and unmaps in the window,
// so the handler often interrupts mapwarden on this thread, lock held. Such
// a call answers EAGAIN (as every API call there) instead of waiting for a
// lock its own thread holds; the others write their snapshot. The program
// ends (an alarm of 30 s would kill a deadlocked one), some calls succeeded,
// and the registry matches the kernel.
#include <signal.h>
#include <sys/time.h>
#include "common.h"
#pragma weak mapwarden_report_now

static volatile sig_atomic_t calls, written, refused, other;
static char path[4096];

static void on_alarm(int sig) {
    (void)sig;
    int saved = errno;
    if (mapwarden_report_now(path) == 0) written++;
    else if (errno == EAGAIN) refused++;
    else other++;
    calls++;
    errno = saved;
}

int main(void) {
    CHECK(mapwarden_report_now != NULL);
    snprintf(path, sizeof path, "/tmp/mapwarden-report-now.%%p.json");
    alarm(30);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval it = { { 0, 200 }, { 0, 200 } };
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
    char *p = W(0x100000);
    for (long i = 0; i < 200000 && calls < 400; i++) {
        CHECK(mmap(p, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p);
        CHECK(munmap(p, 1 << 16) == 0);
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
    printf("calls %d written %d refused %d other %d\n", (int)calls, (int)written, (int)refused, (int)other);
    CHECK(calls > 0 && written > 0 && other == 0);
    CHECK(registry_consistent() == 0); /* (its mappings: none left) */
    char written_path[64];
    snprintf(written_path, sizeof written_path, "/tmp/mapwarden-report-now.%d.json", (int)getpid());
    CHECK(unlink(written_path) == 0);
    return 0;
}
