/*
 * exit.c - the leak report at normal exit.
 *
 * A destructor of the preload library runs from exit() (return from main,
 * or exit() on any thread) after the program's atexit handlers and static
 * destructors, and before stdio is flushed. _exit, fatal signals and exec
 * do not run it. When leaks remain and MAPWARDEN_LEAK_EXITCODE is set, the
 * process flushes stdio and ends with that status (LeakSanitizer's rule).
 */
#include <stdio.h>
#include <unistd.h>
#include "guard.h"
#include "include/mapwarden_engine.h"

__attribute__((destructor(101))) static void mw_at_exit(void) {
    if (atomic_load_explicit(&mw_phase, memory_order_acquire) != MW_ACTIVE) return;
    int status = mw_engine_exit();
    if (status > 0) {
        fflush(NULL);
        _exit(status);
    }
}
