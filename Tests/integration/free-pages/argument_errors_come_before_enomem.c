// Errno ordering: on FREE window pages the preload
// answers ENOMEM for "unmapped" only where the kernel would; argument
// errors the kernel reports first come first, exactly as for unmapped
// memory outside the window. Each expected errno is first taken from the
// raw syscall on an unmapped range outside the window, and must be the
// documented one:
//  mprotect prot 0x100 -> EINVAL; msync(MS_SYNC|MS_ASYNC) -> EINVAL;
//  madvise(12345) -> EINVAL; mlock2 flags 0x80 -> EINVAL; pkey_mprotect
//  pkey 99 -> EINVAL; MAP_FIXED_NOREPLACE with fd -1 and no MAP_ANONYMOUS
//  over an occupied window range (and a free one) -> EBADF; mremap with a
//  free source and an overlapping MREMAP_FIXED destination -> EINVAL;
//  mremap with old_size 0 on a free page -> EFAULT.
#include "common.h"
#include "win_helpers.h"

static char *hole; /* 16 unmapped pages outside the window */

static int failures;

/* Not fatal: every mismatch is listed, and main fails at the end. */
#define SAME(call_in_window, raw_call, expected) do { \
    errno = 0; long _raw = (long)(raw_call); int _raw_errno = errno; \
    if (!(_raw == -1 && _raw_errno == (expected))) { \
        fprintf(stderr, "%s:%d: raw %s returned %ld errno %d, expected errno %d\n", __FILE__, __LINE__, #raw_call, \
                _raw, _raw_errno, (expected)); failures++; } \
    errno = 0; long _r = (long)(call_in_window); int _e = errno; \
    if (!(_r == -1 && _e == (expected))) { \
        fprintf(stderr, "%s:%d: %s returned %ld errno %d (%s), expected -1 errno %d (%s)\n", __FILE__, __LINE__, \
                #call_in_window, _r, _e, strerror(_e), (expected), strerror(expected)); failures++; } } while (0)

int main(void) {
    CHECK_WHOLE();
    /* The first call that records a stack makes libunwind map its caches
     * (outside the window): do that before making the hole below. */
    CHECK(mmap(W(0x300000), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == W(0x300000));
    CHECK(munmap(W(0x300000), PAGE) == 0);
    hole = mmap(NULL, 16 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(hole != MAP_FAILED && !in_window(hole));
    CHECK(munmap(hole, 16 * PAGE) == 0);
    char *u = hole + 4 * PAGE;
    char *f = W(0x200000); /* free window space */
    CHECK_FREE(f);

    SAME(mprotect(f, PAGE, 0x100), raw_syscall(SYS_mprotect, u, PAGE, 0x100), EINVAL);
    SAME(mprotect(f, PAGE, PROT_READ | 0x100), raw_syscall(SYS_mprotect, u, PAGE, PROT_READ | 0x100), EINVAL);
    SAME(msync(f, PAGE, MS_SYNC | MS_ASYNC), raw_syscall(SYS_msync, u, PAGE, MS_SYNC | MS_ASYNC), EINVAL);
    SAME(madvise(f, PAGE, 12345), raw_syscall(SYS_madvise, u, PAGE, 12345), EINVAL);
    SAME(mlock2(f, PAGE, 0x80), raw_syscall(SYS_mlock2, u, PAGE, 0x80), EINVAL);
    SAME(pkey_mprotect(f, PAGE, PROT_READ, 99), raw_syscall(SYS_pkey_mprotect, u, PAGE, PROT_READ, 99), EINVAL);
    /* spanning free window space and a mapping: still the argument error */
    char *m = map_fixed(W(0x300000), PAGE, PROT_READ | PROT_WRITE);
    SAME(mprotect(m, 2 * PAGE, 0x100), raw_syscall(SYS_mprotect, u, 2 * PAGE, 0x100), EINVAL);
    SAME(madvise(m - PAGE, 2 * PAGE, 12345), raw_syscall(SYS_madvise, u, 2 * PAGE, 12345), EINVAL);
    CHECK(strcmp(perms_at(m), "rw-p") == 0);
    CHECK(munmap(m, PAGE) == 0);
    CHECK_WHOLE();
    CHECK_FREE(f);

    /* MAP_FIXED_NOREPLACE, fd -1 without MAP_ANONYMOUS: EBADF before EEXIST */
    char *occ = map_fixed(W(0), PAGE, PROT_READ);
    char *o = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(o != MAP_FAILED);
    SAME(mmap(occ, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, -1, 0),
         raw_syscall(SYS_mmap, o, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, -1, 0), EBADF);
    SAME(mmap(occ, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, -1, 0),
         raw_syscall(SYS_mmap, o, PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, -1, 0), EBADF);
    SAME(mmap(f, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, -1, 0),
         raw_syscall(SYS_mmap, u, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED_NOREPLACE, -1, 0), EBADF);
    CHECK(munmap(o, PAGE) == 0);
    CHECK_MAPPED(occ, occ, PAGE, PROT_READ);
    CHECK_FREE(f);
    CHECK_CONSISTENT(1);
    CHECK(munmap(occ, PAGE) == 0);

    /* mremap: a free source with an overlapping MREMAP_FIXED destination */
    char *fs = W(0x400000);
    SAME(mremap(fs, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, fs),
         raw_syscall(SYS_mremap, u, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, u), EINVAL);
    SAME(mremap(fs, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, fs + PAGE),
         raw_syscall(SYS_mremap, u, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, u + PAGE), EINVAL);
    /* mremap with old_size 0 on a free page: EFAULT (nothing to duplicate) */
    SAME(mremap(fs, 0, PAGE, MREMAP_MAYMOVE), raw_syscall(SYS_mremap, u, 0, PAGE, MREMAP_MAYMOVE), EFAULT);
    SAME(mremap(fs, 0, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, W(0x500000)),
         raw_syscall(SYS_mremap, u, 0, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, u + 8 * PAGE), EFAULT);
    CHECK(failures == 0);
    CHECK_FREE(fs);
    CHECK(kernel_unmapped((uintptr_t)hole, (uintptr_t)hole + 16 * PAGE));
    CHECK_WHOLE();
    return 0;
}
