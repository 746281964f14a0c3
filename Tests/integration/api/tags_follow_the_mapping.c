// API 2, mapwarden_set_tag / mapwarden_get_tag: a tag set anywhere in a
// mapping is the whole mapping's; it follows splits (munmap of the middle,
// mprotect of part: every piece keeps it, and each piece can then be
// re-tagged alone), an mremap move inside a window (a move into another
// window is refused with EINVAL and changes nothing), fork (the child reads it); it is dropped with the mapping (a new
// mapping at the same place has tag 0). Misuse: outside every window ->
// ERANGE, free window space -> ENOENT, get with NULL out -> EINVAL. Four
// threads tag their own mappings concurrently while a fifth maps and
// unmaps next to them.
// ENV: MAPWARDEN_WINDOW_IPC=0x500000000000:64M
#include "common.h"
#include "win_helpers.h"
#include "api_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define IPC ((uintptr_t)0x500000000000ULL)

static char *forked_a, *forked_b;
static int child_reads_tags(void) {
    uintptr_t t = 0;
    if (mapwarden_get_tag(forked_a, &t) != 0 || t != 0xA11CE) { fprintf(stderr, "child: tag of a %#lx\n", (unsigned long)t); return 1; }
    if (mapwarden_get_tag(forked_b + P, &t) != 0 || t != UINTPTR_MAX) { fprintf(stderr, "child: tag of b %#lx\n", (unsigned long)t); return 1; }
    /* the child's tags are its own */
    if (mapwarden_set_tag(forked_a, 0xC41D) != 0) return 1;
    if (mapwarden_get_tag(forked_a, &t) != 0 || t != 0xC41D) return 1;
    return 0;
}

#define NTHREADS 4
#define ROUNDS 3000
static char *thread_map[NTHREADS];
static volatile int churn_stop;
static void *tagger(void *arg) {
    long k = (long)arg;
    char *m = thread_map[k];
    for (uintptr_t r = 1; r <= ROUNDS; r++) {
        uintptr_t want = ((uintptr_t)k << 32) | r;
        if (mapwarden_set_tag(m + (r % 4) * P, want) != 0) { perror("set_tag"); return (void *)1; }
        uintptr_t got = 0;
        if (mapwarden_get_tag(m + ((r + 1) % 4) * P, &got) != 0) { perror("get_tag"); return (void *)1; }
        if (got != want) { fprintf(stderr, "thread %ld: tag %#lx, expected %#lx\n", k, (unsigned long)got, (unsigned long)want); return (void *)1; }
    }
    return NULL;
}
static void *churner(void *arg) {
    (void)arg;
    char *at = W(0x800000);
    while (!churn_stop) {
        char *p = mmap(at, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != at) { perror("churn mmap"); return (void *)1; }
        if (mapwarden_set_tag(p, 0xC0FFEE) != 0) return (void *)1;
        if (munmap(p, 2 * P) != 0) return (void *)1;
    }
    return NULL;
}

int main(void) {
    api_require();
    uintptr_t t;

    /* set and get, from any page of the mapping */
    char *a = map_fixed(W(0x100000), 8 * P, RW);
    fill(a, 8 * P, 1);
    CHECK_TAG(a, 0);
    CHECK(mapwarden_set_tag(a + 3 * P + 17, 0xdeadbeef) == 0);
    for (int k = 0; k < 8; k++) CHECK_TAG(a + k * P, 0xdeadbeef);
    CHECK(info_at(a + 7 * P).tag == 0xdeadbeef);
    CHECK(mapwarden_set_tag(a, 0xA11CE) == 0);                  /* replaced */
    CHECK_TAG(a + 5 * P, 0xA11CE);
    CHECK(holds(a, 8 * P, 1));                                  /* tagging touches no data */

    /* split by munmap of the middle: both halves keep it */
    CHECK(munmap(a + 3 * P, 2 * P) == 0);
    CHECK_MAPPED(a, a, 3 * P, RW);
    CHECK_MAPPED(a + 5 * P, a + 5 * P, 3 * P, RW);
    CHECK_TAG(a, 0xA11CE);
    CHECK_TAG(a + 7 * P, 0xA11CE);
    CHECK_ERRNO(mapwarden_get_tag(a + 3 * P, &t), ENOENT);
    /* ... and are separate mappings now */
    CHECK(mapwarden_set_tag(a + 6 * P, 0xBEEF) == 0);
    CHECK_TAG(a, 0xA11CE);
    CHECK_TAG(a + 5 * P, 0xBEEF);

    /* split by mprotect of part: three pieces, all tagged */
    char *b = map_fixed(W(0x200000), 8 * P, RW);
    CHECK(mapwarden_set_tag(b, UINTPTR_MAX) == 0);
    CHECK(mprotect(b + 2 * P, 2 * P, PROT_READ) == 0);
    CHECK_MAPPED(b, b, 2 * P, RW);
    CHECK_MAPPED(b + 2 * P, b + 2 * P, 2 * P, PROT_READ);
    CHECK_MAPPED(b + 4 * P, b + 4 * P, 4 * P, RW);
    CHECK_TAG(b, UINTPTR_MAX);
    CHECK_TAG(b + 3 * P, UINTPTR_MAX);
    CHECK_TAG(b + 7 * P, UINTPTR_MAX);
    CHECK(mapwarden_set_tag(b + 2 * P, 0x99) == 0);            /* only the middle piece */
    CHECK_TAG(b + P, UINTPTR_MAX);
    CHECK_TAG(b + 2 * P, 0x99);
    CHECK_TAG(b + 4 * P, UINTPTR_MAX);
    CHECK(mapwarden_set_tag(b + 2 * P, UINTPTR_MAX) == 0);
    CHECK_CONSISTENT(5);

    /* mremap move within the window: the tag goes along */
    char *c = map_fixed(W(0x300000), 4 * P, RW);
    fill(c, 4 * P, 3);
    CHECK(mapwarden_set_tag(c, 0x777) == 0);
    char *c2 = mremap(c, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, W(0x380000));
    CHECK(c2 == W(0x380000));
    CHECK(holds(c2, 4 * P, 3));
    CHECK_TAG(c2, 0x777);
    CHECK_TAG(c2 + 3 * P, 0x777);
    CHECK_ERRNO(mapwarden_get_tag(c, &t), ENOENT);
    /* grown in place: still the same mapping, still tagged */
    char *c3 = mremap(c2, 4 * P, 6 * P, 0);
    CHECK(c3 == c2);
    CHECK_TAG(c3 + 5 * P, 0x777);
    /* a move into another window is refused (the engine's choice: one call,
     * one window), and changes nothing: still there, still tagged */
    errno = 0;
    void *cx = mremap(c3, 6 * P, 6 * P, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)(IPC + 0x100000));
    CHECKF(cx == MAP_FAILED && errno == EINVAL, "mremap into the named window: %p errno %d", cx, errno);
    CHECK(query_state((void *)(IPC + 0x100000)) == MAPWARDEN_FREE);
    CHECK(holds(c3, 4 * P, 3));
    CHECK_TAG(c3 + 5 * P, 0x777);
    /* a move within the named window keeps the tag too */
    char *n = map_fixed((void *)(IPC + 0x200000), 2 * P, RW);
    CHECK(mapwarden_set_tag(n + P, 0x1717) == 0);
    char *n2 = mremap(n, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)(IPC + 0x300000));
    CHECK(n2 == (char *)IPC + 0x300000);
    CHECK_TAG(n2, 0x1717);
    CHECK(strcmp(window_of(n2), "ipc") == 0);
    CHECK(munmap(n2, 2 * P) == 0);
    char *c4 = c3;

    /* dropped with the mapping: a new one at the same place has 0 */
    CHECK(munmap(c4, 6 * P) == 0);
    CHECK_ERRNO(mapwarden_get_tag(c4, &t), ENOENT);
    char *d = map_fixed(c4, 6 * P, RW);
    CHECK_TAG(d, 0);
    CHECK(info_at(d).tag == 0);
    /* MAP_FIXED over a tagged mapping replaces it: the new one has 0 */
    CHECK(mapwarden_set_tag(d, 0x42) == 0);
    char *d2 = map_fixed(d + 2 * P, 2 * P, PROT_READ);
    CHECK_TAG(d2, 0);
    CHECK_TAG(d, 0x42);           /* the pieces of the old one left around it keep it */
    CHECK_TAG(d + 5 * P, 0x42);
    CHECK(munmap(d, 6 * P) == 0);
    /* an mremap from outside the window into it: a new mapping there, tag 0 */
    char *o = mmap(NULL, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(o != MAP_FAILED && !in_window(o));
    char *o2 = mremap(o, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, W(0x400000));
    CHECK(o2 == W(0x400000));
    CHECK_TAG(o2, 0);
    CHECK(munmap(o2, 2 * P) == 0);

    /* fork: the child reads the tags; its own changes stay its own */
    forked_a = a;
    forked_b = b;
    in_child(child_reads_tags, "the child reads the tags");
    CHECK_TAG(a, 0xA11CE);

    /* misuse */
    int local = 0;
    CHECK_ERRNO(mapwarden_set_tag(&local, 1), ERANGE);
    CHECK_ERRNO(mapwarden_get_tag(&local, &t), ERANGE);
    CHECK_ERRNO(mapwarden_set_tag((void *)(window_end()), 1), ERANGE);
    CHECK_ERRNO(mapwarden_get_tag((void *)(window_base() - 1), &t), ERANGE);
    CHECK_ERRNO(mapwarden_set_tag(W(0x10000), 1), ENOENT);        /* free window space */
    CHECK_ERRNO(mapwarden_get_tag(W(0x10000), &t), ENOENT);
    CHECK_ERRNO(mapwarden_set_tag((void *)(IPC + 0x5000), 1), ENOENT); /* free, named window */
    CHECK_ERRNO(mapwarden_get_tag(a, NULL), EINVAL);
    CHECK(query_state(W(0x10000)) == MAPWARDEN_FREE);              /* set_tag on free space mapped nothing */
    CHECK_CONSISTENT(5);

    /* threads, each tagging its own mapping, with churn next to them */
    for (long k = 0; k < NTHREADS; k++) thread_map[k] = map_fixed(W(0x1000000 + (size_t)k * 0x100000), 4 * P, RW);
    pthread_t th[NTHREADS + 1];
    CHECK(pthread_create(&th[NTHREADS], NULL, churner, NULL) == 0);
    for (long k = 0; k < NTHREADS; k++) CHECK(pthread_create(&th[k], NULL, tagger, (void *)k) == 0);
    int bad = 0;
    for (long k = 0; k < NTHREADS; k++) { void *r; CHECK(pthread_join(th[k], &r) == 0); bad |= r != NULL; }
    churn_stop = 1;
    { void *r; CHECK(pthread_join(th[NTHREADS], &r) == 0); bad |= r != NULL; }
    CHECK(!bad);
    for (long k = 0; k < NTHREADS; k++) CHECK_TAG(thread_map[k], ((uintptr_t)k << 32) | ROUNDS);
    CHECK_TAG(a, 0xA11CE);
    CHECK_TAG(b, UINTPTR_MAX);
    CHECK_CONSISTENT(5 + NTHREADS);
    puts("ok");
    return 0;
}
