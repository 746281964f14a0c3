// A mapping given MADV_DONTFORK outside the
// window (where mapwarden does not track it) and then moved into the window
// with mremap(MREMAP_MAYMOVE|MREMAP_FIXED) carries VM_DONTCOPY with it. The
// kernel does not copy it into a forked child; the child must find that
// range reserved again (no hole in the window), FREE in its registry, and
// registry_consistent() must hold. Before the fix the child's fork cleanup
// only looked at mappings advised inside the window and left a hole.
// Also: only the advised part of a moved mapping is left out; a plain
// window mapping next to it is copied with its data; the parent is
// untouched throughout.
#include "common.h"
#include "win_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

static char *moved, *plain;

static int child_whole(void) {
    CHECK(kernel_mapped(window_base(), window_end()));
    CHECK_FREE(moved);
    CHECK_FREE(moved + 3 * P);
    CHECK(holds(plain, 2 * P, 5));
    CHECK_MAPPED(plain, plain, 2 * P, RW);
    CHECK_CONSISTENT(1);
    /* the child can map there */
    CHECK(map_fixed(moved, 4 * P, RW) == moved);
    CHECK(all_zero(moved, 4 * P));
    CHECK_CONSISTENT(2);
    return 0;
}

static int child_part(void) {
    /* pages 1 and 2 of the moved mapping were advised outside the window */
    CHECK(kernel_mapped(window_base(), window_end()));
    CHECK(query_state(moved) == MAPWARDEN_MAPPED);
    CHECK(holds(moved, P, 6));
    CHECK_FREE(moved + P);
    CHECK_FREE(moved + 2 * P);
    CHECK(query_state(moved + 3 * P) == MAPWARDEN_MAPPED);
    for (size_t i = 3 * P; i < 4 * P; i++) CHECK((unsigned char)moved[i] == pattern_byte(6, i));
    CHECK(holds(plain, 2 * P, 5));
    int n = registry_consistent();
    CHECK(n >= 3);
    return 0;
}

int main(void) {
    CHECK_WHOLE();
    plain = map_fixed(W(0x300000), 2 * P, RW);
    fill(plain, 2 * P, 5);

    /* the whole mapping advised outside, then moved in */
    char *out = mmap(NULL, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(out != MAP_FAILED && !in_window(out));
    fill(out, 4 * P, 4);
    CHECK(madvise(out, 4 * P, MADV_DONTFORK) == 0);
    moved = mremap(out, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, W(0x100000));
    CHECK(moved == W(0x100000));
    CHECK(holds(moved, 4 * P, 4));
    CHECK(query_state(moved) == MAPWARDEN_MAPPED && query_state(moved + 3 * P) == MAPWARDEN_MAPPED);
    CHECK_CONSISTENT(2);
    in_child(child_whole, "whole mapping advised outside, moved in");
    CHECK(holds(moved, 4 * P, 4));
    CHECK(holds(plain, 2 * P, 5));
    CHECK_CONSISTENT(2);
    /* a second fork sees the same (nothing in the parent changed) */
    in_child(child_whole, "same, second fork");
    CHECK(munmap(moved, 4 * P) == 0);
    CHECK_CONSISTENT(1);

    /* part of the mapping advised outside, then moved in */
    out = mmap(NULL, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(out != MAP_FAILED && !in_window(out));
    fill(out, 4 * P, 6);
    CHECK(madvise(out + P, 2 * P, MADV_DONTFORK) == 0);
    moved = mremap(out, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, W(0x100000));
    CHECK(moved == W(0x100000));
    CHECK(holds(moved, 4 * P, 6));
    CHECK(registry_consistent() >= 2);
    in_child(child_part, "pages 1-2 advised outside, moved in");
    CHECK(holds(moved, 4 * P, 6));
    for (size_t o = 0; o < 4 * P; o += P) CHECK(query_state(moved + o) == MAPWARDEN_MAPPED);
    CHECK(registry_consistent() >= 2);
    CHECK(munmap(moved, 4 * P) == 0);
    CHECK(munmap(plain, 2 * P) == 0);
    CHECK_WHOLE();
    return 0;
}
