/*
 * exit.c - the end of the process: the leak report, written once, however
 * the process ends on purpose.
 *
 * exit() (return from main, or exit() on any thread) runs the exit
 * handlers, among them the loader's, which runs every library's destructors,
 * mapwarden's among the first. mapwarden's destructor only registers the
 * report as a new exit handler (tied to no library): glibc runs handlers
 * registered while it runs them, so the report comes after every other
 * library's destructors (which may unmap what they mapped) and before stdio
 * is flushed. When leaks remain and MAPWARDEN_LEAK_EXITCODE is set, the
 * process flushes stdio and ends with that status (LeakSanitizer's rule).
 *
 * _exit, _Exit, quick_exit and syscall(SYS_exit_group) (emulators, forked workers and
 * test runners end this way; QEMU's user-mode emulator among them) end the
 * process at once: the report is written there too, then the process ends
 * with its status (or the leak status). Nothing of the program's runs, and
 * stdio is not flushed. The report names frames without demangling them:
 * demangling allocates, and _exit is where signal handlers
 * end processes, possibly on a thread they interrupted inside malloc.
 *
 * Written once per process, and only by the process the registry belongs
 * to: a vfork child (it shares its parent's memory; glibc's posix_spawn
 * makes one) or a child of a raw clone that ran no fork handler has another
 * pid than the one recorded at start-up and in the fork handler, and ends
 * without a report and without touching anything of its parent's.
 * A SIGSEGV or SIGBUS that kills the process writes it from the fault
 * handler (faults.c: mw_report_at_crash); other fatal signals and exec
 * write no report.
 *
 * Layer: hooks. Calls the engine (mw_engine_exit) and the platform
 * (thread ids, frame names, system calls); reads the guard's phase.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/futex.h>
#include "hooks.h"
#include "include/mapwarden_engine.h"
#include "include/mapwarden_kernel.h"
#include "include/platform/frame_names.h"
#include "include/platform/report_gate.h"
#include "include/platform/thread.h"

#define EXPORT __attribute__((visibility("default")))

extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso_handle);

static long registry_pid;

/* The report: not started, being written (by `reporter`), written. Another
 * thread ending the process meanwhile waits for it (at most 10 s) and ends
 * with its leak status: a second _exit must not cut the report short. */
enum { NOT_STARTED = 0, WRITING = 1, WRITTEN = 2 };
static _Atomic unsigned report_state;
static _Atomic unsigned reporter;
static _Atomic int report_status;

void mw_exit_set_owner(void) {
    registry_pid = mw_sys_getpid();
    atomic_store_explicit(&report_state, NOT_STARTED, memory_order_relaxed);
    atomic_store_explicit(&report_status, 0, memory_order_relaxed);
}

static void wait_for_report(void) {
    struct timespec slice = { 0, 100 * 1000 * 1000 };
    for (int i = 0; i < 100 && atomic_load_explicit(&report_state, memory_order_acquire) == WRITING; i++)
        mw_sys_futex(&report_state, FUTEX_WAIT_PRIVATE, WRITING, &slice);
}

/* The status to end with: the leak status when there is one, else `status`. */
static int report_once(int status, int how) {
    if (atomic_load_explicit(&mw_phase, memory_order_acquire) != MW_ACTIVE) return status;
    if (mw_sys_getpid() != registry_pid) return status; /* a vfork child */
    unsigned expected = NOT_STARTED;
    if (!atomic_compare_exchange_strong_explicit(&report_state, &expected, WRITING, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        /* Another ending wrote it, or is writing it on another thread (on
         * this one: a signal handler that interrupted it, which must not wait). */
        if (expected == WRITING && atomic_load_explicit(&reporter, memory_order_relaxed) != mw_thread_id())
            wait_for_report();
        int leak_status = atomic_load_explicit(&report_status, memory_order_acquire);
        return leak_status > 0 ? leak_status : status;
    }
    atomic_store_explicit(&reporter, mw_thread_id(), memory_order_relaxed);
    if (how != MW_END_EXIT) mw_demangle_off();
    mw_report_gate_close(); /* no snapshot from now on; one in progress ends first */
    int leak_status = mw_engine_exit(how);
    atomic_store_explicit(&report_status, leak_status, memory_order_release);
    atomic_store_explicit(&report_state, WRITTEN, memory_order_release);
    mw_sys_futex(&report_state, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
    return leak_status > 0 ? leak_status : status;
}

static void report_at_exit(void *unused) {
    (void)unused;
    int status = report_once(0, MW_END_EXIT);
    if (status > 0) {
        fflush(NULL);
        mw_sys_exit_group(status);
    }
}

__attribute__((destructor(101))) static void mw_at_exit(void) {
    if (atomic_load_explicit(&mw_phase, memory_order_acquire) != MW_ACTIVE) return;
    if (__cxa_atexit(report_at_exit, NULL, NULL) != 0) report_at_exit(NULL);
}

/* quick_exit runs the at_quick_exit handlers (the last registered first),
 * then ends at once: the report is the first handler registered, so it
 * comes after the program's. */
static void report_at_quick_exit(void) {
    int status = report_once(0, MW_END_QUICK_EXIT);
    if (status > 0) mw_sys_exit_group(status);
}

__attribute__((constructor(102))) static void mw_register_quick_exit(void) {
    if (atomic_load_explicit(&mw_phase, memory_order_acquire) == MW_ACTIVE) at_quick_exit(report_at_quick_exit);
}

void mw_report_at_crash(void) { (void)report_once(0, MW_END_CRASH); }

_Noreturn void mw_end_at_once(int status, int how) { mw_sys_exit_group(report_once(status, how)); }

EXPORT _Noreturn void _exit(int status) { mw_end_at_once(status, MW_END__EXIT); }
EXPORT _Noreturn void _Exit(int status) { mw_end_at_once(status, MW_END__EXIT_C99); }
