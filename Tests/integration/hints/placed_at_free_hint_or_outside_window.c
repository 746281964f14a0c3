// Rule 4: a hint (no MAP_FIXED) inside free window space is placed exactly
// at the hint and recorded; a hint overlapping a live mapping is placed
// outside the window (as the kernel places an unsatisfiable hint), never
// over the live mapping, whose data stays intact.
#include "common.h"
#include "win_helpers.h"

#define AP (MAP_PRIVATE | MAP_ANONYMOUS)

int main(void) {
    CHECK_WHOLE();
    /* a free hint is honoured exactly */
    char *a = mmap(W(0x80000), 4 * PAGE, PROT_READ | PROT_WRITE, AP, -1, 0);
    CHECK(a == W(0x80000));
    CHECK(all_zero(a, 4 * PAGE));
    fill(a, 4 * PAGE, 1);
    CHECK_MAPPED(a, a, 4 * PAGE, PROT_READ | PROT_WRITE);
    CHECK_CONSISTENT(1);
    /* shared hint, odd length (rounded to pages), directly after a */
    char *s = mmap(a + 4 * PAGE, 2 * PAGE - 100, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(s == a + 4 * PAGE);
    fill(s, 2 * PAGE, 2);
    CHECK_MAPPED(s, s, 2 * PAGE, PROT_READ | PROT_WRITE);
    CHECK_CONSISTENT(2);

    /* hints overlapping a live mapping: head, middle, tail, exact, covering */
    size_t offs[] = { 0x80000 - PAGE, 0x80000 + PAGE, 0x80000 + 5 * PAGE, 0x80000, 0x80000 - 3 * PAGE };
    size_t lens[] = { 2 * PAGE, PAGE, 4 * PAGE, 4 * PAGE, 12 * PAGE };
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        char *q = mmap(W(offs[i]), lens[i], PROT_READ | PROT_WRITE, AP, -1, 0);
        CHECK(q != MAP_FAILED);
        CHECK(q != W(offs[i]));
        CHECK(!in_window(q) && !in_window(q + lens[i] - 1));
        CHECK(query_state(q) == MAPWARDEN_OUTSIDE);
        CHECK(all_zero(q, lens[i]));
        memset(q, 0xEE, lens[i]);           /* it is real, writable memory */
        CHECK(holds(a, 4 * PAGE, 1));
        CHECK(holds(s, 2 * PAGE, 2));
        CHECK_MAPPED(a, a, 4 * PAGE, PROT_READ | PROT_WRITE);
        CHECK_CONSISTENT(2);
        CHECK(munmap(q, lens[i]) == 0);
        CHECK(holds(a, 4 * PAGE, 1));
    }
    /* a hint that runs past the window's end into free pages is placed at
     * the hint, as Linux places it on unmapped memory; the window's page is
     * recorded, the page beyond is the program's */
    char *e = mmap((void *)(window_end() - PAGE), 2 * PAGE, PROT_READ, AP, -1, 0);
    CHECK(e == (char *)(window_end() - PAGE));
    CHECK_MAPPED(e, e, PAGE, PROT_READ);
    CHECK(munmap(e, 2 * PAGE) == 0);
    CHECK_FREE(e);
    CHECK_CONSISTENT(2);
    /* a file-backed hint inside free space is placed there, with its offset */
    char path[] = "/tmp/mw_win_hint_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK(ftruncate(fd, 4 * PAGE) == 0);
    CHECK(pwrite(fd, "hello", 5, 2 * PAGE) == 5);
    char *f = mmap(W(0x90000), PAGE, PROT_READ, MAP_PRIVATE, fd, 2 * PAGE);
    CHECK(f == W(0x90000));
    CHECK(memcmp(f, "hello", 5) == 0);
    CHECK(info_at(f).offset == 2 * PAGE && info_at(f).kind == 0);
    CHECK_CONSISTENT(3);
    close(fd);

    CHECK(munmap(W(0), 0x100000) == 0);
    CHECK_WHOLE();
    return 0;
}
