// An unaligned hint inside the window is rounded
// down as the kernel rounds hints on x86-64: W+0x10001 with len 4096 is
// placed at W+0x10000 with exactly 4 KiB mapped (one line, one record of
// 4 KiB), and W+0x20ff0 with len 0x20 at W+0x20000, exactly 4 KiB; the
// length is rounded up on its own, not extended by the hint's offset. The
// raw kernel's placement for the same offsets in a free range outside the
// window is checked first. The old engine rounded up and mapped 8 KiB.
#include "common.h"
#include "win_helpers.h"

#define RW (PROT_READ | PROT_WRITE)

struct hint { uintptr_t off; size_t len; uintptr_t want; size_t want_len; };

int main(void) {
    CHECK_WHOLE();
    static const struct hint hints[] = {
        { 0x10001, 4096, 0x10000, 4096 },
        { 0x20ff0, 0x20, 0x20000, 4096 },
        { 0x30fff, 1, 0x30000, 4096 },
        { 0x40800, 4096, 0x40000, 4096 },
        { 0x48800, 4097, 0x48000, 8192 },
        { 0x50001, 3 * 4096, 0x50000, 3 * 4096 },
    };
    const size_t n = sizeof hints / sizeof *hints;
    /* the kernel, outside the window: a free 1 MiB range */
    char *b = mmap(NULL, 1 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(b != MAP_FAILED && !in_window(b));
    CHECK(munmap(b, 1 << 20) == 0);
    char *raw[8];
    for (size_t i = 0; i < n; i++) {
        raw[i] = (char *)raw_syscall(SYS_mmap, b + hints[i].off, hints[i].len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(raw[i] == b + hints[i].want);
        struct maps_hit h = maps_at(raw[i]);
        CHECK(h.found && h.start == (uintptr_t)raw[i] && h.end == (uintptr_t)raw[i] + hints[i].want_len);
    }
    for (size_t i = 0; i < n; i++) CHECK(raw_syscall(SYS_munmap, raw[i], hints[i].want_len) == 0);
    /* inside the window */
    for (size_t i = 0; i < n; i++) {
        char *p = mmap(W(hints[i].off), hints[i].len, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != W(hints[i].want))
            fprintf(stderr, "hint W+%#lx len %#zx -> %p, expected %p\n", hints[i].off, hints[i].len, (void *)p,
                    (void *)W(hints[i].want));
        CHECK(p == W(hints[i].want));
        CHECK_MAPPED(p, p, hints[i].want_len, RW);
        struct maps_hit h = maps_at(p);
        CHECK(h.found && h.start == (uintptr_t)p && h.end == (uintptr_t)p + hints[i].want_len);
        CHECK(strcmp(h.perms, "rw-p") == 0);
        CHECK_FREE(p + hints[i].want_len);
        CHECK_FREE(p - PAGE);
        p[hints[i].want_len - 1] = 1;
        CHECK_CONSISTENT((int)i + 1);
    }
    for (size_t i = 0; i < n; i++) CHECK(munmap(W(hints[i].want), hints[i].want_len) == 0);
    CHECK_WHOLE();
    return 0;
}
