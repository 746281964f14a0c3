// Named windows are served like the default one. Run 1, a private
// named window "ipc" alone: MAP_FIXED served in place, a free hint placed
// exactly and a hint over a live mapping sent outside every window,
// MAP_FIXED_NOREPLACE, mprotect of part, munmap re-reserving (head, middle,
// the whole window), a file-backed mapping, mremap inside; the registry
// agrees with the kernel after each step and the default window is left
// alone. Run 2 (re-exec, same pid), "ipc" and "next" adjacent: a MAP_FIXED
// reaching into both -> EINVAL with nothing changed (the documented
// choice), a hint across the edge goes outside both, munmap and mprotect
// across the edge act on both windows, each keeping its reservation.
// ENV: MAPWARDEN_WINDOW_IPC=0x500000000000:1G
#include "common.h"
#include "win_helpers.h"
#include "api_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define GIB ((size_t)1 << 30)
#define IPC ((uintptr_t)0x500000000000ULL)
#define EDGE (IPC + GIB)                     /* run 2: where "next" starts */
#define AP (MAP_PRIVATE | MAP_ANONYMOUS)

/* common.h's helpers (window_base(), CHECK_WHOLE, CHECK_CONSISTENT...) look
 * at the window MAPWARDEN_WINDOW names; the library read its configuration
 * at start-up, so pointing this variable at "ipc" now only moves the
 * helpers. It is removed again before the re-exec. */
static void helpers_on_ipc(void) {
    setenv("MAPWARDEN_WINDOW", "0x500000000000", 1);
    CHECK(window_base() == IPC && window_size() == GIB);
}

static void default_untouched(void) {
    struct mapwarden_window d = window_named("default");
    CHECKF(d.mappings == 0 && d.mapped == 0, "default window: %u mappings, %#zx bytes", d.mappings, d.mapped);
    struct maps_hit h = maps_at((void *)0x400000000000UL);
    CHECK(h.found && h.start == 0x400000000000UL && h.end == 0x410000000000UL && strcmp(h.perms, "---p") == 0);
}

static void run_alone(void) {
    helpers_on_ipc();
    CHECK_WHOLE();
    /* MAP_FIXED in place */
    char *a = map_fixed(W(0x100000), 16 * P, RW);
    fill(a, 16 * P, 1);
    CHECK_MAPPED(a + 5 * P, a, 16 * P, RW);
    CHECK(strcmp(window_of(a), "ipc") == 0);
    CHECK_CONSISTENT(1);
    CHECK_LINES(3);
    CHECK(window_named("ipc").mappings == 1);
    /* a free hint: exactly there */
    char *h = mmap(W(0x80000), 4 * P, RW, AP, -1, 0);
    CHECK(h == W(0x80000));
    CHECK(all_zero(h, 4 * P));
    CHECK_MAPPED(h, h, 4 * P, RW);
    CHECK_CONSISTENT(2);
    /* a hint over a live mapping: outside every window, a's data intact */
    char *q = mmap(a + P, 2 * P, RW, AP, -1, 0);
    CHECK(q != MAP_FAILED && q != a + P);
    CHECK(query_state(q) == MAPWARDEN_OUTSIDE && query_state(q + 2 * P - 1) == MAPWARDEN_OUTSIDE);
    CHECK(holds(a, 16 * P, 1));
    CHECK(munmap(q, 2 * P) == 0);
    /* a hint running past the window's end into free pages: at the hint, as
     * Linux places it there; its page in the window is recorded */
    char *e = mmap((void *)(window_end() - P), 2 * P, PROT_READ, AP, -1, 0);
    CHECK(e == (char *)(window_end() - P) && query_state(e) == MAPWARDEN_MAPPED && query_state(e + P) == MAPWARDEN_OUTSIDE);
    CHECK(munmap(e, 2 * P) == 0);
    CHECK(query_state(e) == MAPWARDEN_FREE);
    /* NOREPLACE: EEXIST over a mapping, in place in free space */
    errno = 0;
    CHECK(mmap(a + 15 * P, 2 * P, RW, AP | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED && errno == EEXIST);
    CHECK(holds(a, 16 * P, 1));
    char *nr = mmap(a + 16 * P, 2 * P, RW, AP | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(nr == a + 16 * P);
    CHECK_CONSISTENT(3);
    /* mprotect of part: three records, the kernel agrees */
    CHECK(mprotect(a + 4 * P, 4 * P, PROT_READ) == 0);
    CHECK_MAPPED(a, a, 4 * P, RW);
    CHECK_MAPPED(a + 4 * P, a + 4 * P, 4 * P, PROT_READ);
    CHECK_MAPPED(a + 8 * P, a + 8 * P, 8 * P, RW);
    CHECK(strcmp(perms_at(a + 5 * P), "r--p") == 0);
    CHECK_CONSISTENT(5);
    /* munmap: head, middle; re-reserved */
    CHECK(munmap(a, 2 * P) == 0);
    CHECK_FREE(a); CHECK_FREE(a + P);
    CHECK(munmap(a + 10 * P, 2 * P) == 0);
    CHECK_FREE(a + 10 * P); CHECK_FREE(a + 11 * P);
    CHECK_MAPPED(a + 8 * P, a + 8 * P, 2 * P, RW);
    CHECK_MAPPED(a + 12 * P, a + 12 * P, 4 * P, RW);
    for (size_t i = 12 * P; i < 16 * P; i++) CHECK(((unsigned char *)a)[i] == pattern_byte(1, i));
    CHECK_CONSISTENT(6);
    /* a file-backed mapping */
    char path[] = "/tmp/mw_named_fixed_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK(ftruncate(fd, 4 * P) == 0 && pwrite(fd, "named", 5, P) == 5);
    char *f = mmap(W(0x300000), P, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, P);
    CHECK(f == W(0x300000) && memcmp(f, "named", 5) == 0);
    struct mapwarden_info fi = info_at(f);
    CHECK(fi.state == MAPWARDEN_MAPPED && fi.offset == P && fi.kind == 0 && fi.flags == MAP_PRIVATE);
    close(fd);
    CHECK_CONSISTENT(7);
    /* mremap inside the window */
    char *m = mremap(a + 12 * P, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, W(0x400000));
    CHECK(m == W(0x400000));
    for (size_t i = 0; i < 4 * P; i++) CHECK(((unsigned char *)m)[i] == pattern_byte(1, 12 * P + i));
    CHECK_FREE(a + 12 * P);
    CHECK_MAPPED(m, m, 4 * P, RW);
    CHECK_CONSISTENT(7);
    default_untouched();
    /* the whole window at once */
    CHECK(munmap(W(0), GIB) == 0);
    CHECK_WHOLE();
    CHECK(window_named("ipc").mappings == 0);
    default_untouched();
}

/* Nothing changed around the edge: the two pages each side as before. */
static void edge_pages(const char *want_perms) {
    for (int k = -2; k < 2; k++) {
        char *pg = (char *)EDGE + k * (long)P;
        CHECKF(strcmp(perms_at(pg), want_perms) == 0, "page %p is '%s', expected '%s'", (void *)pg, perms_at(pg), want_perms);
        CHECK(query_state(pg) == (strcmp(want_perms, "---p") == 0 ? MAPWARDEN_FREE : MAPWARDEN_MAPPED));
        CHECK(strcmp(window_of(pg), k < 0 ? "ipc" : "next") == 0);
    }
}

static void run_adjacent(void) {
    helpers_on_ipc();
    CHECK(strcmp(window_of((void *)(EDGE - 1)), "ipc") == 0);
    CHECK(strcmp(window_of((void *)EDGE), "next") == 0);
    CHECK(kernel_mapped(IPC, IPC + 2 * GIB));
    CHECK_CONSISTENT(0);

    /* a MAP_FIXED reaching into both: EINVAL, nothing changed */
    errno = 0;
    void *r = mmap((void *)(EDGE - 2 * P), 4 * P, RW, AP | MAP_FIXED, -1, 0);
    CHECKF(r == MAP_FAILED && errno == EINVAL, "MAP_FIXED across the edge: %p, errno %d (%s), expected EINVAL", r, errno, strerror(errno));
    edge_pages("---p");
    CHECK(window_named("ipc").mappings == 0 && window_named("next").mappings == 0);
    /* ... also over mappings on both sides, whose data stays */
    char *x = map_fixed((void *)(EDGE - 2 * P), 2 * P, RW);
    char *y = map_fixed((void *)EDGE, 2 * P, RW);
    fill(x, 2 * P, 1); fill(y, 2 * P, 2);
    errno = 0;
    r = mmap((void *)(EDGE - 2 * P), 4 * P, PROT_READ, AP | MAP_FIXED, -1, 0);
    CHECKF(r == MAP_FAILED && errno == EINVAL, "MAP_FIXED across the edge over mappings: %p, errno %d (%s)", r, errno, strerror(errno));
    edge_pages("rw-p");
    CHECK(holds(x, 2 * P, 1) && holds(y, 2 * P, 2));
    CHECK_MAPPED(x, x, 2 * P, RW);
    CHECK_MAPPED(y, y, 2 * P, RW);
    /* ... and a file-backed one */
    int fd = open("/proc/self/exe", O_RDONLY);
    CHECK(fd >= 0);
    errno = 0;
    r = mmap((void *)(EDGE - P), 2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    CHECKF(r == MAP_FAILED && errno == EINVAL, "file MAP_FIXED across the edge: %p, errno %d", r, errno);
    close(fd);
    CHECK(holds(x, 2 * P, 1) && holds(y, 2 * P, 2));
    CHECK(munmap(x, 2 * P) == 0 && munmap(y, 2 * P) == 0);
    edge_pages("---p");
    /* MAP_FIXED_NOREPLACE across the edge: fails, nothing changed */
    errno = 0;
    r = mmap((void *)(EDGE - 2 * P), 4 * P, RW, AP | MAP_FIXED_NOREPLACE, -1, 0);
    CHECKF(r == MAP_FAILED, "MAP_FIXED_NOREPLACE across the edge succeeded at %p", r);
    fprintf(stderr, "note: MAP_FIXED_NOREPLACE across the edge: errno %d (%s)\n", errno, strerror(errno));
    edge_pages("---p");
    /* a hint across the edge: placed outside both windows */
    char *hnt = mmap((void *)(EDGE - 2 * P), 4 * P, RW, AP, -1, 0);
    CHECK(hnt != MAP_FAILED);
    CHECKF(query_state(hnt) == MAPWARDEN_OUTSIDE && query_state(hnt + 4 * P - 1) == MAPWARDEN_OUTSIDE,
           "a hint across the edge placed at %p", (void *)hnt);
    CHECK(munmap(hnt, 4 * P) == 0);
    edge_pages("---p");
    CHECK(window_named("ipc").mappings == 0 && window_named("next").mappings == 0);

    /* mprotect across the edge: both sides */
    x = map_fixed((void *)(EDGE - 4 * P), 4 * P, RW);
    y = map_fixed((void *)EDGE, 4 * P, RW);
    fill(x, 4 * P, 3); fill(y, 4 * P, 4);
    CHECK(mprotect((void *)(EDGE - P), 2 * P, PROT_READ) == 0);
    CHECK_MAPPED(x, x, 3 * P, RW);
    CHECK_MAPPED(x + 3 * P, x + 3 * P, P, PROT_READ);
    CHECK_MAPPED(y, y, P, PROT_READ);
    CHECK_MAPPED(y + P, y + P, 3 * P, RW);
    CHECK(strcmp(perms_at(x + 3 * P), "r--p") == 0 && strcmp(perms_at(y), "r--p") == 0);
    CHECK(strcmp(window_of(x + 3 * P), "ipc") == 0 && strcmp(window_of(y), "next") == 0);
    /* munmap across the edge: each part back to its own reservation */
    CHECK(munmap((void *)(EDGE - 2 * P), 4 * P) == 0);
    edge_pages("---p");
    CHECK_MAPPED(x, x, 2 * P, RW);
    CHECK_MAPPED(y + 2 * P, y + 2 * P, 2 * P, RW);
    CHECK(holds(x, 2 * P, 3));
    for (size_t i = 2 * P; i < 4 * P; i++) CHECK(((unsigned char *)y)[i] == pattern_byte(4, i));
    CHECK(kernel_mapped(IPC, IPC + 2 * GIB));
    struct mapwarden_window wi = window_named("ipc"), wn = window_named("next");
    CHECKF(wi.mappings == 1 && wi.mapped == 2 * P && wn.mappings == 1 && wn.mapped == 2 * P,
           "after munmap across the edge: ipc %u/%#zx next %u/%#zx", wi.mappings, wi.mapped, wn.mappings, wn.mapped);
    CHECK(registry_consistent() == 1);                       /* ipc's view: x */
    /* both windows whole, in one call */
    CHECK(munmap((void *)IPC, 2 * GIB) == 0);
    CHECK(kernel_mapped(IPC, IPC + 2 * GIB));
    CHECK(query_state((void *)(EDGE - 2 * P)) == MAPWARDEN_FREE && query_state((void *)(EDGE + 2 * P)) == MAPWARDEN_FREE);
    CHECK(strcmp(perms_at(x), "---p") == 0 && strcmp(perms_at(y + 3 * P), "---p") == 0);
    wi = window_named("ipc"); wn = window_named("next");
    CHECK(wi.mappings == 0 && wn.mappings == 0 && wi.largest_free == GIB && wn.largest_free == GIB);
    CHECK_CONSISTENT(0);
    default_untouched();
}

int main(int argc, char **argv) {
    api_require();
    if (argc < 2) {
        run_alone();
        const char *env[] = { "-MAPWARDEN_WINDOW", "MAPWARDEN_WINDOW_NEXT=0x500040000000:1G", NULL };
        reexec("adjacent", env);
    }
    run_adjacent();
    puts("ok");
    return 0;
}
