/*
 * report_gate.h - one report at a time (report_gate.c): a snapshot of the
 * live mappings (snapshot.c) and the report at the process's end (exit.c)
 * share the engine's report memory, so they never overlap.
 *
 * Layer: platform. Included by the hooks (exit.c, snapshot.c). Calls
 * nothing above it: the kernel (futex) and thread.c.
 */
#ifndef MAPWARDEN_PLATFORM_REPORT_GATE_H
#define MAPWARDEN_PLATFORM_REPORT_GATE_H

/* A snapshot may start: nonzero when it now holds the gate; 0 when another
 * report is being written (or the end's has begun): the snapshot is not
 * taken. Never waits (it may run in a signal handler). */
int mw_report_gate_try_snapshot(void);
void mw_report_gate_end_snapshot(void);

/* In a forked child: a snapshot another thread of the parent was writing
 * is none of the child's (the gate opens again; a closed one stays closed). */
void mw_report_gate_after_fork_child(void);

/* The end's report: closes the gate for good, first waiting (at most
 * two seconds) for a snapshot another thread is writing. A snapshot this
 * thread was writing (a signal handler interrupted it to end the process)
 * is not waited for. */
void mw_report_gate_close(void);

#endif
