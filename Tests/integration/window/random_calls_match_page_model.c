// Random calls, checked against a page model: no page leaked or lost
// through any sequence of splits. 200,000 random calls of mixed sizes in a
// 64 MiB part of the window: MAP_FIXED (private/shared
// anonymous, any prot), MAP_FIXED_NOREPLACE, in-window hints, munmap,
// mprotect, madvise(MADV_DONTNEED), msync and mincore, all over random page
// ranges, so most of them are partial (head, tail, middle, several mappings,
// mapped and free mixed). The test keeps a page-state model (free, or mapped
// with prot/kind/first byte) and predicts each call's result and effect as
// Linux has them on unmapped pages (mprotect up to the first free page,
// madvise on every mapped page, ENOMEM either way). Every 5,000
// calls and at the end it compares every page with mapwarden_query (state,
// prot, kind, run bounds) and with the first bytes in memory, and checks
// registry_consistent(). At the end everything is unmapped: the registry is
// empty, the window is one line, and a second round leaves the number of
// maps lines outside the window (the engine's metadata) unchanged.
// Seed: ROB_SEED (decimal) or the fixed default; printed on failure.
#include "common.h"
#include "rob_helpers.h"

#define NPAGES 16384 /* 64 MiB */
#define OPS 200000
#define CHECK_EVERY 5000

static uint64_t seed0 = 20240601;
static long op_no;
static const char *op_name = "setup";

#define MCHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "seed %llu, operation %ld (%s): ", (unsigned long long)seed0, op_no, op_name); CHECK(cond); } } while (0)

struct page { signed char prot; /* -1 free */ unsigned char shared; unsigned char val; };
static struct page model[NPAGES];
static char *region;
static long succeeded, refused, max_mapped; /* statistics, to see the mix is real */

static int all_mapped(size_t a, size_t n) { for (size_t i = a; i < a + n; i++) if (model[i].prot < 0) return 0; return 1; }
static int all_free(size_t a, size_t n) { for (size_t i = a; i < a + n; i++) if (model[i].prot >= 0) return 0; return 1; }
static char *pg(size_t i) { return region + i * PAGE; }

static void compare(void) {
    for (size_t i = 0; i < NPAGES; i++) {
        struct mapwarden_info info;
        MCHECK(mapwarden_query(pg(i), &info) == 0);
        uintptr_t lo = (uintptr_t)region, hi = lo + NPAGES * PAGE;
        size_t first = info.base < lo ? 0 : (info.base - lo) / PAGE;
        size_t last = info.base + info.size > hi ? NPAGES : (info.base + info.size - lo) / PAGE; /* exclusive */
        if (model[i].prot < 0) {
            if (info.state != MAPWARDEN_FREE) fprintf(stderr, "page %zu: model free, query state %u\n", i, info.state);
            MCHECK(info.state == MAPWARDEN_FREE);
            MCHECK(all_free(first, last - first));
            MCHECK(first == 0 || model[first - 1].prot >= 0);    /* the free run is maximal */
            MCHECK(last == NPAGES || model[last].prot >= 0);
        } else {
            if (info.state != MAPWARDEN_MAPPED || info.prot != model[i].prot)
                fprintf(stderr, "page %zu: model prot %d, query state %u prot %d\n", i, model[i].prot, info.state, info.prot);
            MCHECK(info.state == MAPWARDEN_MAPPED && info.prot == model[i].prot);
            MCHECK(info.kind == (MAPWARDEN_KIND_ANONYMOUS | (model[i].shared ? MAPWARDEN_KIND_SHARED : 0)));
            MCHECK(info.base >= lo && info.base + info.size <= hi);
            for (size_t j = first; j < last; j++) MCHECK(model[j].prot == model[i].prot && model[j].shared == model[i].shared);
            if (model[i].prot & PROT_READ) {
                if ((unsigned char)*pg(i) != model[i].val) fprintf(stderr, "page %zu: byte %u, model %u\n", i, (unsigned char)*pg(i), model[i].val);
                MCHECK((unsigned char)*pg(i) == model[i].val);
            }
        }
        i = (last > i + 1 ? last : i + 1) - 1; /* skip the rest of the run */
    }
    int n = registry_consistent();
    if (n < 0) fprintf(stderr, "seed %llu, operation %ld: registry_consistent() failed\n", (unsigned long long)seed0, op_no);
    MCHECK(n >= 0);
}

static const int prots[] = { PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE, PROT_READ | PROT_WRITE | PROT_EXEC };

static void one_op(uint64_t *s) {
    size_t n;
    switch (rob_below(s, 8)) {
    case 0: n = 1; break;
    case 1: case 2: case 3: n = 1 + rob_below(s, 8); break;
    case 4: case 5: n = 1 + rob_below(s, 64); break;
    case 6: n = 1 + rob_below(s, 512); break;
    default: n = 1 + rob_below(s, 4096); break;
    }
    size_t a = rob_below(s, NPAGES - n + 1);
    char *p = pg(a);
    size_t len = n * PAGE;
    int prot = prots[rob_below(s, 5)];
    int r;
    switch (rob_below(s, 20)) {
    case 0: case 1: case 2: case 3: case 4: case 5: { /* MAP_FIXED */
        op_name = "mmap MAP_FIXED";
        int shared = rob_below(s, 4) == 0;
        char *q = mmap(p, len, prot, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        MCHECK(q == p);
        for (size_t i = a; i < a + n; i++) model[i] = (struct page){ (signed char)prot, (unsigned char)shared, 0 };
        break;
    }
    case 6: { /* MAP_FIXED_NOREPLACE */
        op_name = "mmap MAP_FIXED_NOREPLACE";
        int ok = all_free(a, n);
        errno = 0;
        char *q = mmap(p, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (ok) {
            MCHECK(q == p);
            for (size_t i = a; i < a + n; i++) model[i] = (struct page){ (signed char)prot, 0, 0 };
        } else {
            MCHECK(q == MAP_FAILED && errno == EEXIST);
        }
        break;
    }
    case 7: { /* a hint */
        op_name = "mmap hint";
        int ok = all_free(a, n);
        char *q = mmap(p, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        MCHECK(q != MAP_FAILED);
        if (ok) {
            MCHECK(q == p);
            for (size_t i = a; i < a + n; i++) model[i] = (struct page){ (signed char)prot, 0, 0 };
        } else {
            MCHECK((uintptr_t)q + len <= window_base() || (uintptr_t)q >= window_base() + window_size());
            MCHECK(munmap(q, len) == 0);
        }
        break;
    }
    case 8: case 9: case 10: case 11: case 12: /* munmap */
        op_name = "munmap";
        MCHECK(munmap(p, len) == 0);
        for (size_t i = a; i < a + n; i++) model[i].prot = -1;
        break;
    case 13: case 14: case 15: { /* mprotect */
        op_name = "mprotect";
        int ok = all_mapped(a, n);
        errno = 0;
        r = mprotect(p, len, prot);
        /* as Linux: page by page from the start, up to the first free page */
        for (size_t i = a; i < a + n && model[i].prot >= 0; i++) model[i].prot = (signed char)prot;
        if (ok) { MCHECK(r == 0); succeeded++; }
        else { MCHECK(r == -1 && errno == ENOMEM); refused++; }
        break;
    }
    case 16: { /* madvise DONTNEED: private pages read back zero, shared keep */
        op_name = "madvise";
        int ok = all_mapped(a, n);
        errno = 0;
        r = madvise(p, len, MADV_DONTNEED);
        /* as Linux: every mapped page of the range, free ones skipped */
        for (size_t i = a; i < a + n; i++) if (model[i].prot >= 0 && !model[i].shared) model[i].val = 0;
        if (ok) MCHECK(r == 0);
        else MCHECK(r == -1 && errno == ENOMEM);
        break;
    }
    case 17: { /* msync / mincore */
        op_name = rob_below(s, 2) ? "msync" : "mincore";
        int ok = all_mapped(a, n);
        static unsigned char vec[4096];
        errno = 0;
        r = op_name[1] == 's' ? msync(p, len, MS_ASYNC) : mincore(p, len, vec);
        if (ok) MCHECK(r == 0); else MCHECK(r == -1 && errno == ENOMEM);
        break;
    }
    default: { /* write the first byte of every writable page in the range */
        op_name = "write";
        for (size_t i = a; i < a + n && i < a + 64; i++)
            if (model[i].prot >= 0 && (model[i].prot & PROT_WRITE)) {
                unsigned char v = (unsigned char)(1 + rob_below(s, 255));
                *pg(i) = (char)v;
                model[i].val = v;
            }
        break;
    }
    }
}

static int lines_outside(void) {
    return for_each_maps_line(0, (uintptr_t)-1, NULL, NULL) -
           for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL);
}

static void round_of(long ops, uint64_t *s) {
    for (long k = 0; k < ops; k++) {
        op_no++;
        one_op(s);
        if (op_no % CHECK_EVERY == 0) {
            compare();
            long mapped = 0;
            for (size_t i = 0; i < NPAGES; i++) mapped += model[i].prot >= 0;
            if (mapped > max_mapped) max_mapped = mapped;
        }
    }
    compare();
    op_name = "final munmap";
    MCHECK(munmap(region, NPAGES * PAGE) == 0);
    for (size_t i = 0; i < NPAGES; i++) model[i].prot = -1;
    compare();
    MCHECK(registry_consistent() == 0);
    MCHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 1);
}

int main(void) {
    if (getenv("ROB_SEED")) seed0 = strtoull(getenv("ROB_SEED"), NULL, 10);
    uint64_t s = seed0 ? seed0 : 1;
    region = W((size_t)1 << 36); /* 64 GiB into the window */
    for (size_t i = 0; i < NPAGES; i++) model[i].prot = -1;
    compare();
    double t0 = rob_now();
    round_of(OPS, &s);
    int outside = lines_outside();
    round_of(OPS / 4, &s);
    int outside2 = lines_outside();
    if (outside2 != outside) fprintf(stderr, "maps lines outside the window: %d after round 1, %d after round 2\n", outside, outside2);
    MCHECK(outside2 == outside);
    fprintf(stderr, "seed %llu: %ld operations in %.2f s; mprotect %ld done, %ld refused; up to %ld of %d pages mapped\n",
            (unsigned long long)seed0, op_no, rob_now() - t0, succeeded, refused, max_mapped, NPAGES);
    MCHECK(succeeded > 1000 && refused > 1000);
    return 0;
}
