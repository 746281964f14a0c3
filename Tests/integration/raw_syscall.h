/*
 * raw_syscall.h - a system call that reaches the kernel itself, never
 * mapwarden: libc's syscall() is interposed (it serves the mmap family like
 * the symbols), so tests that need the kernel's own answer, or that go
 * around mapwarden on purpose, use this. libc convention: -1 and errno.
 */
#ifndef MW_TEST_RAW_SYSCALL_H
#define MW_TEST_RAW_SYSCALL_H
#include <errno.h>
#include <sys/syscall.h>

static inline long raw_syscall6(long n, long a, long b, long c, long d, long e, long f) {
    long ret;
#if defined(__x86_64__)
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    ret = x0;
#endif
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
