/*
 * lock.c - the registry lock, and what fork needs of it (lock.h).
 *
 * Layer: platform. Calls thread.c (thread ids) and the kernel (futex).
 *
 * The lock word holds the owner's thread id (with a waiters bit), so that a
 * signal handler can tell "my own thread holds the lock" (it must not wait:
 * see Deferral.swift) from "another thread holds it" (it waits like anyone).
 * Uncontended it is one compare-and-swap; contended it spins briefly, then
 * sleeps on a futex instead of burning a core.
 */
#include <stdatomic.h>
#include <linux/futex.h>
#include "include/mapwarden_kernel.h"
#include "include/platform/lock.h"
#include "include/platform/thread.h"

#define WAITERS MW_LOCK_WAITERS
#define lock_word mw_lock_word

_Atomic unsigned mw_lock_word;
__thread volatile int mw_lock_renaming __attribute__((tls_model("initial-exec")));

void mw_lock_contended(unsigned id) {
    unsigned expected;
    for (int spins = 0; spins < 100; spins++) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ volatile("yield");
#endif
        expected = 0;
        if (atomic_load_explicit(&lock_word, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&lock_word, &expected, id, memory_order_acquire,
                                                    memory_order_relaxed))
            return;
    }
    for (;;) {
        unsigned w = atomic_load_explicit(&lock_word, memory_order_relaxed);
        if (w == 0) {
            /* Others may still sleep: keep the bit so that unlock wakes one. */
            if (atomic_compare_exchange_strong_explicit(&lock_word, &w, id | WAITERS, memory_order_acquire,
                                                        memory_order_relaxed))
                return;
            continue;
        }
        if (!(w & WAITERS)) {
            if (!atomic_compare_exchange_strong_explicit(&lock_word, &w, w | WAITERS, memory_order_relaxed,
                                                         memory_order_relaxed))
                continue;
            w |= WAITERS;
        }
        mw_sys_futex(&lock_word, FUTEX_WAIT_PRIVATE, w, NULL);
    }
}

void mw_unlock_wake(void) {
    mw_sys_futex(&lock_word, FUTEX_WAKE_PRIVATE, 1, NULL);
}

int mw_trylock(void) {
    unsigned expected = 0;
    return atomic_compare_exchange_strong_explicit(&lock_word, &expected, mw_thread_id(), memory_order_acquire,
                                                   memory_order_relaxed);
}

int mw_lock_before_fork(void) {
    if (mw_owns_lock()) return 1;
    mw_lock();
    return 0;
}

void mw_lock_after_fork_parent(int held_before) {
    if (!held_before) mw_unlock();
}

void mw_lock_after_fork_child(void) {
    /* The child's thread owns the lock now (the parent's sleepers do not
     * exist here), so that a signal handler in the child sees it as its own. */
    mw_lock_renaming = 1;
    atomic_signal_fence(memory_order_seq_cst);
    atomic_store(&lock_word, mw_thread_id_renew());
    atomic_signal_fence(memory_order_seq_cst);
    mw_lock_renaming = 0;
}
