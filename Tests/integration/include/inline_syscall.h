/*
 * inline_syscall.h - a system call made by the test program's own
 * `syscall` instruction (inline asm in the program's text: not libc, not
 * syscall(), not mapwarden's wrappers), as Go, JITs and emulators make
 * them; the kernel's convention (-errno). The raw-syscalls/ tests.
 */
#ifndef MW_TEST_INLINE_SYSCALL_H
#define MW_TEST_INLINE_SYSCALL_H

/* The program's own system call instruction: never libc, never mapwarden's. */
static __attribute__((noinline)) long own_syscall(long n, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    register long x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
    return x0;
#endif
}


/* The Seccomp field of /proc/self/status (0 none, 2 filter), or -1. */
static inline int seccomp_mode(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int mode = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Seccomp: %d", &mode) == 1) break;
    if (f) fclose(f);
    return mode;
}
#endif
