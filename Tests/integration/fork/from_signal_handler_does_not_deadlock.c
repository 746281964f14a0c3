// A signal handler that calls fork() while its own
// thread is inside mapwarden. The main thread loops MAP_FIXED mmap/munmap
// in the window; another thread sends it SIGUSR1 every 200 us; the handler
// forks, the child maps, writes, checks and unmaps a window page (which
// must go back to the reservation, no hole) and exits 0; the handler
// waits for it, until 300 children have run. No hang (alarm in parent
// and children: a deadlock lasts for ever, so the parent's alarm is 60 s,
// far beyond a slow machine), every child exits 0, and the parent's
// registry is consistent afterwards. The old lock
// (taken again by the atfork prepare handler of the interrupted thread)
// deadlocked here.
#include "common.h"
#include "win_helpers.h"
#include <pthread.h>
#include <signal.h>

#define WANT_FORKS 300

static volatile sig_atomic_t forks, bad_children, fork_errors;
static volatile int last_status;
static pthread_t main_thread;
static volatile int stop;

static int child_work(void) {
    alarm(5);
    char *q = W(0x200000);
    char *r = mmap(q, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (r != q) return 10;
    r[0] = 1; r[PAGE + 5] = 2;
    if (r[0] != 1 || r[PAGE + 5] != 2) return 11;
    if (munmap(q, 2 * PAGE) != 0) return 12;
    /* the raw kernel view: still mapped (the reservation), and PROT_NONE */
    if (!kernel_mapped((uintptr_t)q, (uintptr_t)q + 2 * PAGE)) return 13;
    if (raw_syscall(SYS_mincore, q, 2 * PAGE, (unsigned char[2]){0}) != 0) return 14;
    return 0;
}

static void handler(int sig) {
    (void)sig;
    int saved = errno;
    pid_t c = fork();
    if (c == 0) _exit(child_work());
    if (c < 0) { fork_errors++; errno = saved; return; }
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) { bad_children++; last_status = st; }
    forks++;
    errno = saved;
}

static void *killer(void *arg) {
    (void)arg;
    while (!stop) { pthread_kill(main_thread, SIGUSR1); usleep(200); }
    return NULL;
}

int main(void) {
    alarm(60);
    CHECK_WHOLE();
    main_thread = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, killer, NULL) == 0);
    char *p = W(0x100000);
    long n = 0;
    double end = 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    end = ts.tv_sec + ts.tv_nsec / 1e9 + 50.0; /* (the count is what ends the loop; this, a killer never run) */
    while (forks < WANT_FORKS) {
        char *r = mmap(p, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        CHECK(r == p);
        r[0] = 7;
        CHECK(munmap(p, PAGE) == 0);
        n++;
        if ((n & 255) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            if (ts.tv_sec + ts.tv_nsec / 1e9 > end) break;
        }
    }
    stop = 1;
    CHECK(pthread_join(t, NULL) == 0);
    signal(SIGUSR1, SIG_IGN);
    fprintf(stderr, "iterations %ld, forks from the handler %d, bad children %d (last status %#x), fork errors %d\n",
            n, (int)forks, (int)bad_children, last_status, (int)fork_errors);
    CHECK(bad_children == 0);
    CHECK(fork_errors == 0);
    CHECK(forks >= WANT_FORKS);
    CHECK_WHOLE();
    return 0;
}
