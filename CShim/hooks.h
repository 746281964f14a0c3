/*
 * hooks.h - what the hook files share: the reentrancy guard, the start-up
 * phase, and the entry points of exit.c and fork.c.
 *
 * Layer: hooks. Included by the hook files only (interpose.c, guard.c,
 * startup.c, fork.c, exit.c, snapshot.c, faults.c, rawsyscalls.c,
 * unwinder_loading.c).
 *
 * A hook hands a call to the engine once mapwarden is started. Calls that
 * arrive before that (from other libraries' constructors, or from any
 * thread while one thread is starting it) go straight to the kernel; so do
 * calls that re-enter during start-up itself.
 *
 * Calls that re-enter the engine later can only come from a signal handler
 * (the engine itself makes raw system calls, never interposed ones). The
 * engine serves them without ever waiting for the lock its own thread
 * holds: see mw_owns_lock() (platform/lock.h) and the deferred log
 * (platform/deferred.h).
 */
#ifndef MAPWARDEN_HOOKS_H
#define MAPWARDEN_HOOKS_H

#include <stdatomic.h>
#include <stdint.h>

enum mw_phase { MW_NOT_STARTED = 0, MW_STARTING = 1, MW_ACTIVE = 2, MW_INACTIVE = 3 };

/* The guard's state (guard.c). Nonzero while this thread is starting
 * mapwarden: its calls then go straight to the kernel. */
extern __thread unsigned mw_depth __attribute__((tls_model("initial-exec"), visibility("hidden")));
extern _Atomic int mw_phase __attribute__((visibility("hidden")));

/* Starts mapwarden on the first call (startup.c; lazy, the constructor is
 * the fallback). Returns nonzero when the engine holds a window. */
int mw_start(void) __attribute__((visibility("hidden")));

/* The process the registry belongs to is this one (exit.c): at start-up
 * and in a forked child. */
void mw_exit_set_owner(void) __attribute__((visibility("hidden")));

/* _exit: the report, then exit_group with the status (exit.c). */
_Noreturn void mw_end_at_once(int status, int how) __attribute__((visibility("hidden")));

/* Installs the handler of MAPWARDEN_SNAPSHOT_SIGNAL, if one is set (snapshot.c). */
void mw_snapshot_install(void) __attribute__((visibility("hidden")));

/* The report at a fatal SIGSEGV or SIGBUS, marked as written at a crash
 * (exit.c; once per process, as every ending's). */
void mw_report_at_crash(void) __attribute__((visibility("hidden")));

/* Installs the fault handler where the program's disposition is SIG_DFL,
 * under MAPWARDEN_FAULTS=explain (faults.c). */
void mw_faults_install(void) __attribute__((visibility("hidden")));

/* In a forked child: the sigaction turn no other thread holds now (faults.c). */
void mw_faults_after_fork_child(void) __attribute__((visibility("hidden")));

/* SIGSYS under MAPWARDEN_RAW_SYSCALLS=trap (faults.c, which interposes
 * sigaction and signal): puts handler in the kernel for SIGSYS and from
 * then on keeps it there, remembering what the program sets (and what was
 * set before) and answering every query with that. 0, or -1 (errno). */
struct sigaction;
int mw_sigsys_take(void *handler) __attribute__((visibility("hidden")));
/* Gives SIGSYS back to what the program had (the trap could not be installed). */
void mw_sigsys_give_back(void) __attribute__((visibility("hidden")));
/* The program's own SIGSYS disposition, for a SIGSYS that is not mapwarden's. */
void mw_sigsys_program(struct sigaction *out) __attribute__((visibility("hidden")));

/* A trapped mmap-family call (rawsyscalls.c), served as libc's syscall()
 * serves it (interpose.c), in the kernel's convention; at: the address the
 * trapped instruction returns to (its stack is recorded from there). */
long mw_serve_trapped(uintptr_t at, long n, long a, long b, long c, long d, long e, long f)
    __attribute__((visibility("hidden")));

/* Loads libunwind now if it waits for its first use and this call may
 * (unwinder_loading.c; at_thread_start: from pthread_create). */
void mw_load_unwinder(int at_thread_start) __attribute__((visibility("hidden")));

/* Registers the fork handlers (fork.c). */
void mw_install_fork_handlers(void) __attribute__((visibility("hidden")));

/* Nonzero when the caller may enter the engine. Once mapwarden is active
 * the engine is reentrant (see above), so entering costs one load. */
static inline int mw_enter(void) {
    int phase = atomic_load_explicit(&mw_phase, memory_order_acquire);
    if (__builtin_expect(phase != MW_ACTIVE, 0)) {
        if (mw_depth != 0 || phase != MW_NOT_STARTED || !mw_start()) return 0;
    }
    return 1;
}

static inline void mw_leave(void) {}

#endif
