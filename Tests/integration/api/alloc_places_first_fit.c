// API 2, mapwarden_alloc(window, size, align, prot, flags): first fit at
// the lowest free address of the window (NULL: the default one; a name
// case-insensitively), aligned; the memory is real (write / read), is in
// /proc/self/maps inside the window with the asked protection, is recorded
// (query: MAPPED, anonymous, flags as asked) and munmap returns it to the
// reservation. Misuse and limits per the header: size 0, align 3, flags
// with MAP_FIXED or another bit -> EINVAL; an unknown window -> ENOENT; no
// free run fits (a 64 KiB window) -> ENOMEM. Concurrent allocs from four
// threads never overlap.
// ENV: MAPWARDEN_WINDOW_IPC=0x500000000000:1G
// ENV: MAPWARDEN_WINDOW_SMALL=0x520000000000:64K
#include "common.h"
#include "win_helpers.h"
#include "api_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define MIB ((size_t)1 << 20)
#define IPC ((char *)0x500000000000ULL)
#define SMALL ((char *)0x520000000000ULL)

static char *alloc_ok(const char *win, size_t size, size_t align, int prot, int flags) {
    errno = 0;
    char *p = mapwarden_alloc(win, size, align, prot, flags);
    if (p == NULL || p == MAP_FAILED) {
        fprintf(stderr, "mapwarden_alloc(%s, %#zx, %#zx, %d, %#x) = %p: %s\n", win ? win : "NULL", size, align, prot,
                flags, (void *)p, strerror(errno));
        dump_window(); exit(1);
    }
    return p;
}
#define CHECK_AT(p, want) CHECKF((char *)(p) == (char *)(want), "got %p, expected %p", (void *)(p), (void *)(want))

#define NTHREADS 4
#define PER_THREAD 64
static char *got[NTHREADS][PER_THREAD];
static void *allocator(void *arg) {
    long k = (long)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        got[k][i] = mapwarden_alloc("ipc", (size_t)(1 + (i + k) % 3) * P, 0, RW, MAP_PRIVATE);
        if (!got[k][i]) { perror("thread alloc"); return (void *)1; }
        got[k][i][0] = (char)k;                                 /* usable */
    }
    return NULL;
}
static size_t thread_size(long k, int i) { return (size_t)(1 + (i + k) % 3) * P; }

int main(void) {
    api_require();
    CHECK_WHOLE();

    /* first fit, lowest address: two allocs are adjacent from the base */
    char *a = alloc_ok(NULL, 3 * P, 0, RW, MAP_PRIVATE);
    CHECK_AT(a, W(0));
    char *b = alloc_ok(NULL, 3 * P - 100, 0, RW, MAP_PRIVATE);     /* rounded up to pages */
    CHECK_AT(b, a + 3 * P);
    CHECK_MAPPED(b, b, 3 * P, RW);
    /* freeing the first: a same-size alloc reuses it */
    CHECK(munmap(a, 3 * P) == 0);
    CHECK_FREE(a);
    char *a2 = alloc_ok(NULL, 3 * P, 0, RW, MAP_PRIVATE);
    CHECK_AT(a2, a);
    /* a hole too small is skipped; a smaller alloc later fills it */
    CHECK(munmap(a2, 3 * P) == 0);
    char *c = alloc_ok(NULL, 4 * P, 0, RW, MAP_PRIVATE);
    CHECK_AT(c, b + 3 * P);
    char *d = alloc_ok(NULL, 2 * P, 0, RW, MAP_PRIVATE);
    CHECK_AT(d, a);
    char *e = alloc_ok(NULL, P, 1, RW, MAP_PRIVATE);               /* align 1: a page */
    CHECK_AT(e, a + 2 * P);
    /* a MAP_FIXED mapping made by the program is respected */
    char *f = map_fixed(c + 4 * P, 2 * P, PROT_READ);
    char *g = alloc_ok(NULL, P, 0, RW, MAP_PRIVATE);
    CHECK_AT(g, f + 2 * P);

    /* alignment: the lowest 2 MiB boundary with room */
    char *h = alloc_ok(NULL, 5 * P, 2 * MIB, RW, MAP_PRIVATE);
    CHECK_AT(h, W(2 * MIB));
    CHECK(((uintptr_t)h & (2 * MIB - 1)) == 0);
    char *h2 = alloc_ok(NULL, P, 2 * MIB, RW, MAP_PRIVATE);
    CHECK_AT(h2, W(4 * MIB));
    char *i1 = alloc_ok(NULL, P, 64 * 1024, RW, MAP_PRIVATE);       /* lowest 64 KiB boundary free */
    CHECK_AT(i1, W(64 * 1024));
    CHECK_CONSISTENT(9);

    /* usable, in the kernel's maps inside the window with the protection asked */
    fill(h, 5 * P, 7);
    CHECK(holds(h, 5 * P, 7));
    struct maps_hit mh = maps_at(h);
    CHECKF(mh.found && mh.start == (uintptr_t)h && mh.end == (uintptr_t)h + 5 * P && strcmp(mh.perms, "rw-p") == 0,
           "maps line %#lx-%#lx %s", mh.start, mh.end, mh.perms);
    CHECK(in_window((void *)mh.start) && in_window((void *)(mh.end - 1)));
    char *r = alloc_ok(NULL, 2 * P, 0, PROT_READ, MAP_PRIVATE | MAP_NORESERVE);
    CHECK(strcmp(perms_at(r), "r--p") == 0);
    CHECK(all_zero(r, 2 * P));
    struct mapwarden_info in = info_at(r);
    CHECK(in.state == MAPWARDEN_MAPPED && in.prot == PROT_READ && in.kind == MAPWARDEN_KIND_ANONYMOUS);
    CHECKF(in.flags == (MAP_PRIVATE | MAP_ANONYMOUS), "alloc private: flags %#x", in.flags);
    char *s = alloc_ok(NULL, P, 0, RW, MAP_SHARED | MAP_ANONYMOUS);
    CHECK(strcmp(perms_at(s), "rw-s") == 0);
    in = info_at(s);
    CHECKF(in.flags == (MAP_SHARED | MAP_ANONYMOUS) && in.kind == (MAPWARDEN_KIND_SHARED | MAPWARDEN_KIND_ANONYMOUS),
           "alloc shared: flags %#x kind %#x", in.flags, in.kind);
    CHECK(strcmp(in.window, "default") == 0);
    /* the other flags the header allows */
    char *fp = alloc_ok(NULL, 2 * P, 0, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE);
    CHECK(all_zero(fp, 2 * P));
    errno = 0;
    char *fl = mapwarden_alloc(NULL, P, 0, RW, MAP_PRIVATE | MAP_LOCKED);
    CHECKF(fl != NULL || errno == EPERM || errno == EAGAIN || errno == ENOMEM, "MAP_LOCKED: errno %d", errno);
    if (fl) CHECK(munmap(fl, P) == 0);
    CHECK(munmap(fp, 2 * P) == 0);
    /* munmap gives it back to the reservation */
    CHECK(munmap(h, 5 * P) == 0);
    CHECK_FREE(h);
    CHECK_FREE(h + 4 * P);
    CHECK(munmap(r, 2 * P) == 0 && munmap(s, P) == 0);
    CHECK_FREE(r);

    /* a named window, by name, case-insensitively; NULL and "default" are the default */
    char *n1 = alloc_ok("ipc", P, 0, RW, MAP_PRIVATE);
    CHECK_AT(n1, IPC);
    char *n2 = alloc_ok("IPC", P, 0, RW, MAP_PRIVATE);
    CHECK_AT(n2, IPC + P);
    char *n3 = alloc_ok("Ipc", 2 * P, 0, RW, MAP_PRIVATE);
    CHECK_AT(n3, IPC + 2 * P);
    CHECK(strcmp(window_of(n3), "ipc") == 0);
    CHECK(strcmp(perms_at(n3), "rw-p") == 0);
    n3[2 * P - 1] = 5;
    char *dflt = alloc_ok("default", P, 0, RW, MAP_PRIVATE);
    CHECK(in_window(dflt) && strcmp(window_of(dflt), "default") == 0);
    char *dflt2 = alloc_ok("DEFAULT", P, 0, RW, MAP_PRIVATE);
    CHECK(dflt2 == dflt + P);
    CHECK(munmap(dflt, 2 * P) == 0);

    /* misuse */
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, 0, 0, RW, MAP_PRIVATE), EINVAL);
    CHECK_NULL_ERRNO(mapwarden_alloc("ipc", 0, 0, RW, MAP_PRIVATE), EINVAL);
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, P, 3, RW, MAP_PRIVATE), EINVAL);
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, P, 3 * P, RW, MAP_PRIVATE), EINVAL);
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, P, 0, RW, MAP_PRIVATE | MAP_FIXED), EINVAL);
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, P, 0, RW, MAP_PRIVATE | MAP_FIXED_NOREPLACE), EINVAL);
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, P, 0, RW, MAP_PRIVATE | MAP_GROWSDOWN), EINVAL);
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, P, 0, RW, MAP_PRIVATE | MAP_HUGETLB), EINVAL);
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, P, 0, RW, 0), EINVAL);                     /* neither private nor shared */
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, P, 0, RW, MAP_PRIVATE | MAP_32BIT), EINVAL);
    CHECK_NULL_ERRNO(mapwarden_alloc("nope", P, 0, RW, MAP_PRIVATE), ENOENT);
    CHECK_NULL_ERRNO(mapwarden_alloc("", P, 0, RW, MAP_PRIVATE), ENOENT);
    CHECK_NULL_ERRNO(mapwarden_alloc("ipcx", P, 0, RW, MAP_PRIVATE), ENOENT);
    CHECK_NULL_ERRNO(mapwarden_alloc("ip", P, 0, RW, MAP_PRIVATE), ENOENT);
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, (size_t)1 << 41, 0, RW, MAP_PRIVATE), ENOMEM);   /* bigger than the window */
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, SIZE_MAX - 10, 0, RW, MAP_PRIVATE), ENOMEM);    /* rounding must not wrap */
    CHECK_NULL_ERRNO(mapwarden_alloc(NULL, P, (size_t)1 << 62, RW, MAP_PRIVATE), ENOMEM);  /* no such boundary inside */
    CHECK_CONSISTENT(8);                                          /* d e b c f g h2 i1 */

    /* the small window: 64 KiB, then full */
    char *sm = alloc_ok("small", 64 * 1024, 0, RW, MAP_PRIVATE);
    CHECK_AT(sm, SMALL);
    CHECK_NULL_ERRNO(mapwarden_alloc("small", P, 0, RW, MAP_PRIVATE), ENOMEM);
    CHECK(munmap(sm, 64 * 1024) == 0);
    CHECK_NULL_ERRNO(mapwarden_alloc("small", 128 * 1024, 0, RW, MAP_PRIVATE), ENOMEM);
    char *sm1 = alloc_ok("SMALL", 2 * P, 0, RW, MAP_PRIVATE);
    CHECK_AT(sm1, SMALL);
    CHECK_NULL_ERRNO(mapwarden_alloc("small", P, 64 * 1024, RW, MAP_PRIVATE), ENOMEM);  /* next boundary is the end */
    char *sm2 = alloc_ok("small", 14 * P, 0, RW, MAP_PRIVATE);                         /* exactly the rest */
    CHECK_AT(sm2, SMALL + 2 * P);
    CHECK_NULL_ERRNO(mapwarden_alloc("small", P, 0, RW, MAP_PRIVATE), ENOMEM);
    CHECK(munmap(sm1, 16 * P) == 0);

    /* threads: distinct, non-overlapping, inside ipc */
    pthread_t th[NTHREADS];
    for (long k = 0; k < NTHREADS; k++) CHECK(pthread_create(&th[k], NULL, allocator, (void *)k) == 0);
    int bad = 0;
    for (long k = 0; k < NTHREADS; k++) { void *rv; CHECK(pthread_join(th[k], &rv) == 0); bad |= rv != NULL; }
    CHECK(!bad);
    for (long k = 0; k < NTHREADS; k++)
        for (int i = 0; i < PER_THREAD; i++) {
            char *p = got[k][i];
            CHECK(p >= IPC && p + thread_size(k, i) <= IPC + ((size_t)1 << 30));
            CHECK(p[0] == (char)k);
            for (long k2 = 0; k2 < NTHREADS; k2++)
                for (int i2 = 0; i2 < PER_THREAD; i2++) {
                    if (k2 == k && i2 == i) continue;
                    char *q = got[k2][i2];
                    CHECKF(q + thread_size(k2, i2) <= p || q >= p + thread_size(k, i), "allocs %p and %p overlap", (void *)p, (void *)q);
                }
        }
    /* all of them packed from the lowest free address: no gap past the first three pages */
    size_t total = 0;
    for (long k = 0; k < NTHREADS; k++) for (int i = 0; i < PER_THREAD; i++) total += thread_size(k, i);
    struct mapwarden_info fr = info_at(IPC + 4 * P + total);
    CHECKF(fr.state == MAPWARDEN_FREE && fr.base == (uintptr_t)(IPC + 4 * P + total),
           "after the thread allocs the free run starts at %#lx, expected %p", fr.base, (void *)(IPC + 4 * P + total));
    CHECK(munmap(IPC, 1 << 30) == 0);
    puts("ok");
    return 0;
}
