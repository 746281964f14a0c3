// MREMAP_MAYMOVE|MREMAP_FIXED from the window
// to a free destination outside it must succeed whatever the destination's
// size and position inside a hole the program just made, as it does for the
// raw kernel (checked first on a plain mapping outside the window): growing
// N -> 2N into an exact 2N hole; the same size N into the middle of a 2N
// hole; the same size into the top or bottom of a 3N hole; and growing into
// a large hole. Each time the data arrives, the tail is zero, and the
// source goes back to the reservation.
#include "common.h"
#include "win_helpers.h"

#define N (64 * 1024)
#define RW (PROT_READ | PROT_WRITE)


struct move { size_t hole, dst_off, old_len, new_len; };

int main(void) {
    CHECK_WHOLE();
    static const struct move moves[] = {
        { 2 * N, 0, N, 2 * N },
        { 2 * N, N / 2, N, N },
        { 3 * N, 2 * N, N, N },
        { 3 * N, 0, N, N },
        { 16 * N, 3 * N, N, 8 * N },
        { 4 * N, 0, 2 * N, 4 * N },
    };
    for (size_t i = 0; i < sizeof moves / sizeof *moves; i++) {
        const struct move *m = &moves[i];
        /* the kernel: a plain mapping outside the window */
        char *o = mmap(NULL, m->old_len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(o != MAP_FAILED);
        fill(o, m->old_len, (unsigned)i);
        char *x = fresh_hole(m->hole);
        errno = 0;
        char *q = (char *)raw_syscall(SYS_mremap, o, m->old_len, m->new_len, MREMAP_MAYMOVE | MREMAP_FIXED, x + m->dst_off);
        CHECK(q == x + m->dst_off);
        CHECK(holds(q, m->old_len, (unsigned)i));
        CHECK(munmap(q, m->new_len) == 0);
        /* from the window, through the preload */
        char *p = map_fixed(W(0x100000), m->old_len, RW);
        fill(p, m->old_len, (unsigned)i);
        x = fresh_hole(m->hole);
        errno = 0;
        q = mremap(p, m->old_len, m->new_len, MREMAP_MAYMOVE | MREMAP_FIXED, x + m->dst_off);
        if (q != x + m->dst_off)
            fprintf(stderr, "move %zu: %#zx -> %#zx to hole+%#zx (hole %#zx): %p errno %d (%s), expected %p\n", i,
                    m->old_len, m->new_len, m->dst_off, m->hole, (void *)q, errno, strerror(errno),
                    (void *)(x + m->dst_off));
        CHECK(q == x + m->dst_off);
        CHECK(holds(q, m->old_len, (unsigned)i));
        if (m->new_len > m->old_len) CHECK(all_zero(q + m->old_len, m->new_len - m->old_len));
        CHECK(strcmp(perms_at(q), "rw-p") == 0);
        CHECK_WHOLE();
        CHECK(munmap(q, m->new_len) == 0);
    }
    CHECK_WHOLE();
    return 0;
}
