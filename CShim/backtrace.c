/*
 * backtrace.c - stacks for the leak report: capture with libunwind's
 * unw_backtrace (backtrace.h). Naming the frames at exit is frame_names.c.
 *
 * Layer: platform. Calls libunwind (dlopen'd), the loader, and the kernel.
 *
 * libunwind is never a DT_NEEDED of the preload library: linked that way it
 * exports _Unwind_* and a weak backtrace that take over C++ exception
 * unwinding in the host program. It is dlopen'd RTLD_LOCAL at start-up, and
 * only unw_backtrace is looked up. Its own mmaps (per-thread caches) reach
 * our hooks while mw_capturing() is set; the engine sends them straight to
 * the kernel.
 */
#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h> /* libunwind-dev: the declaration only; nothing is linked */
#include <sys/stat.h>
#include "include/mapwarden_kernel.h"
#include "include/platform/loaded_object.h"
#include "include/platform/backtrace.h"

static __typeof__(unw_backtrace) *unw_backtrace_fn;
static const char *unwind_error;
/* Our own code's extent: leading frames inside it are not the program's. */
static uintptr_t self_lo, self_hi;

__thread int mw_capture_flag __attribute__((tls_model("initial-exec")));
#define capturing mw_capture_flag
static int configured_depth;


static int find_self(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uintptr_t lo, hi;
    if (!mw_object_holds(info, (uintptr_t)data, &lo, &hi)) return 0;
    self_lo = lo;
    self_hi = hi;
    return 1;
}

static const char *unwind_path;
static int unwind_verbose;
static _Atomic int unwind_state; /* 0 not tried, 1 loading, 2 ready, 3 failed */

void mw_backtrace_configure(const char *library, int depth, int verbose) {
    unwind_path = library;
    configured_depth = depth;
    unwind_verbose = verbose;
}


/* Why stacks are missing, when MAPWARDEN_LIBUNWIND names the library:
 * `MAPWARDEN_LIBUNWIND="VALUE" ...`, the value cut to a prefix as the
 * engine's messages cut it. */
static char unwind_message[1024];

static size_t put(size_t at, const char *text, size_t n) {
    for (size_t i = 0; i < n && at < sizeof unwind_message - 1; i++) unwind_message[at++] = text[i];
    unwind_message[at] = 0;
    return at;
}

static const char *configured_error(const char *why, const char *detail) {
    static const char hex[] = "0123456789abcdef";
    size_t at = put(0, "MAPWARDEN_LIBUNWIND=\"", 21);
    size_t n = strlen(unwind_path), shown = n > 160 ? 160 : n;
    while (shown > 0 && shown < n && ((unsigned char)unwind_path[shown] & 0xC0) == 0x80) shown--;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)unwind_path[i];
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            at = put(at, e, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[4] = { '\\', 'x', hex[c >> 4], hex[c & 15] };
            at = put(at, e, 4);
        } else {
            at = put(at, (const char *)&c, 1);
        }
    }
    at = put(at, "\"", 1);
    if (shown < n) {
        char count[24];
        int digits = 0;
        for (size_t v = n; v; v /= 10) count[sizeof count - 1 - digits++] = (char)('0' + v % 10);
        at = put(at, "... (", 5);
        at = put(at, count + sizeof count - digits, (size_t)digits);
        at = put(at, " bytes)", 7);
    }
    at = put(at, why, strlen(why));
    if (detail) at = put(at, detail, strlen(detail));
    return unwind_message;
}

/* What a file that is not a regular one is (S_IFMT bits). */
static const char *file_type(long type) {
    switch (type) {
    case S_IFIFO: return "a FIFO";
    case S_IFCHR: return "a character device";
    case S_IFDIR: return "a directory";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    default: return "not a file";
    }
}

static int load(void) {
    if (!self_hi) dl_iterate_phdr(find_self, (void *)(uintptr_t)&mw_backtrace);
    /* Under ThreadSanitizer, libunwind's per-thread cache destructor locks a
     * mutex after TSan has finished the exiting thread, and TSan crashes. */
    if (dlsym(RTLD_DEFAULT, "__tsan_init")) {
        unwind_error = "stacks are off under ThreadSanitizer (libunwind's thread-exit clean-up crashes it)";
        return 0;
    }
    /* A path (not a name the loader searches for) must be a regular file:
     * dlopen would open a FIFO and wait for a writer, before main. */
    if (unwind_path && strchr(unwind_path, '/')) {
        struct stat st;
        long r = mw_sys_newfstatat(AT_FDCWD, unwind_path, &st, 0);
        long type = r == 0 ? (long)(st.st_mode & S_IFMT) : r;
        if (type >= 0 && type != S_IFREG) {
            char why[64] = ": not a regular file (";
            strcat(why, file_type(type));
            strcat(why, ")");
            unwind_error = configured_error(why, NULL);
            return 0;
        }
    }
    void *handle = dlopen(unwind_path ? unwind_path : "libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        unwind_error = unwind_path ? configured_error(" could not be loaded: ", dlerror())
                                   : "libunwind.so.8 could not be loaded (install libunwind8, or set MAPWARDEN_LIBUNWIND)";
        return 0;
    }
    unw_backtrace_fn = (__typeof__(unw_backtrace) *)dlsym(handle, "unw_backtrace");
    if (!unw_backtrace_fn) {
        unwind_error = unwind_path ? configured_error(": the library loaded has no unw_backtrace", NULL)
                                   : "the libunwind loaded has no unw_backtrace";
        return 0;
    }
    return 1;
}

/* libunwind is loaded from mapwarden's constructor, never earlier:
 * start-up may happen inside another runtime's initialisation (TSan's, from
 * .preinit_array), where dlopen is not safe; and never later, inside a
 * program's call, where dlopen's malloc could meet a lock the caller holds.
 * Its first unw_backtrace maps libunwind's caches (outside the window). */
void mw_backtrace_allow_loading(void) {
    if (configured_depth <= 0 || atomic_load(&unwind_state) != 0) return;
    atomic_store(&unwind_state, 1);
    capturing = 1; /* libunwind's own mmaps go straight to the kernel */
    int ok = load();
    capturing = 0;
    atomic_store_explicit(&unwind_state, ok ? 2 : 3, memory_order_release);
    if (!ok && unwind_verbose) {
        static const char head[] = "mapwarden: leak reports will have no stacks: ";
        mw_sys_write(2, head, sizeof head - 1);
        mw_sys_write(2, unwind_error, strlen(unwind_error));
        mw_sys_write(2, "\n", 1);
    }
}

static inline int ready(void) {
    return atomic_load_explicit(&unwind_state, memory_order_acquire) == 2;
}

const char *mw_backtrace_error(void) { return unwind_error; }

int mw_backtrace(uint64_t *out, int capacity) { return mw_backtrace_from(out, capacity, 0); }

int mw_backtrace_from(uint64_t *out, int capacity, uintptr_t start) {
    int depth = configured_depth < capacity ? configured_depth : capacity;
    if (capturing || depth <= 0 || !ready()) return 0;
    enum { SLACK = 16, MAX = MW_MAX_BACKTRACE_DEPTH + SLACK };
    void *frames[MAX];
    int want = depth + SLACK < MAX ? depth + SLACK : MAX;
    capturing = 1;
    int n = unw_backtrace_fn(frames, want);
    capturing = 0;
    int skip = 0;
    while (skip < n && (uintptr_t)frames[skip] >= self_lo && (uintptr_t)frames[skip] < self_hi) skip++;
    if (start) { /* from the interrupted frame on: not the signal trampoline */
        int at = skip;
        while (at < n && (uintptr_t)frames[at] != start) at++;
        if (at < n) skip = at;
    }
    int kept = 0;
    for (int i = skip; i < n && kept < depth; i++) out[kept++] = (uint64_t)(uintptr_t)frames[i];
    while (kept > 0 && out[kept - 1] == 0) kept--; /* trailing zero frames */
    return kept;
}
