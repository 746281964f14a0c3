/*
 * deferred.c - the deferred log (deferred.h).
 *
 * Layer: platform. Calls nothing.
 *
 * Registry changes made by signal handlers that ran while their thread held
 * the registry lock, applied under the lock before (or just after) it is
 * released (Deferral.swift). Only handlers on the thread that owns the lock
 * write here, so one log serves the process; they run on top of the
 * interrupted owner and finish before it resumes, and atomics keep nested
 * handlers from sharing a slot. It lives in .bss: pages no handler ever
 * touched cost nothing, and a storm of signals at one owner (a timer firing
 * faster than the owner can run) has room for thousands of calls.
 */
#include <stdatomic.h>
#include <stddef.h>
#include "include/platform/deferred.h"

/* Entries reserved so far (read inline by mw_deferred_count). */
_Atomic unsigned mw_deferred_reserved;

static struct {
    struct mw_deferred entry[MW_DEFERRED_CAPACITY];
} deferred;

struct mw_deferred *mw_deferred_reserve(void) {
    unsigned i = atomic_fetch_add(&mw_deferred_reserved, 1);
    if (i >= MW_DEFERRED_CAPACITY) return NULL;
    deferred.entry[i].op = MW_DEFERRED_NONE;
    return &deferred.entry[i];
}

const struct mw_deferred *mw_deferred_entry(unsigned i) {
    return i < MW_DEFERRED_CAPACITY ? &deferred.entry[i] : NULL;
}

int mw_deferred_finish(unsigned seen) {
    return atomic_compare_exchange_strong(&mw_deferred_reserved, &seen, 0);
}
