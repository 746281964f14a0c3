// Hints inside the window with flags the kernel
// places by its own rules behave as without the preload.
//  - MAP_32BIT: placed below 2 GiB (the kernel ignores the hint for it),
//    never inside the window; usable memory.
//  - MAP_HUGETLB|MAP_NORESERVE (2 MiB): the same outcome as the raw
//    kernel's for the same hint on a range that holds a PROT_NONE mapping
//    (as the window is): success placed elsewhere, or the same errno. The
//    old engine placed MAP_32BIT at the hint and failed HUGETLB with EINVAL.
// In each case the window stays whole.
#include "common.h"
#include "win_helpers.h"

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#define RW (PROT_READ | PROT_WRITE)
#define TWO_GB ((uintptr_t)1 << 31)

int main(void) {
    CHECK_WHOLE();
    /* MAP_HUGETLB|MAP_NORESERVE: raw kernel on a PROT_NONE range outside the window */
    size_t rlen = 64 << 20;
    char *res = mmap(NULL, rlen, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(res != MAP_FAILED && !in_window(res));
    char *hint = (char *)(((uintptr_t)res + (8 << 20)) & ~(uintptr_t)((2 << 20) - 1)) + 0x1000;
    errno = 0;
    long raw = raw_syscall(SYS_mmap, hint, 2 << 20, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE, -1, 0);
    int raw_errno = raw == -1 ? errno : 0;
    if (raw != -1) {
        /* placed elsewhere: never over the PROT_NONE mapping */
        CHECK((char *)raw + (2 << 20) <= res || (char *)raw >= res + rlen);
        CHECK(raw_syscall(SYS_munmap, raw, 2 << 20) == 0);
    }
    CHECK(strcmp(perms_at(hint), "---p") == 0);
    CHECK(munmap(res, rlen) == 0);
    fprintf(stderr, "raw hugetlb hint on PROT_NONE: %s (errno %d)\n", raw == -1 ? "failed" : "placed elsewhere", raw_errno);

    /* through the preload, with hints inside the window */
    const uintptr_t hoffs[] = { 0x1000, 0x200000, 0x400000 };
    for (size_t i = 0; i < 3; i++) {
        errno = 0;
        char *p = mmap(W(hoffs[i]), 2 << 20, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_NORESERVE, -1, 0);
        int e = errno;
        fprintf(stderr, "hugetlb hint W+%#lx -> %p errno %d\n", hoffs[i], (void *)p, e);
        if (raw == -1) {
            CHECK(p == MAP_FAILED && e == raw_errno);
        } else {
            CHECK(p != MAP_FAILED);
            CHECK(!in_window(p) && !in_window(p + (2 << 20) - 1));
            CHECK(munmap(p, 2 << 20) == 0);
        }
        CHECK_WHOLE();
    }
    /* MAP_32BIT, with hints at several places in the window */
    const uintptr_t offs[] = { 0x1000, 0x200000, 0x10000000 };
    for (size_t i = 0; i < 3; i++) {
        errno = 0;
        char *p = mmap(W(offs[i]), PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (p == MAP_FAILED || (uintptr_t)p >= TWO_GB)
            fprintf(stderr, "MAP_32BIT hint W+%#lx -> %p errno %d\n", offs[i], (void *)p, errno);
        CHECK(p != MAP_FAILED);
        CHECK((uintptr_t)p + PAGE <= TWO_GB);
        CHECK(!in_window(p));
        p[0] = 1;
        CHECK(strcmp(perms_at(p), "rw-p") == 0);
        CHECK(munmap(p, PAGE) == 0);
        CHECK_WHOLE();
    }
    /* the raw kernel's answer for MAP_32BIT with a high hint */
    char *r = (char *)raw_syscall(SYS_mmap, (void *)0x500000001000UL, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    CHECK(r != MAP_FAILED && (uintptr_t)r < TWO_GB);
    CHECK(raw_syscall(SYS_munmap, r, PAGE) == 0);

    return 0;
}
