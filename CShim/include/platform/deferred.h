/*
 * deferred.h - the deferred log (deferred.c).
 *
 * Layer: platform. Included by the engine (module.modulemap: Deferral.swift
 * writes and replays it). Calls nothing.
 *
 * One log, written only on the lock owner's thread, by signal handlers
 * that interrupted it while it held the registry lock. Such a handler's
 * calls change the kernel's mappings at once, keep the window covered, and
 * leave the registry change here; the interrupted thread applies it before
 * releasing the lock.
 */
#ifndef MAPWARDEN_PLATFORM_DEFERRED_H
#define MAPWARDEN_PLATFORM_DEFERRED_H

#include <stdatomic.h>
#include <stdint.h>

enum mw_deferred_op {
    MW_DEFERRED_NONE = 0,    /* the kernel call failed: nothing to record */
    MW_DEFERRED_INSERT = 1,  /* a mapping [lo, hi) with prot, kind, offset */
    MW_DEFERRED_REMOVE = 2,  /* [lo, hi) went back to the reservation */
    MW_DEFERRED_PROTECT = 3, /* [lo, hi) now has prot */
    MW_DEFERRED_REPAIR = 4,  /* a fixed mapping over [lo, hi) failed */
    MW_DEFERRED_SNAPSHOT = 5 /* the snapshot signal arrived: write one after the unlock */
};
struct mw_deferred {
    uint32_t op;
    int32_t prot;
    uint32_t kind;
    uint32_t unused;
    uint64_t lo, hi, offset;
};
#define MW_DEFERRED_CAPACITY 4096

/* A slot to fill (op starts as NONE), or NULL when the log is full. */
struct mw_deferred *mw_deferred_reserve(void);

extern _Atomic unsigned mw_deferred_reserved __attribute__((visibility("hidden")));
/* Entries in the log (nearly always 0: one load on every unlock). */
static inline __attribute__((always_inline)) unsigned mw_deferred_count(void) {
    return atomic_load(&mw_deferred_reserved);
}
const struct mw_deferred *mw_deferred_entry(unsigned index);
/* Empties the log if it still holds `seen` entries; else 0 (more arrived). */
int mw_deferred_finish(unsigned seen);

#endif
