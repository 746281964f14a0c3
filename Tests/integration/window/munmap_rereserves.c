// Rule 6: munmap inside the window re-reserves: head, middle, tail, a range
// spanning several mappings, free space (returns 0), and the whole window.
// After each, the registry matches the kernel, the surviving data is
// intact, and the reservation merges back (the maps line count over the
// window is exactly what the mappings left require; one line when empty).
#include "common.h"
#include "win_helpers.h"

#define X 0x100000
#define P PAGE

/* The reservation line around a free page reaches exactly [lo, hi). */
static void check_free_line(uintptr_t at, uintptr_t lo, uintptr_t hi) {
    struct maps_hit h = maps_at((void *)at);
    if (!(h.found && h.start == lo && h.end == hi && strcmp(h.perms, "---p") == 0)) {
        fprintf(stderr, "free line at %#lx is %#lx-%#lx %s, expected %#lx-%#lx ---p\n", at, h.start, h.end, h.perms, lo, hi);
        dump_window(); exit(1);
    }
}

int main(void) {
    CHECK_WHOLE();
    char *a = map_fixed(W(X), 16 * P, PROT_READ | PROT_WRITE);
    fill(a, 16 * P, 1);
    CHECK_CONSISTENT(1);
    CHECK_LINES(3);

    /* head */
    CHECK(munmap(a, 2 * P) == 0);
    CHECK_FREE(a); CHECK_FREE(a + P);
    CHECK_MAPPED(a + 2 * P, a + 2 * P, 14 * P, PROT_READ | PROT_WRITE);
    for (size_t i = 2 * P; i < 16 * P; i++) CHECK(((unsigned char *)a)[i] == pattern_byte(1, i));
    CHECK_CONSISTENT(1);
    CHECK_LINES(3);
    check_free_line((uintptr_t)a, window_base(), (uintptr_t)a + 2 * P);

    /* middle */
    CHECK(munmap(a + 6 * P, 2 * P) == 0);
    CHECK_FREE(a + 6 * P); CHECK_FREE(a + 7 * P);
    CHECK_MAPPED(a + 2 * P, a + 2 * P, 4 * P, PROT_READ | PROT_WRITE);
    CHECK_MAPPED(a + 8 * P, a + 8 * P, 8 * P, PROT_READ | PROT_WRITE);
    CHECK_CONSISTENT(2);
    CHECK_LINES(5);
    check_free_line((uintptr_t)a + 6 * P, (uintptr_t)a + 6 * P, (uintptr_t)a + 8 * P);

    /* tail */
    CHECK(munmap(a + 14 * P, 2 * P) == 0);
    CHECK_FREE(a + 14 * P); CHECK_FREE(a + 15 * P);
    CHECK_MAPPED(a + 8 * P, a + 8 * P, 6 * P, PROT_READ | PROT_WRITE);
    CHECK_CONSISTENT(2);
    CHECK_LINES(5);
    check_free_line((uintptr_t)a + 14 * P, (uintptr_t)a + 14 * P, window_end());

    /* spanning several: the tail of one, all of B, the head of C */
    char *b = map_fixed(a + 20 * P, 4 * P, PROT_READ);
    char *c = mmap(a + 26 * P, 4 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(c == a + 26 * P);
    fill(c, 4 * P, 3);
    CHECK_CONSISTENT(4);
    CHECK_LINES(9);
    CHECK(munmap(a + 10 * P, 18 * P) == 0);
    CHECK_MAPPED(a + 8 * P, a + 8 * P, 2 * P, PROT_READ | PROT_WRITE);
    CHECK_FREE(a + 10 * P); CHECK_FREE(b); CHECK_FREE(b + 3 * P); CHECK_FREE(a + 27 * P);
    CHECK_MAPPED(c + 2 * P, c + 2 * P, 2 * P, PROT_READ | PROT_WRITE);
    CHECK(info_at(c + 2 * P).kind == (MAPWARDEN_KIND_SHARED | MAPWARDEN_KIND_ANONYMOUS));
    CHECK_CONSISTENT(3);
    CHECK_LINES(7);
    check_free_line((uintptr_t)a + 10 * P, (uintptr_t)a + 10 * P, (uintptr_t)a + 28 * P);

    /* an unaligned length is rounded up to whole pages */
    CHECK(munmap(a + 2 * P, P + 1) == 0);
    CHECK_FREE(a + 3 * P);
    CHECK_MAPPED(a + 4 * P, a + 4 * P, 2 * P, PROT_READ | PROT_WRITE);
    CHECK_CONSISTENT(3);

    /* the survivors kept their data */
    for (size_t i = 4 * P; i < 6 * P; i++) CHECK(((unsigned char *)a)[i] == pattern_byte(1, i));
    for (size_t i = 8 * P; i < 10 * P; i++) CHECK(((unsigned char *)a)[i] == pattern_byte(1, i));
    for (size_t i = 2 * P; i < 4 * P; i++) CHECK(((unsigned char *)c)[i] == pattern_byte(3, i));

    /* free window space: 0, as Linux answers for unmapped memory; nothing changes */
    CHECK(munmap(W(0x40000000), 8 * P) == 0);
    CHECK(munmap(a + 10 * P, 18 * P) == 0);
    CHECK(munmap(a, 2 * P) == 0);
    CHECK_CONSISTENT(3);
    CHECK_LINES(7);

    /* the kernel's EINVAL cases change nothing */
    CHECK_ERRNO(munmap(a + 4 * P + 1, P), EINVAL);
    CHECK_ERRNO(munmap(a + 4 * P, 0), EINVAL);
    CHECK_CONSISTENT(3);
    CHECK_LINES(7);

    /* a range from inside the window out past its end */
    char *e = map_fixed((void *)(window_end() - 2 * P), 2 * P, PROT_READ | PROT_WRITE);
    CHECK_CONSISTENT(4);
    CHECK(munmap(e - 2 * P, 8 * P) == 0);
    CHECK_CONSISTENT(3);
    CHECK(kernel_unmapped(window_end(), window_end() + 4 * P));

    /* a mapping far away, then the whole window at once */
    map_fixed(W(window_size() / 2), 3 * P, PROT_READ | PROT_EXEC);
    CHECK_CONSISTENT(4);
    CHECK(munmap(W(0), window_size()) == 0);
    CHECK_WHOLE();
    /* and unmapping the empty window again is a no-op */
    CHECK(munmap(W(0), window_size()) == 0);
    CHECK_WHOLE();
    return 0;
}
