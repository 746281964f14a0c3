/*
 * mapwarden_engine.h - the small C API that joins the interposer (CShim/)
 * and the engine (Sources/MapwardenEngine, Embedded Swift, @_cdecl).
 *
 * Engine -> shim: the engine calls mw_lock/mw_unlock around every change
 * to a window, and reads its environment through mw_getenv.
 * Shim -> engine: every interposed call that passes the reentrancy guard is
 * handed to the engine, which decides and makes the one syscall.
 *
 * Engine functions return the kernel's convention: a value, or -errno.
 * The shim turns that into the libc convention (errno, -1 / MAP_FAILED).
 */
#ifndef MAPWARDEN_ENGINE_H
#define MAPWARDEN_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include "mapwarden.h"
#include "mapwarden_kernel.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif

/* ---- provided by the shim (CShim/guard.c) ---- */

/* The registry lock: a spin lock, taken across fork by pthread_atfork. */
void mw_lock(void);
void mw_unlock(void);

/* Nonzero while this thread holds the lock: a call that finds it set comes
 * from a signal handler that interrupted the engine on this thread. */
int mw_owns_lock(void);

/* The deferred log (one, written only on the lock owner's thread). Such a handler's calls change the kernel's
 * mappings at once, keep the window covered, and leave the registry change
 * here; the interrupted thread applies it before releasing the lock. */
enum mw_deferred_op {
    MW_DEFERRED_NONE = 0,    /* the kernel call failed: nothing to record */
    MW_DEFERRED_INSERT = 1,  /* a mapping [lo, hi) with prot, kind, offset */
    MW_DEFERRED_REMOVE = 2,  /* [lo, hi) went back to the reservation */
    MW_DEFERRED_PROTECT = 3, /* [lo, hi) now has prot */
    MW_DEFERRED_REPAIR = 4   /* a fixed mapping over [lo, hi) failed */
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
unsigned mw_deferred_count(void);
const struct mw_deferred *mw_deferred_entry(unsigned index);
/* Empties the log if it still holds `seen` entries; else 0 (more arrived). */
int mw_deferred_finish(unsigned seen);

/* getenv that is safe before libc is initialised (walks environ, or a copy
 * of /proc/self/environ while environ is not set yet). */
const char *mw_getenv(const char *name);

/* The environment's entries one by one ("KEY=VALUE"), from *cursor (start
 * at 0); NULL at the end. Safe before libc is initialised, as mw_getenv. */
const char *mw_env_entry(unsigned long *cursor);

/* Frees that copy once start-up has read its configuration. */
void mw_release_initial_environment(void);

/* getauxval(AT_SECURE): nonzero in setuid/setgid/capability processes. */
unsigned long mw_at_secure(void);

/* The page size from the auxiliary vector. */
unsigned long mw_page_size(void);

/* Address of a local variable of the caller's frame (a stack address). */
uintptr_t mw_stack_address(void);

/* The calling thread's id (cached; right in a forked child too). */
unsigned mw_thread_id(void);

/* Removes the preload library from LD_PRELOAD in the environment, so that
 * programs this one execs run without it (MAPWARDEN_CHILDREN=stop). */
void mw_stop_following_children(void);

/* ---- stacks (backtrace.c) ---- */

#define MW_MAX_BACKTRACE_DEPTH 128

/* Static scratch buffers for start-up and exit: 0-3 are
 * MW_STATIC_BUFFER_SIZE bytes, 4 is MW_STARTUP_TEXT_SIZE. */
#define MW_STATIC_BUFFER_SIZE 8192
/* The report's template (16 KiB at most: its directory's % signs doubled), and
 * PATH_MAX for each of 11 more paths. */
#define MW_STARTUP_TEXT_SIZE 57344
unsigned char *mw_static_buffer(int index);

/* The libunwind to load (NULL: libunwind.so.8), MAPWARDEN_BACKTRACE_DEPTH,
 * and whether to say so on stderr if it cannot be loaded. It is loaded by
 * mw_backtrace_allow_loading(), from mapwarden's constructor. */
void mw_backtrace_configure(const char *library, int depth, int verbose);
void mw_backtrace_allow_loading(void);
/* Why there are no stacks (libunwind missing...), or NULL. */
const char *mw_backtrace_error(void);

/* Up to `capacity` (and MAPWARDEN_BACKTRACE_DEPTH) return addresses of the
 * caller's stack, without mapwarden's own frames and trailing zeros. 0 when
 * capture is off or unavailable, or when called again from inside a capture. */
int mw_backtrace(uint64_t *out, int capacity);


/* Nonzero while this thread is inside libunwind: calls it makes then go
 * straight to the kernel. */
extern __thread int mw_capture_flag __attribute__((tls_model("initial-exec"), visibility("hidden")));
static inline int mw_capturing(void) { return mw_capture_flag; }

/* What dladdr knows of a return address (at exit). */
struct mw_frame_name {
    const char *module;      /* NULL when in no loaded object */
    uintptr_t module_base;
    const char *symbol;      /* NULL when unknown */
    uintptr_t symbol_address;
};
int mw_symbolize(uint64_t address, struct mw_frame_name *out);

/* The demangled form of a C++ or Swift name (if the program has loaded
 * that language's demangler) into out; its length, or 0. */
size_t mw_demangle(const char *name, char *out, size_t capacity);
/* From now on mw_demangle returns 0: the report of a process that ends at
 * once (_exit) must not call the demanglers, which allocate. */
void mw_demangle_off(void);

/* ---- provided by the engine (Swift, @_cdecl) ---- */

/* Reads the configuration and reserves the window. Returns 1 when a window
 * is held, 0 when mapwarden stays inactive. May exit the process with a
 * documented status under MAPWARDEN_ON_RESERVE_FAILURE=abort. */
int mw_engine_start(void);



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

/* How the process ends: exit() (after the program's exit handlers), or at
 * once (_exit, _Exit, quick_exit, exit_group: the report names frames
 * without demangling them, and window files are left as a crash leaves them). */
enum mw_end { MW_END_EXIT = 0, MW_END__EXIT = 1, MW_END__EXIT_C99 = 2, MW_END_QUICK_EXIT = 3, MW_END_EXIT_GROUP = 4 };

/* At the end of the process: writes the report. Returns the status the
 * process must end with (MAPWARDEN_LEAK_EXITCODE when leaks remain), or 0. */
int mw_engine_exit(int how);

#endif
