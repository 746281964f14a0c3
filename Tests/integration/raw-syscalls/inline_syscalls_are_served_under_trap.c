// MAPWARDEN_RAW_SYSCALLS=trap: mmap-family calls made with the program's
// own `syscall` instructions (inline asm, not libc, not syscall()) inside
// the window are trapped and served exactly as through libc:
//  - MAP_FIXED maps in place and is recorded (mapwarden_query, maps);
//  - MAP_FIXED_NOREPLACE over it gets the kernel's -EEXIST;
//  - mprotect of a part splits the record and the kernel's mapping alike;
//  - mremap grows in place and moves within the window, recorded;
//  - munmap returns the range to the reservation: no hole, the window whole;
//  - mprotect, msync and mincore of free window space get ENOMEM (the
//    registry's answer), where the kernel alone would have made the
//    reservation usable or answered for it;
//  - a hint in the window (no fixed flag) is placed exactly there;
//  - calls outside the window and other system calls go straight through.
// ENV: MAPWARDEN_RAW_SYSCALLS=trap
/* (raw msync is served by mapwarden here: the kernel's view from maps) */
#define MW_TEST_KERNEL_VIEW_FROM_MAPS
#include "common.h"
#include "win_helpers.h"
#include "inline_syscall.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

int main(void) {
    CHECK(seccomp_mode() == 2); /* the filter is in */
    CHECK_WHOLE();

    /* MAP_FIXED in the window */
    char *m = W(0x200000);
    long r = own_syscall(SYS_mmap, (long)m, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(r == (long)m);
    m[100] = 'x';
    CHECK(strcmp(perms_at(m), "rw-p") == 0);
    CHECK_MAPPED(m, m, 4 * P, RW);
    CHECK_CONSISTENT(1);

    /* NOREPLACE over it: the kernel's convention, -EEXIST, nothing changed */
    r = own_syscall(SYS_mmap, (long)m, P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(r == -EEXIST);
    CHECK(m[100] == 'x');

    /* mprotect of a part of another mapping: the record split as the kernel's */
    char *q = W(0x300000);
    CHECK(own_syscall(SYS_mmap, (long)q, 3 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == (long)q);
    CHECK(own_syscall(SYS_mprotect, (long)(q + P), P, PROT_READ, 0, 0, 0) == 0);
    CHECK(strcmp(perms_at(q + P), "r--p") == 0);
    CHECK_MAPPED(q + P, q + P, P, PROT_READ);
    CHECK_MAPPED(q, q, P, RW);
    CHECK_MAPPED(q + 2 * P, q + 2 * P, P, RW);
    CHECK_CONSISTENT(4);
    CHECK(own_syscall(SYS_munmap, (long)q, 3 * P, 0, 0, 0, 0) == 0);
    CHECK_FREE(q);
    CHECK_CONSISTENT(1);

    /* mprotect of free window space: the registry's ENOMEM, the reservation kept */
    CHECK(own_syscall(SYS_mprotect, (long)W(0x800000), P, RW, 0, 0, 0) == -ENOMEM);
    CHECK(strcmp(perms_at(W(0x800000)), "---p") == 0);

    /* mremap: grow in place, then move to a fixed place in the window */
    r = own_syscall(SYS_mremap, (long)m, 4 * P, 6 * P, MREMAP_MAYMOVE, 0, 0);
    CHECK(r == (long)m);
    CHECK_MAPPED(m, m, 6 * P, RW);
    char *to = W(0x400000);
    r = own_syscall(SYS_mremap, (long)m, 6 * P, 6 * P, MREMAP_MAYMOVE | MREMAP_FIXED, (long)to, 0);
    CHECK(r == (long)to);
    CHECK(to[100] == 'x');
    CHECK_MAPPED(to, to, 6 * P, RW);
    CHECK_FREE(m);
    CHECK(strcmp(perms_at(m), "---p") == 0); /* the old place is reserved again */
    CHECK_CONSISTENT(1);

    /* munmap: back to the reservation, no hole */
    CHECK(own_syscall(SYS_munmap, (long)to, 6 * P, 0, 0, 0, 0) == 0);
    CHECK_FREE(to);
    CHECK(kernel_mapped((uintptr_t)to, (uintptr_t)to + 6 * P));
    CHECK_WHOLE();

    /* a raw munmap of free window space: no hole either */
    CHECK(own_syscall(SYS_munmap, (long)W(0x600000), 2 * P, 0, 0, 0, 0) == 0);
    CHECK_WHOLE();

    /* a hint in the window (no fixed flag): placed exactly there (rule 4) */
    char *h = W(0x700000);
    r = own_syscall(SYS_mmap, (long)h, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r == (long)h);
    CHECK_MAPPED(h, h, 2 * P, RW);
    /* the range calls on free window pages answer as on unmapped memory */
    unsigned char vec[2];
    CHECK(own_syscall(SYS_msync, (long)W(0x900000), P, MS_ASYNC, 0, 0, 0) == -ENOMEM);
    CHECK(own_syscall(SYS_mincore, (long)W(0x900000), P, (long)vec, 0, 0, 0) == -ENOMEM);
    CHECK(own_syscall(SYS_madvise, (long)h, 2 * P, MADV_DONTNEED, 0, 0, 0) == 0);
    CHECK(own_syscall(SYS_munmap, (long)h, 2 * P, 0, 0, 0, 0) == 0);
    CHECK_WHOLE();

    /* outside the window: the kernel, untouched */
    r = own_syscall(SYS_mmap, 0, P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(r > 0 && !in_window((void *)r));
    CHECK(own_syscall(SYS_munmap, r, P, 0, 0, 0, 0) == 0);

    /* other system calls: straight through */
    long pid = getpid();
    for (int i = 0; i < 100000; i++) CHECK(own_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0) == pid);
    return 0;
}
