/*
 * guard.c - start-up, the reentrancy guard's state, the registry lock and
 * the fork handlers. No decisions about mappings are made here.
 */
#include <pthread.h>
#include <sys/auxv.h>
#include <string.h>
#include "guard.h"
#include "include/mapwarden_engine.h"

__thread unsigned mw_depth __attribute__((tls_model("initial-exec")));
_Atomic int mw_phase = MW_NOT_STARTED;

static _Atomic int lock_word;

void mw_lock(void) {
    unsigned spins = 0;
    while (atomic_exchange_explicit(&lock_word, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&lock_word, memory_order_relaxed)) {
            if (++spins < 64) {
#if defined(__x86_64__)
                __builtin_ia32_pause();
#elif defined(__aarch64__)
                __asm__ volatile("yield");
#endif
            } else {
                mw_sys_sched_yield();
            }
        }
    }
}

void mw_unlock(void) { atomic_store_explicit(&lock_word, 0, memory_order_release); }

/* A thread inside the engine holds the lock across fork: the child gets a
 * consistent registry and an unlocked lock, never a lock held by a thread
 * that does not exist in it. */
static void fork_prepare(void) { mw_lock(); }
static void fork_release(void) { mw_unlock(); }

int mw_start(void) {
    int expected = MW_NOT_STARTED;
    if (!atomic_compare_exchange_strong(&mw_phase, &expected, MW_STARTING)) {
        /* Another thread is starting (its calls meanwhile go to the kernel),
         * or start-up already finished. */
        return expected == MW_ACTIVE;
    }
    mw_depth = 1;
    int active = mw_engine_start();
    if (active) pthread_atfork(fork_prepare, fork_release, fork_release);
    mw_depth = 0;
    atomic_store_explicit(&mw_phase, active ? MW_ACTIVE : MW_INACTIVE, memory_order_release);
    return active;
}

/* Other libraries' constructors may call mmap before this one runs; the
 * first such call starts mapwarden lazily. This is the fallback. */
__attribute__((constructor(101))) static void mw_constructor(void) {
    if (atomic_load(&mw_phase) == MW_NOT_STARTED) mw_start();
}

extern char **environ;

const char *mw_getenv(const char *name) {
    size_t n = strlen(name);
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
    }
    return NULL;
}

unsigned long mw_at_secure(void) { return getauxval(AT_SECURE); }

unsigned long mw_page_size(void) {
    unsigned long p = getauxval(AT_PAGESZ);
    return p ? p : 4096;
}

uintptr_t mw_stack_address(void) {
    volatile char here = 0;
    return (uintptr_t)&here;
}
