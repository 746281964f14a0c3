/*
 * environment.c - the process's environment, readable before libc is
 * initialised (environment.h).
 *
 * Layer: platform. Calls the kernel only (to read /proc/self/environ).
 */
#include <string.h>
#include <sys/mman.h>
#include "include/mapwarden_kernel.h"
#include "include/platform/environment.h"

extern char **environ;

/* A copy of /proc/self/environ, for calls made before libc has set environ
 * (a program's .preinit_array runs before libc's own initialiser). */
static const char *initial_env;
static size_t initial_env_size;
#define INITIAL_ENV_LIMIT (4 << 20)

static void load_initial_environment(void) {
    const size_t limit = INITIAL_ENV_LIMIT;
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
    if (initial_env) mw_sys_munmap((uintptr_t)initial_env, INITIAL_ENV_LIMIT);
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
