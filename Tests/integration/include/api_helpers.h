/*
 * api_helpers.h - shared by the tests of the C API (api/) and of named
 * windows, and by the C subjects that the scripts over named, shared and
 * persistent windows build (window_test_lib.bash's probe). Include after
 * common.h and win_helpers.h.
 *
 * common.h declares mapwarden_query weak; the four v2 functions are
 * declared weak here too, so the programs link without -lmapwarden and
 * api_require() says clearly when the preloaded library lacks one.
 */
#ifndef MW_API_HELPERS_H
#define MW_API_HELPERS_H
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>

#pragma weak mapwarden_windows
#pragma weak mapwarden_set_tag
#pragma weak mapwarden_get_tag
#pragma weak mapwarden_alloc

/* Exits 1 unless the preloaded library has every function of API 2. */
static inline void api_require(void) {
    const char *missing = NULL;
    if (!mapwarden_query) missing = "mapwarden_query";
    else if (!mapwarden_windows) missing = "mapwarden_windows";
    else if (!mapwarden_set_tag) missing = "mapwarden_set_tag";
    else if (!mapwarden_get_tag) missing = "mapwarden_get_tag";
    else if (!mapwarden_alloc) missing = "mapwarden_alloc";
    if (missing) {
        fprintf(stderr, "the preloaded library has no %s (LD_PRELOAD=%s)\n", missing, getenv("LD_PRELOAD"));
        exit(1);
    }
}

/* CHECK that a pointer-returning call gives NULL with errno expected. */
#define CHECK_NULL_ERRNO(call, expected) do { errno = 0; void *_p = (void *)(call); \
    if (!(_p == NULL && errno == (expected))) { \
        fprintf(stderr, "%s:%d: %s returned %p errno %d (%s), expected NULL errno %d (%s)\n", __FILE__, __LINE__, \
                #call, _p, errno, strerror(errno), (expected), strerror(expected)); dump_window(); exit(1); } } while (0)

/* CHECK with a message (printf-style) when it fails. */
#define CHECKF(cond, ...) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); dump_window(); exit(1); } } while (0)

/* The windows as mapwarden lists them; returns the count (CHECKed >= 1). */
static inline int list_windows(struct mapwarden_window *buf, size_t n) {
    int count = mapwarden_windows(buf, n);
    CHECKF(count >= 1, "mapwarden_windows = %d", count);
    return count;
}

/* The window named name (exactly, as listed); exits 1 when there is none. */
static inline struct mapwarden_window window_named(const char *name) {
    struct mapwarden_window w[MAPWARDEN_WINDOWS_MAX + 1];
    int count = list_windows(w, MAPWARDEN_WINDOWS_MAX + 1);
    for (int i = 0; i < count && i <= MAPWARDEN_WINDOWS_MAX; i++)
        if (strcmp(w[i].name, name) == 0) return w[i];
    fprintf(stderr, "no window named \"%s\" among the %d listed:", name, count);
    for (int i = 0; i < count && i <= MAPWARDEN_WINDOWS_MAX; i++) fprintf(stderr, " \"%s\"", w[i].name);
    fputc('\n', stderr);
    exit(1);
}

/* The name of the window mapwarden_query puts addr in ("" outside). */
static inline const char *window_of(const void *addr) {
    static char name[MAPWARDEN_NAME_MAX + 1];
    struct mapwarden_info info;
    memset(&info, 0, sizeof info);
    if (mapwarden_query(addr, &info) != 0) { perror("mapwarden_query"); exit(1); }
    memcpy(name, info.window, MAPWARDEN_NAME_MAX);
    name[MAPWARDEN_NAME_MAX] = 0;
    return name;
}

/* The tag of the mapping at addr; exits 1 if get_tag fails. */
static inline uintptr_t tag_at(const void *addr) {
    uintptr_t t = (uintptr_t)0x5151515151515151ULL;
    errno = 0;
    if (mapwarden_get_tag(addr, &t) != 0) {
        fprintf(stderr, "mapwarden_get_tag(%p): %s\n", addr, strerror(errno)); dump_window(); exit(1);
    }
    return t;
}
#define CHECK_TAG(addr, want) do { uintptr_t _t = tag_at(addr); if (_t != (uintptr_t)(want)) { \
    fprintf(stderr, "%s:%d: tag at %p is %#lx, expected %#lx\n", __FILE__, __LINE__, (void *)(addr), \
            (unsigned long)_t, (unsigned long)(uintptr_t)(want)); dump_window(); exit(1); } } while (0)

/* The path of the maps line that contains addr ("" when it has none). */
static inline const char *maps_path_at(const void *addr) {
    static char path[512];
    path[0] = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        uintptr_t s, e; int off = 0;
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &s, &e, &off) < 2) continue;
        if ((uintptr_t)addr < s || (uintptr_t)addr >= e) continue;
        char *p = line + off;
        while (*p == ' ') p++;
        p[strcspn(p, "\n")] = 0;
        snprintf(path, sizeof path, "%s", p);
        break;
    }
    if (f) fclose(f);
    return path;
}

/* Re-executes this program (same pid) with argv[1] = phase and the extra
 * environment entries (KEY=VALUE; -KEY unsets KEY), keeping LD_PRELOAD. */
static inline void reexec(const char *phase, const char *const *env) {
    for (const char *const *e = env; e && *e; e++) {
        if (**e == '-') { unsetenv(*e + 1); continue; }
        const char *eq = strchr(*e, '=');
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(eq - *e), *e);
        setenv(key, eq + 1, 1);
    }
    fflush(NULL);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = 0;
    execl(self, self, phase, (char *)NULL);
    perror("execl");
    exit(1);
}

#endif
