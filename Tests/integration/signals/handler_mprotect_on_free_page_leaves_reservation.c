// A signal handler that interrupts mapwarden (the
// main thread loops MAP_FIXED mmap/munmap in the window; another thread
// sends SIGUSR1 in a tight loop) calls mprotect(PROT_READ) on a FREE window
// page. The reentrant call goes to the kernel, which may open the
// reservation; once the interrupted call has returned, the page must be
// ---p again, FREE in the registry, and registry_consistent() holds (no
// accessible reservation left behind). Checked after every handler call
// that opened the page (signals blocked while checking), and at the end.
#include "common.h"
#include "win_helpers.h"
#include <pthread.h>
#include <signal.h>
#include <time.h>

#define TARGET W(0x800000)
#define WANT_HITS 20

static volatile sig_atomic_t hits, calls, seen;
static pthread_t main_thread;
static volatile int stop;

static void handler(int sig) {
    (void)sig;
    int saved = errno;
    calls++;
    if (mprotect(TARGET, PAGE, PROT_READ) == 0) hits++;
    errno = saved;
}

static void *killer(void *arg) {
    (void)arg;
    while (!stop) { pthread_kill(main_thread, SIGUSR1); for (volatile int i = 0; i < 1000; i++) {} }
    return NULL;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void) {
    /* (A watchdog for a deadlock only: the loop below stops trying after
     * 6 s, but under the signal storm one call can take seconds to get
     * through; 10 s was hit once on a loaded machine.) */
    alarm(30);
    CHECK_WHOLE();
    main_thread = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, killer, NULL) == 0);
    char *p = W(0x100000);
    double end = now() + 6.0;
    long n = 0;
    int checked = 0;
    while (checked < WANT_HITS) {
        char *r = mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        CHECK(r == p);
        CHECK(munmap(p, PAGE) == 0);
        n++;
        if (hits != seen) {
            /* the interrupted call has returned: the page is closed again */
            CHECK(pthread_sigmask(SIG_BLOCK, &usr1, NULL) == 0);
            seen = hits;
            CHECK_FREE(TARGET);
            CHECK_FREE(p);
            CHECK(registry_consistent() == 0);
            checked++;
            CHECK(pthread_sigmask(SIG_UNBLOCK, &usr1, NULL) == 0);
        }
        /* (Every iteration: under the signal storm one can take milliseconds,
         * and the alarm must never be the end.) */
        if (now() > end) break;
    }
    stop = 1;
    CHECK(pthread_join(t, NULL) == 0);
    signal(SIGUSR1, SIG_IGN);
    fprintf(stderr, "iterations %ld, handler calls %d, mprotect opened the page %d times, checked %d\n", n,
            (int)calls, (int)hits, checked);
    /* the handler must have interrupted mapwarden at least once, or the test proved nothing */
    CHECK(checked > 0);
    CHECK_FREE(TARGET);
    CHECK(strcmp(perms_at(TARGET), "---p") == 0);
    CHECK_WHOLE();
    return 0;
}
