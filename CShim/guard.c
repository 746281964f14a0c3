/*
 * guard.c - the reentrancy guard's state: the start-up phase of the
 * process, and this thread's start-up depth (hooks.h reads them).
 *
 * Layer: hooks. Data only: every hook file reads it, it calls nothing.
 */
#include "hooks.h"

__thread unsigned mw_depth __attribute__((tls_model("initial-exec")));
_Atomic int mw_phase = MW_NOT_STARTED;
