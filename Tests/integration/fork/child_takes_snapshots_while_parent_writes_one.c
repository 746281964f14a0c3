// A forked child takes its own snapshots and ends at once, even when another
// thread of the parent was writing a snapshot at the fork: that thread does
// not exist in the child, so neither does its snapshot (the report gate
// opens again there). A thread writes snapshots in a loop over 20,000
// mappings while the main thread forks five times; each child's
// mapwarden_report_now succeeds and its _exit takes well under a second
// (the end's report waits for a snapshot in progress, up to 2 s).
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include "common.h"
#pragma weak mapwarden_report_now

static volatile int stop;

static void *snapper(void *arg) {
    (void)arg;
    while (!stop) mapwarden_report_now("/tmp/mapwarden-fork-snap.%p.json");
    return NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(void) {
    CHECK(mapwarden_report_now != NULL);
    alarm(60);
    for (long i = 0; i < 20000; i++)
        CHECK(mmap(W(i * 2 * PAGE), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == W(i * 2 * PAGE));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, snapper, NULL) == 0);
    usleep(100000);
    for (int k = 0; k < 5; k++) {
        double t0 = now();
        pid_t p = fork();
        CHECK(p >= 0);
        if (p == 0) {
            char own[64];
            snprintf(own, sizeof own, "/tmp/mapwarden-fork-child.%d.json", (int)getpid());
            int r = mapwarden_report_now(own);
            int e = errno;
            unlink(own);
            _exit(r == 0 ? 0 : e == EAGAIN ? 11 : 12);
        }
        int st;
        CHECK(waitpid(p, &st, 0) == p);
        double took = now() - t0;
        printf("child %d: status %d, %.2f s\n", k, WEXITSTATUS(st), took);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        CHECK(took < 1.0);
    }
    stop = 1;
    CHECK(pthread_join(t, NULL) == 0);
    char parent[64];
    snprintf(parent, sizeof parent, "/tmp/mapwarden-fork-snap.%d.json", (int)getpid());
    unlink(parent);
    munmap(W(0), 40000 * PAGE);
    return 0;
}
