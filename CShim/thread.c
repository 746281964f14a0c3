/*
 * thread.c - the calling thread: its kernel thread id (cached) and an
 * address on its stack (thread.h).
 *
 * Layer: platform. Calls the kernel (gettid) only.
 */
#include "include/mapwarden_kernel.h"
#include "include/platform/thread.h"

__thread unsigned mw_tid __attribute__((tls_model("initial-exec")));

unsigned mw_thread_id_renew(void) {
    mw_tid = (unsigned)mw_sys_gettid();
    return mw_tid;
}

uintptr_t mw_stack_address(void) {
    volatile char here = 0;
    return (uintptr_t)&here;
}
