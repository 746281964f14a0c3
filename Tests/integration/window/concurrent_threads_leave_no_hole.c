// Rule 10 (threads). Four workers each run 20,000 MAP_FIXED map / write /
// verify / mprotect / partial and full munmap cycles on their own slice of
// the window; an outsider thread loops mmap(NULL) + munmap and asserts that
// nothing it gets lies inside the window; a scanner thread asserts, many
// times, that the window has no hole, and reads /proc/self/maps now and
// then to assert that every non-reservation line lies inside a worker's
// slice. At the end the registry matches the kernel and the window is one
// line.
//
// The hole check asks the kernel for an atomic answer: msync(MS_ASYNC) over
// the window walks its VMAs under mmap_lock and fails with ENOMEM on any
// unmapped byte. /proc/self/maps is no such oracle: it is read in pieces,
// and on 6.18 without mmap_lock (per-VMA locks), so while the workers
// change mappings a read may show a VMA in its old and new shape, or miss
// one (this test once saw the window's lines stop mid-window). A gap in
// the maps text is a failure only if the kernel confirms a hole; otherwise
// the text is read again (counted, and printed at the end).
#include <pthread.h>
#include <stdatomic.h>
#include "common.h"
#include "rob_helpers.h"

#define WORKERS 4
#define CYCLES 20000
#define SLICE_PAGES 64
#define SLICE_STRIDE ((size_t)1 << 32) /* 4 GiB apart */
#define SLICE0 ((size_t)1 << 32)

static _Atomic int workers_left = WORKERS;
static _Atomic long outsider_calls, scans, hole_checks, maps_rereads;

static char *slice(int i) { return W(SLICE0 + (size_t)i * SLICE_STRIDE); }

#define TCHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "thread %d iteration %d: ", id, it); CHECK(cond); } } while (0)

static void *worker(void *arg) {
    int id = (int)(intptr_t)arg, it = 0;
    uint64_t seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(id + 1);
    char *s = slice(id);
    for (it = 0; it < CYCLES; it++) {
        size_t pages = 1 + rob_below(&seed, 4);
        size_t off = rob_below(&seed, SLICE_PAGES - pages + 1);
        char *p = s + off * PAGE;
        size_t len = pages * PAGE;
        int shared = rob_below(&seed, 4) == 0;
        char *q = mmap(p, len, PROT_READ | PROT_WRITE,
                       (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        TCHECK(q == p);
        unsigned char tag = (unsigned char)(it * 7 + id);
        for (size_t k = 0; k < pages; k++) { TCHECK(p[k * PAGE] == 0); p[k * PAGE] = (char)tag; p[k * PAGE + PAGE - 1] = (char)(tag ^ 0x5A); }
        struct mapwarden_info info;
        TCHECK(mapwarden_query(p + len - 1, &info) == 0);
        TCHECK(info.state == MAPWARDEN_MAPPED && info.base == (uintptr_t)p && info.size == len);
        TCHECK(info.prot == (PROT_READ | PROT_WRITE));
        TCHECK(mprotect(p, len, PROT_READ) == 0);
        TCHECK(mapwarden_query(p, &info) == 0 && info.state == MAPWARDEN_MAPPED && info.prot == PROT_READ);
        for (size_t k = 0; k < pages; k++)
            TCHECK((unsigned char)p[k * PAGE] == tag && (unsigned char)p[k * PAGE + PAGE - 1] == (unsigned char)(tag ^ 0x5A));
        if (pages >= 3) {
            /* Punch the middle out first, then drop the rest in one call
             * that also spans the freed page. */
            TCHECK(munmap(p + PAGE, PAGE) == 0);
            TCHECK(query_state(p + PAGE) == MAPWARDEN_FREE);
            TCHECK(mapwarden_query(p, &info) == 0 && info.state == MAPWARDEN_MAPPED && info.size == PAGE);
            TCHECK((unsigned char)p[2 * PAGE] == tag);
        }
        TCHECK(munmap(p, len) == 0);
        TCHECK(query_state(p) == MAPWARDEN_FREE && query_state(p + len - 1) == MAPWARDEN_FREE);
        errno = 0;
        TCHECK(mprotect(p, PAGE, PROT_READ) == -1 && errno == ENOMEM);
    }
    atomic_fetch_sub(&workers_left, 1);
    return NULL;
}

static void *outsider(void *arg) {
    (void)arg;
    uint64_t seed = 12345;
    uintptr_t lo = window_base(), hi = lo + window_size();
    while (atomic_load(&workers_left) > 0) {
        size_t len = (1 + rob_below(&seed, 64)) * PAGE;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(p != MAP_FAILED);
        if ((uintptr_t)p < hi && (uintptr_t)p + len > lo) {
            fprintf(stderr, "mmap(NULL) returned %p inside the window\n", (void *)p);
            exit(1);
        }
        p[0] = 1; p[len - 1] = 2;
        if (len > 2 * PAGE) CHECK(munmap(p + PAGE, PAGE) == 0); /* split it */
        CHECK(munmap(p, len) == 0);
        atomic_fetch_add(&outsider_calls, 1);
    }
    return NULL;
}

static struct rob_line lines[20000];

/* The kernel's atomic view: is [lo, hi) wholly mapped? Else prints and exits. */
static void no_hole(uintptr_t lo, uintptr_t hi, const char *when) {
    if (kernel_mapped(lo, hi)) { atomic_fetch_add(&hole_checks, 1); return; }
    fprintf(stderr, "scan %ld: msync finds a hole in the window (%s); maps now:\n", atomic_load(&scans), when);
    int n = rob_maps_lines(lo, hi, lines, 20000);
    rob_print_lines(lines, n < 20000 ? n : 20000);
    exit(1);
}

static void *scanner(void *arg) {
    (void)arg;
    uintptr_t lo = window_base(), hi = lo + window_size();
    int rereads_in_a_row = 0;
    while (atomic_load(&workers_left) > 0) {
        for (int k = 0; k < 20; k++) no_hole(lo, hi, "between reads");
        int n = rob_maps_lines(lo, hi, lines, 20000);
        CHECK(n > 0 && n < 20000);
        if (!rob_lines_tile(lines, n, lo, hi)) {
            /* the text has a gap: a hole only if the kernel says so */
            no_hole(lo, hi, "the maps text had a gap");
            atomic_fetch_add(&maps_rereads, 1);
            if (++rereads_in_a_row > 100) {
                fprintf(stderr, "scan %ld: 100 reads of /proc/self/maps in a row show a gap the kernel does not have:\n",
                        atomic_load(&scans));
                rob_print_lines(lines, n); exit(1);
            }
            continue;
        }
        rereads_in_a_row = 0;
        for (int i = 0; i < n; i++) {
            if (rob_is_reservation(&lines[i])) continue;
            int inside = 0;
            for (int w = 0; w < WORKERS; w++)
                if (lines[i].start >= (uintptr_t)slice(w) && lines[i].end <= (uintptr_t)slice(w) + SLICE_PAGES * PAGE) inside = 1;
            int perms_ok = !strcmp(lines[i].perms, "rw-p") || !strcmp(lines[i].perms, "r--p") ||
                           !strcmp(lines[i].perms, "rw-s") || !strcmp(lines[i].perms, "r--s");
            if (!inside || !perms_ok) {
                fprintf(stderr, "scan %ld: foreign mapping in the window: %lx-%lx %s %s\n", atomic_load(&scans),
                        lines[i].start, lines[i].end, lines[i].perms, lines[i].rest);
                rob_print_lines(lines, n); exit(1);
            }
        }
        atomic_fetch_add(&scans, 1);
        usleep(2000);
    }
    return NULL;
}

int main(void) {
    CHECK(registry_consistent() == 0);
    pthread_t t[WORKERS + 2];
    for (int i = 0; i < WORKERS; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
    CHECK(pthread_create(&t[WORKERS], NULL, outsider, NULL) == 0);
    CHECK(pthread_create(&t[WORKERS + 1], NULL, scanner, NULL) == 0);
    for (int i = 0; i < WORKERS + 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
    fprintf(stderr, "outsider calls %ld, scans %ld, hole checks %ld, maps texts with a gap the kernel did not have %ld\n",
            atomic_load(&outsider_calls), atomic_load(&scans), atomic_load(&hole_checks), atomic_load(&maps_rereads));
    CHECK(atomic_load(&outsider_calls) > 100);
    CHECK(atomic_load(&scans) > 5);
    CHECK(registry_consistent() == 0);
    CHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 1);
    return 0;
}
