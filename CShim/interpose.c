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
 * captures its caller's stack, in C, whose frames libunwind can walk, and
 * asks again. That retry is out of line (cold), so that the pass-through
 * path keeps a small frame.
 *
 * `nesting` counts this thread's calls inside the engine. Above 1, a signal
 * handler has interrupted the engine, whose frames (Embedded Swift, which
 * has no unwind tables) libunwind cannot walk safely: such a call is
 * recorded without a stack.
 */
static __thread unsigned nesting __attribute__((tls_model("initial-exec")));

#define WITH_STACK(engine, params, ...)                                                  \
    static __attribute__((noinline, cold)) long engine##_with_stack params {            \
        uint64_t frames[MW_MAX_BACKTRACE_DEPTH];                                        \
        int depth = nesting == 1 ? mw_backtrace(frames, MW_MAX_BACKTRACE_DEPTH) : 0;    \
        return engine(__VA_ARGS__, frames, depth);                                      \
    }

WITH_STACK(mw_engine_mmap, (uintptr_t a, size_t l, int p, int f, int fd, long o), a, l, p, f, fd, o)
WITH_STACK(mw_engine_munmap, (uintptr_t a, size_t l), a, l)
WITH_STACK(mw_engine_mprotect, (uintptr_t a, size_t l, int p), a, l, p)
WITH_STACK(mw_engine_pkey_mprotect, (uintptr_t a, size_t l, int p, int k), a, l, p, k)
WITH_STACK(mw_engine_mremap, (uintptr_t o, size_t ol, size_t nl, int f, uintptr_t na), o, ol, nl, f, na)
WITH_STACK(mw_engine_madvise, (uintptr_t a, size_t l, int advice), a, l, advice)
WITH_STACK(mw_engine_mlock, (uintptr_t a, size_t l), a, l)
WITH_STACK(mw_engine_mlock2, (uintptr_t a, size_t l, unsigned f), a, l, f)
WITH_STACK(mw_engine_munlock, (uintptr_t a, size_t l), a, l)
WITH_STACK(mw_engine_msync, (uintptr_t a, size_t l, int f), a, l, f)
WITH_STACK(mw_engine_mincore, (uintptr_t a, size_t l, unsigned char *v), a, l, v)
WITH_STACK(mw_engine_alloc, (const char *w, size_t s, size_t a, int p, int f), w, s, a, p, f)

/* The engine's answer to a call (kernel convention). */
#define ENGINE(engine, ...)                                                   \
    ({                                                                        \
        nesting++;                                                            \
        long engine_r = engine(__VA_ARGS__, NULL, 0);                         \
        if (__builtin_expect(engine_r == MW_NEEDS_STACK, 0))                  \
            engine_r = engine##_with_stack(__VA_ARGS__);                      \
        nesting--;                                                            \
        engine_r;                                                             \
    })

#define HOOK(engine_call, kernel_call)          \
    long r;                                     \
    if (mw_enter()) {                           \
        r = engine_call;                        \
        mw_leave();                             \
    } else {                                    \
        r = kernel_call;                        \
    }                                           \
    return libc_result(r)

static inline void *map(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    long r;
    if (mw_enter()) {
        r = ENGINE(mw_engine_mmap, (uintptr_t)addr, len, prot, flags, fd, (long)off);
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
    HOOK(ENGINE(mw_engine_munmap, (uintptr_t)addr, len), mw_sys_munmap((uintptr_t)addr, len));
}

EXPORT int mprotect(void *addr, size_t len, int prot) {
    HOOK(ENGINE(mw_engine_mprotect, (uintptr_t)addr, len, prot), mw_sys_mprotect((uintptr_t)addr, len, prot));
}

EXPORT int pkey_mprotect(void *addr, size_t len, int prot, int pkey) {
    HOOK(ENGINE(mw_engine_pkey_mprotect, (uintptr_t)addr, len, prot, pkey),
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
        r = ENGINE(mw_engine_mremap, (uintptr_t)old, old_len, new_len, flags, new_addr);
        mw_leave();
    } else {
        r = mw_sys_mremap((uintptr_t)old, old_len, new_len, flags, new_addr);
    }
    return (void *)libc_result(r);
}

EXPORT int madvise(void *addr, size_t len, int advice) {
    HOOK(ENGINE(mw_engine_madvise, (uintptr_t)addr, len, advice), mw_sys_madvise((uintptr_t)addr, len, advice));
}

EXPORT int mlock(const void *addr, size_t len) {
    HOOK(ENGINE(mw_engine_mlock, (uintptr_t)addr, len), mw_sys_mlock((uintptr_t)addr, len));
}

EXPORT int mlock2(const void *addr, size_t len, unsigned int flags) {
    HOOK(ENGINE(mw_engine_mlock2, (uintptr_t)addr, len, flags), mw_sys_mlock2((uintptr_t)addr, len, flags));
}

EXPORT int munlock(const void *addr, size_t len) {
    HOOK(ENGINE(mw_engine_munlock, (uintptr_t)addr, len), mw_sys_munlock((uintptr_t)addr, len));
}

EXPORT int msync(void *addr, size_t len, int flags) {
    HOOK(ENGINE(mw_engine_msync, (uintptr_t)addr, len, flags), mw_sys_msync((uintptr_t)addr, len, flags));
}

EXPORT int mincore(void *addr, size_t len, unsigned char *vec) {
    HOOK(ENGINE(mw_engine_mincore, (uintptr_t)addr, len, vec), mw_sys_mincore((uintptr_t)addr, len, vec));
}

/*
 * Not a memory call: libunwind (1.6) validates addresses through a pipe it
 * opens on first use. Opened while it captures a stack, the pipe is moved to
 * high descriptors, so that it never takes the numbers the program expects
 * next (3, 4...), and a program that closes its low descriptors and opens
 * files there never has libunwind write into them. Any other pipe2 is the
 * system call, unchanged.
 */
EXPORT int pipe2(int fds[2], int flags) {
    long r = mw_sys_pipe2(fds, flags);
    if (r == 0 && mw_capturing()) {
        struct rlimit limit;
        long top = mw_sys_prlimit64(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 1024 ? (long)limit.rlim_cur : 1024;
        for (int i = 0; i < 2; i++) {
            long high = -1;
            for (long at = top - 2; at > fds[i] && high < 0; at -= 2) {
                high = mw_sys_fcntl(fds[i], F_DUPFD_CLOEXEC, at);
                if (high >= top) { mw_sys_close((int)high); high = -1; }
            }
            if (high >= 0) {
                mw_sys_close(fds[i]);
                fds[i] = (int)high;
            }
        }
    }
    return (int)libc_result(r);
}

/* The public API (mapwarden.h). None of these is a hook: the engine
 * answers from its registry; only mapwarden_alloc maps memory. */
#define API(engine_call) HOOK(engine_call, -ENODEV)

EXPORT int mapwarden_query(const void *addr, struct mapwarden_info *info) {
    if (!info) {
        mw_set_errno(EINVAL);
        return -1;
    }
    API(mw_engine_query((uintptr_t)addr, info));
}

EXPORT int mapwarden_windows(struct mapwarden_window *buf, size_t n) {
    if (!buf && n > 0) {
        mw_set_errno(EINVAL);
        return -1;
    }
    API(mw_engine_windows(buf, n));
}

EXPORT int mapwarden_set_tag(const void *addr, uintptr_t tag) {
    API(mw_engine_set_tag((uintptr_t)addr, tag));
}

EXPORT int mapwarden_get_tag(const void *addr, uintptr_t *tag) {
    if (!tag) {
        mw_set_errno(EINVAL);
        return -1;
    }
    API(mw_engine_get_tag((uintptr_t)addr, tag));
}

EXPORT void *mapwarden_alloc(const char *window, size_t size, size_t align, int prot, int flags) {
    long r;
    if (mw_enter()) {
        r = ENGINE(mw_engine_alloc, window, size, align, prot, flags);
        mw_leave();
    } else {
        r = -ENODEV;
    }
    if ((unsigned long)r > -4096UL) {
        mw_set_errno((int)-r);
        return NULL;
    }
    return (void *)r;
}
