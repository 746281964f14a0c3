// mremap sizes are rounded as the kernel
// rounds them before the engine decides whether the kernel will refuse.
//  - MREMAP_DONTUNMAP with old_len 2 pages and new_len 2 pages - 100 bytes
//    (equal once page-aligned: the kernel accepts it), from outside the
//    window and from inside it, to W(0x200000);
//  - old_len (size_t)-4095, which page-aligns (wrapping) to 0: the kernel's
//    "duplicate a shared mapping" request, from outside and from inside.
// Each is first tried with raw syscalls on an equivalent PROT_NONE target
// outside the window; inside, the call must give the same result. When it
// succeeds, the target is registered (MAPPED) with the data, a later hint
// mmap at the target is placed elsewhere and leaves the data alone, and
// registry_consistent() holds. Before the fix the engine passed these to
// the kernel as "will fail" calls and never recorded the new mapping.
#include "common.h"
#include "win_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define DONTUNMAP_FLAGS (MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)
#define WRAP_LEN ((size_t)-4095)

/* The raw kernel's answer for mremap(src, old, new, flags, target) where
 * src is a fresh mapping outside the window (shared or private, 2 pages)
 * and target a PROT_NONE private range outside the window like the
 * reservation. Returns 0 on success, else the errno. */
static int raw_answer(int shared, size_t old_len, size_t new_len, int flags) {
    char *src = mmap(NULL, 2 * P, RW, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
    CHECK(src != MAP_FAILED && !in_window(src));
    fill(src, 2 * P, 9);
    char *tgt = mmap(NULL, 16 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(tgt != MAP_FAILED && !in_window(tgt));
    errno = 0;
    long r = raw_syscall(SYS_mremap, src, old_len, new_len, flags, tgt + 4 * P);
    int err = r == -1 ? errno : 0;
    if (r != -1) CHECK(r == (long)(tgt + 4 * P) && holds(tgt + 4 * P, new_len > P ? 2 * P : P, 9));
    fprintf(stderr, "raw mremap(%s, %#zx, %#zx, %#x) outside the window: %ld errno %d\n",
            shared ? "shared" : "private", old_len, new_len, flags, r, err);
    CHECK(raw_syscall(SYS_munmap, tgt, 16 * P) == 0);
    CHECK(raw_syscall(SYS_munmap, src, 2 * P) == 0);
    return err;
}

/* After a successful move/duplicate of `len` bytes holding `seed` to dst:
 * registered, data intact, a hint at dst goes elsewhere without touching it. */
static void check_target(char *dst, size_t len, unsigned seed, int expect_mappings) {
    CHECK(kernel_mapped((uintptr_t)dst, (uintptr_t)dst + len));
    CHECK(holds(dst, len, seed));
    for (size_t o = 0; o < len; o += P) {
        struct mapwarden_info i = info_at(dst + o);
        if (i.state != MAPWARDEN_MAPPED) {
            fprintf(stderr, "query(%p) state %u, expected MAPPED (the mremap target)\n", (void *)(dst + o), i.state);
            dump_window(); exit(1);
        }
    }
    CHECK_CONSISTENT(expect_mappings);
    /* a hint at the target: the range is taken, so placed elsewhere */
    char *h = mmap(dst, P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(h != MAP_FAILED);
    CHECK(h + P <= dst || h >= dst + len);
    CHECK(holds(dst, len, seed));
    CHECK(strcmp(perms_at(dst), "rw-p") == 0 || strcmp(perms_at(dst), "rw-s") == 0);
    CHECK_CONSISTENT(expect_mappings + (in_window(h) ? 1 : 0));
    CHECK(munmap(h, P) == 0);
    CHECK_CONSISTENT(expect_mappings);
}

int main(void) {
    CHECK_WHOLE();
    char *dst = W(0x200000);

    /* --- MREMAP_DONTUNMAP, new_len 2 pages - 100 bytes --- */
    int raw = raw_answer(0, 2 * P, 2 * P - 100, DONTUNMAP_FLAGS);

    /* from outside the window into it */
    char *out = mmap(NULL, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(out != MAP_FAILED && !in_window(out));
    fill(out, 2 * P, 1);
    errno = 0;
    void *r = mremap(out, 2 * P, 2 * P - 100, DONTUNMAP_FLAGS, dst);
    fprintf(stderr, "DONTUNMAP outside -> window: %p errno %d\n", r, r == MAP_FAILED ? errno : 0);
    if (raw) {
        CHECK(r == MAP_FAILED && errno == raw);
        CHECK_WHOLE();
    } else {
        CHECK(r == dst);
        CHECK(kernel_mapped((uintptr_t)out, (uintptr_t)out + 2 * P)); /* DONTUNMAP keeps the source */
        check_target(dst, 2 * P, 1, 1);
        CHECK(munmap(dst, 2 * P) == 0);
        CHECK_WHOLE();
    }
    CHECK(munmap(out, 2 * P) == 0);

    /* from inside the window to another window address */
    char *src = map_fixed(W(0x100000), 2 * P, RW);
    fill(src, 2 * P, 2);
    errno = 0;
    r = mremap(src, 2 * P, 2 * P - 100, DONTUNMAP_FLAGS, dst);
    fprintf(stderr, "DONTUNMAP window -> window: %p errno %d\n", r, r == MAP_FAILED ? errno : 0);
    if (raw) {
        CHECK(r == MAP_FAILED && errno == raw);
        CHECK(holds(src, 2 * P, 2));
        CHECK_CONSISTENT(1);
    } else {
        CHECK(r == dst);
        CHECK_MAPPED(src, src, 2 * P, RW); /* the source stays, emptied */
        CHECK(all_zero(src, 2 * P));
        check_target(dst, 2 * P, 2, 2);
        CHECK(munmap(dst, 2 * P) == 0);
    }
    CHECK(munmap(src, 2 * P) == 0);
    CHECK_WHOLE();

    /* --- old_len (size_t)-4095: rounds to 0, duplicates a shared mapping --- */
    raw = raw_answer(1, WRAP_LEN, P, MREMAP_MAYMOVE | MREMAP_FIXED);

    /* shared source outside the window, duplicate into it */
    char *sh = mmap(NULL, 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(sh != MAP_FAILED && !in_window(sh));
    fill(sh, 2 * P, 3);
    dst = W(0x300000);
    errno = 0;
    r = mremap(sh, WRAP_LEN, P, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    fprintf(stderr, "old_len -4095 shared outside -> window: %p errno %d\n", r, r == MAP_FAILED ? errno : 0);
    if (raw) {
        CHECK(r == MAP_FAILED && errno == raw);
        CHECK_WHOLE();
    } else {
        CHECK(r == dst);
        CHECK(holds(sh, 2 * P, 3)); /* the source is kept */
        check_target(dst, P, 3, 1);
        dst[5] = 'x'; CHECK(sh[5] == 'x'); /* one shared page */
        sh[6] = 'y'; CHECK(dst[6] == 'y');
        CHECK(munmap(dst, P) == 0);
        CHECK_WHOLE();
    }
    CHECK(munmap(sh, 2 * P) == 0);

    /* shared source inside the window, duplicate to another window address */
    sh = mmap(W(0x100000), 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(sh == W(0x100000));
    fill(sh, 2 * P, 4);
    errno = 0;
    r = mremap(sh, WRAP_LEN, P, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    fprintf(stderr, "old_len -4095 shared window -> window: %p errno %d\n", r, r == MAP_FAILED ? errno : 0);
    if (raw) {
        CHECK(r == MAP_FAILED && errno == raw);
        CHECK_MAPPED(sh, sh, 2 * P, RW);
        CHECK_CONSISTENT(1);
    } else {
        CHECK(r == dst);
        CHECK_MAPPED(sh, sh, 2 * P, RW);
        CHECK(holds(sh, 2 * P, 4));
        check_target(dst, P, 4, 2);
        dst[5] = 'x'; CHECK(sh[5] == 'x');
        CHECK(munmap(dst, P) == 0);
    }
    CHECK(munmap(sh, 2 * P) == 0);
    CHECK_WHOLE();
    return 0;
}
