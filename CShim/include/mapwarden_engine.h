/*
 * mapwarden_engine.h - the engine's entry points: what the hooks call.
 *
 * Layer: engine. Implemented by the engine (Sources/MapwardenEngine,
 * Embedded Swift, @_cdecl, in Exports.swift); included by the hooks
 * (interpose.c, startup.c, fork.c, exit.c), and by the engine itself
 * (module.modulemap) for MW_NEEDS_STACK and enum mw_end. Never by a
 * platform file: the platform layer does not call up.
 *
 * Every interposed call that passes the reentrancy guard (hooks.h) is
 * handed to the engine, which decides and makes the one system call. The
 * services the engine calls in turn (the lock, the deferred log, the
 * environment, stacks...) are the platform layer's: include/platform/ and
 * mapwarden_kernel.h.
 *
 * Engine functions return the kernel's convention: a value, or -errno.
 * The hooks turn that into the libc convention (errno, -1 / MAP_FAILED).
 */
#ifndef MAPWARDEN_ENGINE_H
#define MAPWARDEN_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include "mapwarden.h"


/* Reads the configuration and reserves the window. Returns 1 when a window
 * is held, 0 when mapwarden stays inactive. May exit the process with a
 * documented status under MAPWARDEN_ON_RESERVE_FAILURE=abort. */
int mw_engine_start(void);

/* Right before libunwind is loaded late: the top of the unwind zone goes
 * back to the kernel, and every free range above it is covered, so that
 * the loader maps libunwind there (LoaderRoom.swift): 1, or 0 when that
 * could not be done (then it is not loaded). Right after, the covers go. */
int mw_engine_make_room_for_unwinder(void);
void mw_engine_unwinder_loaded(void);

/* Each also takes the caller's stack (NULL, 0 at first): when the engine
 * will record the call and has no stack, it answers MW_NEEDS_STACK and the
 * hook asks again with one. */
#define MW_NEEDS_STACK (-4096L)
#define MW_STACK , const uint64_t *stack, int depth
long mw_engine_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, long off MW_STACK);
long mw_engine_munmap(uintptr_t addr, size_t len MW_STACK);
long mw_engine_mprotect(uintptr_t addr, size_t len, int prot MW_STACK);
long mw_engine_pkey_mprotect(uintptr_t addr, size_t len, int prot, int pkey MW_STACK);
long mw_engine_mremap(uintptr_t old, size_t old_len, size_t new_len, int flags, uintptr_t new_addr MW_STACK);
long mw_engine_madvise(uintptr_t addr, size_t len, int advice MW_STACK);
long mw_engine_mlock(uintptr_t addr, size_t len MW_STACK);
long mw_engine_mlock2(uintptr_t addr, size_t len, unsigned flags MW_STACK);
long mw_engine_munlock(uintptr_t addr, size_t len MW_STACK);
long mw_engine_msync(uintptr_t addr, size_t len, int flags MW_STACK);
long mw_engine_mincore(uintptr_t addr, size_t len, unsigned char *vec MW_STACK);
/* mlockall(flags), or munlockall() when flags is -1 (no stack needed). */
long mw_engine_mlockall(int flags);
long mw_engine_query(uintptr_t addr, struct mapwarden_info *info);
/* The public API beyond mapwarden_query (mapwarden.h); -errno on failure. */
long mw_engine_windows(struct mapwarden_window *buf, size_t n);
long mw_engine_set_tag(uintptr_t addr, uintptr_t tag);
long mw_engine_get_tag(uintptr_t addr, uintptr_t *tag);
long mw_engine_alloc(const char *window, size_t size, size_t align, int prot, int flags MW_STACK);

/* In a forked child, with the lock held by the child's thread: forget what
 * the child did not inherit (MADV_DONTFORK ranges) and reserve those ranges
 * again, then release the lock. */
void mw_engine_forked(void);

/* A snapshot of the live mappings (Snapshot.swift): to path (a template:
 * %p, %e), or with path NULL to the next default name. from_signal: the
 * snapshot signal's handler (no demangling; a handler that interrupted the
 * engine on its own thread has it written when the engine unlocks).
 * 0, or -errno (EAGAIN: another report is being written). */
int mw_engine_snapshot(const char *path, int from_signal);

/* MAPWARDEN_SNAPSHOT_SIGNAL, or 0 (the hooks install its handler). */
int mw_engine_snapshot_signal(void);

/* How the process ends: exit() (after the program's exit handlers), or at
 * once (_exit, _Exit, quick_exit, exit_group: the report names frames
 * without demangling them, and window files are left as a crash leaves them). */
enum mw_end { MW_END_EXIT = 0, MW_END__EXIT = 1, MW_END__EXIT_C99 = 2, MW_END_QUICK_EXIT = 3, MW_END_EXIT_GROUP = 4,
              MW_END_CRASH = 5 /* a fault that kills the process (faults.c) */ };

/* At the end of the process: writes the report. Returns the status the
 * process must end with (MAPWARDEN_LEAK_EXITCODE when leaks remain), or 0. */
int mw_engine_exit(int how);

/* MAPWARDEN_FAULTS (faults.c): nonzero when a SIGSEGV or SIGBUS that would
 * kill the process is to be explained (the handler is installed then). */
int mw_engine_explains_faults(void);

/* MAPWARDEN_RAW_SYSCALLS (rawsyscalls.c): nonzero when raw mmap-family
 * system calls that meet a window are trapped (seccomp, SIGSYS) and served
 * through the mw_engine_* entry points above. */
int mw_engine_traps_raw_syscalls(void);

/* The seccomp filter of MAPWARDEN_RAW_SYSCALLS=trap (RawSyscallFilter, in
 * the logic) for the windows held, written into buf (capacity instructions
 * laid out as struct sock_filter), with calls made from [text_lo, text_hi)
 * (the library's executable segment) let through. Returns its length, or 0. */
long mw_engine_raw_syscall_filter(void *buf, long capacity, uintptr_t text_lo, uintptr_t text_hi);

/* Called from the fault handler (faults.c) for a SIGSEGV (bus == 0) or
 * SIGBUS that will kill the process: when addr lies in a window, writes the
 * explanation to standard error and returns 1; else returns 0. access:
 * 0 unknown, 1 read, 2 write, 3 exec. Async-signal-safe: no allocation,
 * and the lock is only tried (this thread may hold it). */
int mw_engine_fault(int bus, int access_error, uintptr_t addr, int access);

#endif
