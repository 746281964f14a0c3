/*
 * startup.c - starting mapwarden: lazily on the first interposed call, or
 * from the library's constructor, whichever comes first.
 *
 * Layer: hooks. Calls the engine (mw_engine_start), exit.c, fork.c and
 * faults.c (the registry's owner, the fork handlers, the fault handler),
 * and the platform (lets libunwind load). (The raw system calls' trap is
 * installed by rawsyscalls.c's own constructor, which starts mapwarden
 * through this file.)
 */
#include "hooks.h"
#include "include/mapwarden_engine.h"
#include "include/platform/backtrace.h"

int mw_start(void) {
    int expected = MW_NOT_STARTED;
    if (!atomic_compare_exchange_strong(&mw_phase, &expected, MW_STARTING)) {
        /* Another thread is starting (its calls meanwhile go to the kernel),
         * or start-up already finished. */
        return expected == MW_ACTIVE;
    }
    mw_depth = 1;
    int active = mw_engine_start();
    if (active) {
        mw_exit_set_owner();
        mw_install_fork_handlers();
        mw_snapshot_install();
        mw_faults_install();
    }
    mw_depth = 0;
    atomic_store_explicit(&mw_phase, active ? MW_ACTIVE : MW_INACTIVE, memory_order_release);
    return active;
}

/* Other libraries' constructors may call mmap before this one runs; the
 * first such call starts mapwarden lazily. This is the fallback. */
__attribute__((constructor(101))) static void mw_constructor(void) {
    if (atomic_load(&mw_phase) == MW_NOT_STARTED) mw_start();
    /* What start-up may not do where it can run first: load libunwind. */
    mw_backtrace_allow_loading();
}
