// Rule 2, window edges: a MAP_FIXED that straddles the lower or the upper
// window edge is served as the kernel would serve it (one mapping over the
// whole range, data intact), its in-window part is recorded, and the edge
// is not torn: unmapping the whole range leaves the window whole and the
// outside part unmapped; unmapping only the inside part keeps the outside.
#include "common.h"
#include "win_helpers.h"

static void straddle(uintptr_t lo, uintptr_t hi, uintptr_t edge, int lower) {
    uintptr_t base = window_base(), end = window_end();
    fprintf(stderr, "-- %s edge: [%#lx, %#lx)\n", lower ? "lower" : "upper", lo, hi);
    uintptr_t out_lo = lower ? lo : edge, out_hi = lower ? edge : hi;   /* outside part */
    uintptr_t in_lo = lower ? edge : lo, in_hi = lower ? hi : edge;     /* inside part */
    CHECK(kernel_unmapped(out_lo, out_hi)); /* nothing of ours to clobber there */

    char *p = mmap((void *)lo, hi - lo, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == (char *)lo);
    fill(p, hi - lo, 7);
    CHECK(holds(p, hi - lo, 7));
    /* the inside part is recorded, exactly */
    CHECK_MAPPED((void *)in_lo, in_lo, in_hi - in_lo, PROT_READ | PROT_WRITE);
    CHECK_MAPPED((void *)(in_hi - 1), in_lo, in_hi - in_lo, PROT_READ | PROT_WRITE);
    CHECK(query_state((void *)out_lo) == MAPWARDEN_OUTSIDE);
    CHECK(query_state((void *)(out_hi - 1)) == MAPWARDEN_OUTSIDE);
    /* the kernel sees one rw mapping over the whole range */
    struct maps_hit h = maps_at((void *)lo);
    CHECK(h.found && strcmp(h.perms, "rw-p") == 0 && h.start <= lo && h.end >= hi);
    CHECK(kernel_mapped(base, end));
    CHECK_CONSISTENT(1);
    /* the rest of the window is still reserved */
    if (lower) CHECK_FREE((void *)hi); else CHECK_FREE((void *)(lo - PAGE));
    /* mprotect over the whole straddling range works and is recorded */
    CHECK(mprotect(p, hi - lo, PROT_READ) == 0);
    CHECK_MAPPED((void *)in_lo, in_lo, in_hi - in_lo, PROT_READ);
    CHECK(strcmp(perms_at((void *)lo), "r--p") == 0 && strcmp(perms_at((void *)(hi - 1)), "r--p") == 0);
    CHECK(mprotect(p, hi - lo, PROT_READ | PROT_WRITE) == 0);
    CHECK_CONSISTENT(1);
    CHECK(holds(p, hi - lo, 7));

    /* munmap the whole straddling range: window whole, outside unmapped */
    CHECK(munmap(p, hi - lo) == 0);
    CHECK_WHOLE();
    CHECK(kernel_unmapped(out_lo, out_hi));

    /* again, but unmap only the inside part: the outside part stays */
    p = mmap((void *)lo, hi - lo, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == (char *)lo);
    fill(p, hi - lo, 8);
    CHECK_CONSISTENT(1);
    CHECK(munmap((void *)in_lo, in_hi - in_lo) == 0);
    CHECK_WHOLE();
    CHECK(kernel_mapped(out_lo, out_hi));
    for (uintptr_t a = out_lo; a < out_hi; a++) CHECK(*(unsigned char *)a == pattern_byte(8, a - lo));
    CHECK(strcmp(perms_at((void *)out_lo), "rw-p") == 0);
    CHECK(munmap((void *)out_lo, out_hi - out_lo) == 0);
    CHECK(kernel_unmapped(out_lo, out_hi));
    CHECK_WHOLE();

    /* a mapping that straddles the edge and replaces an earlier in-window one */
    uintptr_t old = lower ? edge : edge - 2 * PAGE;
    map_fixed((void *)old, 2 * PAGE, PROT_READ);
    CHECK_CONSISTENT(1);
    p = mmap((void *)lo, hi - lo, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == (char *)lo);
    CHECK(all_zero(p, hi - lo));
    CHECK_MAPPED((void *)in_lo, in_lo, in_hi - in_lo, PROT_READ | PROT_WRITE);
    CHECK(info_at((void *)in_lo).kind == (MAPWARDEN_KIND_SHARED | MAPWARDEN_KIND_ANONYMOUS));
    CHECK_CONSISTENT(1);
    CHECK(munmap(p, hi - lo) == 0);
    CHECK_WHOLE();
    CHECK(kernel_unmapped(out_lo, out_hi));
}

int main(void) {
    CHECK_WHOLE();
    uintptr_t base = window_base(), end = window_end();
    straddle(base - 3 * PAGE, base + 5 * PAGE, base, 1);
    straddle(end - 4 * PAGE, end + 2 * PAGE, end, 0);
    return 0;
}
