/*
 * raw_syscall.h - a system call that reaches the kernel itself, never
 * mapwarden: libc's syscall() is interposed (it serves the mmap family like
 * the symbols), so tests that need the kernel's own answer, or that go
 * around mapwarden on purpose, use this: the library's own raw system call
 * (mapwarden_kernel.h), in libc's convention (-1 and errno).
 */
#ifndef MW_TEST_RAW_SYSCALL_H
#define MW_TEST_RAW_SYSCALL_H
#include <errno.h>
#include "mapwarden_kernel.h"

static inline long raw_syscall6(long n, long a, long b, long c, long d, long e, long f) {
    long ret = mw_syscall6(n, a, b, c, d, e, f);
    if ((unsigned long)ret > -4096UL) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}
#define RAW_SYSCALL_(n, a, b, c, d, e, f, ...) \
    raw_syscall6((long)(n), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define raw_syscall(...) RAW_SYSCALL_(__VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)
#endif
