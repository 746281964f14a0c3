/*
 * exit.c - the leak report at normal exit.
 *
 * exit() (return from main, or exit() on any thread) runs the exit
 * handlers, among them the loader's, which runs every library's destructors,
 * mapwarden's among the first. mapwarden's destructor only registers the
 * report as a new exit handler (tied to no library): glibc runs handlers
 * registered while it runs them, so the report comes after every other
 * library's destructors (which may unmap what they mapped) and before stdio
 * is flushed. _exit, fatal signals and exec run none of this. When leaks
 * remain and MAPWARDEN_LEAK_EXITCODE is set, the process flushes stdio and
 * ends with that status (LeakSanitizer's rule).
 */
#include <stdio.h>
#include <unistd.h>
#include "guard.h"
#include "include/mapwarden_engine.h"

extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso_handle);

static void report(void *unused) {
    (void)unused;
    int status = mw_engine_exit();
    if (status > 0) {
        fflush(NULL);
        _exit(status);
    }
}

__attribute__((destructor(101))) static void mw_at_exit(void) {
    if (atomic_load_explicit(&mw_phase, memory_order_acquire) != MW_ACTIVE) return;
    if (__cxa_atexit(report, NULL, NULL) != 0) report(NULL);
}
