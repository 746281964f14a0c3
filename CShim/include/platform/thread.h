/*
 * thread.h - the calling thread: its kernel thread id, and an address on
 * its stack (thread.c).
 *
 * Layer: platform. Included by the engine (module.modulemap), the lock
 * (lock.c) and the hooks (exit.c). Calls nothing above it: the kernel
 * (gettid) only.
 */
#ifndef MAPWARDEN_PLATFORM_THREAD_H
#define MAPWARDEN_PLATFORM_THREAD_H

#include <stdint.h>
#include "../mapwarden_kernel.h"

/* This thread's id, once asked (0 before). */
extern __thread unsigned mw_tid __attribute__((tls_model("initial-exec"), visibility("hidden")));

/* Asks the kernel for this thread's id and remembers it (mw_tid). */
static inline unsigned mw_thread_id_renew(void) {
    mw_tid = (unsigned)mw_sys_gettid();
    return mw_tid;
}

/* The calling thread's id (cached; right in a forked child too, whose fork
 * handler renews it). */
static inline __attribute__((always_inline)) unsigned mw_thread_id(void) {
    unsigned id = mw_tid;
    return __builtin_expect(id != 0, 1) ? id : mw_thread_id_renew();
}

/* Address of a local variable of the caller's frame (a stack address). */
uintptr_t mw_stack_address(void);

#endif
