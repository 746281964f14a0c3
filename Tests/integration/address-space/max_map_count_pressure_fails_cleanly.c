// vm.max_map_count pressure. Commits isolated 1-page mappings in
// the window (each splits the reservation: +2 VMAs) until mmap fails, then:
//  - the failed mmap is ENOMEM and leaves no hole, the registry consistent;
//  - munmap of a whole isolated mapping at the limit works or fails with
//    ENOMEM cleanly (reported); with one VMA of room it must work and merge
//    back (-2 lines); mapping it again works;
//  - calls that must split a VMA (mprotect / munmap of the middle page of a
//    3-page mapping, mremap shrink, mremap grow in place) either work or
//    fail with ENOMEM cleanly: data intact, registry and kernel agree;
//  - the same calls again while the headroom is given back one VMA at a
//    time (freeing outside mappings), so every distance from the limit is
//    tried;
//  - freeing everything merges the window back into one maps line.
// Runs under whatever vm.max_map_count is set:
// max_map_count_sweep_fails_cleanly.sh lowers it
// (temporarily) and runs this program with the whole sweep; run.sh runs it
// directly under the machine's limit (65530: about 32,000 mappings), where
// only the first step of the sweep runs to stay within a few seconds.
#include "common.h"
#include "win_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define SLOTS_AT 0x1000000
#define MAX_SLOTS 600000
#define OUTSIDE 24

static char *slot(int i) { return W(SLOTS_AT + (size_t)i * 2 * P); }
static unsigned char tag(int i) { return (unsigned char)(i * 7 + 3); }

static int registered; /* what registry_consistent() must say */

static void consistent(int line) {
    int n = registry_consistent();
    if (n != registered) {
        fprintf(stderr, "max_map_count_pressure_fails_cleanly.c:%d: registry_consistent() = %d, expected %d\n", line, n, registered);
        exit(1);
    }
}
#define CONSISTENT() consistent(__LINE__)

static int process_lines(void) { return for_each_maps_line(0, UINTPTR_MAX, NULL, NULL); }

/* A consistent registry, whatever the number of mappings. */
#define CONSISTENT_ANY() do { if (registry_consistent() < 0) { \
    fprintf(stderr, "max_map_count_pressure_fails_cleanly.c:%d: registry and kernel disagree\n", __LINE__); exit(1); } } while (0)

/* m3: a 3-page mapping; the split-needing calls are tried on it. Its model:
 * the byte expected at offset 17 of each page, 0 when the page is free. */
static char *m3;
static unsigned char m3_byte[3];
static void check_m3(int line) {
    for (int pg = 0; pg < 3; pg++) {
        char *p = m3 + pg * P;
        if (m3_byte[pg]) {
            if (query_state(p) != MAPWARDEN_MAPPED || !kernel_mapped((uintptr_t)p, (uintptr_t)p + P) ||
                (unsigned char)p[17] != m3_byte[pg]) {
                fprintf(stderr, "max_map_count_pressure_fails_cleanly.c:%d: m3 page %d: state %d, expected mapped with byte %#x\n", line, pg,
                        query_state(p), m3_byte[pg]);
                dump_window(); exit(1);
            }
        } else {
            CHECK_FREE(p);
        }
    }
}
/* Maps m3's free pages again where the limit allows it. */
static void refill_m3(void) {
    for (int pg = 0; pg < 3; pg++) {
        if (m3_byte[pg]) continue;
        errno = 0;
        char *p = mmap(m3 + pg * P, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        CHECK(p == m3 + pg * P || (p == MAP_FAILED && errno == ENOMEM));
        if (p != MAP_FAILED) { p[17] = (char)(0xD0 + pg); m3_byte[pg] = 0xD0 + pg; }
    }
    check_m3(__LINE__);
}

/* The maps lines around p (dump_window would print thousands). */
static void dump_near(const void *p) {
    fprintf(stderr, "  /proc/self/maps around %p:\n", p);
    for_each_maps_line((uintptr_t)p - 2 * P, (uintptr_t)p + 3 * P, print_line, NULL);
}

/* One round of calls that need a split; each either works or fails with
 * ENOMEM and changes nothing. */
static void split_round(int victim) {
    /* mprotect the middle page of m3 (when all of it is mapped) */
    if (m3_byte[0] && m3_byte[1] && m3_byte[2]) {
        struct mapwarden_info before = info_at(m3 + P);
        errno = 0;
        int r = mprotect(m3 + P, P, PROT_READ);
        CHECK(r == 0 || errno == ENOMEM);
        if (r == 0) {
            CHECK_MAPPED(m3 + P, m3 + P, P, PROT_READ);
            CHECK(strcmp(perms_at(m3 + P), "r--p") == 0);
            errno = 0;
            r = mprotect(m3 + P, P, RW); /* undo: may merge back */
            CHECK(r == 0 || errno == ENOMEM);
        } else {
            struct mapwarden_info now = info_at(m3 + P);
            CHECK(now.base == before.base && now.size == before.size && now.prot == before.prot);
        }
        CONSISTENT_ANY();
        check_m3(__LINE__);
    }

    /* munmap the middle page of m3 */
    errno = 0;
    int r = munmap(m3 + P, P);
    CHECK(r == 0 || errno == ENOMEM);
    if (r == 0) m3_byte[1] = 0;
    check_m3(__LINE__);
    CONSISTENT_ANY();
    refill_m3();
    CONSISTENT_ANY();

    /* mremap grow in place: the victim slot into its free neighbour page */
    char *v = slot(victim);
    CHECK((unsigned char)v[5] == tag(victim));
    errno = 0;
    char *g = mremap(v, P, 2 * P, 0);
    CHECK(g == v || (g == MAP_FAILED && errno == ENOMEM));
    if (g == v) {
        CHECK_MAPPED(v + P, v, 2 * P, RW);
        CHECK((unsigned char)v[5] == tag(victim) && v[P + 5] == 0);
        CONSISTENT_ANY();
        /* mremap shrink back: needs a split of the grown VMA */
        errno = 0;
        char *s = mremap(v, 2 * P, P, 0);
        CHECK(s == v || (s == MAP_FAILED && errno == ENOMEM));
        if (s == v) { CHECK_MAPPED(v, v, P, RW); CHECK_FREE(v + P); }
        else CHECK_MAPPED(v + P, v, 2 * P, RW);
        CHECK((unsigned char)v[5] == tag(victim));
        CONSISTENT_ANY();
    } else {
        /* a failed mremap changes nothing: the mapping and its data are
         * still at v (as the kernel's own mremap guarantees) */
        if (query_state(v) != MAPWARDEN_MAPPED || !kernel_mapped((uintptr_t)v, (uintptr_t)v + P)) {
            fprintf(stderr, "failed mremap(%p, 1 page -> 2 pages, 0) (ENOMEM, %d maps lines) destroyed the mapping: "
                    "registry state %d, kernel perms '%s'\n", (void *)v, process_lines(), query_state(v), perms_at(v));
            dump_near(v);
            exit(1);
        }
        if ((unsigned char)v[5] != tag(victim)) {
            fprintf(stderr, "failed mremap(%p, 1 page -> 2 pages, 0) (ENOMEM, %d maps lines) lost the data: byte %#x, "
                    "expected %#x\n", (void *)v, process_lines(), (unsigned char)v[5], tag(victim));
            dump_near(v);
            exit(1);
        }
        CHECK_MAPPED(v, v, P, RW);
        CHECK_FREE(v + P);
        CONSISTENT_ANY();
    }
}

int main(void) {
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    long limit = -1;
    CHECK(f && fscanf(f, "%ld", &limit) == 1);
    fclose(f);
    CHECK_WHOLE();

    /* distinct single-page VMAs outside the window: headroom to give back */
    static char *outside[OUTSIDE];
    for (int i = 0; i < OUTSIDE; i++) {
        outside[i] = mmap(NULL, P, i % 2 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(outside[i] != MAP_FAILED);
    }
    m3 = map_fixed(W(0x100000), 3 * P, RW);
    for (int pg = 0; pg < 3; pg++) { m3[pg * P + 17] = (char)(0xC0 + pg); m3_byte[pg] = 0xC0 + pg; }
    registered = 1;
    CONSISTENT(); /* also warms up stdio and malloc */

    /* fill */
    int n = 0;
    for (; n < MAX_SLOTS; n++) {
        errno = 0;
        char *p = mmap(slot(n), P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) break;
        CHECK(p == slot(n));
        p[5] = (char)tag(n);
    }
    CHECK(n < MAX_SLOTS);
    CHECK(errno == ENOMEM);
    registered += n;
    int lines = process_lines();
    fprintf(stderr, "vm.max_map_count %ld: %d isolated mappings, then ENOMEM; %d maps lines in the process\n", limit, n,
            lines);
    CHECK(n > 300);
    CHECK_FREE(slot(n)); /* the failed target is still reserved */
    CONSISTENT();
    CHECK(window_lines() == 1 + 2 * (n + 1));
    /* the hinted form fails the same way (or lands outside the window) */
    errno = 0;
    char *h = mmap(slot(n), P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (h != MAP_FAILED) { CHECK(!in_window(h)); CHECK(munmap(h, P) == 0); }
    else CHECK(errno == ENOMEM);
    CHECK_FREE(slot(n));
    CONSISTENT();

    /* at the limit: mprotect of a whole isolated mapping needs no split */
    errno = 0;
    int r = mprotect(slot(3), P, PROT_READ);
    CHECK(r == 0 || errno == ENOMEM);
    if (r == 0) { CHECK_MAPPED(slot(3), slot(3), P, PROT_READ); CHECK(mprotect(slot(3), P, RW) == 0); }
    CHECK_MAPPED(slot(3), slot(3), P, RW);
    CONSISTENT();

    /* at the limit: munmap of a whole isolated mapping. Plain munmap needs
     * no split here and works; mapwarden overmaps with the reservation (an
     * mmap), which the kernel refuses while map_count exceeds the limit
     * (mmap's own check is map_count > max_map_count, so a process can end
     * at limit + 1). Either it works or it fails with ENOMEM, changing nothing. */
    errno = 0;
    r = munmap(slot(1), P);
    CHECK(r == 0 || errno == ENOMEM);
    fprintf(stderr, "at the limit (%d maps lines): munmap of a whole isolated window mapping %s\n", process_lines(),
            r == 0 ? "works" : "fails with ENOMEM");
    if (r == 0) {
        CHECK_FREE(slot(1));
        CHECK(window_lines() == 1 + 2 * n); /* m3 and n - 1 slots */
        CHECK(mmap(slot(1), P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == slot(1));
        slot(1)[5] = (char)tag(1);
    }
    CHECK_MAPPED(slot(1), slot(1), P, RW);
    CHECK((unsigned char)slot(1)[5] == tag(1));
    CONSISTENT();
    /* one VMA of room (map_count <= max_map_count): now it must work, and
     * the reservation merges back (-2 lines) */
    CHECK(munmap(outside[0], P) == 0);
    CHECK(munmap(slot(1), P) == 0);
    CHECK_FREE(slot(1));
    registered--;
    CHECK(window_lines() == 1 + 2 * n); /* m3 and n - 1 slots */
    CONSISTENT();
    CHECK(mmap(slot(1), P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == slot(1));
    slot(1)[5] = (char)tag(1);
    registered++;
    CONSISTENT();

    /* split-needing calls at every distance from the limit */
    /* Each consistency check reads every maps line: at the machine's
     * default limit (65530) one check costs ~0.3 s, so only the first step
     * runs there; max_map_count_sweep_fails_cleanly.sh runs the whole sweep
     * under a lowered limit. */
    int steps = limit <= 20000 ? OUTSIDE + 4 : 1;
    int worked_at = -1;
    for (int step = 0; step < steps; step++) {
        split_round(10 + 2 * step);
        if (m3_byte[1] && m3_byte[1] != 0xC1 && worked_at < 0) worked_at = step;
        if (step + 1 < OUTSIDE) CHECK(munmap(outside[step + 1], P) == 0); /* one more VMA of room */
        else CHECK(munmap(slot(200 + step), P) == 0); /* two more */
    }
    fprintf(stderr, "%d steps; munmap of m3's middle page first worked (and was refilled) at step %d\n", steps, worked_at);

    /* every isolated mapping still holds its data */
    for (int i = 0; i < n; i++) {
        if (i >= 200 + OUTSIDE - 1 && i < 200 + steps) continue;
        if ((unsigned char)slot(i)[5] != tag(i)) { fprintf(stderr, "slot %d lost its data\n", i); exit(1); }
    }
    CONSISTENT_ANY();
    check_m3(__LINE__);

    /* free everything: one line again */
    CHECK(munmap(W(0), window_size()) == 0);
    CHECK_WHOLE();
    return 0;
}
