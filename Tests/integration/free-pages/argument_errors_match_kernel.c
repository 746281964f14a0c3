// Errno ordering, more cases: on FREE window pages, argument errors the kernel checks
// before looking at the address space must come first, as for unmapped
// memory outside the window (the expected errno is taken from the raw
// syscall on an unmapped range outside the window):
//  - mincore with a vector in kernel space -> EFAULT (access_ok before the
//    VMA walk), not ENOMEM;
//  - mremap MREMAP_MAYMOVE|MREMAP_DONTUNMAP with old_len != new_len ->
//    EINVAL, not EFAULT.
// Plus a sweep of other argument errors that already agree (unaligned
// addresses, bad flags, zero lengths), to keep them agreeing.
#include "common.h"
#include "win_helpers.h"

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

static int failures;

#define SAME(call_in_window, raw_call) do { \
    errno = 0; long _raw = (long)(raw_call); int _raw_errno = errno; \
    errno = 0; long _r = (long)(call_in_window); int _e = errno; \
    if (!((_r == -1) == (_raw == -1) && _e == _raw_errno)) { \
        fprintf(stderr, "%s:%d: %s returned %ld errno %d (%s); the raw kernel on unmapped memory: %ld errno %d (%s)\n", \
                __FILE__, __LINE__, #call_in_window, _r, _e, strerror(_e), _raw, _raw_errno, strerror(_raw_errno)); \
        failures++; } } while (0)

int main(void) {
    CHECK_WHOLE();
    /* The first call that records a stack makes libunwind map its caches
     * (outside the window): do that before making the hole below. */
    CHECK(mmap(W(0x300000), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == W(0x300000));
    CHECK(munmap(W(0x300000), PAGE) == 0);
    char *hole = mmap(NULL, 64 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(hole != MAP_FAILED && !in_window(hole));
    CHECK(munmap(hole, 64 * PAGE) == 0);
    char *u = hole + 8 * PAGE;
    char *f = W(0x200000);
    unsigned char vec[8];
    unsigned char *kvec = (unsigned char *)0xffffffffffff0000UL;

    /* the two that disagreed */
    SAME(mincore(f, PAGE, kvec), raw_syscall(SYS_mincore, u, PAGE, kvec));
    SAME(mremap(f, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL),
         raw_syscall(SYS_mremap, u, PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP));

    /* the sweep */
    SAME(mincore(f + 1, PAGE, vec), raw_syscall(SYS_mincore, u + 1, PAGE, vec));
    SAME(mincore(f, PAGE, vec), raw_syscall(SYS_mincore, u, PAGE, vec));
    SAME(mprotect(f + 1, PAGE, PROT_READ), raw_syscall(SYS_mprotect, u + 1, PAGE, PROT_READ));
    SAME(mprotect(f, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP),
         raw_syscall(SYS_mprotect, u, PAGE, PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP));
    SAME(mprotect(f, 0, PROT_READ), raw_syscall(SYS_mprotect, u, 0, PROT_READ));
    SAME(pkey_mprotect(f + 1, PAGE, PROT_READ, -1), raw_syscall(SYS_pkey_mprotect, u + 1, PAGE, PROT_READ, -1));
    SAME(pkey_mprotect(f, PAGE, 0x100, 99), raw_syscall(SYS_pkey_mprotect, u, PAGE, 0x100, 99));
    SAME(madvise(f + 1, PAGE, MADV_NORMAL), raw_syscall(SYS_madvise, u + 1, PAGE, MADV_NORMAL));
    SAME(madvise(f, 0, MADV_NORMAL), raw_syscall(SYS_madvise, u, 0, MADV_NORMAL));
    SAME(madvise(f, 0, 12345), raw_syscall(SYS_madvise, u, 0, 12345));
    SAME(madvise(f, PAGE, MADV_DONTNEED), raw_syscall(SYS_madvise, u, PAGE, MADV_DONTNEED));
    SAME(msync(f + 1, PAGE, MS_ASYNC), raw_syscall(SYS_msync, u + 1, PAGE, MS_ASYNC));
    SAME(msync(f, PAGE, 0x100), raw_syscall(SYS_msync, u, PAGE, 0x100));
    SAME(msync(f, 0, MS_ASYNC), raw_syscall(SYS_msync, u, 0, MS_ASYNC));
    SAME(mlock(f, 0), raw_syscall(SYS_mlock, u, 0));
    SAME(mlock2(f, 0, 0x80), raw_syscall(SYS_mlock2, u, 0, 0x80));
    SAME(munlock(f, 0), raw_syscall(SYS_munlock, u, 0));
    SAME(mremap(f + 1, PAGE, PAGE, 0), raw_syscall(SYS_mremap, u + 1, PAGE, PAGE, 0));
    SAME(mremap(f, PAGE, 0, 0), raw_syscall(SYS_mremap, u, PAGE, 0, 0));
    SAME(mremap(f, PAGE, 2 * PAGE, 0x80), raw_syscall(SYS_mremap, u, PAGE, 2 * PAGE, 0x80));
    SAME(mremap(f, PAGE, 2 * PAGE, MREMAP_FIXED, f + 16 * PAGE),
         raw_syscall(SYS_mremap, u, PAGE, 2 * PAGE, MREMAP_FIXED, u + 16 * PAGE));
    SAME(mremap(f, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, f + 16 * PAGE + 1),
         raw_syscall(SYS_mremap, u, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, u + 16 * PAGE + 1));
    SAME(mremap(f, PAGE, PAGE, MREMAP_DONTUNMAP, NULL), raw_syscall(SYS_mremap, u, PAGE, PAGE, MREMAP_DONTUNMAP));
    SAME(mremap(f, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL),
         raw_syscall(SYS_mremap, u, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_DONTUNMAP));
    SAME(mremap(f, PAGE, PAGE / 2, 0), raw_syscall(SYS_mremap, u, PAGE, PAGE / 2, 0));
    SAME(munmap(f + 1, PAGE), raw_syscall(SYS_munmap, u + 1, PAGE));
    SAME(munmap(f, 0), raw_syscall(SYS_munmap, u, 0));
    SAME(mmap(f + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
         raw_syscall(SYS_mmap, u + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    SAME(mmap(f, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0),
         raw_syscall(SYS_mmap, u, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    SAME(mmap(f, PAGE, PROT_READ, MAP_ANONYMOUS | MAP_FIXED, -1, 0),
         raw_syscall(SYS_mmap, u, PAGE, PROT_READ, MAP_ANONYMOUS | MAP_FIXED, -1, 0));
    SAME(mmap(f, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, 12345, 0),
         raw_syscall(SYS_mmap, u, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, 12345, 0));
    SAME(mmap(f, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 1),
         raw_syscall(SYS_mmap, u, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 1));
    SAME(mmap(f, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_FIXED | 0x800000, -1, 0),
         raw_syscall(SYS_mmap, u, PAGE, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_FIXED | 0x800000, -1, 0));

    CHECK(kernel_unmapped((uintptr_t)hole, (uintptr_t)hole + 64 * PAGE));
    CHECK(failures == 0);
    CHECK_WHOLE();
    return 0;
}
