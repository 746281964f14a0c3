/*
 * guard.h - the reentrancy guard and start-up state of the interposer.
 *
 * A hook hands a call to the engine only when this thread is not already
 * inside the engine (the Swift code, libunwind and dlsym may call mmap
 * back) and mapwarden is started. Everything else goes straight to the
 * kernel.
 */
#ifndef MAPWARDEN_GUARD_H
#define MAPWARDEN_GUARD_H

#include <stdatomic.h>

enum mw_phase { MW_NOT_STARTED = 0, MW_STARTING = 1, MW_ACTIVE = 2, MW_INACTIVE = 3 };

extern __thread unsigned mw_depth __attribute__((tls_model("initial-exec"), visibility("hidden")));
extern _Atomic int mw_phase __attribute__((visibility("hidden")));

/* Starts mapwarden on the first call (lazy; the constructor is the
 * fallback). Returns nonzero when the engine holds a window. */
int mw_start(void) __attribute__((visibility("hidden")));

/* Nonzero when the caller may enter the engine; then call mw_leave(). */
static inline int mw_enter(void) {
    if (__builtin_expect(mw_depth != 0, 0)) return 0;
    int phase = atomic_load_explicit(&mw_phase, memory_order_acquire);
    if (__builtin_expect(phase != MW_ACTIVE, 0)) {
        if (phase != MW_NOT_STARTED || !mw_start()) return 0;
    }
    mw_depth = 1;
    return 1;
}

static inline void mw_leave(void) { mw_depth = 0; }

#endif
