// Guards properties of tags and mapwarden_alloc at their edges: tags
// through mremap grow in place and shrink, a MAP_FIXED over the middle of a
// tagged mapping (the outer pieces keep the tag, the new one has 0), and a
// MAP_FIXED exactly over the whole; mapwarden_alloc into a hole that fits
// exactly (first fit takes it, not the space above), alignment larger
// than the window's base alignment (ENOMEM, nothing mapped), and a size
// that overflows when rounded to pages (ENOMEM, not a wrapped small map).
// ENV: MAPWARDEN_WINDOW_IPC=0x500000000000:64M
#include "common.h"
#include "win_helpers.h"
#include "api_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define IPC ((char *)0x500000000000ULL)

int main(void) {
    api_require();
    /* tags: grow in place, shrink */
    char *a = mmap(IPC, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(a == IPC);
    CHECK(mapwarden_set_tag(a, 7) == 0);
    CHECK(mremap(a, 2 * P, 4 * P, 0) == a);
    CHECKF(tag_at(a + 3 * P) == 7, "after growing in place: tag %lu", (unsigned long)tag_at(a + 3 * P));
    CHECK(mremap(a, 4 * P, 3 * P, 0) == a);
    CHECKF(tag_at(a + 2 * P) == 7, "after shrinking: tag %lu", (unsigned long)tag_at(a + 2 * P));
    /* MAP_FIXED over the middle */
    CHECK(mmap(a + P, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a + P);
    CHECKF(tag_at(a) == 7 && tag_at(a + 2 * P) == 7 && tag_at(a + P) == 0, "MAP_FIXED over the middle: %lu %lu %lu",
           (unsigned long)tag_at(a), (unsigned long)tag_at(a + P), (unsigned long)tag_at(a + 2 * P));
    /* MAP_FIXED over the whole */
    CHECK(mmap(a, 3 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a);
    CHECKF(tag_at(a) == 0 && tag_at(a + 2 * P) == 0, "MAP_FIXED over the whole kept a tag");
    CHECK(munmap(a, 3 * P) == 0);

    /* alloc: an exact hole at the bottom: [IPC, IPC+2P) free, then a mapping */
    char *wall = mmap(IPC + 2 * P, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(wall == IPC + 2 * P);
    char *h = mapwarden_alloc("ipc", 2 * P, 0, RW, MAP_PRIVATE);
    CHECKF(h == IPC, "an exactly fitting hole: got %p", (void *)h);
    char *h2 = mapwarden_alloc("ipc", P, 0, RW, MAP_PRIVATE);
    CHECKF(h2 == IPC + 3 * P, "next: got %p", (void *)h2);
    /* an alignment no address of the window has */
    CHECK_NULL_ERRNO(mapwarden_alloc("ipc", P, (size_t)1 << 47, RW, MAP_PRIVATE), ENOMEM);
    /* a size that wraps when rounded up */
    CHECK_NULL_ERRNO(mapwarden_alloc("ipc", (size_t)-100, 0, RW, MAP_PRIVATE), ENOMEM);
    CHECK_NULL_ERRNO(mapwarden_alloc("ipc", (size_t)1 << 40, 0, RW, MAP_PRIVATE), ENOMEM);
    /* the last page of the window, exactly */
    CHECK(munmap(IPC, 4 * P) == 0);
    char *big = mapwarden_alloc("ipc", ((size_t)64 << 20) - P, 0, PROT_NONE, MAP_PRIVATE | MAP_NORESERVE);
    CHECKF(big == IPC, "all but a page: %p", (void *)big);
    char *last = mapwarden_alloc("ipc", P, 0, RW, MAP_PRIVATE);
    CHECKF(last == IPC + (64 << 20) - P, "the last page: %p", (void *)last);
    CHECK_NULL_ERRNO(mapwarden_alloc("ipc", P, 0, RW, MAP_PRIVATE), ENOMEM);
    printf("ok\n");
    return 0;
}
