/*
 * clock.h - the processor's tick counter: a time stamp that costs no
 * system call (the unmap history's, read under the lock on munmap's path).
 *
 * Layer: platform. Included by the engine (module.modulemap). Calls
 * nothing: one instruction. Ticks become nanoseconds only at a crash, scaled
 * by the interval from start-up, which the engine measured in both
 * (FaultExplanation.nanoseconds).
 */
#ifndef MAPWARDEN_PLATFORM_CLOCK_H
#define MAPWARDEN_PLATFORM_CLOCK_H

#include <stdint.h>

static inline uint64_t mw_ticks(void) {
#if defined(__x86_64__)
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
#elif defined(__aarch64__)
    uint64_t v;
    __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#else
    return 0;
#endif
}

#endif
