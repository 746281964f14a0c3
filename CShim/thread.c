/*
 * thread.c - the calling thread: its kernel thread id (cached) and an
 * address on its stack (thread.h).
 *
 * Layer: platform. Calls nothing (the id is asked for inline, thread.h).
 */
#include "include/platform/thread.h"

__thread unsigned mw_tid __attribute__((tls_model("initial-exec")));

uintptr_t mw_stack_address(void) {
    volatile char here = 0;
    return (uintptr_t)&here;
}
