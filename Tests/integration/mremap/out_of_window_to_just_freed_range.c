// Moving a window mapping with
// MREMAP_MAYMOVE|MREMAP_FIXED to an address outside the window that the
// program has just unmapped (x = mmap(NULL); munmap(x)) succeeds, as the
// kernel allows any free destination: the data is at x, x is no longer
// window business, and the source goes back to the reservation. The old
// engine refused with EINVAL. Also the same with a destination that is
// still mapped outside the window (the kernel replaces it), a shrink on
// the way, and part of a mapping. (Growing, and destinations that are not
// the one just-freed block: out_of_window_into_any_free_hole.c.)
#include "common.h"
#include "win_helpers.h"

#define N (64 * 1024)
#define RW (PROT_READ | PROT_WRITE)


int main(void) {
    CHECK_WHOLE();
    /* the same size into a just-freed outside range */
    char *p = map_fixed(W(0), N, RW);
    fill(p, N, 7);
    char *x = fresh_hole(N);
    errno = 0;
    char *q = mremap(p, N, N, MREMAP_MAYMOVE | MREMAP_FIXED, x);
    CHECK(q == x);
    CHECK(holds(x, N, 7));
    CHECK(strcmp(perms_at(x), "rw-p") == 0);
    CHECK(query_state(x) == MAPWARDEN_OUTSIDE);
    CHECK_FREE(p);
    CHECK_FREE(p + N - PAGE);
    CHECK_WHOLE();
    CHECK(munmap(x, N) == 0);

    /* shrinking on the way */
    p = map_fixed(W(0x200000), N, RW);
    fill(p, N, 9);
    x = fresh_hole(N);
    CHECK(mremap(p, N, N / 2, MREMAP_MAYMOVE | MREMAP_FIXED, x) == x);
    CHECK(holds(x, N / 2, 9));
    CHECK_WHOLE();
    CHECK(munmap(x, N / 2) == 0);

    /* a destination that is still mapped outside the window: replaced */
    p = map_fixed(W(0x300000), N, RW);
    fill(p, N, 10);
    x = mmap(NULL, N, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(x != MAP_FAILED && !in_window(x));
    memset(x, 0xEE, N);
    CHECK(mremap(p, N, N, MREMAP_MAYMOVE | MREMAP_FIXED, x) == x);
    CHECK(holds(x, N, 10));
    CHECK_WHOLE();
    CHECK(munmap(x, N) == 0);

    /* part of a window mapping out to a freed range: head and tail stay recorded */
    p = map_fixed(W(0x400000), 4 * PAGE, RW);
    fill(p, 4 * PAGE, 11);
    x = fresh_hole(2 * PAGE);
    CHECK(mremap(p + PAGE, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, x) == x);
    for (size_t i = 0; i < 2 * PAGE; i++) CHECK(((unsigned char *)x)[i] == pattern_byte(11, PAGE + i));
    CHECK_MAPPED(p, p, PAGE, RW);
    CHECK_FREE(p + PAGE);
    CHECK_FREE(p + 2 * PAGE);
    CHECK_MAPPED(p + 3 * PAGE, p + 3 * PAGE, PAGE, RW);
    CHECK(holds(p, PAGE, 11));
    CHECK(p[3 * PAGE] == (char)pattern_byte(11, 3 * PAGE));
    CHECK_CONSISTENT(2);
    CHECK(munmap(x, 2 * PAGE) == 0);
    CHECK(munmap(p, 4 * PAGE) == 0);
    CHECK_WHOLE();
    return 0;
}
