// libc's syscall() reaches mapwarden (SBCL, QEMU and other runtimes ask the
// kernel through it): every call of the mmap family made with
// syscall(SYS_..., ...) gets, in a window, the answer and the effect the
// symbol gives (the registry records it, free window pages answer as
// unmapped memory), and a free range outside the window gives the same
// answer as the kernel itself (raw system call). Every other number is the
// system call, with all six arguments and errno as libc sets it.
#include "common.h"
#include "win_helpers.h"
#include <fcntl.h>

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

/* The errno of a call (0 on success). */
#define ERR(call) (errno = 0, (call) == -1 ? errno : 0)

int main(void) {
    CHECK_WHOLE();
    char *w = W(0x300000);
    /* A free range outside the window, far from where the kernel places
     * mmap(NULL) (libunwind maps its caches at the first stack capture). */
    char *out = (char *)(window_base() - ((uintptr_t)64 << 30));
    CHECK(kernel_unmapped((uintptr_t)out, (uintptr_t)out + 16 * P));

    /* mmap: MAP_FIXED served in place and recorded; NOREPLACE refused over it. */
    CHECK(syscall(SYS_mmap, w, 4 * P, RW, ANON | MAP_FIXED, -1, 0) == (long)w);
    CHECK_MAPPED(w, w, 4 * P, RW);
    w[0] = 1;
    CHECK(ERR(syscall(SYS_mmap, w, P, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0)) == EEXIST);
    /* a hint inside the window is served there */
    CHECK(syscall(SYS_mmap, w + 8 * P, P, RW, ANON, -1, 0) == (long)(w + 8 * P));
    CHECK_MAPPED(w + 8 * P, w + 8 * P, P, RW);

    /* mprotect, pkey_mprotect, madvise, mlock, munlock, mlock2, msync and
     * mincore on a free window page answer as on unmapped memory: the same
     * errno as the kernel gives on the free range outside. */
    unsigned char vec[4];
    char *f = w + 16 * P;
    CHECK_FREE(f);
    CHECK(ERR(syscall(SYS_mprotect, f, P, PROT_READ)) == ERR(raw_syscall(SYS_mprotect, out, P, PROT_READ)));
    CHECK(ERR(syscall(SYS_mprotect, f, P, PROT_READ)) == ENOMEM);
    CHECK(ERR(syscall(SYS_pkey_mprotect, f, P, PROT_READ, -1)) == ERR(raw_syscall(SYS_pkey_mprotect, out, P, PROT_READ, -1)));
    CHECK(ERR(syscall(SYS_madvise, f, P, MADV_DONTNEED)) == ERR(raw_syscall(SYS_madvise, out, P, MADV_DONTNEED)));
    CHECK(ERR(syscall(SYS_madvise, f, P, MADV_NORMAL)) == ERR(raw_syscall(SYS_madvise, out, P, MADV_NORMAL)));
    CHECK(ERR(syscall(SYS_mlock, f, P)) == ERR(raw_syscall(SYS_mlock, out, P)));
    CHECK(ERR(syscall(SYS_munlock, f, P)) == ERR(raw_syscall(SYS_munlock, out, P)));
    CHECK(ERR(syscall(SYS_mlock2, f, P, 0)) == ERR(raw_syscall(SYS_mlock2, out, P, 0)));
    CHECK(ERR(syscall(SYS_msync, f, P, MS_ASYNC)) == ERR(raw_syscall(SYS_msync, out, P, MS_ASYNC)));
    CHECK(ERR(syscall(SYS_mincore, f, P, vec)) == ERR(raw_syscall(SYS_mincore, out, P, vec)));
    CHECK(ERR(syscall(SYS_mincore, f, P, vec)) == ENOMEM);
    CHECK_FREE(f);

    /* ... and on the mapping they act on it. */
    CHECK(syscall(SYS_mprotect, w, P, PROT_READ) == 0);
    CHECK_MAPPED(w, w, P, PROT_READ);
    CHECK(strcmp(perms_at(w), "r--p") == 0);
    CHECK(syscall(SYS_mincore, w, 4 * P, vec) == 0);
    CHECK(syscall(SYS_msync, w, 4 * P, MS_ASYNC) == 0);
    CHECK(syscall(SYS_madvise, w + P, P, MADV_DONTNEED) == 0);

    /* mremap: the fifth argument (new_addr) is passed as given. */
    char *to = w + 32 * P;
    CHECK(syscall(SYS_mremap, w + P, 3 * P, 3 * P, MREMAP_MAYMOVE | MREMAP_FIXED, to) == (long)to);
    CHECK_MAPPED(to, to, 3 * P, RW);
    CHECK_FREE(w + P);
    CHECK_MAPPED(w, w, P, PROT_READ);
    /* flags with high bits set: the kernel refuses them, nothing changes */
    CHECK(ERR(syscall(SYS_mremap, to, 3 * P, P, 1L << 40, 0)) == EINVAL);
    CHECK(ERR(syscall(SYS_mprotect, to, P, (1L << 40) | PROT_READ)) == EINVAL);
    CHECK_MAPPED(to, to, 3 * P, RW);

    /* munmap: back to the reservation, and the registry says free. */
    CHECK(syscall(SYS_munmap, to, 3 * P) == 0);
    CHECK(syscall(SYS_munmap, w, P) == 0);
    CHECK(syscall(SYS_munmap, w + 8 * P, P) == 0);
    CHECK_FREE(to);
    CHECK_FREE(w);
    CHECK_WHOLE();

    /* Errors are the kernel's, through errno. */
    CHECK(ERR(syscall(SYS_mmap, w, 0, RW, ANON | MAP_FIXED, -1, 0)) == EINVAL);
    CHECK(ERR(syscall(SYS_munmap, w + 1, P)) == EINVAL);

    /* Outside the window: exactly the kernel. */
    CHECK(syscall(SYS_mmap, out, 2 * P, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0) == (long)out);
    CHECK(ERR(syscall(SYS_mmap, out, P, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0)) == EEXIST);
    CHECK(syscall(SYS_munmap, out, 2 * P) == 0);
    CHECK(kernel_unmapped((uintptr_t)out, (uintptr_t)out + 2 * P));

    /* Every other number: the system call with all six arguments.
     * copy_file_range(in, &off_in, out, &off_out, len, flags): the sixth
     * (flags) must reach the kernel, which refuses any but 0 with EINVAL. */
    CHECK(syscall(SYS_getpid) == getpid());
    CHECK(ERR(syscall(SYS_close, 100000)) == EBADF);
    char path[] = "/tmp/mw-syscall-XXXXXX";
    int in = mkstemp(path);
    CHECK(in >= 0);
    unlink(path);
    CHECK(write(in, "abcdefgh", 8) == 8);
    int dst = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    CHECK(dst >= 0);
    loff_t off_in = 2, off_out = 0;
    CHECK(ERR(syscall(SYS_copy_file_range, in, &off_in, dst, &off_out, 4, 1)) == EINVAL);
    CHECK(syscall(SYS_copy_file_range, in, &off_in, dst, &off_out, 4, 0) == 4);
    char got[8] = {0};
    CHECK(pread(dst, got, 4, 0) == 4 && memcmp(got, "cdef", 4) == 0);
    /* errno is left alone on success */
    errno = 1234;
    CHECK(syscall(SYS_getppid) == getppid() && errno == 1234);
    printf("syscall() serves the mmap family and passes the rest through\n");
    return 0;
}
