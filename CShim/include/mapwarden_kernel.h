/*
 * mapwarden_kernel.h - the raw system calls, one thin wrapper per call.
 *
 * Layer: platform. Included by the hooks, by the other platform files and
 * by the engine (module.modulemap; Kernel.swift wraps each call once more,
 * with a typed result, and nothing else in the engine calls these).
 * Calls nothing: each wrapper is one `syscall` instruction.
 *
 * Every real kernel call mapwarden makes goes through these: no libc
 * wrapper (which could re-enter our own hooks), no errno. Each returns the
 * kernel's answer: a value, or -errno in [-4095, -1]. Nothing here decides
 * anything: what to ask (flags, commands) and what an answer means belong
 * to the callers, with the constants of mapwarden_constants.h.
 */
#ifndef MAPWARDEN_KERNEL_H
#define MAPWARDEN_KERNEL_H

#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>    /* AT_FDCWD */
#include <sys/stat.h> /* struct stat */
#include <sys/syscall.h>
#include <sys/vfs.h>  /* struct statfs */
#include <time.h>     /* struct timespec */

#if defined(__x86_64__)
static inline long mw_syscall6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#elif defined(__aarch64__)
static inline long mw_syscall6(long n, long a, long b, long c, long d, long e, long f) {
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}
#else
#error "mapwarden supports x86_64 and aarch64"
#endif

/* ---- memory ---- */
/*
 * MW_OWN_CALL marks mapwarden's own mmap-family calls for the seccomp
 * filter of MAPWARDEN_RAW_SYSCALLS=trap (RawSyscallFilter), in a register
 * the kernel ignores: the sixth argument of the calls that take fewer, and
 * the high half of mmap's fd (the kernel reads an int there). The filter
 * also lets through every call made from the library's own code; the mark
 * is what still lets a new mapwarden through after exec, where the filter
 * inherited from the parent knows only the parent's code range.
 */
#define MW_OWN_CALL 0x4D574D57L
static inline long mw_sys_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, long off) {
    return mw_syscall6(SYS_mmap, (long)addr, (long)len, prot, flags, (long)(((unsigned long)MW_OWN_CALL << 32) | (unsigned)fd), off);
}
static inline long mw_sys_munmap(uintptr_t addr, size_t len) {
    return mw_syscall6(SYS_munmap, (long)addr, (long)len, 0, 0, 0, MW_OWN_CALL);
}
static inline long mw_sys_mprotect(uintptr_t addr, size_t len, int prot) {
    return mw_syscall6(SYS_mprotect, (long)addr, (long)len, prot, 0, 0, MW_OWN_CALL);
}
static inline long mw_sys_pkey_mprotect(uintptr_t addr, size_t len, int prot, int pkey) {
    return mw_syscall6(SYS_pkey_mprotect, (long)addr, (long)len, prot, pkey, 0, MW_OWN_CALL);
}
static inline long mw_sys_mremap(uintptr_t old, size_t old_len, size_t new_len, int flags, uintptr_t new_addr) {
    return mw_syscall6(SYS_mremap, (long)old, (long)old_len, (long)new_len, flags, (long)new_addr, MW_OWN_CALL);
}
static inline long mw_sys_madvise(uintptr_t addr, size_t len, int advice) {
    return mw_syscall6(SYS_madvise, (long)addr, (long)len, advice, 0, 0, MW_OWN_CALL);
}
static inline long mw_sys_mlock(uintptr_t addr, size_t len) {
    return mw_syscall6(SYS_mlock, (long)addr, (long)len, 0, 0, 0, MW_OWN_CALL);
}
static inline long mw_sys_mlock2(uintptr_t addr, size_t len, unsigned flags) {
    return mw_syscall6(SYS_mlock2, (long)addr, (long)len, (long)flags, 0, 0, MW_OWN_CALL);
}
static inline long mw_sys_mlockall(int flags) {
    return mw_syscall6(SYS_mlockall, flags, 0, 0, 0, 0, 0);
}
static inline long mw_sys_munlockall(void) {
    return mw_syscall6(SYS_munlockall, 0, 0, 0, 0, 0, 0);
}
static inline long mw_sys_munlock(uintptr_t addr, size_t len) {
    return mw_syscall6(SYS_munlock, (long)addr, (long)len, 0, 0, 0, MW_OWN_CALL);
}
static inline long mw_sys_msync(uintptr_t addr, size_t len, int flags) {
    return mw_syscall6(SYS_msync, (long)addr, (long)len, flags, 0, 0, MW_OWN_CALL);
}
static inline long mw_sys_mincore(uintptr_t addr, size_t len, unsigned char *vec) {
    return mw_syscall6(SYS_mincore, (long)addr, (long)len, (long)vec, 0, 0, MW_OWN_CALL);
}

/* ---- files and descriptors ---- */
static inline long mw_sys_openat(int dirfd, const char *path, int flags, int mode) {
    return mw_syscall6(SYS_openat, dirfd, (long)path, flags, mode, 0, 0);
}
static inline long mw_sys_close(int fd) {
    return mw_syscall6(SYS_close, fd, 0, 0, 0, 0, 0);
}
static inline long mw_sys_read(int fd, void *buf, size_t len) {
    return mw_syscall6(SYS_read, fd, (long)buf, (long)len, 0, 0, 0);
}
static inline long mw_sys_write(int fd, const void *buf, size_t len) {
    return mw_syscall6(SYS_write, fd, (long)buf, (long)len, 0, 0, 0);
}
static inline long mw_sys_pread64(int fd, void *buf, size_t len, long off) {
    return mw_syscall6(SYS_pread64, fd, (long)buf, (long)len, off, 0, 0);
}
static inline long mw_sys_pwrite64(int fd, const void *buf, size_t len, long off) {
    return mw_syscall6(SYS_pwrite64, fd, (long)buf, (long)len, off, 0, 0);
}
static inline long mw_sys_ftruncate(int fd, long len) {
    return mw_syscall6(SYS_ftruncate, fd, len, 0, 0, 0, 0);
}
/* arg: an integer, or a pointer (struct flock *) passed as one. */
static inline long mw_sys_fcntl(int fd, int cmd, long arg) {
    return mw_syscall6(SYS_fcntl, fd, cmd, arg, 0, 0, 0);
}
static inline long mw_sys_dup3(int old, int new_fd, int flags) {
    return mw_syscall6(SYS_dup3, old, new_fd, flags, 0, 0, 0);
}
static inline long mw_sys_pipe2(int fds[2], int flags) {
    return mw_syscall6(SYS_pipe2, (long)fds, flags, 0, 0, 0, 0);
}
static inline long mw_sys_fstat(int fd, struct stat *st) {
    return mw_syscall6(SYS_fstat, fd, (long)st, 0, 0, 0, 0);
}
static inline long mw_sys_newfstatat(int dirfd, const char *path, struct stat *st, int flags) {
    return mw_syscall6(SYS_newfstatat, dirfd, (long)path, (long)st, flags, 0, 0);
}
static inline long mw_sys_fstatfs(int fd, struct statfs *st) {
    return mw_syscall6(SYS_fstatfs, fd, (long)st, 0, 0, 0, 0);
}
static inline long mw_sys_readlinkat(int dirfd, const char *path, char *buf, size_t size) {
    return mw_syscall6(SYS_readlinkat, dirfd, (long)path, (long)buf, (long)size, 0, 0);
}
static inline long mw_sys_unlinkat(int dirfd, const char *path, int flags) {
    return mw_syscall6(SYS_unlinkat, dirfd, (long)path, flags, 0, 0, 0);
}
/* renameat2 (renameat does not exist on aarch64). */
static inline long mw_sys_renameat2(int olddir, const char *old, int newdir, const char *new_path, unsigned flags) {
    return mw_syscall6(SYS_renameat2, olddir, (long)old, newdir, (long)new_path, flags, 0);
}
static inline long mw_sys_getcwd(char *buf, size_t size) {
    return mw_syscall6(SYS_getcwd, (long)buf, (long)size, 0, 0, 0, 0);
}

/* ---- processes and threads ---- */
static inline long mw_sys_getpid(void) {
    return mw_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0);
}
static inline long mw_sys_getppid(void) {
    return mw_syscall6(SYS_getppid, 0, 0, 0, 0, 0, 0);
}
static inline long mw_sys_gettid(void) {
    return mw_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0);
}
static inline long mw_sys_prctl(int option, unsigned long a, unsigned long b, unsigned long c, unsigned long d) {
    return mw_syscall6(SYS_prctl, option, (long)a, (long)b, (long)c, (long)d, 0);
}
/* prlimit64 of this process (pid 0): reads the limit, changes nothing. */
static inline long mw_sys_prlimit64(int resource, void *old_limit) {
    return mw_syscall6(SYS_prlimit64, 0, resource, 0, (long)old_limit, 0, 0);
}
/* seccomp(2): op, flags, args (MAPWARDEN_RAW_SYSCALLS=trap). */
static inline long mw_sys_seccomp(unsigned op, unsigned flags, void *args) {
    return mw_syscall6(SYS_seccomp, op, flags, (long)args, 0, 0, 0);
}
static inline long mw_sys_clock_gettime(int clock, struct timespec *ts) {
    return mw_syscall6(SYS_clock_gettime, clock, (long)ts, 0, 0, 0, 0);
}
static inline long mw_sys_nanosleep(const struct timespec *duration) {
    return mw_syscall6(SYS_nanosleep, (long)duration, 0, 0, 0, 0, 0);
}
static inline long mw_sys_tgkill(long pid, long tid, int sig) {
    return mw_syscall6(SYS_tgkill, pid, tid, sig, 0, 0, 0);
}
/* Reads this process's own memory without faulting: the bytes copied, which
 * stop at the first page that cannot be read. */
static inline long mw_sys_read_own_memory(void *to, uintptr_t from, size_t len) {
    struct { void *base; size_t len; } local = { to, len }, remote = { (void *)from, len };
    return mw_syscall6(SYS_process_vm_readv, mw_syscall6(SYS_getpid, 0, 0, 0, 0, 0, 0), (long)&local, 1, (long)&remote, 1, 0);
}
static inline long mw_sys_futex(void *uaddr, int op, unsigned val, const struct timespec *timeout) {
    return mw_syscall6(SYS_futex, (long)uaddr, op, val, (long)timeout, 0, 0);
}
static inline _Noreturn void mw_sys_exit_group(int status) {
    for (;;) mw_syscall6(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

#endif
