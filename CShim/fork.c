/*
 * fork.c - the fork handlers (pthread_atfork): the registry lock is held
 * across fork, and the child takes over the registry.
 *
 * Layer: hooks. Calls the engine (mw_engine_forked), exit.c (the child is
 * the registry's owner now) and the platform (the lock).
 *
 * The forking thread holds the lock across fork, so the child gets a
 * consistent registry and a lock no vanished thread holds. If the fork
 * comes from a signal handler that interrupted this very thread inside the
 * engine (it already holds the lock), nothing is taken: in the child, the
 * interrupted engine code resumes after the handler and releases the lock
 * itself, so the child's thread becomes the owner.
 */
#include <pthread.h>
#include "hooks.h"
#include "include/mapwarden_engine.h"
#include "include/platform/lock.h"
#include "include/platform/report_gate.h"

static __thread int fork_from_owner __attribute__((tls_model("initial-exec")));

static void fork_prepare(void) { fork_from_owner = mw_lock_before_fork(); }

static void fork_parent(void) {
    int held_before = fork_from_owner;
    fork_from_owner = 0;
    mw_lock_after_fork_parent(held_before);
}

static void fork_child(void) {
    mw_lock_after_fork_child();
    mw_report_gate_after_fork_child();
    mw_faults_after_fork_child();
    mw_exit_set_owner();
    if (fork_from_owner) {
        fork_from_owner = 0;
        return;
    }
    mw_engine_forked(); /* releases the lock */
}

void mw_install_fork_handlers(void) { pthread_atfork(fork_prepare, fork_parent, fork_child); }
