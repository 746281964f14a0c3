/*
 * backtrace.c - stacks for the leak report: capture with libunwind's
 * unw_backtrace (backtrace.h). Naming the frames at exit is frame_names.c.
 *
 * Layer: platform. Calls libunwind (dlopen'd), the loader, and the kernel.
 *
 * libunwind is never a DT_NEEDED of the preload library: linked that way it
 * exports _Unwind_* and a weak backtrace that take over C++ exception
 * unwinding in the host program. It is dlopen'd RTLD_LOCAL, and only
 * unw_backtrace is looked up. Its own mmaps (per-thread caches) reach our
 * hooks while mw_capturing() is set; the engine sends them straight to the
 * kernel.
 *
 * When: loading it (and liblzma, its dependency) is most of what the
 * preload costs a process at start-up, and most processes (a build's
 * compilers, a test suite's tools) never map anything that needs a stack.
 * So it is loaded at the first call that needs one, where dlopen is safe
 * (mw_backtrace_claim_loading), or at the program's first pthread_create.
 * At start-up (from mapwarden's constructor) when it cannot wait:
 * - the engine wants stacks for calls outside the windows (the clobber
 *   guard, MAPWARDEN_TRACK=all: the first may come from anywhere) or from
 *   its SIGSYS handler (MAPWARDEN_RAW_SYSCALLS=trap);
 * - MAPWARDEN_LIBUNWIND names a library: whether it can be used is said
 *   at start-up;
 * - the process already has threads: another thread may be inside dlopen,
 *   running a constructor that waits for a lock the caller of a later
 *   mmap holds;
 * - malloc is not glibc's: a replacement malloc may call mmap (into a
 *   window) holding the lock that dlopen's own malloc calls would wait for.
 *   (glibc's malloc calls the kernel's mmap through libc-internal symbols,
 *   never through ours.)
 */
#include <dlfcn.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/single_threaded.h>
#include <ucontext.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h> /* libunwind-dev: the declaration only; nothing is linked */
#include <sys/stat.h>
#include "include/mapwarden_constants.h"
#include "include/mapwarden_kernel.h"
#include "include/platform/loaded_object.h"
#include "include/platform/auxv.h"
#include "include/platform/backtrace.h"

static __typeof__(unw_backtrace) *unw_backtrace_fn;
static const char *unwind_error;
/* Our own code's extent: leading frames inside it are not the program's. */
static uintptr_t self_lo, self_hi;

__thread int mw_capture_flag __attribute__((tls_model("initial-exec")));
#define capturing mw_capture_flag
static int configured_depth;


static int find_self(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uintptr_t lo, hi;
    if (!mw_object_holds(info, (uintptr_t)data, &lo, &hi)) return 0;
    self_lo = lo;
    self_hi = hi;
    return 1;
}

static const char *unwind_path;
static int unwind_verbose;
/* Not yet allowed (before the constructor), allowed and waiting for the
 * first call that needs it, being loaded, ready, failed. */
enum { NOT_ALLOWED = 0, PENDING = 1, LOADING = 2, READY = 3, FAILED = 4 };
static _Atomic int unwind_state;

static int load_at_start;

void mw_backtrace_configure(const char *library, int depth, int verbose, int at_start) {
    unwind_path = library;
    load_at_start = at_start;
    configured_depth = depth;
    unwind_verbose = verbose;
}


/* Why stacks are missing, when MAPWARDEN_LIBUNWIND names the library:
 * `MAPWARDEN_LIBUNWIND="VALUE" ...`, the value cut to a prefix as the
 * engine's messages cut it. */
static char unwind_message[1024];

static size_t put(size_t at, const char *text, size_t n) {
    for (size_t i = 0; i < n && at < sizeof unwind_message - 1; i++) unwind_message[at++] = text[i];
    unwind_message[at] = 0;
    return at;
}

static const char *configured_error(const char *why, const char *detail) {
    static const char hex[] = "0123456789abcdef";
    size_t at = put(0, "MAPWARDEN_LIBUNWIND=\"", 21);
    size_t n = strlen(unwind_path), shown = n > 160 ? 160 : n;
    while (shown > 0 && shown < n && ((unsigned char)unwind_path[shown] & 0xC0) == 0x80) shown--;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)unwind_path[i];
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            at = put(at, e, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
            at = put(at, e, 4);
        } else {
            at = put(at, (const char *)&c, 1);
        }
    }
    at = put(at, "\"", 1);
    if (shown < n) {
        char count[24];
        int digits = 0;
        for (size_t v = n; v; v /= 10) count[sizeof count - 1 - digits++] = (char)('0' + v % 10);
        at = put(at, "... (", 5);
        at = put(at, count + sizeof count - digits, (size_t)digits);
        at = put(at, " bytes)", 7);
    }
    at = put(at, why, strlen(why));
    if (detail) at = put(at, detail, strlen(detail));
    return unwind_message;
}

/* What a file that is not a regular one is (S_IFMT bits). */
static const char *file_type(long type) {
    switch (type) {
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFDIR: return "a directory";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    default: return "not a file";
    }
}

static int load(void) {
    if (!self_hi) dl_iterate_phdr(find_self, (void *)(uintptr_t)&mw_backtrace);
    /* Under ThreadSanitizer, libunwind's per-thread cache destructor locks a
     * mutex after TSan has finished the exiting thread, and TSan crashes. */
    if (dlsym(RTLD_DEFAULT, "__tsan_init")) {
        unwind_error = "stacks are off under ThreadSanitizer (libunwind's thread-exit clean-up crashes it)";
        return 0;
    }
    /* A path (not a name the loader searches for) must be a regular file:
     * dlopen would open a FIFO and wait for a writer, before main. */
    if (unwind_path && strchr(unwind_path, '/')) {
        struct stat st;
        long r = mw_sys_newfstatat(AT_FDCWD, unwind_path, &st, 0);
        long type = r == 0 ? (long)(st.st_mode & S_IFMT) : r;
        if (type >= 0 && type != S_IFREG) {
            char why[64] = ": not a regular file (";
            strcat(why, file_type(type));
            strcat(why, ")");
            unwind_error = configured_error(why, NULL);
            return 0;
        }
    }
    void *handle = dlopen(unwind_path ? unwind_path : "libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        unwind_error = unwind_path ? configured_error(" could not be loaded: ", dlerror())
                                   : "libunwind.so.8 could not be loaded (install libunwind8, or set MAPWARDEN_LIBUNWIND)";
        return 0;
    }
    unw_backtrace_fn = (__typeof__(unw_backtrace) *)dlsym(handle, "unw_backtrace");
    if (!unw_backtrace_fn) {
        unwind_error = unwind_path ? configured_error(": the library loaded has no unw_backtrace", NULL)
                                   : "the libunwind loaded has no unw_backtrace";
        return 0;
    }
    return 1;
}

static void say_no_stacks(void) {
    if (!unwind_verbose) return;
    static const char head[] = "mapwarden: leak reports will have no stacks: ";
    mw_sys_write(2, head, sizeof head - 1);
    mw_sys_write(2, unwind_error, strlen(unwind_error));
    mw_sys_write(2, "\n", 1);
}

static void load_now(void) {
    capturing = 1; /* libunwind's own mmaps go straight to the kernel */
    int ok = load();
    if (ok) {
        /* This thread's block of libunwind's thread-local variables is
         * allocated (with malloc) at their first use: here, not in a later
         * capture whose caller may be a malloc holding its lock. (Each other
         * thread's is allocated at its first capture.) */
        void *frame[1];
        unw_backtrace_fn(frame, 1);
    }
    capturing = 0;
    atomic_store_explicit(&unwind_state, ok ? READY : FAILED, memory_order_release);
    if (!ok) say_no_stacks();
}

/* Both addresses in one loaded object. */
struct same_object { uintptr_t a, b; int same; };
static int holds_both(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    struct same_object *q = data;
    uintptr_t lo, hi;
    if (!mw_object_holds(info, q->a, &lo, &hi)) return 0;
    q->same = q->b >= lo && q->b < hi;
    return 1;
}

/* malloc is glibc's own: the object that defines the malloc every library
 * binds to also defines gnu_get_libc_version. */
static int malloc_is_glibcs(void) {
    struct same_object q = { (uintptr_t)&malloc, (uintptr_t)&gnu_get_libc_version, 0 };
    dl_iterate_phdr(holds_both, &q);
    return q.same;
}

/* glibc's sigaction under its other name: the symbol `sigaction` is the hooks'. */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

/* The address a handler installed through glibc returns to (glibc's
 * __restore_rt, which it sets as every action's sa_restorer), or 0 where
 * glibc sets none (aarch64: the kernel's vDSO trampoline). */
static uintptr_t glibc_restorer;

static uintptr_t learn_glibc_restorer(void) {
#if defined(__x86_64__)
    struct sigaction now;
    /* SIGSEGV: mapwarden's fault handler, installed through glibc, is
     * usually there, or a program's installed through glibc; where neither
     * is and the action is the default, setting it again through glibc
     * changes nothing but its restorer. */
    if (__sigaction(SIGSEGV, NULL, &now) != 0) return 0;
    if (!(now.sa_flags & SA_RESTORER) && (now.sa_handler == SIG_DFL || now.sa_handler == SIG_IGN)) {
        if (__sigaction(SIGSEGV, &now, NULL) != 0 || __sigaction(SIGSEGV, NULL, &now) != 0) return 0;
    }
    return (now.sa_flags & SA_RESTORER) ? (uintptr_t)now.sa_restorer : 0;
#else
    return 0; /* aarch64's glibc sets none: handlers return through the vDSO */
#endif
}

/* From mapwarden's constructor, never earlier: start-up may happen inside
 * another runtime's initialisation (TSan's, from .preinit_array), where
 * dlopen is not safe. Loads libunwind now when it cannot wait (see the top
 * of this file); otherwise the first call that needs a stack loads it. */
void mw_backtrace_allow_loading(void) {
    if (configured_depth <= 0 || atomic_load(&unwind_state) != NOT_ALLOWED) return;
    if (load_at_start || unwind_path || !__libc_single_threaded || !malloc_is_glibcs()) {
        atomic_store(&unwind_state, LOADING);
        load_now();
    } else {
        atomic_store_explicit(&unwind_state, PENDING, memory_order_release);
    }
}

int mw_backtrace_pending(void) {
    return atomic_load_explicit(&unwind_state, memory_order_relaxed) == PENDING;
}

/* Where the main thread's stack starts (the loader's; argv and the
 * environment above it). */
extern void *__libc_stack_end;

/* What a signal handler in this thread would leave: the signals blocked
 * now, those whose handler runs with its own signal unblocked
 * (SA_NODEFER), and the addresses handlers return to. */
struct handler_facts {
    uint64_t blocked;  /* signals 1-64 blocked now, bit sig-1 (the kernel's mask) */
    int nodefer;       /* some handler runs with its own signal unblocked */
    uintptr_t restorers[8];
    int count;
};

#if defined(__x86_64__)
/* x86-64's rt_sigframe, as the kernel writes it: the address the handler
 * returns to (its sa_restorer), then the kernel's ucontext: flags, link,
 * the alternate stack, the registers, and the signal mask of the
 * interrupted code (the siginfo after it is written for SA_SIGINFO
 * handlers only). */
enum { FRAME_REGS = 8 + 40, FRAME_MASK = FRAME_REGS + 256, FRAME_BYTES = FRAME_MASK + 8 };

/* Whether the words at `at` are the frame of a handler still running. While
 * it runs, the kernel blocks its signal and its sa_mask on top of the mask
 * it interrupted, and restores that mask when it returns: so the mask now
 * holds the saved one and more. A frame a handler that returned left
 * behind has the mask of then, which holds no more than now's, or less
 * than now's where the program unblocked a signal since. (A handler with
 * SA_NODEFER and an empty sa_mask adds nothing: with one installed, an
 * equal mask counts as running. A program that blocked more signals after
 * a handler returned makes that frame count as running: no libunwind for
 * that call, the next tries again.) */
static int live_signal_frame(const unsigned char *at, uintptr_t address, uintptr_t top, const struct handler_facts *f) {
    greg_t rip, rsp;
    uint64_t interrupted, alt_base, alt_size;
    memcpy(&rip, at + FRAME_REGS + REG_RIP * sizeof(greg_t), sizeof rip);
    memcpy(&rsp, at + FRAME_REGS + REG_RSP * sizeof(greg_t), sizeof rsp);
    memcpy(&interrupted, at + FRAME_MASK, sizeof interrupted);
    memcpy(&alt_base, at + 8 + 16, sizeof alt_base); /* uc_stack.ss_sp */
    memcpy(&alt_size, at + 8 + 32, sizeof alt_size); /* uc_stack.ss_size */
    /* A frame: below the stack pointer it interrupted, or on the alternate
     * stack it names (a kept copy of a sigaction is neither). */
    int placed = ((uintptr_t)rsp > address && (uintptr_t)rsp <= top) ||
                 (alt_size != 0 && address >= alt_base && address - alt_base < alt_size);
    if (rip == 0 || !placed || (interrupted & ~f->blocked) != 0) return 0;
    return interrupted != f->blocked || f->nodefer;
}

/* Whether a running handler's frame is on the main thread's stack between
 * this frame and where the stack starts: 1 yes, 0 no, -1 unknown (not on
 * the main stack, deeper than RLIMIT_STACK, or a page there cannot be
 * read). The stack is read with process_vm_readv, a piece at a time: a
 * page the program made unreadable there ends the reading, never in a
 * fault. */
static int live_signal_frame_on_main_stack(const struct handler_facts *f) {
    static unsigned char piece[8192 + FRAME_BYTES + 8];
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)7, top = (uintptr_t)__libc_stack_end;
    struct rlimit stack;
    uintptr_t limit = 64u << 20;
    if (mw_sys_prlimit64(RLIMIT_STACK, &stack) == 0 && stack.rlim_cur < limit) limit = (uintptr_t)stack.rlim_cur;
    if (!top || sp >= top || top - sp > limit) return -1;
    for (uintptr_t at = sp; at < top; at += 8192) {
        size_t want = top - at < sizeof piece ? top - at : sizeof piece;
        if (mw_sys_read_own_memory(piece, at, want) != (long)want) return -1;
        size_t words = want < 8192 ? want : 8192;
        for (size_t off = 0; off + 8 <= words; off += 8) {
            uintptr_t w;
            memcpy(&w, piece + off, sizeof w);
            for (int i = 0; i < f->count; i++)
                if (w == f->restorers[i] && off + FRAME_BYTES <= want && live_signal_frame(piece + off, at + off, top, f))
                    return 1;
        }
    }
    return 0;
}
#endif

/* Nonzero when this thread may be running a signal handler. On an
 * alternate signal stack in use: yes. On x86-64, where glibc (and any
 * SA_RESTORER handler) names the address the handler returns to, the main
 * thread's stack is searched for the frame of a handler still running
 * (also one installed with SA_RESETHAND, whose action is the default again
 * meanwhile). Elsewhere (another stack, aarch64: its handlers return
 * through the vDSO), a blocked signal with a handler is taken as one: the
 * kernel blocks a handler's own signal while it runs, unless SA_NODEFER. */
static int maybe_in_signal_handler(void) {
    stack_t alt;
    if (sigaltstack(NULL, &alt) != 0 || (alt.ss_flags & SS_ONSTACK)) return 1;
    struct handler_facts f = { .blocked = 0, .nodefer = 0, .count = 0 };
    sigset_t blocked;
    if (pthread_sigmask(SIG_BLOCK, NULL, &blocked) != 0) return 1;
    for (int sig = 1; sig <= 64 && sig < NSIG; sig++)
        if (sigismember(&blocked, sig) == 1) f.blocked |= 1ull << (sig - 1);
    int blocked_handler = 0, restorers_known = 1;
    /* Learnt at the first look, not at start-up: most processes never look. */
    if (!glibc_restorer) glibc_restorer = learn_glibc_restorer();
    if (glibc_restorer) f.restorers[f.count++] = glibc_restorer;
    else restorers_known = 0;
    for (int sig = 1; sig < NSIG && sig <= 64; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        struct sigaction now;
        if (__sigaction(sig, NULL, &now) != 0) continue;
        if (now.sa_flags & SA_NODEFER) f.nodefer = 1;
        if (now.sa_handler == SIG_DFL || now.sa_handler == SIG_IGN) continue;
        if (sigismember(&blocked, sig) == 1) blocked_handler = 1;
        /* sa_restorer means something only with SA_RESTORER (aarch64's
         * glibc leaves it as it found it). */
        uintptr_t r = (now.sa_flags & SA_RESTORER) ? (uintptr_t)now.sa_restorer : 0;
        if (!r) {
            restorers_known = 0;
            continue;
        }
        int known = 0;
        for (int i = 0; i < f.count; i++) known |= f.restorers[i] == r;
        if (known) continue;
        if (f.count == 8) restorers_known = 0;
        else f.restorers[f.count++] = r;
    }
#if defined(__x86_64__)
    int found = restorers_known ? live_signal_frame_on_main_stack(&f) : -1;
#else
    (void)restorers_known;
    int found = -1;
#endif
    return found < 0 ? blocked_handler : found;
}

int mw_backtrace_claim_loading(int at_thread_start) {
    if (!mw_backtrace_pending()) return 0;
    if (!__libc_single_threaded) {
        /* Threads pthread_create did not start (libc's own, for timer_create
         * with SIGEV_THREAD, POSIX AIO, mq_notify; pthread_create loads it
         * before the program's first): one may be inside dlopen now, waiting
         * for a lock this caller holds, or map into the room meanwhile.
         * Never loaded then. */
        mw_backtrace_give_up("libunwind was not loaded: the process had threads that pthread_create did not start "
                             "(libc's own: timer_create with SIGEV_THREAD, POSIX AIO, mq_notify) before the first "
                             "call that needed a stack (MAPWARDEN_LIBUNWIND=libunwind.so.8 loads it at start-up)");
        return 0;
    }
    /* pthread_create is not async-signal-safe: its caller is no handler. */
    if (!at_thread_start && maybe_in_signal_handler()) return 0;
    int expected = PENDING;
    return atomic_compare_exchange_strong(&unwind_state, &expected, LOADING);
}

void mw_backtrace_load_claimed(void) { load_now(); }

void mw_backtrace_give_up(const char *why) {
    int state = atomic_load(&unwind_state);
    if (state != PENDING && state != LOADING) return;
    unwind_error = why;
    if (atomic_compare_exchange_strong(&unwind_state, &state, FAILED)) say_no_stacks();
}

static inline int ready(void) {
    return atomic_load_explicit(&unwind_state, memory_order_acquire) == READY;
}

const char *mw_backtrace_error(void) { return unwind_error; }

int mw_backtrace(uint64_t *out, int capacity) { return mw_backtrace_from(out, capacity, 0); }

int mw_backtrace_from(uint64_t *out, int capacity, uintptr_t start) {
    int depth = configured_depth < capacity ? configured_depth : capacity;
    if (capturing || depth <= 0 || !ready()) return 0;
    enum { SLACK = 16, MAX = MW_MAX_BACKTRACE_DEPTH + SLACK };
    void *frames[MAX];
    int want = depth + SLACK < MAX ? depth + SLACK : MAX;
    capturing = 1;
    int n = unw_backtrace_fn(frames, want);
    capturing = 0;
    int skip = 0;
    while (skip < n && (uintptr_t)frames[skip] >= self_lo && (uintptr_t)frames[skip] < self_hi) skip++;
    if (start) { /* from the interrupted frame on: not the signal trampoline */
        int at = skip;
        while (at < n && (uintptr_t)frames[at] != start) at++;
        if (at < n) skip = at;
    }
    int kept = 0;
    for (int i = skip; i < n && kept < depth; i++) out[kept++] = (uint64_t)(uintptr_t)frames[i];
    while (kept > 0 && out[kept - 1] == 0) kept--; /* trailing zero frames */
    return kept;
}
