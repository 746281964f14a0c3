/*
 * lock.c - the registry lock and what fork needs of it.
 *
 * The lock word holds the owner's thread id (with a waiters bit), so that a
 * signal handler can tell "my own thread holds the lock" (it must not wait:
 * see Deferral.swift) from "another thread holds it" (it waits like anyone).
 * Uncontended it is one compare-and-swap; contended it spins briefly, then
 * sleeps on a futex instead of burning a core.
 */
#include <pthread.h>
#include "guard.h"
#include "include/mapwarden_engine.h"

#define WAITERS 0x80000000u

static _Atomic unsigned lock_word;
static __thread unsigned self_tid __attribute__((tls_model("initial-exec")));

static inline unsigned self(void) {
    if (__builtin_expect(self_tid == 0, 0)) self_tid = (unsigned)mw_sys_gettid();
    return self_tid;
}

/* Set in a forked child while it changes its thread id and the lock word
 * (two stores a signal handler could fall between): the lock is this
 * thread's throughout. */
static __thread volatile int renaming_owner __attribute__((tls_model("initial-exec")));

int mw_owns_lock(void) {
    if (renaming_owner) return 1;
    unsigned owner = atomic_load_explicit(&lock_word, memory_order_relaxed) & ~WAITERS;
    return self_tid != 0 && owner == self_tid;
}

void mw_lock(void) {
    unsigned id = self(), expected = 0;
    if (atomic_compare_exchange_strong_explicit(&lock_word, &expected, id, memory_order_acquire,
                                                memory_order_relaxed))
        return;
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
        mw_sys_futex_wait(&lock_word, w);
    }
}

void mw_unlock(void) {
    if (atomic_exchange_explicit(&lock_word, 0, memory_order_release) & WAITERS) mw_sys_futex_wake(&lock_word, 1);
}

/*
 * fork: the forking thread holds the lock across fork, so the child gets a
 * consistent registry and a lock no vanished thread holds. If the fork comes
 * from a signal handler that interrupted this very thread inside the engine
 * (it already holds the lock), nothing is taken: in the child, the
 * interrupted engine code resumes after the handler and releases the lock
 * itself, so the child's thread becomes the owner.
 */
static __thread int fork_from_owner __attribute__((tls_model("initial-exec")));

static void fork_prepare(void) {
    if (mw_owns_lock()) {
        fork_from_owner = 1;
        return;
    }
    mw_lock();
}

static void fork_parent(void) {
    if (fork_from_owner) {
        fork_from_owner = 0;
        return;
    }
    mw_unlock();
}

static void fork_child(void) {
    /* The child's thread owns the lock now (the parent's sleepers do not
     * exist here), so that a signal handler in the child sees it as its own. */
    renaming_owner = 1;
    atomic_signal_fence(memory_order_seq_cst);
    self_tid = (unsigned)mw_sys_gettid();
    atomic_store(&lock_word, self_tid);
    atomic_signal_fence(memory_order_seq_cst);
    renaming_owner = 0;
    mw_exit_set_owner();
    if (fork_from_owner) {
        fork_from_owner = 0;
        return;
    }
    mw_engine_forked(); /* releases the lock */
}

void mw_install_fork_handlers(void) { pthread_atfork(fork_prepare, fork_parent, fork_child); }

unsigned mw_thread_id(void) { return self(); }
