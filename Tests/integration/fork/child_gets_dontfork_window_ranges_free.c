// madvise(MADV_DONTFORK) on window mappings, then
// fork. The kernel does not copy such VMAs into the child; in the child the
// range must be reservation again (no hole in the window: kernel_mapped over
// all of it), FREE in the registry, and registry_consistent() holds. In the
// parent the mapping is untouched. MADV_DOFORK undoes it. Also: only the
// advised part of a mapping is left out; the flag travels with mprotect
// splits and with an mremap move inside the window, as in the kernel; a new
// mapping at the same place after munmap is copied normally.
#include "common.h"
#include "win_helpers.h"

#define RW (PROT_READ | PROT_WRITE)
#define P PAGE

static char *a, *b;

/* Every page of [p, p+len) is MAPPED with prot. (The registry may keep
 * [p, p+len) as several records where the kernel split the VMAs.) */
#define CHECK_COVERED(p, len, pr) do { \
    for (char *_q = (p); _q < (p) + (len); _q += P) { struct mapwarden_info _i = info_at(_q); \
        if (_i.state != MAPWARDEN_MAPPED || _i.prot != (pr)) { \
            fprintf(stderr, "%s:%d: query(%p): state %u prot %d, expected MAPPED prot %d\n", __FILE__, __LINE__, \
                    (void *)_q, _i.state, _i.prot, (pr)); dump_window(); exit(1); } } } while (0)
#define CHECK_CONSISTENT_SOME() do { int _n = registry_consistent(); if (_n < 1) { \
    fprintf(stderr, "%s:%d: registry_consistent() = %d\n", __FILE__, __LINE__, _n); dump_window(); exit(1); } } while (0)

static int child_whole_dontfork(void) {
    CHECK(kernel_mapped(window_base(), window_end()));
    CHECK_FREE(a);
    CHECK_FREE(a + 15 * P);
    CHECK(info_at(a).base <= (uintptr_t)a && info_at(a).base + info_at(a).size >= (uintptr_t)a + 16 * P);
    CHECK_WHOLE();
    /* the child can map there again */
    CHECK(map_fixed(a, 16 * P, RW) == a);
    CHECK(all_zero(a, 16 * P));
    CHECK_CONSISTENT(1);
    return 0;
}

static int child_copied(void) {
    CHECK(holds(a, 16 * P, 1));
    CHECK_COVERED(a, 16 * P, RW);
    CHECK(strcmp(perms_at(a), "rw-p") == 0 && maps_at(a).end == (uintptr_t)a + 16 * P);
    CHECK_CONSISTENT_SOME();
    return 0;
}

static int child_middle(void) {
    /* only pages 4..7 were advised */
    CHECK(holds(a, 4 * P, 1));
    CHECK(kernel_mapped(window_base(), window_end()));
    CHECK_COVERED(a, 4 * P, RW);
    CHECK_FREE(a + 4 * P);
    CHECK_FREE(a + 7 * P);
    CHECK_COVERED(a + 8 * P, 8 * P, RW);
    for (size_t i = 8 * P; i < 16 * P; i++) CHECK(((unsigned char *)a)[i] == pattern_byte(1, i));
    CHECK_CONSISTENT_SOME();
    return 0;
}

static int child_split(void) {
    /* [a, a+8P) rw DONTFORK, [a+8P, a+16P) r DONTFORK, b copied */
    CHECK(kernel_mapped(window_base(), window_end()));
    CHECK_FREE(a);
    CHECK_FREE(a + 12 * P);
    CHECK(holds(b, 2 * P, 2));
    CHECK_MAPPED(b, b, 2 * P, RW);
    CHECK_CONSISTENT(1);
    return 0;
}

static int child_moved(void) {
    /* the mapping moved from a to b carries VM_DONTCOPY: neither place is mapped */
    CHECK(kernel_mapped(window_base(), window_end()));
    CHECK_FREE(a);
    CHECK_FREE(b);
    CHECK_FREE(b + 15 * P);
    CHECK_WHOLE();
    return 0;
}

int main(void) {
    CHECK_WHOLE();
    a = W(0);
    b = W(0x100000);

    /* a whole mapping advised: its range is free and reserved in the child */
    map_fixed(a, 16 * P, RW);
    fill(a, 16 * P, 1);
    CHECK(madvise(a, 16 * P, MADV_DONTFORK) == 0);
    in_child(child_whole_dontfork, "whole mapping MADV_DONTFORK");
    CHECK(holds(a, 16 * P, 1));
    CHECK_MAPPED(a, a, 16 * P, RW);
    CHECK(strcmp(perms_at(a), "rw-p") == 0);
    CHECK_CONSISTENT(1);
    /* MADV_DOFORK undoes it */
    CHECK(madvise(a, 16 * P, MADV_DOFORK) == 0);
    in_child(child_copied, "after MADV_DOFORK");
    CHECK_CONSISTENT(1);
    CHECK(holds(a, 16 * P, 1));

    /* part of a mapping */
    CHECK(madvise(a + 4 * P, 4 * P, MADV_DONTFORK) == 0);
    in_child(child_middle, "pages 4..7 MADV_DONTFORK");
    CHECK(holds(a, 16 * P, 1));
    CHECK_COVERED(a, 16 * P, RW);
    CHECK_CONSISTENT_SOME();
    CHECK(madvise(a, 16 * P, MADV_DOFORK) == 0);
    in_child(child_copied, "after MADV_DOFORK over the part");

    /* the flag survives an mprotect split */
    CHECK(madvise(a, 16 * P, MADV_DONTFORK) == 0);
    CHECK(mprotect(a + 8 * P, 8 * P, PROT_READ) == 0);
    map_fixed(b, 2 * P, RW);
    fill(b, 2 * P, 2);
    in_child(child_split, "MADV_DONTFORK then mprotect split");
    CHECK(munmap(b, 2 * P) == 0);
    CHECK(holds(a, 16 * P, 1));
    CHECK_COVERED(a, 8 * P, RW);
    CHECK_COVERED(a + 8 * P, 8 * P, PROT_READ);
    CHECK_CONSISTENT_SOME();

    /* munmap clears it: a new mapping at the same place is copied */
    CHECK(munmap(a, 16 * P) == 0);
    map_fixed(a, 16 * P, RW);
    fill(a, 16 * P, 1);
    in_child(child_copied, "new mapping after munmap of a DONTFORK one");

    /* a DONTFORK mapping moved inside the window keeps the flag */
    CHECK(madvise(a, 16 * P, MADV_DONTFORK) == 0);
    CHECK(mremap(a, 16 * P, 16 * P, MREMAP_MAYMOVE | MREMAP_FIXED, b) == b);
    CHECK(holds(b, 16 * P, 1));
    in_child(child_moved, "DONTFORK mapping moved by mremap");
    CHECK(holds(b, 16 * P, 1));
    CHECK_COVERED(b, 16 * P, RW);
    CHECK_FREE(a);
    CHECK_CONSISTENT_SOME();
    CHECK(munmap(b, 16 * P) == 0);
    CHECK_WHOLE();
    return 0;
}
