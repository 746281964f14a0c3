/*
 * backtrace.h - stack capture for the leak report (backtrace.c): libunwind,
 * dlopen'd, and unw_backtrace.
 *
 * Layer: platform. Included by the engine (module.modulemap), the hooks
 * (interpose.c captures the caller's stack; startup.c lets libunwind load).
 * Calls nothing above it.
 */
#ifndef MAPWARDEN_PLATFORM_BACKTRACE_H
#define MAPWARDEN_PLATFORM_BACKTRACE_H

#include <stdint.h>

#define MW_MAX_BACKTRACE_DEPTH 128

/* The libunwind to load (NULL: libunwind.so.8), MAPWARDEN_BACKTRACE_DEPTH,
 * whether to say so on stderr if it cannot be loaded, and whether to load
 * it at start-up whatever else holds (stacks are wanted where it cannot
 * be loaded safely later). */
void mw_backtrace_configure(const char *library, int depth, int verbose, int at_start);
/* From mapwarden's constructor: loads libunwind now when it cannot wait
 * (backtrace.c says when), else lets the first call that needs it load it. */
void mw_backtrace_allow_loading(void);
/* Nonzero while libunwind waits to be loaded at the first call that needs it. */
int mw_backtrace_pending(void);
/* Nonzero when this call may load it now, and does so from here on: then
 * mw_backtrace_load_claimed() must follow. Zero when it is loaded, being
 * loaded, or this thread may be in a signal handler (unless
 * at_thread_start: from pthread_create, which no handler calls). */
int mw_backtrace_claim_loading(int at_thread_start);
void mw_backtrace_load_claimed(void);
/* libunwind will not be loaded (why: for the report), from waiting or from
 * a claimed load. */
void mw_backtrace_give_up(const char *why);
/* Why there are no stacks (libunwind missing...), or NULL. */
const char *mw_backtrace_error(void);

/* Up to `capacity` (and MAPWARDEN_BACKTRACE_DEPTH) return addresses of the
 * caller's stack, without mapwarden's own frames and trailing zeros. 0 when
 * capture is off or unavailable, or when called again from inside a capture. */
int mw_backtrace(uint64_t *out, int capacity);
/* The same from the frame whose address is start, when the stack has one
 * (a signal handler's caller: the interrupted instruction), else as above. */
int mw_backtrace_from(uint64_t *out, int capacity, uintptr_t start);

/* Nonzero while this thread is inside libunwind: calls it makes then go
 * straight to the kernel. */
extern __thread int mw_capture_flag __attribute__((tls_model("initial-exec"), visibility("hidden")));
static inline int mw_capturing(void) { return mw_capture_flag; }

#endif
