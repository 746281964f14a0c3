/*
 * interpose.c - the preloaded entry points.
 *
 * Each hook does one thing: if the reentrancy guard lets it, hand the call
 * to the engine; otherwise make the raw system call. Either way exactly one
 * answer comes back in the kernel's convention and is turned into libc's
 * here (errno only on failure).
 */
#include <stdarg.h>
#include <sys/types.h>
#include "guard.h"
#include "include/mapwarden_engine.h"

#define EXPORT __attribute__((visibility("default")))

static inline long libc_result(long r) {
    if (__builtin_expect((unsigned long)r > -4096UL, 0)) {
        mw_set_errno((int)-r);
        return -1;
    }
    return r;
}

/*
 * The engine answers MW_NEEDS_STACK when it will record the call (a mapping
 * made, or a clobber or misuse seen) and was given no stack: the hook then
 * captures its caller's stack here, in C, whose frames libunwind can walk,
 * and asks again. Pass-through calls never get here.
 */
#define CALL_ENGINE(engine_call)                                  \
    do {                                                          \
        const uint64_t *stack = NULL;                             \
        int depth = 0;                                            \
        r = engine_call;                                          \
        if (__builtin_expect(r == MW_NEEDS_STACK, 0)) {           \
            uint64_t frames[MW_MAX_BACKTRACE_DEPTH];              \
            depth = mw_backtrace(frames, MW_MAX_BACKTRACE_DEPTH); \
            stack = frames;                                       \
            r = engine_call;                                      \
        }                                                         \
    } while (0)

#define HOOK(engine_call, kernel_call)          \
    long r;                                     \
    if (mw_enter()) {                           \
        CALL_ENGINE(engine_call);               \
        mw_leave();                             \
    } else {                                    \
        r = kernel_call;                        \
    }                                           \
    return libc_result(r)

static inline void *map(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    long r;
    if (mw_enter()) {
        CALL_ENGINE(mw_engine_mmap((uintptr_t)addr, len, prot, flags, fd, (long)off, stack, depth));
        mw_leave();
    } else {
        r = mw_sys_mmap((uintptr_t)addr, len, prot, flags, fd, (long)off);
    }
    return (void *)libc_result(r);
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    return map(addr, len, prot, flags, fd, off);
}

/* The JVM and node bind mmap64. On 64-bit Linux off_t is 64 bits already. */
EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    return map(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len) {
    HOOK(mw_engine_munmap((uintptr_t)addr, len, stack, depth), mw_sys_munmap((uintptr_t)addr, len));
}

EXPORT int mprotect(void *addr, size_t len, int prot) {
    HOOK(mw_engine_mprotect((uintptr_t)addr, len, prot, stack, depth), mw_sys_mprotect((uintptr_t)addr, len, prot));
}

EXPORT int pkey_mprotect(void *addr, size_t len, int prot, int pkey) {
    HOOK(mw_engine_pkey_mprotect((uintptr_t)addr, len, prot, pkey, stack, depth),
         mw_sys_pkey_mprotect((uintptr_t)addr, len, prot, pkey));
}

EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...) {
    uintptr_t new_addr = 0;
    if (flags & MREMAP_FIXED) {
        va_list ap;
        va_start(ap, flags);
        new_addr = (uintptr_t)va_arg(ap, void *);
        va_end(ap);
    }
    long r;
    if (mw_enter()) {
        CALL_ENGINE(mw_engine_mremap((uintptr_t)old, old_len, new_len, flags, new_addr, stack, depth));
        mw_leave();
    } else {
        r = mw_sys_mremap((uintptr_t)old, old_len, new_len, flags, new_addr);
    }
    return (void *)libc_result(r);
}

EXPORT int madvise(void *addr, size_t len, int advice) {
    HOOK(mw_engine_madvise((uintptr_t)addr, len, advice, stack, depth), mw_sys_madvise((uintptr_t)addr, len, advice));
}

EXPORT int mlock(const void *addr, size_t len) {
    HOOK(mw_engine_mlock((uintptr_t)addr, len, stack, depth), mw_sys_mlock((uintptr_t)addr, len));
}

EXPORT int mlock2(const void *addr, size_t len, unsigned int flags) {
    HOOK(mw_engine_mlock2((uintptr_t)addr, len, flags, stack, depth), mw_sys_mlock2((uintptr_t)addr, len, flags));
}

EXPORT int munlock(const void *addr, size_t len) {
    HOOK(mw_engine_munlock((uintptr_t)addr, len, stack, depth), mw_sys_munlock((uintptr_t)addr, len));
}

EXPORT int msync(void *addr, size_t len, int flags) {
    HOOK(mw_engine_msync((uintptr_t)addr, len, flags, stack, depth), mw_sys_msync((uintptr_t)addr, len, flags));
}

EXPORT int mincore(void *addr, size_t len, unsigned char *vec) {
    HOOK(mw_engine_mincore((uintptr_t)addr, len, vec, stack, depth), mw_sys_mincore((uintptr_t)addr, len, vec));
}

/* Public API (mapwarden.h). Not a hook: it never makes a system call. */
EXPORT int mapwarden_query(const void *addr, struct mapwarden_info *info) {
    if (!info) {
        mw_set_errno(EINVAL);
        return -1;
    }
    long r;
    if (mw_enter()) {
        r = mw_engine_query((uintptr_t)addr, info);
        mw_leave();
    } else {
        r = -ENODEV;
    }
    return (int)libc_result(r);
}
