/*
 * report_gate.c - one report at a time (report_gate.h).
 *
 * Layer: platform. Calls thread.c and the kernel (futex).
 */
#include <stdatomic.h>
#include <linux/futex.h>
#include <time.h>
#include "include/mapwarden_kernel.h"
#include "include/platform/report_gate.h"
#include "include/platform/thread.h"

enum { OPEN = 0, SNAPSHOT = 1, CLOSED = 2 };

static _Atomic unsigned gate;
static _Atomic unsigned writer; /* the thread writing a snapshot */

int mw_report_gate_try_snapshot(void) {
    unsigned expected = OPEN;
    if (!atomic_compare_exchange_strong_explicit(&gate, &expected, SNAPSHOT, memory_order_acq_rel, memory_order_acquire))
        return 0;
    atomic_store_explicit(&writer, mw_thread_id(), memory_order_relaxed);
    return 1;
}

void mw_report_gate_end_snapshot(void) {
    atomic_store_explicit(&writer, 0, memory_order_relaxed); /* (before the gate opens: never a stale writer) */
    unsigned expected = SNAPSHOT;
    atomic_compare_exchange_strong_explicit(&gate, &expected, OPEN, memory_order_acq_rel, memory_order_acquire);
    mw_sys_futex(&gate, FUTEX_WAKE_PRIVATE, 1 << 30, NULL);
}

void mw_report_gate_after_fork_child(void) {
    /* The thread that wrote a snapshot does not exist in the child. */
    atomic_store_explicit(&writer, 0, memory_order_relaxed);
    unsigned expected = SNAPSHOT;
    atomic_compare_exchange_strong_explicit(&gate, &expected, OPEN, memory_order_relaxed, memory_order_relaxed);
}

void mw_report_gate_close(void) {
    for (int slices = 0; slices < 20; slices++) {
        unsigned expected = OPEN;
        if (atomic_compare_exchange_strong_explicit(&gate, &expected, CLOSED, memory_order_acq_rel, memory_order_acquire))
            return;
        if (expected == CLOSED) return;
        if (atomic_load_explicit(&writer, memory_order_relaxed) == mw_thread_id()) break;
        struct timespec slice = { 0, 100 * 1000 * 1000 };
        mw_sys_futex(&gate, FUTEX_WAIT_PRIVATE, SNAPSHOT, &slice);
    }
    atomic_store_explicit(&gate, CLOSED, memory_order_release);
}
