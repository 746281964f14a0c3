/*
 * interpose.c - the preloaded entry points.
 *
 * Each hook does one thing: if the reentrancy guard lets it, hand the call
 * to the engine; otherwise make the raw system call. Either way exactly one
 * answer comes back in the kernel's convention and is turned into libc's
 * here (errno only on failure).
 *
 * Layer: hooks. Calls the engine (mw_engine_*), startup.c and exit.c
 * (through hooks.h), and the platform (system calls, stack capture).
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/types.h>
#include "hooks.h"
#include "include/mapwarden_constants.h"
#include "include/mapwarden_engine.h"
#include "include/mapwarden_kernel.h"
#include "include/platform/backtrace.h"

#define EXPORT __attribute__((visibility("default")))

/* errno for the caller of an interposed function (never touched on success). */
static inline void mw_set_errno(int e) { errno = e; }

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
 * recorded without a stack. The first call that needs a stack loads
 * libunwind (unwinder_loading.c), unless it is a trapped raw call (served
 * from the SIGSYS handler).
 */
static __thread unsigned nesting __attribute__((tls_model("initial-exec")));
/* While a trapped raw call is served (mw_serve_trapped): the address the
 * trapped `syscall` returns to, where its stack starts (above it: the
 * SIGSYS handler's frames and the signal trampoline). */
static __thread uintptr_t trapped_at __attribute__((tls_model("initial-exec")));

#define WITH_STACK(engine, params, ...)                                                  \
    static __attribute__((noinline, cold)) long engine##_with_stack params {            \
        uint64_t frames[MW_MAX_BACKTRACE_DEPTH];                                        \
        if (nesting == 1 && !trapped_at && mw_backtrace_pending()) mw_load_unwinder(0); \
        int depth = nesting == 1 ? mw_backtrace_from(frames, MW_MAX_BACKTRACE_DEPTH, trapped_at) : 0; \
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

/* A call in the kernel's convention: the engine's answer when the guard
 * lets it in, else the system call itself. */
#define SERVE(engine_call, kernel_call)         \
    ({                                          \
        long serve_r;                           \
        if (mw_enter()) {                       \
            serve_r = engine_call;              \
            mw_leave();                         \
        } else {                                \
            serve_r = kernel_call;              \
        }                                       \
        serve_r;                                \
    })

#define HOOK(engine_call, kernel_call) return libc_result(SERVE(engine_call, kernel_call))

/* The mmap family, each once, in the kernel's convention: the exported
 * symbols below and syscall() both call these. */
static inline long do_mmap(uintptr_t a, size_t l, int p, int f, int fd, long o) {
    return SERVE(ENGINE(mw_engine_mmap, a, l, p, f, fd, o), mw_sys_mmap(a, l, p, f, fd, o));
}
static inline long do_munmap(uintptr_t a, size_t l) {
    return SERVE(ENGINE(mw_engine_munmap, a, l), mw_sys_munmap(a, l));
}
static inline long do_mprotect(uintptr_t a, size_t l, int p) {
    return SERVE(ENGINE(mw_engine_mprotect, a, l, p), mw_sys_mprotect(a, l, p));
}
static inline long do_pkey_mprotect(uintptr_t a, size_t l, int p, int k) {
    return SERVE(ENGINE(mw_engine_pkey_mprotect, a, l, p, k), mw_sys_pkey_mprotect(a, l, p, k));
}
static inline long do_mremap(uintptr_t o, size_t ol, size_t nl, int f, uintptr_t na) {
    return SERVE(ENGINE(mw_engine_mremap, o, ol, nl, f, na), mw_sys_mremap(o, ol, nl, f, na));
}
static inline long do_madvise(uintptr_t a, size_t l, int advice) {
    return SERVE(ENGINE(mw_engine_madvise, a, l, advice), mw_sys_madvise(a, l, advice));
}
static inline long do_mlock(uintptr_t a, size_t l) {
    return SERVE(ENGINE(mw_engine_mlock, a, l), mw_sys_mlock(a, l));
}
static inline long do_mlock2(uintptr_t a, size_t l, unsigned f) {
    return SERVE(ENGINE(mw_engine_mlock2, a, l, f), mw_sys_mlock2(a, l, f));
}
static inline long do_munlock(uintptr_t a, size_t l) {
    return SERVE(ENGINE(mw_engine_munlock, a, l), mw_sys_munlock(a, l));
}
static inline long do_msync(uintptr_t a, size_t l, int f) {
    return SERVE(ENGINE(mw_engine_msync, a, l, f), mw_sys_msync(a, l, f));
}
static inline long do_mincore(uintptr_t a, size_t l, unsigned char *v) {
    return SERVE(ENGINE(mw_engine_mincore, a, l, v), mw_sys_mincore(a, l, v));
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    return (void *)libc_result(do_mmap((uintptr_t)addr, len, prot, flags, fd, (long)off));
}

/* The JVM and node bind mmap64. On 64-bit Linux off_t is 64 bits already:
 * it is mmap itself, under a second name. */
EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) __attribute__((alias("mmap")));

EXPORT int munmap(void *addr, size_t len) { return (int)libc_result(do_munmap((uintptr_t)addr, len)); }

EXPORT int mprotect(void *addr, size_t len, int prot) {
    return (int)libc_result(do_mprotect((uintptr_t)addr, len, prot));
}

EXPORT int pkey_mprotect(void *addr, size_t len, int prot, int pkey) {
    return (int)libc_result(do_pkey_mprotect((uintptr_t)addr, len, prot, pkey));
}

/* As glibc's mremap: the fifth argument is read only with MREMAP_FIXED or
 * MREMAP_DONTUNMAP (0 is passed otherwise, so a caller of the symbol may
 * leave it out); syscall(SYS_mremap, ...) passes it as given. */
EXPORT void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...) {
    uintptr_t new_addr = 0;
    if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
        va_list ap;
        va_start(ap, flags);
        new_addr = (uintptr_t)va_arg(ap, void *);
        va_end(ap);
    }
    return (void *)libc_result(do_mremap((uintptr_t)old, old_len, new_len, flags, new_addr));
}

EXPORT int madvise(void *addr, size_t len, int advice) {
    return (int)libc_result(do_madvise((uintptr_t)addr, len, advice));
}

EXPORT int mlock(const void *addr, size_t len) { return (int)libc_result(do_mlock((uintptr_t)addr, len)); }

EXPORT int mlock2(const void *addr, size_t len, unsigned int flags) {
    return (int)libc_result(do_mlock2((uintptr_t)addr, len, flags));
}

EXPORT int munlock(const void *addr, size_t len) { return (int)libc_result(do_munlock((uintptr_t)addr, len)); }

EXPORT int msync(void *addr, size_t len, int flags) {
    return (int)libc_result(do_msync((uintptr_t)addr, len, flags));
}

EXPORT int mincore(void *addr, size_t len, unsigned char *vec) {
    return (int)libc_result(do_mincore((uintptr_t)addr, len, vec));
}

/* mlockall and munlockall change every mapping's lock (and, with
 * MCL_FUTURE, the next ones'): the registry follows. */
EXPORT int mlockall(int flags) { HOOK(mw_engine_mlockall(flags), mw_sys_mlockall(flags)); }

EXPORT int munlockall(void) { HOOK(mw_engine_mlockall(-1), mw_sys_munlockall()); }

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

EXPORT int mapwarden_report_now(const char *path) {
    API(mw_engine_snapshot(path, 0));
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

/*
 * libc's syscall(). Runtimes that manage their own address space ask the
 * kernel through it (SBCL maps its heap with syscall(SYS_mmap, ...)), and
 * QEMU's user-mode emulator ends with syscall(SYS_exit_group, ...). The
 * mmap family is served exactly as through its own symbols, exit_group ends
 * the process as _exit does, and every other number is the system call, with
 * its arguments untouched and errno set as libc sets it.
 *
 * It is variadic, but x86-64 and aarch64 Linux pass a variadic function's
 * integer arguments exactly as a function's with seven long parameters: the
 * number and six registers (the sixth argument, on x86-64, from the caller's
 * stack), which is what libc's own syscall() reads. So this is an ordinary
 * function under the symbol's name: no va_list, nothing spilled.
 *
 * Arguments the kernel takes as unsigned long but the symbols as int: a
 * value with high bits set is one the kernel refuses (mprotect's prot,
 * mremap's flags: EINVAL, nothing changed), so it goes to the kernel as it
 * is; mmap ignores prot's and flags' high bits unless the mapping type is
 * MAP_SHARED_VALIDATE, which refuses them with EOPNOTSUPP.
 */
static inline int fits_int(long v) { return v == (long)(int)v || v == (long)(unsigned)v; }

/* The numbers syscall() serves itself, as a bit set (all below 512 on
 * x86-64 and aarch64): one load and a test on the pass-through path. */
#define IN_WORD(n, w) (((n) >> 6) == (w) ? 1ULL << ((n) & 63) : 0)
#define WORD(w)                                                                                     \
    (IN_WORD(SYS_mmap, w) | IN_WORD(SYS_munmap, w) | IN_WORD(SYS_mprotect, w) |                    \
     IN_WORD(SYS_pkey_mprotect, w) | IN_WORD(SYS_mremap, w) | IN_WORD(SYS_madvise, w) |           \
     IN_WORD(SYS_mlock, w) | IN_WORD(SYS_mlock2, w) | IN_WORD(SYS_munlock, w) |                    \
     IN_WORD(SYS_msync, w) | IN_WORD(SYS_mincore, w) | IN_WORD(SYS_mlockall, w) |                  \
     IN_WORD(SYS_munlockall, w) | IN_WORD(SYS_exit_group, w))
static const unsigned long long memory_calls[8] = {WORD(0), WORD(1), WORD(2), WORD(3),
                                                   WORD(4), WORD(5), WORD(6), WORD(7)};

static inline int is_memory_call(long n) {
    return (unsigned long)n < 512 && ((memory_calls[n >> 6] >> (n & 63)) & 1);
}

/* The mmap family and exit_group through syscall(), in the kernel's
 * convention; -ENOSYS for a number to pass through after all. */
static __attribute__((noinline)) long memory_syscall(long n, long a, long b, long c, long d, long e, long f) {
    switch (n) {
    case SYS_mmap:
        if (!fits_int(d) && ((int)d & MAP_TYPE) == MAP_SHARED_VALIDATE) break;
        return do_mmap((uintptr_t)a, (size_t)b, (int)c, (int)d, (int)e, f);
    case SYS_munmap:
        return do_munmap((uintptr_t)a, (size_t)b);
    case SYS_mprotect:
        if (!fits_int(c)) break;
        return do_mprotect((uintptr_t)a, (size_t)b, (int)c);
    case SYS_pkey_mprotect:
        if (!fits_int(c)) break;
        return do_pkey_mprotect((uintptr_t)a, (size_t)b, (int)c, (int)d);
    case SYS_mremap:
        if (!fits_int(d)) break;
        return do_mremap((uintptr_t)a, (size_t)b, (size_t)c, (int)d, (uintptr_t)e);
    case SYS_madvise:
        return do_madvise((uintptr_t)a, (size_t)b, (int)c);
    case SYS_mlock:
        return do_mlock((uintptr_t)a, (size_t)b);
    case SYS_mlock2:
        return do_mlock2((uintptr_t)a, (size_t)b, (unsigned)c);
    case SYS_munlock:
        return do_munlock((uintptr_t)a, (size_t)b);
    case SYS_msync:
        return do_msync((uintptr_t)a, (size_t)b, (int)c);
    case SYS_mincore:
        return do_mincore((uintptr_t)a, (size_t)b, (unsigned char *)c);
    case SYS_mlockall:
        return SERVE(mw_engine_mlockall((int)a), mw_sys_mlockall((int)a));
    case SYS_munlockall:
        return SERVE(mw_engine_mlockall(-1), mw_sys_munlockall());
    case SYS_exit_group:
        mw_end_at_once((int)a, MW_END_EXIT_GROUP);
    }
    return mw_syscall6(n, a, b, c, d, e, f);
}

/* A call the seccomp filter trapped (rawsyscalls.c): exactly what
 * syscall() does with it, in the kernel's convention. */
long mw_serve_trapped(uintptr_t at, long n, long a, long b, long c, long d, long e, long f) {
    uintptr_t before = trapped_at;
    trapped_at = at;
    long r = memory_syscall(n, a, b, c, d, e, f);
    trapped_at = before;
    return r;
}

EXPORT long mw_libc_syscall(long n, long a, long b, long c, long d, long e, long f) __asm__("syscall");
long mw_libc_syscall(long n, long a, long b, long c, long d, long e, long f) {
    if (__builtin_expect(is_memory_call(n), 0)) return libc_result(memory_syscall(n, a, b, c, d, e, f));
    return libc_result(mw_syscall6(n, a, b, c, d, e, f));
}
