/*
 * snapshot.c - the snapshot signal (MAPWARDEN_SNAPSHOT_SIGNAL): its handler
 * writes a snapshot of the live mappings (Snapshot.swift) while the
 * program runs, for programs that never exit (`mapwarden snapshot PID`).
 *
 * Layer: hooks. Calls the engine (mw_engine_snapshot, mw_engine_snapshot_signal).
 *
 * The handler is async-signal-safe as the engine's report is: raw system
 * calls, memory mapped at start-up, no malloc, no demangling, no stdio.
 * A signal that interrupts this thread inside the engine (the registry is
 * mid-change) has the snapshot written when the engine unlocks. The
 * program may install its own handler for the same signal later: then it
 * is the program's (say so in the docs, not here).
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include "hooks.h"
#include "include/mapwarden_engine.h"

static void on_snapshot_signal(int sig) {
    (void)sig;
    int saved = errno;
    (void)mw_engine_snapshot(NULL, 1);
    errno = saved;
}

void mw_snapshot_install(void) {
    int sig = mw_engine_snapshot_signal();
    if (sig <= 0) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_snapshot_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}
