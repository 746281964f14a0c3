// Rule 8, moves across the window edge and MREMAP_DONTUNMAP: a mapping
// moved into the window is recorded as mapped; one moved out leaves its
// source re-reserved (no hole); MREMAP_DONTUNMAP keeps the source mapped
// and recorded. Data survives every move (checked byte by byte) and the
// registry matches the kernel after each step.
#include "common.h"
#include "win_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

static char *outside(size_t len) {
    char *p = mmap(NULL, len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED && !in_window(p));
    return p;
}

int main(void) {
    CHECK_WHOLE();

    /* move in from outside (MREMAP_FIXED into free window space) */
    char *o = outside(4 * P);
    fill(o, 4 * P, 1);
    char *in = W(0x500000);
    CHECK(mremap(o, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, in) == in);
    CHECK(holds(in, 4 * P, 1));
    CHECK(kernel_unmapped((uintptr_t)o, (uintptr_t)o + 4 * P));
    struct mapwarden_info i = info_at(in + 3 * P);
    CHECK(i.state == MAPWARDEN_MAPPED && i.base == (uintptr_t)in && i.size == 4 * P);
    CHECK(strcmp(perms_at(in), "rw-p") == 0);
    CHECK_CONSISTENT(1);
    CHECK_LINES(3);
    in[0] = 0x42; /* still ours to write */
    in[0] = (char)pattern_byte(1, 0);

    /* move in and grow at the same time */
    char *o2 = outside(2 * P);
    fill(o2, 2 * P, 2);
    char *in2 = W(0x540000);
    CHECK(mremap(o2, 2 * P, 5 * P, MREMAP_MAYMOVE | MREMAP_FIXED, in2) == in2);
    CHECK(holds(in2, 2 * P, 2) && all_zero(in2 + 2 * P, 3 * P));
    i = info_at(in2 + 4 * P);
    CHECK(i.state == MAPWARDEN_MAPPED && i.base == (uintptr_t)in2 && i.size == 5 * P);
    CHECK_CONSISTENT(2);

    /* move in over an own mapping: it replaces it, one record */
    char *old = map_fixed(W(0x580000), 4 * P, PROT_READ);
    CHECK_CONSISTENT(3);
    char *o3 = outside(4 * P);
    fill(o3, 4 * P, 3);
    CHECK(mremap(o3, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, old) == old);
    CHECK(holds(old, 4 * P, 3));
    i = info_at(old);
    CHECK(i.state == MAPWARDEN_MAPPED && i.base == (uintptr_t)old && i.size == 4 * P);
    CHECK_CONSISTENT(3);

    /* a recorded moved-in mapping can be used like any other: mprotect, shrink, grow */
    CHECK(mprotect(in, 4 * P, PROT_READ) == 0);
    CHECK_MAPPED(in, in, 4 * P, PROT_READ);
    CHECK(mprotect(in, 4 * P, RW) == 0);
    CHECK(mremap(in, 4 * P, 3 * P, 0) == in);
    CHECK_FREE(in + 3 * P);
    CHECK(mremap(in, 3 * P, 6 * P, 0) == in);
    CHECK(holds(in, 3 * P, 1) && all_zero(in + 3 * P, 3 * P));
    fill(in, 6 * P, 1);
    CHECK_CONSISTENT(3);

    /* move out of the window (MREMAP_FIXED to an outside address) */
    char *dst = outside(8 * P);
    CHECK(mremap(in, 6 * P, 6 * P, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst);
    CHECK(holds(dst, 6 * P, 1));
    CHECK(query_state(dst) == MAPWARDEN_OUTSIDE);
    CHECK_FREE(in); CHECK_FREE(in + 5 * P);
    CHECK(kernel_mapped(window_base(), window_end()));
    CHECK_CONSISTENT(2);
    CHECK(munmap(dst, 8 * P) == 0);

    /* move out with MREMAP_MAYMOVE only (growth the kernel places elsewhere) */
    map_fixed(in2 + 5 * P, P, PROT_READ); /* blocks growth in place */
    CHECK_CONSISTENT(3);
    char *n = mremap(in2, 5 * P, 64 * P, MREMAP_MAYMOVE);
    CHECK(n != MAP_FAILED && n != in2);
    CHECK(holds(n, 2 * P, 2) && all_zero(n + 2 * P, 62 * P));
    CHECK_FREE(in2); CHECK_FREE(in2 + 4 * P);
    CHECK(kernel_mapped(window_base(), window_end()));
    CHECK_CONSISTENT(in_window(n) ? 3 : 2);
    CHECK(munmap(n, 64 * P) == 0);
    CHECK_CONSISTENT(2);

    /* MREMAP_DONTUNMAP: the source stays mapped and recorded, the data moves */
    char *d = map_fixed(W(0x600000), 4 * P, RW);
    fill(d, 4 * P, 4);
    CHECK_CONSISTENT(3);
    char *m = mremap(d, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
    CHECK(m != MAP_FAILED && m != d);
    CHECK(holds(m, 4 * P, 4));
    CHECK_MAPPED(d, d, 4 * P, RW);
    CHECK(strcmp(perms_at(d), "rw-p") == 0);
    CHECK(all_zero(d, 4 * P)); /* the source's pages went along: it reads as fresh memory */
    d[0] = 1;                   /* and is writable */
    CHECK_CONSISTENT(in_window(m) ? 4 : 3);
    CHECK(munmap(m, 4 * P) == 0);
    CHECK_CONSISTENT(3);

    /* MREMAP_DONTUNMAP with MREMAP_FIXED to another window address */
    fill(d, 4 * P, 5);
    char *t = W(0x640000);
    CHECK(mremap(d, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, t) == t);
    CHECK(holds(t, 4 * P, 5));
    CHECK_MAPPED(t, t, 4 * P, RW);
    CHECK_MAPPED(d, d, 4 * P, RW);
    CHECK(all_zero(d, 4 * P));
    CHECK_CONSISTENT(4);

    /* MREMAP_DONTUNMAP from outside into the window: the target is recorded */
    char *o4 = outside(2 * P);
    fill(o4, 2 * P, 6);
    char *t4 = W(0x680000);
    CHECK(mremap(o4, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, t4) == t4);
    CHECK(holds(t4, 2 * P, 6));
    CHECK(all_zero(o4, 2 * P));
    i = info_at(t4);
    CHECK(i.state == MAPWARDEN_MAPPED && i.base == (uintptr_t)t4 && i.size == 2 * P);
    CHECK_CONSISTENT(5);
    CHECK(munmap(o4, 2 * P) == 0);

    /* MREMAP_DONTUNMAP from the window out to a fixed outside address */
    fill(t, 4 * P, 7);
    char *dst2 = outside(4 * P);
    CHECK(mremap(t, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_DONTUNMAP | MREMAP_FIXED, dst2) == dst2);
    CHECK(holds(dst2, 4 * P, 7));
    CHECK_MAPPED(t, t, 4 * P, RW);
    CHECK(all_zero(t, 4 * P));
    CHECK_CONSISTENT(5);
    CHECK(munmap(dst2, 4 * P) == 0);

    CHECK(munmap(W(0), 0x800000) == 0);
    CHECK_WHOLE();
    return 0;
}
