// API 2, mapwarden_query: besides state/base/size/prot/kind it fills flags
// (MAP_PRIVATE or MAP_SHARED | MAP_ANONYMOUS, as mapped), the tag (0 until
// mapwarden_set_tag) and the window's name ("default"; "ipc" for
// MAPWARDEN_WINDOW_IPC; "" OUTSIDE, with window_base and window_size 0). Every field is
// written (the struct is pre-filled with junk). NULL info -> EINVAL.
// ENV: MAPWARDEN_WINDOW_IPC=0x500000000000:1G
#include "common.h"
#include "win_helpers.h"
#include "api_helpers.h"

#define IPC ((uintptr_t)0x500000000000ULL)
#define GIB ((size_t)1 << 30)

/* query(p) into a struct pre-filled with 0xA5 junk. */
static struct mapwarden_info junk_query(const void *p) {
    struct mapwarden_info info;
    memset(&info, 0xA5, sizeof info);
    errno = 0;
    int r = mapwarden_query(p, &info);
    CHECKF(r == 0, "mapwarden_query(%p) = %d", p, r);
    return info;
}
/* The name field is a NUL-terminated string equal to want. */
static int name_is(const struct mapwarden_info *i, const char *want) {
    return memchr(i->window, 0, MAPWARDEN_NAME_MAX) != NULL && strcmp(i->window, want) == 0;
}
#define NAME(i) ((memchr((i).window, 0, MAPWARDEN_NAME_MAX) ? (i).window : "<no NUL>"))

int main(void) {
    api_require();
    CHECK(MAPWARDEN_API_VERSION == 2);
    CHECK(sizeof(((struct mapwarden_info *)0)->window) == MAPWARDEN_NAME_MAX);

    /* free space of the default window */
    struct mapwarden_info i = junk_query(W(0x10000));
    CHECKF(i.state == MAPWARDEN_FREE, "state %u", i.state);
    CHECKF(name_is(&i, "default"), "window name '%s'", NAME(i));
    CHECK(i.window_base == window_base() && i.window_size == (size_t)1 << 40);

    /* a private anonymous fixed mapping */
    char *a = map_fixed(W(0x100000), 4 * PAGE, PROT_READ | PROT_WRITE);
    i = junk_query(a + PAGE);
    CHECK(i.state == MAPWARDEN_MAPPED && i.base == (uintptr_t)a && i.size == 4 * PAGE);
    CHECKF(i.flags == (MAP_PRIVATE | MAP_ANONYMOUS), "private anonymous: flags %#x, expected %#x", i.flags,
           MAP_PRIVATE | MAP_ANONYMOUS);
    CHECK(i.kind == MAPWARDEN_KIND_ANONYMOUS);
    CHECKF(i.tag == 0, "fresh mapping: tag %#lx", (unsigned long)i.tag);
    CHECKF(name_is(&i, "default"), "window name '%s'", NAME(i));
    CHECK(i.prot == (PROT_READ | PROT_WRITE));

    /* a shared anonymous one */
    char *s = mmap(W(0x200000), 2 * PAGE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(s == W(0x200000));
    i = junk_query(s);
    CHECKF(i.flags == (MAP_SHARED | MAP_ANONYMOUS), "shared anonymous: flags %#x, expected %#x", i.flags,
           MAP_SHARED | MAP_ANONYMOUS);
    CHECK(i.kind == (MAPWARDEN_KIND_SHARED | MAPWARDEN_KIND_ANONYMOUS));
    CHECK(i.tag == 0 && name_is(&i, "default"));

    /* file-backed, private and shared: no MAP_ANONYMOUS bit */
    char path[] = "/tmp/mw_api_query_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK(ftruncate(fd, 8 * PAGE) == 0);
    char *fp = mmap(W(0x300000), PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 2 * PAGE);
    CHECK(fp == W(0x300000));
    i = junk_query(fp);
    CHECKF(i.flags == MAP_PRIVATE, "private file: flags %#x, expected %#x", i.flags, MAP_PRIVATE);
    CHECK(i.offset == 2 * PAGE && i.tag == 0 && name_is(&i, "default"));
    char *fs = mmap(W(0x310000), PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    CHECK(fs == W(0x310000));
    i = junk_query(fs);
    CHECKF(i.flags == MAP_SHARED, "shared file: flags %#x, expected %#x", i.flags, MAP_SHARED);
    close(fd);

    /* the tag shows in the query */
    CHECK(mapwarden_set_tag(a, (uintptr_t)0xfeedface) == 0);
    i = junk_query(a + 3 * PAGE);
    CHECKF(i.tag == (uintptr_t)0xfeedface, "tag %#lx after set_tag", (unsigned long)i.tag);
    CHECK(junk_query(s).tag == 0);

    /* a named window: its name, lowercase */
    i = junk_query((void *)(IPC + 0x5000));
    CHECKF(i.state == MAPWARDEN_FREE && i.window_base == IPC && i.window_size == GIB,
           "IPC free space: state %u window %#lx+%#zx", i.state, i.window_base, i.window_size);
    CHECKF(name_is(&i, "ipc"), "MAPWARDEN_WINDOW_IPC: window name '%s', expected 'ipc'", NAME(i));
    char *n = map_fixed((void *)(IPC + 0x10000), PAGE, PROT_READ);
    i = junk_query(n);
    CHECK(i.state == MAPWARDEN_MAPPED && i.base == (uintptr_t)n && i.size == PAGE);
    CHECK(i.flags == (MAP_PRIVATE | MAP_ANONYMOUS) && i.tag == 0 && name_is(&i, "ipc"));
    /* last byte of the named window, and the first byte past it */
    i = junk_query((void *)(IPC + GIB - 1));
    CHECK(i.state == MAPWARDEN_FREE && name_is(&i, "ipc"));
    i = junk_query((void *)(IPC + GIB));
    CHECKF(i.state == MAPWARDEN_OUTSIDE && i.window_base == 0 && i.window_size == 0 && name_is(&i, ""),
           "past the named window: state %u window_base %#lx name '%s'", i.state, i.window_base, NAME(i));

    /* OUTSIDE: the stack, the heap, NULL */
    int local = 0;
    const void *outside[] = { &local, malloc(16), NULL, (void *)(window_base() - 1), (void *)(window_end()) };
    for (size_t k = 0; k < sizeof outside / sizeof outside[0]; k++) {
        i = junk_query(outside[k]);
        CHECKF(i.state == MAPWARDEN_OUTSIDE, "%p: state %u", outside[k], i.state);
        CHECKF(i.window_base == 0 && i.window_size == 0, "%p: window %#lx+%#zx", outside[k], i.window_base, i.window_size);
        CHECKF(name_is(&i, ""), "%p: OUTSIDE but window name '%s'", outside[k], NAME(i));
    }

    /* NULL info */
    CHECK_ERRNO(mapwarden_query(a, NULL), EINVAL);
    CHECK_ERRNO(mapwarden_query(&local, NULL), EINVAL);

    /* after munmap: FREE, named; a new mapping there has tag 0 */
    CHECK(munmap(a, 4 * PAGE) == 0);
    i = junk_query(a);
    CHECK(i.state == MAPWARDEN_FREE && name_is(&i, "default"));
    a = map_fixed(a, 4 * PAGE, PROT_READ);
    CHECK(junk_query(a).tag == 0);
    CHECK(munmap(a, 4 * PAGE) == 0);
    CHECK(munmap(s, 2 * PAGE) == 0 && munmap(fp, PAGE) == 0 && munmap(fs, PAGE) == 0 && munmap(n, PAGE) == 0);
    CHECK_CONSISTENT(0);
    puts("ok");
    return 0;
}
