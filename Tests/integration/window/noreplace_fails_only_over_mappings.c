// Rule 3: MAP_FIXED_NOREPLACE inside the window succeeds exactly when no
// recorded mapping overlaps (the reservation is not an occupant);
// otherwise EEXIST, and the live mapping keeps its data and its record.
#include "common.h"
#include "win_helpers.h"

#define NR (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE)

int main(void) {
    CHECK_WHOLE();
    /* free window space: placed exactly, recorded */
    char *a = mmap(W(0x40000), 4 * PAGE, PROT_READ | PROT_WRITE, NR, -1, 0);
    CHECK(a == W(0x40000));
    fill(a, 4 * PAGE, 1);
    CHECK_MAPPED(a + PAGE, a, 4 * PAGE, PROT_READ | PROT_WRITE);
    CHECK(strcmp(perms_at(a), "rw-p") == 0);
    CHECK_CONSISTENT(1);

    /* exactly over it, over its head, its tail, its middle, and around it */
    struct { size_t off, len; } clash[] = {
        { 0x40000, 4 * PAGE }, { 0x40000 - 2 * PAGE, 3 * PAGE }, { 0x40000 + 3 * PAGE, 3 * PAGE },
        { 0x40000 + PAGE, PAGE }, { 0x40000 - PAGE, 6 * PAGE }, { 0x40000 + 3 * PAGE, 1 },
    };
    for (size_t i = 0; i < sizeof clash / sizeof clash[0]; i++) {
        CHECK_ERRNO(mmap(W(clash[i].off), clash[i].len, PROT_READ, NR, -1, 0), EEXIST);
        CHECK(holds(a, 4 * PAGE, 1));
        CHECK_MAPPED(a, a, 4 * PAGE, PROT_READ | PROT_WRITE);
        CHECK(strcmp(perms_at(a), "rw-p") == 0);
        CHECK_CONSISTENT(1);
        CHECK_FREE(a - PAGE);
        CHECK_FREE(a + 4 * PAGE);
    }
    /* shared and file flavours are refused the same way */
    CHECK_ERRNO(mmap(a, PAGE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0), EEXIST);
    CHECK(holds(a, 4 * PAGE, 1));

    /* directly adjacent on both sides: no overlap, so allowed */
    char *below = mmap(a - 2 * PAGE, 2 * PAGE, PROT_READ, NR, -1, 0);
    CHECK(below == a - 2 * PAGE);
    char *above = mmap(a + 4 * PAGE, PAGE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(above == a + 4 * PAGE);
    CHECK(all_zero(below, 2 * PAGE) && all_zero(above, PAGE));
    CHECK_MAPPED(below, below, 2 * PAGE, PROT_READ);
    CHECK_MAPPED(above, above, PAGE, PROT_READ);
    CHECK(holds(a, 4 * PAGE, 1));
    CHECK_CONSISTENT(3);

    /* after an unmap, the same range is free again */
    CHECK(munmap(a, 4 * PAGE) == 0);
    char *b = mmap(a + PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, NR, -1, 0);
    CHECK(b == a + PAGE);
    CHECK(all_zero(b, 2 * PAGE));
    CHECK_CONSISTENT(3);

    /* a large NOREPLACE over free space far into the window */
    char *big = mmap(W(1ULL << 30), 256ULL << 20, PROT_READ | PROT_WRITE, NR | MAP_NORESERVE, -1, 0);
    CHECK(big == W(1ULL << 30));
    big[0] = 1; big[(256 << 20) - 1] = 2;
    CHECK_MAPPED(big + (100 << 20), big, 256ULL << 20, PROT_READ | PROT_WRITE);
    CHECK_CONSISTENT(4);

    CHECK(munmap(W(0), 2ULL << 30) == 0);
    CHECK_WHOLE();

    /* straddling the lower edge, the outside part free: allowed, in-window part recorded */
    uintptr_t base = window_base();
    CHECK(kernel_unmapped(base - 4 * PAGE, base));
    char *st = mmap((void *)(base - 2 * PAGE), 4 * PAGE, PROT_READ | PROT_WRITE, NR, -1, 0);
    CHECK(st == (char *)(base - 2 * PAGE));
    fill(st, 4 * PAGE, 5);
    CHECK_MAPPED((void *)base, base, 2 * PAGE, PROT_READ | PROT_WRITE);
    CHECK_CONSISTENT(1);
    /* now the outside part is occupied: EEXIST, and nothing moves */
    CHECK_ERRNO(mmap((void *)(base - 3 * PAGE), 2 * PAGE, PROT_READ, NR, -1, 0), EEXIST);
    CHECK(kernel_unmapped(base - 4 * PAGE, base - 2 * PAGE));
    CHECK(holds(st, 4 * PAGE, 5));
    CHECK(munmap(st, 4 * PAGE) == 0);
    CHECK_WHOLE();
    CHECK(kernel_unmapped(base - 4 * PAGE, base));
    /* the outside part occupied by a mapping we make there first; the inside free */
    char *outp = mmap((void *)(base - PAGE), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(outp == (char *)(base - PAGE));
    CHECK_ERRNO(mmap((void *)(base - PAGE), 3 * PAGE, PROT_READ | PROT_WRITE, NR, -1, 0), EEXIST);
    CHECK_WHOLE();
    CHECK(strcmp(perms_at(outp), "r--p") == 0);
    CHECK(munmap(outp, PAGE) == 0);
    /* the same at the upper edge */
    uintptr_t end = window_end();
    CHECK(kernel_unmapped(end, end + 4 * PAGE));
    char *up = mmap((void *)(end - PAGE), 3 * PAGE, PROT_READ, NR, -1, 0);
    CHECK(up == (char *)(end - PAGE));
    CHECK_MAPPED(up, up, PAGE, PROT_READ);
    CHECK_CONSISTENT(1);
    CHECK(munmap(up, 3 * PAGE) == 0);
    CHECK_WHOLE();
    CHECK(kernel_unmapped(end, end + 4 * PAGE));
    return 0;
}
