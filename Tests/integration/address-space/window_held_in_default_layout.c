// Layout variants. A representative program: the window is held
// (one ---p line, empty registry), a MAP_FIXED / mprotect / munmap / mremap
// round inside it, 200 mmap(NULL) that must not land in it, and a sweep of
// 1 TiB mmap(NULL) reservations that the kernel must place around the
// window until they cross it (top-down layouts cross it going down, the
// legacy bottom-up layout going up). Run directly by run.sh in the default
// layout; window_held_in_every_layout.sh runs the same program under
// `ulimit -s unlimited`, `setarch -R`, `setarch -L` and combinations, with EDGE_EXPECT naming the
// layout it must observe (comma-separated: legacy, low, high, topdown,
// norand, unlimited), so a variant that did not take effect fails.
#include "common.h"
#include "win_helpers.h"
#include <sys/personality.h>
#include <sys/resource.h>

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define TIB ((size_t)1 << 40)

static int expects(const char *what) {
    const char *e = getenv("EDGE_EXPECT");
    if (!e) return 0;
    size_t n = strlen(what);
    for (const char *s = e; (s = strstr(s, what)) != NULL; s += n)
        if ((s == e || s[-1] == ',') && (s[n] == 0 || s[n] == ',')) return 1;
    return 0;
}

/* The layout this process really has: where mmap(NULL) starts (below or
 * above the window) and which way it grows. */
static void check_layout(void) {
    int pers = personality(0xffffffff);
    CHECK(pers != -1);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_STACK, &rl) == 0);
    size_t len = (size_t)64 << 20; /* big enough to skip small holes */
    char *a = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    char *b = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(a != MAP_FAILED && b != MAP_FAILED && !in_window(a) && !in_window(b));
    int low = (uintptr_t)a < window_base(), down = b < a;
    fprintf(stderr, "layout: personality %#x, stack rlimit %s, mmap(NULL) at %p then %p (%s the window, %s)\n", pers,
            rl.rlim_cur == RLIM_INFINITY ? "unlimited" : "limited", (void *)a, (void *)b, low ? "below" : "above",
            down ? "top-down" : "bottom-up");
    CHECK(munmap(a, len) == 0 && munmap(b, len) == 0);
    if (expects("norand")) CHECK(pers & ADDR_NO_RANDOMIZE);
    if (!expects("norand")) CHECK(!(pers & ADDR_NO_RANDOMIZE));
    if (expects("unlimited")) CHECK(rl.rlim_cur == RLIM_INFINITY);
    if (expects("legacy")) CHECK((pers & ADDR_COMPAT_LAYOUT) && low && !down);
    if (expects("low")) CHECK(low);
    if (expects("topdown")) CHECK(down);
    if (expects("high")) CHECK(!low && !(pers & ADDR_COMPAT_LAYOUT) && rl.rlim_cur != RLIM_INFINITY);
}

/* Prints the maps lines next to the window (what would collide first). */
static void print_neighbours(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    char line[512], below[512] = "(none)\n", above[512] = "(none)\n";
    int have_above = 0;
    while (fgets(line, sizeof line, f)) {
        uintptr_t s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) != 2) continue;
        if (e <= window_base()) snprintf(below, sizeof below, "%s", line);
        else if (s >= window_end() && !have_above) { snprintf(above, sizeof above, "%s", line); have_above = 1; }
    }
    fclose(f);
    fprintf(stderr, "nearest below the window: %snearest above the window: %s", below, above);
}

static void fixed_round(void) {
    /* the checks of window/fixed_mapping_served_and_returned.c */
    char *s = map_fixed(W(0x10000), 3 * P, RW);
    memset(s, 0xAB, 3 * P);
    CHECK(query_state(s + P) == MAPWARDEN_MAPPED);
    CHECK_CONSISTENT(1);
    CHECK(munmap(s, 3 * P) == 0);
    CHECK(query_state(s) == MAPWARDEN_FREE);
    CHECK_WHOLE();

    /* map, protect a middle part, unmap a head, grow in place, move */
    char *a = map_fixed(W(0x100000), 8 * P, RW);
    fill(a, 8 * P, 7);
    CHECK(mprotect(a + 2 * P, 2 * P, PROT_READ) == 0);
    CHECK_MAPPED(a, a, 2 * P, RW);
    CHECK_MAPPED(a + 3 * P, a + 2 * P, 2 * P, PROT_READ);
    CHECK_MAPPED(a + 4 * P, a + 4 * P, 4 * P, RW);
    CHECK_CONSISTENT(3);
    CHECK(munmap(a, 2 * P) == 0);
    CHECK_FREE(a);
    CHECK_CONSISTENT(2);
    char *t = a + 4 * P;
    CHECK(mremap(t, 4 * P, 8 * P, 0) == t); /* grows in place into free window space */
    for (size_t i = 0; i < 4 * P; i++) CHECK((unsigned char)t[i] == pattern_byte(7, 4 * P + i));
    CHECK(all_zero(t + 4 * P, 4 * P));
    CHECK_MAPPED(t + 7 * P, t, 8 * P, RW);
    char *dst = W(0x300000);
    CHECK(mremap(t, 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst);
    for (size_t i = 0; i < 4 * P; i++) CHECK((unsigned char)dst[i] == pattern_byte(7, 4 * P + i));
    CHECK_FREE(t);
    CHECK_MAPPED(dst, dst, 8 * P, RW);
    CHECK_CONSISTENT(2);
    CHECK(munmap(W(0x100000), 0x210000) == 0); /* everything from a to past dst */
    CHECK_WHOLE();
}

static void *nulls[200];
static size_t null_lens[200];

static void null_maps(void) {
    for (int i = 0; i < 200; i++) {
        size_t len = (size_t)(1 + (i * 7) % 64) * P * (i % 10 == 0 ? 256 : 1);
        int flags = (i % 3 == 0 ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
        void *p = mmap(NULL, len, i % 5 == 0 ? PROT_NONE : RW, flags, -1, 0);
        CHECK(p != MAP_FAILED);
        CHECK(!((uintptr_t)p < window_end() && (uintptr_t)p + len > window_base()));
        if (i % 5) ((char *)p)[len - 1] = 1;
        nulls[i] = p; null_lens[i] = len;
    }
    CHECK_WHOLE();
}

/* 1 TiB reservations until they have crossed the window. */
static void sweep(void) {
    static void *chunk[128];
    int n = 0, below = 0, above = 0;
    for (; n < 128; n++) {
        void *p = mmap(NULL, TIB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) { CHECK(errno == ENOMEM); break; }
        chunk[n] = p;
        CHECK(!((uintptr_t)p < window_end() && (uintptr_t)p + TIB > window_base()));
        if ((uintptr_t)p < window_base()) below++; else above++;
        /* crossed: chunks on both sides, two of them on the far side */
        int first_below = (uintptr_t)chunk[0] < window_base();
        if ((first_below ? above : below) >= 2) { n++; break; }
    }
    fprintf(stderr, "sweep: %d chunks of 1 TiB, %d below and %d above the window\n", n, below, above);
    CHECK(below > 0 && above > 0);
    CHECK_WHOLE();
    for (int i = 0; i < n; i++) CHECK(munmap(chunk[i], TIB) == 0);
}

int main(void) {
    struct mapwarden_info info;
    CHECK(mapwarden_query(W(0), &info) == 0);
    CHECK(info.window_base == 0x400000000000ULL && info.window_size == TIB);
    CHECK_WHOLE();
    check_layout();
    print_neighbours();
    fixed_round();
    null_maps();
    sweep();
    fixed_round(); /* still works with the 200 mappings around */
    for (int i = 0; i < 200; i++) CHECK(munmap(nulls[i], null_lens[i]) == 0);
    CHECK_WHOLE();
    return 0;
}
