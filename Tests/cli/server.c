// A program that never stops on its own, for snapshots: `server STOPFILE API_SNAPSHOT PIDFILE`.
// It keeps one steady mapping, and grow() adds a 64 KiB mapping every
// 10 ms (up to 200) while a worker thread maps and unmaps a page in a loop
// (so that snapshot signals also arrive inside mapwarden). It writes one
// snapshot itself through the API, its pid to PIDFILE, and when STOPFILE
// appears it unmaps everything and exits 0: nothing leaks at its end.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "mapwarden.h"
#pragma weak mapwarden_report_now

static const unsigned long base = 0x400000000000UL;
static atomic_int stop;

__attribute__((noinline)) void *grow(int i) {
    void *p = mmap((void *)(base + 0x1000000 + (unsigned long)i * 0x10000), 64 << 10, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) { perror("grow"); exit(2); }
    return p;
}

__attribute__((noinline)) void *steady(void) {
    return mmap((void *)(base + 0x10000), 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

static void *churn(void *arg) {
    (void)arg;
    char *page = (char *)(base + 0x800000);
    while (!atomic_load(&stop)) {
        if (mmap(page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != page) exit(3);
        if (munmap(page, 4096)) exit(4);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: server STOPFILE API_SNAPSHOT PIDFILE\n"); return 2; }
    steady();
    grow(0);
    if (!mapwarden_report_now || mapwarden_report_now(argv[2]) != 0) { perror("mapwarden_report_now"); return 5; }
    pthread_t t;
    pthread_create(&t, NULL, churn, NULL);
    FILE *f = fopen(argv[3], "w");
    fprintf(f, "%d\n", getpid());
    fclose(f);
    int n = 1;
    while (access(argv[1], F_OK) != 0) {
        if (n < 200) grow(n++);
        usleep(10000);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    munmap((void *)(base + 0x1000000), (unsigned long)n * 0x10000);
    munmap((void *)(base + 0x10000), 4096);
    return 0;
}
