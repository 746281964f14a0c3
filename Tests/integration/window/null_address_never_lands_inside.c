// Rule 5: mmap(NULL, ...) never lands inside the window, whatever the size
// and flags, and leaves the registry empty; neither do malloc's mappings
// nor hints outside the window.
#include "common.h"
#include "win_helpers.h"

static void *maps[4000];
static size_t lens[4000];

int main(void) {
    CHECK_WHOLE();
    int n = 0;
    for (int i = 0; i < 3000; i++) {
        size_t len = (size_t)(1 + i % 37) * PAGE;
        int flags = (i % 3 == 0 ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS;
        int prot = i % 5 == 0 ? PROT_NONE : PROT_READ | PROT_WRITE;
        void *p = mmap(NULL, len, prot, flags, -1, 0);
        CHECK(p != MAP_FAILED);
        CHECK(!in_window(p) && !in_window((char *)p + len - 1));
        CHECK(!((uintptr_t)p < window_base() && (uintptr_t)p + len > window_base()));
        if (prot != PROT_NONE) ((char *)p)[0] = 1;
        maps[n] = p; lens[n++] = len;
        if (i % 4 == 3) { CHECK(munmap(maps[n - 2], lens[n - 2]) == 0); maps[n - 2] = maps[n - 1]; lens[n - 2] = lens[n - 1]; n--; }
    }
    /* big reservations that the kernel must fit around the window */
    for (int i = 0; i < 4; i++) {
        size_t len = (size_t)4 << 40; /* 4 TiB, PROT_NONE, no commit */
        void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) { CHECK(errno == ENOMEM); continue; }
        CHECK(!((uintptr_t)p < window_end() && (uintptr_t)p + len > window_base()));
        maps[n] = p; lens[n++] = len;
    }
    /* large mallocs are mmap'd by glibc */
    for (int i = 0; i < 50; i++) {
        char *m = malloc((size_t)(1 + i) << 20);
        CHECK(m != NULL && !in_window(m));
        m[0] = 1;
        maps[n] = NULL; lens[n++] = 0;
        free(m);
    }
    /* a hint just below the window whose range runs into free window pages
     * is placed at the hint, as on unmapped memory, its window part recorded */
    char *h = mmap((void *)(window_base() - 16 * PAGE), 64 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(h == (char *)(window_base() - 16 * PAGE));
    CHECK_MAPPED(W(0), W(0), 48 * PAGE, PROT_READ);
    CHECK(munmap(h, 64 * PAGE) == 0);
    CHECK_FREE(W(0));

    CHECK_WHOLE();
    for (int i = 0; i < n; i++) if (maps[i]) CHECK(munmap(maps[i], lens[i]) == 0);
    CHECK_WHOLE();
    return 0;
}
