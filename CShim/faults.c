/*
 * faults.c - a SIGSEGV or SIGBUS that would kill the process is explained
 * first (MAPWARDEN_FAULTS=explain, the default; docs/faults.md).
 *
 * Layer: hooks. Calls the engine (mw_engine_explains_faults,
 * mw_engine_fault), exit.c (the report at a crash, through hooks.h) and
 * the platform (system calls, the thread id, frame names).
 *
 * It also keeps SIGSYS for rawsyscalls.c under MAPWARDEN_RAW_SYSCALLS=trap
 * (mw_sigsys_take): from then on the kernel keeps that handler, and
 * sigaction and signal for SIGSYS only remember and answer what the
 * program sets, which the handler chains to for a SIGSYS that is not
 * mapwarden's (docs/raw-syscalls.md).
 *
 * The design, stated plainly: mapwarden's handler is in the kernel only
 * while the program's own disposition of the signal is SIG_DFL, that is,
 * only where the fault would kill the process anyway. A program that
 * handles SIGSEGV or SIGBUS itself (the JVM, SBCL, V8: safepoints, guard
 * pages, GC barriers) has its handler in the kernel, as without mapwarden,
 * and every one of its faults goes straight to it; mapwarden is not in
 * front of it and never chains to it. For that, sigaction and signal are
 * interposed for these two signals:
 *
 *  - sigaction with a handler (or SIG_IGN): the kernel gets it, as asked;
 *    mapwarden's handler is gone.
 *  - sigaction with SIG_DFL: mapwarden's handler goes (back) in, and the
 *    program's SIG_DFL (its flags and mask) is remembered.
 *  - a query (and every `old` answer) while mapwarden's handler is in says
 *    what the program set, SIG_DFL, never mapwarden's handler: HotSpot
 *    saves what it finds to chain to it, and must find what it would find
 *    without mapwarden.
 *
 * A handler installed some other way (sysv_signal, sigset, a raw
 * rt_sigaction) replaces mapwarden's in the kernel; the next sigaction call
 * notices and stops answering for it.
 *
 * The handler explains a fault in a window (the engine), writes the report
 * exit would have written (marked `crash`), restores SIG_DFL and returns:
 * the faulting instruction runs again and the kernel kills the process with
 * the same signal, the same wait status and a core dump where the system
 * makes one. A SIGSEGV or SIGBUS sent by kill or raise is sent again.
 */
#include <dlfcn.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include "hooks.h"
#include "include/mapwarden_engine.h"
#include "include/mapwarden_kernel.h"
#include "include/platform/frame_names.h"
#include "include/platform/thread.h"

#define EXPORT __attribute__((visibility("default")))

/* glibc's sigaction under its other name: the symbol `sigaction` is ours. */
extern int __sigaction(int sig, const struct sigaction *act, struct sigaction *old);

static int slot_of(int sig) { return sig == SIGSEGV ? 0 : sig == SIGBUS ? 1 : -1; }

/* Set once the handler was installed at start-up (MAPWARDEN_FAULTS=explain). */
static _Atomic int enabled;
/* Per signal: mapwarden's handler is the kernel's, and the program's own
 * disposition (what it set, or found) is SIG_DFL, kept in `program`. */
static _Atomic int ours[2];
static struct sigaction program[2];

/* The interposed calls of all threads take turns; a signal handler that
 * interrupts one on the same thread goes on (its id is the owner's). */
static _Atomic unsigned turn;

static int take_turn(void) {
    unsigned me = mw_thread_id();
    if (atomic_load_explicit(&turn, memory_order_acquire) == me) return 0;
    for (;;) {
        unsigned expected = 0;
        if (atomic_compare_exchange_weak_explicit(&turn, &expected, me, memory_order_acquire, memory_order_relaxed))
            return 1;
#if defined(__x86_64__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ volatile("yield");
#endif
    }
}

/* In a forked child: no other thread exists to hold the turn. */
void mw_faults_after_fork_child(void) { atomic_store_explicit(&turn, 0, memory_order_relaxed); }

static void end_turn(int taken) {
    if (taken) atomic_store_explicit(&turn, 0, memory_order_release);
}

static void on_fault(int sig, siginfo_t *info, void *context);

/* SIGSYS under MAPWARDEN_RAW_SYSCALLS=trap (rawsyscalls.c's handler in the
 * kernel for good; the program's disposition kept here). */
static _Atomic int sigsys_ours;
static struct sigaction sigsys_program;

int mw_sigsys_take(void *handler) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))handler;
    /* SA_NODEFER: a trapped call from a handler that interrupted this one.
     * No SA_ONSTACK: the trap is synchronous at a syscall instruction, so
     * the thread's own stack is usable, and serving it takes about 10 KiB,
     * more than the 8 KiB alternate stacks programs set (Rust's). */
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (__sigaction(SIGSYS, &sa, &sigsys_program) != 0) return -1;
    atomic_store_explicit(&sigsys_ours, 1, memory_order_release);
    return 0;
}

void mw_sigsys_give_back(void) {
    atomic_store_explicit(&sigsys_ours, 0, memory_order_release);
    __sigaction(SIGSYS, &sigsys_program, NULL);
}

void mw_sigsys_program(struct sigaction *out) { *out = sigsys_program; }

static int install(int sig, struct sigaction *old) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGSEGV);
    sigaddset(&sa.sa_mask, SIGBUS);
    return __sigaction(sig, &sa, old);
}

static int installed_now(int sig) {
    struct sigaction now;
    return __sigaction(sig, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_fault;
}

void mw_faults_install(void) {
    if (!mw_engine_explains_faults()) return;
    static const int sigs[2] = {SIGSEGV, SIGBUS};
    for (int i = 0; i < 2; i++) {
        struct sigaction now;
        /* A handler set before mapwarden started (a library's constructor)
         * is the program's: mapwarden stays out of its way. */
        if (__sigaction(sigs[i], NULL, &now) != 0 || now.sa_handler != SIG_DFL) continue;
        program[i] = now;
        if (install(sigs[i], NULL) == 0) atomic_store(&ours[i], 1);
    }
    atomic_store(&enabled, 1);
}

EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    /* SIGSYS while raw system calls are trapped: the kernel keeps mapwarden's. */
    if (sig == SIGSYS && atomic_load_explicit(&sigsys_ours, memory_order_acquire)) {
        int taken = take_turn();
        struct sigaction before = sigsys_program;
        if (act) sigsys_program = *act;
        if (old) *old = before;
        end_turn(taken);
        return 0;
    }
    int i = slot_of(sig);
    if (i < 0 || !atomic_load_explicit(&enabled, memory_order_acquire)) return __sigaction(sig, act, old);
    int taken = take_turn();
    int r = 0;
    /* Replaced behind our back (sysv_signal, sigset, rt_sigaction)? */
    if (atomic_load(&ours[i]) && !installed_now(sig)) atomic_store(&ours[i], 0);
    if (atomic_load(&ours[i])) {
        struct sigaction before = program[i];
        if (act && act->sa_handler == SIG_DFL) {
            program[i] = *act;
        } else if (act) {
            struct sigaction given = *act;
            r = __sigaction(sig, &given, NULL);
            if (r == 0) {
                program[i] = given;
                atomic_store(&ours[i], 0);
            }
        }
        if (r == 0 && old) *old = before;
    } else if (act && act->sa_handler == SIG_DFL) {
        struct sigaction given = *act; /* act may be old */
        r = install(sig, old);
        if (r == 0) {
            program[i] = given;
            atomic_store(&ours[i], 1);
        }
    } else {
        r = __sigaction(sig, act, old);
    }
    end_turn(taken);
    return r;
}

/* signal() is glibc's BSD signal, which calls its sigaction internally (not
 * ours): for these two signals it is done here, as glibc does it, through
 * ours. Other signals go to glibc's own. */
typedef void (*sighandler)(int);

static sighandler bsd_signal_of(int sig, sighandler handler) {
    struct sigaction act, before;
    memset(&act, 0, sizeof act);
    act.sa_handler = handler;
    sigemptyset(&act.sa_mask);
    sigaddset(&act.sa_mask, sig);
    act.sa_flags = SA_RESTART;
    if (sigaction(sig, &act, &before) < 0) return SIG_ERR;
    return before.sa_handler;
}

EXPORT sighandler signal(int sig, sighandler handler) {
    if (handler != SIG_ERR && ((slot_of(sig) >= 0 && atomic_load_explicit(&enabled, memory_order_acquire)) ||
                               (sig == SIGSYS && atomic_load_explicit(&sigsys_ours, memory_order_acquire))))
        return bsd_signal_of(sig, handler);
    static sighandler (*_Atomic next)(int, sighandler);
    sighandler (*f)(int, sighandler) = atomic_load_explicit(&next, memory_order_acquire);
    if (!f) {
        f = (sighandler(*)(int, sighandler))dlsym(RTLD_NEXT, "signal");
        atomic_store_explicit(&next, f, memory_order_release);
    }
    return f(sig, handler);
}

/* The same function under its other name (glibc: one address, two names). */
EXPORT sighandler bsd_signal(int sig, sighandler handler) { return signal(sig, handler); }

/* What the faulting instruction did: 0 unknown, 1 read, 2 write, 3 exec. */
static int access_of(void *context) {
#if defined(__x86_64__)
    /* The page fault's error code: bit 1 a write, bit 4 an instruction fetch. */
    long long err = ((ucontext_t *)context)->uc_mcontext.gregs[REG_ERR];
    return (err & 0x10) ? 3 : (err & 0x2) ? 2 : 1;
#elif defined(__aarch64__)
    /* The ESR record among the signal frame's extra contexts. */
    struct _aarch64_ctx *c = (struct _aarch64_ctx *)((ucontext_t *)context)->uc_mcontext.__reserved;
    for (int n = 0; n < 64 && c->magic != 0 && c->size != 0; n++) {
        if (c->magic == ESR_MAGIC) {
            unsigned long long esr = ((struct esr_context *)c)->esr;
            unsigned ec = (unsigned)(esr >> 26) & 0x3f;
            if (ec == 0x20 || ec == 0x21) return 3;
            if (ec == 0x24 || ec == 0x25) return (esr & (1u << 6)) ? 2 : 1;
            return 0;
        }
        c = (struct _aarch64_ctx *)((char *)c + c->size);
    }
    return 0;
#else
    (void)context;
    return 0;
#endif
}

/* The first thread whose fault kills the process explains it; another
 * that faults meanwhile waits for that (which ends the process). */
static _Atomic unsigned explaining;

static void on_fault(int sig, siginfo_t *info, void *context) {
    int saved_errno = errno;
    int i = slot_of(sig);
    int from_kernel = info->si_code > 0; /* a fault; kill() and raise() say SI_USER, SI_TKILL... */
    if (from_kernel) {
        unsigned me = mw_thread_id(), expected = 0;
        if (atomic_compare_exchange_strong(&explaining, &expected, me)) {
            /* Demangling allocates; this may be a thread stopped inside malloc. */
            mw_demangle_off();
            mw_engine_fault(sig == SIGBUS, sig == SIGSEGV && info->si_code == SEGV_ACCERR, (uintptr_t)info->si_addr,
                            access_of(context));
            mw_report_at_crash();
        } else if (expected != me) {
            struct timespec slice = {0, 100 * 1000 * 1000};
            for (int n = 0; n < 100; n++) mw_sys_nanosleep(&slice);
        }
    }
    /* The default again, and the same death. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    __sigaction(sig, &dfl, NULL);
    if (i >= 0) atomic_store(&ours[i], 0);
    if (!from_kernel) mw_sys_tgkill(mw_sys_getpid(), mw_thread_id(), sig);
    errno = saved_errno;
}
