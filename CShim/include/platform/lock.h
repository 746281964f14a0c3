/*
 * lock.h - the registry lock (lock.c).
 *
 * Layer: platform. Included by the engine (module.modulemap) and by the
 * hooks' fork handlers (fork.c). Calls nothing above it.
 *
 * One lock for the process, around every change to a window and its
 * registry. The lock word holds the owner's thread id, so that a signal
 * handler can tell "my own thread holds it" (it must not wait: see
 * Deferral.swift and deferred.h) from "another thread holds it" (it waits
 * like anyone). Uncontended it is one compare-and-swap; contended it spins
 * briefly, then sleeps on a futex.
 */
#ifndef MAPWARDEN_PLATFORM_LOCK_H
#define MAPWARDEN_PLATFORM_LOCK_H

#include <stdatomic.h>
#include "thread.h"

/* The fast paths are inline (one compare-and-swap, one exchange, a few
 * loads: they run around every window call); waiting and waking are in
 * lock.c. */
#define MW_LOCK_WAITERS 0x80000000u
/* The owner's thread id, with MW_LOCK_WAITERS while someone sleeps on it. */
extern _Atomic unsigned mw_lock_word __attribute__((visibility("hidden")));
/* Set in a forked child while it changes its thread id and the lock word
 * (two stores a signal handler could fall between): the lock is this
 * thread's throughout. */
extern __thread volatile int mw_lock_renaming __attribute__((tls_model("initial-exec"), visibility("hidden")));
void mw_lock_contended(unsigned id);
void mw_unlock_wake(void);

static inline __attribute__((always_inline)) void mw_lock(void) {
    unsigned id = mw_thread_id(), expected = 0;
    if (__builtin_expect(!atomic_compare_exchange_strong_explicit(&mw_lock_word, &expected, id, memory_order_acquire,
                                                                  memory_order_relaxed), 0))
        mw_lock_contended(id);
}

static inline __attribute__((always_inline)) void mw_unlock(void) {
    if (__builtin_expect(atomic_exchange_explicit(&mw_lock_word, 0, memory_order_release) & MW_LOCK_WAITERS, 0))
        mw_unlock_wake();
}

/* Takes the lock if it is free and returns nonzero; else returns 0 at once
 * (the fault handler, which must never wait on a lock that its own thread,
 * or a thread that will never run again, may hold). */
int mw_trylock(void);

/* Nonzero while this thread holds the lock: a call that finds it set comes
 * from a signal handler that interrupted the engine on this thread. */
static inline __attribute__((always_inline)) int mw_owns_lock(void) {
    if (mw_lock_renaming) return 1;
    unsigned owner = atomic_load_explicit(&mw_lock_word, memory_order_relaxed) & ~MW_LOCK_WAITERS;
    return mw_tid != 0 && owner == mw_tid;
}

/* fork (pthread_atfork, fork.c): the forking thread holds the lock across
 * fork, so the child gets a consistent registry and a lock no vanished
 * thread holds. mw_lock_before_fork takes it and returns 0, or returns 1
 * (taking nothing) when this thread holds it already: the fork comes from a
 * signal handler that interrupted it inside the engine, whose code resumes
 * after the handler and releases the lock itself, in the parent as in the
 * child. mw_lock_after_fork_parent(held_before) releases what before_fork
 * took. mw_lock_after_fork_child makes the child's thread the owner (the
 * lock stays held; the parent's sleepers do not exist in the child). */
int mw_lock_before_fork(void);
void mw_lock_after_fork_parent(int held_before);
void mw_lock_after_fork_child(void);

#endif
