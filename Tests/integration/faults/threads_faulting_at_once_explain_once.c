/*
 * Four threads that fault in the window at the same moment: the first
 * explains its fault and ends the process, the others wait for it rather
 * than racing it. One explanation, whole, on standard error; death by
 * SIGSEGV; the report written once.
 */
#include "fault_helpers.h"
#include <pthread.h>

static pthread_barrier_t start;
volatile char sink;

static void *fault_after_barrier(void *arg) {
    uintptr_t i = (uintptr_t)arg;
    pthread_barrier_wait(&start);
    sink = *(volatile char *)(W(0x50000000) + i * PAGE); /* the fault */
    return NULL;
}

static int crash(const char *what) {
    (void)what;
    leave_a_leak();
    pthread_t t[4];
    pthread_barrier_init(&start, NULL, 4);
    for (uintptr_t i = 0; i < 4; i++) pthread_create(&t[i], NULL, fault_after_barrier, (void *)i);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    return 3;
}

static int count(const char *text, const char *needle) {
    int n = 0;
    for (const char *at = text; (at = strstr(at, needle)); at++) n++;
    return n;
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);
    static struct outcome o;
    for (int round = 0; round < 5; round++) {
        run_child("threads", &o, NULL);
        check_killed_by(&o, SIGSEGV);
        if (count(o.err, "mapwarden: SIGSEGV at ") != 1 || count(o.err, "(read): never mapped\n") != 1) {
            fprintf(stderr, "round %d: expected exactly one explanation, got:\n%s\n", round, o.err);
            return 1;
        }
        CHECK(count(o.report, " at crash of ") == 1);
    }
    return 0;
}
