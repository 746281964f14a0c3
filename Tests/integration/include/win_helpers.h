/*
 * win_helpers.h - shared helpers for the C tests of what happens inside a
 * window (patterns, maps lines, registry records, child checks), used by
 * most folders. Include after common.h.
 */
#ifndef MW_WIN_HELPERS_H
#define MW_WIN_HELPERS_H
#include "common.h"
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* The byte expected at index i of a region filled with seed. */
static inline unsigned char pattern_byte(unsigned seed, size_t i) {
    return (unsigned char)(seed * 31u + i * 7u + (i >> 12) * 13u + 1u);
}
static inline void fill(void *p, size_t n, unsigned seed) {
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++) c[i] = pattern_byte(seed, i);
}
/* 1 when [p, p+n) holds the pattern; else prints the first bad byte. */
static inline int holds(const void *p, size_t n, unsigned seed) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != pattern_byte(seed, i)) {
            fprintf(stderr, "byte %zu at %p is %#x, expected %#x (seed %u)\n", i, (void *)(c + i), c[i],
                    pattern_byte(seed, i), seed);
            return 0;
        }
    return 1;
}
static inline int all_zero(const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i]) { fprintf(stderr, "byte %zu at %p is %#x, expected 0\n", i, (void *)(c + i), c[i]); return 0; }
    return 1;
}

static inline uintptr_t window_end(void) { return window_base() + window_size(); }
static inline int in_window(const void *p) {
    return (uintptr_t)p >= window_base() && (uintptr_t)p < window_end();
}

/* Number of /proc/self/maps lines that overlap the window. */
static inline int window_lines(void) { return for_each_maps_line(window_base(), window_end(), NULL, NULL); }

/* The one maps line that contains addr: its range and perms. 0 if none. */
struct maps_hit { uintptr_t addr, start, end; char perms[8]; int found; };
static inline void find_line_cb(uintptr_t s, uintptr_t e, const char *perms, const char *line, void *ctx) {
    (void)line;
    struct maps_hit *h = ctx;
    if (h->addr >= s && h->addr < e) { h->start = s; h->end = e; snprintf(h->perms, sizeof h->perms, "%s", perms); h->found = 1; }
}
static inline struct maps_hit maps_at(const void *addr) {
    struct maps_hit h = { (uintptr_t)addr, 0, 0, "", 0 };
    for_each_maps_line((uintptr_t)addr, (uintptr_t)addr + 1, find_line_cb, &h);
    return h;
}
/* The kernel's permissions at addr ("" when unmapped). */
static inline const char *perms_at(const void *addr) {
    static char buf[8];
    struct maps_hit h = maps_at(addr);
    snprintf(buf, sizeof buf, "%s", h.found ? h.perms : "");
    return buf;
}

static inline struct mapwarden_info info_at(const void *p) {
    struct mapwarden_info info;
    memset(&info, 0, sizeof info);
    if (mapwarden_query(p, &info) != 0) { perror("mapwarden_query"); dump_window(); exit(1); }
    return info;
}

/* A MAPPED record [base, base+size) with prot at p (prot -2: don't care). */
#define CHECK_MAPPED(p, b, sz, pr) do { struct mapwarden_info _i = info_at(p); \
    if (_i.state != MAPWARDEN_MAPPED || _i.base != (uintptr_t)(b) || _i.size != (size_t)(sz) || \
        ((pr) != -2 && _i.prot != (pr))) { \
        fprintf(stderr, "%s:%d: query(%p): state %u base %#lx size %#zx prot %d; expected MAPPED %#lx+%#zx prot %d\n", \
                __FILE__, __LINE__, (void *)(p), _i.state, _i.base, _i.size, _i.prot, (uintptr_t)(b), (size_t)(sz), (pr)); \
        dump_window(); exit(1); } } while (0)

#define CHECK_FREE(p) do { struct mapwarden_info _i = info_at(p); \
    if (_i.state != MAPWARDEN_FREE) { \
        fprintf(stderr, "%s:%d: query(%p): state %u base %#lx size %#zx; expected FREE\n", \
                __FILE__, __LINE__, (void *)(p), _i.state, _i.base, _i.size); dump_window(); exit(1); } \
    if (strcmp(perms_at(p), "---p") != 0) { \
        fprintf(stderr, "%s:%d: free page %p is '%s' in the kernel, expected ---p\n", __FILE__, __LINE__, \
                (void *)(p), perms_at(p)); dump_window(); exit(1); } } while (0)

/* registry_consistent() returns exactly n. */
#define CHECK_CONSISTENT(n) do { int _n = registry_consistent(); if (_n != (n)) { \
    fprintf(stderr, "%s:%d: registry_consistent() = %d, expected %d\n", __FILE__, __LINE__, _n, (n)); \
    dump_window(); exit(1); } } while (0)

#define CHECK_LINES(n) do { int _n = window_lines(); if (_n != (n)) { \
    fprintf(stderr, "%s:%d: %d maps lines over the window, expected %d\n", __FILE__, __LINE__, _n, (n)); \
    dump_window(); exit(1); } } while (0)

/* The whole window is one reservation line again, exactly the window. */
#define CHECK_WHOLE() do { CHECK_CONSISTENT(0); CHECK_LINES(1); \
    struct maps_hit _h = maps_at((void *)window_base()); \
    CHECK(_h.found && _h.start == window_base() && _h.end == window_end() && strcmp(_h.perms, "---p") == 0); \
    } while (0)

/* Raw: is [lo, hi) entirely unmapped in the kernel's view? */
static inline int kernel_unmapped(uintptr_t lo, uintptr_t hi) {
    for (uintptr_t a = lo; a < hi; a += PAGE)
        if (raw_syscall(SYS_msync, a, PAGE, MS_ASYNC) == 0) return 0;
    return 1;
}

static inline char *map_fixed(void *at, size_t len, int prot) {
    char *p = mmap(at, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != at) { fprintf(stderr, "map_fixed(%p, %#zx) = %p: %s\n", at, len, (void *)p, strerror(errno)); dump_window(); exit(1); }
    return p;
}

/* A value from /proc/meminfo (in kB), or -1. */
static inline long meminfo(const char *key) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') { v = atol(line + n + 1); break; }
    if (f) fclose(f);
    return v;
}

/* An address range of n bytes outside the window that was just free. */
static inline char *fresh_hole(size_t n) {
    char *x = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(x != MAP_FAILED && !in_window(x));
    CHECK(munmap(x, n) == 0);
    CHECK(kernel_unmapped((uintptr_t)x, (uintptr_t)x + n));
    return x;
}

/* Runs check() in a forked child (5 s alarm); CHECKs that it exited 0. */
static inline void in_child(int (*check)(void), const char *what) {
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { alarm(5); _exit(check()); }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) fprintf(stderr, "child check '%s': status %#x\n", what, st);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}


/* Whether smaps' VmFlags for the VMA holding p has the two-letter flag
 * ("lo": VM_LOCKED, "dc": don't copy on fork); -1 when p is unmapped. */
static inline int smaps_has_flag(const void *p, const char *flag) {
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512], want[8];
    snprintf(want, sizeof want, " %s", flag);
    int in = 0, r = -1;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char c;
        if (sscanf(line, "%lx-%lx%c", &s, &e, &c) == 3 && c == ' ') {
            in = (uintptr_t)p >= s && (uintptr_t)p < e;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            char *at = strstr(line, want);
            r = at != NULL && (at[3] == ' ' || at[3] == '\n');
            break;
        }
    }
    if (f) fclose(f);
    return r;
}

/* Whether the registry records the mapping at p as locked. */
static inline int recorded_locked(const void *p) {
    struct mapwarden_info info;
    if (mapwarden_query(p, &info) != 0 || info.state != MAPWARDEN_MAPPED) return -1;
    return (info.kind & MAPWARDEN_KIND_LOCKED) != 0;
}

#endif
