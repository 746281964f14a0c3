/*
 * guard.c - start-up and the reentrancy guard's state, the environment and
 * the auxiliary vector. No decisions about mappings are made here.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/auxv.h>
#include <string.h>
#include "guard.h"
#include "include/mapwarden_engine.h"

__thread unsigned mw_depth __attribute__((tls_model("initial-exec")));
_Atomic int mw_phase = MW_NOT_STARTED;

int mw_start(void) {
    int expected = MW_NOT_STARTED;
    if (!atomic_compare_exchange_strong(&mw_phase, &expected, MW_STARTING)) {
        /* Another thread is starting (its calls meanwhile go to the kernel),
         * or start-up already finished. */
        return expected == MW_ACTIVE;
    }
    mw_depth = 1;
    int active = mw_engine_start();
    if (active) {
        mw_exit_set_owner();
        mw_install_fork_handlers();
    }
    mw_depth = 0;
    atomic_store_explicit(&mw_phase, active ? MW_ACTIVE : MW_INACTIVE, memory_order_release);
    return active;
}

/* Other libraries' constructors may call mmap before this one runs; the
 * first such call starts mapwarden lazily. This is the fallback. */
__attribute__((constructor(101))) static void mw_constructor(void) {
    if (atomic_load(&mw_phase) == MW_NOT_STARTED) mw_start();
    /* What start-up may not do where it can run first: load libunwind. */
    mw_backtrace_allow_loading();
}

extern char **environ;

/* A copy of /proc/self/environ, for calls made before libc has set environ
 * (a program's .preinit_array runs before libc's own initialiser). */
static const char *initial_env;
static size_t initial_env_size;

static void load_initial_environment(void) {
    const size_t limit = 4 << 20; /* as in mw_release_initial_environment */
    long fd = mw_sys_openat(AT_FDCWD, "/proc/self/environ", O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0) return;
    long map = mw_sys_mmap(0, limit, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if ((unsigned long)map > -4096UL) { mw_sys_close((int)fd); return; }
    size_t n = 0;
    while (n < limit - 1) {
        long r = mw_sys_read((int)fd, (char *)map + n, limit - 1 - n);
        if (r == -EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    mw_sys_close((int)fd);
    initial_env = (const char *)map;
    initial_env_size = n;
}

const char *mw_env_entry(unsigned long *cursor) {
    if (environ) {
        const char *e = environ[*cursor];
        if (e) (*cursor)++;
        return e;
    }
    if (!initial_env) load_initial_environment();
    if (*cursor >= initial_env_size) return NULL;
    const char *e = initial_env + *cursor;
    *cursor += strlen(e) + 1;
    return e;
}

void mw_release_initial_environment(void) {
    if (initial_env) mw_sys_munmap((uintptr_t)initial_env, 4 << 20);
    initial_env = NULL;
    initial_env_size = 0;
}

const char *mw_getenv(const char *name) {
    size_t n = strlen(name);
    if (environ) {
        for (char **e = environ; *e; e++) {
            if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
        }
        return NULL;
    }
    if (!initial_env) load_initial_environment();
    for (size_t at = 0; at < initial_env_size; at += strlen(initial_env + at) + 1) {
        if (strncmp(initial_env + at, name, n) == 0 && initial_env[at + n] == '=') return initial_env + at + n + 1;
    }
    return NULL;
}

unsigned long mw_at_secure(void) { return getauxval(AT_SECURE); }

unsigned long mw_page_size(void) {
    unsigned long p = getauxval(AT_PAGESZ);
    return p ? p : 4096;
}

uintptr_t mw_stack_address(void) {
    volatile char here = 0;
    return (uintptr_t)&here;
}

static const char *base_name(const char *path, size_t n, size_t *len) {
    size_t start = 0;
    for (size_t i = 0; i < n; i++)
        if (path[i] == '/') start = i + 1;
    *len = n - start;
    return path + start;
}

/* LD_PRELOAD lists objects separated by ':' or ' '. The entries naming this
 * library (by its file name) are removed in place, in the environment
 * string itself, which exec passes on. */
void mw_stop_following_children(void) {
    Dl_info self;
    if (!environ || !dladdr((void *)&mw_stop_following_children, &self) || !self.dli_fname) return;
    size_t self_len;
    const char *self_name = base_name(self.dli_fname, strlen(self.dli_fname), &self_len);
    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "LD_PRELOAD=", 11) != 0) continue;
        char *value = *e + 11, *out = value;
        const char *at = value;
        while (*at) {
            while (*at == ':' || *at == ' ') at++;
            const char *end = at;
            while (*end && *end != ':' && *end != ' ') end++;
            size_t len = (size_t)(end - at), name_len;
            const char *name = base_name(at, len, &name_len);
            if (len && !(name_len == self_len && memcmp(name, self_name, name_len) == 0)) {
                if (out != value) *out++ = ':';
                memmove(out, at, len);
                out += len;
            }
            at = end;
        }
        *out = 0;
    }
}

static unsigned char static_buffers[4][MW_STATIC_BUFFER_SIZE];
static unsigned char startup_text[MW_STARTUP_TEXT_SIZE];

unsigned char *mw_static_buffer(int index) {
    return index == 4 ? startup_text : static_buffers[index & 3];
}
