/*
 * deferred.c - the per-thread deferred log.
 *
 * Registry changes made by signal handlers that ran while their thread held
 * the registry lock, applied by that thread before (or just after) it
 * releases it (Deferral.swift). Producers only ever run on top of the
 * consumer, on the same thread, and finish before it resumes; atomics keep
 * nested handlers from sharing a slot.
 */
#include "include/mapwarden_engine.h"
#include <stdatomic.h>

static __thread struct {
    _Atomic unsigned reserved;
    struct mw_deferred entry[MW_DEFERRED_CAPACITY];
} deferred __attribute__((tls_model("initial-exec")));

struct mw_deferred *mw_deferred_reserve(void) {
    unsigned i = atomic_fetch_add(&deferred.reserved, 1);
    if (i >= MW_DEFERRED_CAPACITY) return NULL;
    deferred.entry[i].op = MW_DEFERRED_NONE;
    return &deferred.entry[i];
}

unsigned mw_deferred_count(void) { return atomic_load(&deferred.reserved); }

const struct mw_deferred *mw_deferred_entry(unsigned i) {
    return i < MW_DEFERRED_CAPACITY ? &deferred.entry[i] : NULL;
}

int mw_deferred_finish(unsigned seen) {
    return atomic_compare_exchange_strong(&deferred.reserved, &seen, 0);
}
