/*
 * preload_env.c - LD_PRELOAD as the programs this one execs will see it
 * (preload_env.h).
 *
 * Layer: platform. Calls libc's dladdr only.
 */
#include <dlfcn.h>
#include <string.h>
#include "include/platform/preload_env.h"

extern char **environ;

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
