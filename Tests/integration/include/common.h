/*
 * common.h - helpers for the integration tests, which run under
 * LD_PRELOAD=libmapwarden.so. Each test is a main() that returns 0 on
 * success; CHECK prints the failing expression and exits 1.
 */
#ifndef MW_TEST_COMMON_H
#define MW_TEST_COMMON_H
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "mapwarden.h"
#include "raw_syscall.h"

/* Weak: resolved from the preloaded library at run time (the pattern
 * mapwarden.h documents for programs that must also run without it). */
#pragma weak mapwarden_query
#pragma weak mapwarden_windows

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define CHECK(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: CHECK failed: %s (errno %d: %s)\n", __FILE__, __LINE__, #cond, errno, strerror(errno)); \
    dump_window(); exit(1); } } while (0)

#define CHECK_ERRNO(call, expected) do { errno = 0; long _r = (long)(call); \
    if (!(_r == -1 && errno == (expected))) { \
        fprintf(stderr, "%s:%d: %s returned %ld errno %d (%s), expected -1 errno %d (%s)\n", __FILE__, __LINE__, \
                #call, _r, errno, strerror(errno), (expected), strerror(expected)); dump_window(); exit(1); } } while (0)

static const uintptr_t PAGE = 4096;

/* The window under test: MAPWARDEN_WINDOW if set, else the default window
 * mapwarden chose for this machine (x86-64: 0x400000000000; aarch64: by the
 * size of user space), else the x86-64 default. */
static inline uintptr_t window_base(void) {
    const char *w = getenv("MAPWARDEN_WINDOW");
    if (w) return (uintptr_t)strtoull(w, NULL, 16);
    struct mapwarden_window ws[MAPWARDEN_WINDOWS_MAX];
    /* (weak: some programs also run without the preload) */
    int n = mapwarden_windows ? mapwarden_windows(ws, MAPWARDEN_WINDOWS_MAX) : -1;
    for (int i = 0; i < n && i < MAPWARDEN_WINDOWS_MAX; i++)
        if (strcmp(ws[i].name, "default") == 0) return ws[i].base;
    return (uintptr_t)0x400000000000ULL;
}
static inline size_t window_size(void) {
    struct mapwarden_info info;
    if (mapwarden_query((void *)window_base(), &info) == 0 && info.window_size) return info.window_size;
    return (size_t)1 << 40;
}
static inline char *W(size_t offset) { return (char *)(window_base() + offset); }

/* Calls every line of /proc/self/maps that overlaps [lo, hi). */
typedef void (*maps_fn)(uintptr_t start, uintptr_t end, const char *perms, const char *line, void *ctx);
static inline int for_each_maps_line(uintptr_t lo, uintptr_t hi, maps_fn fn, void *ctx) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        uintptr_t s, e; char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3) continue;
        if (s < hi && e > lo) { if (fn) fn(s, e, perms, line, ctx); n++; }
    }
    fclose(f);
    return n;
}

static void print_line(uintptr_t s, uintptr_t e, const char *p, const char *line, void *ctx) {
    (void)s; (void)e; (void)p; (void)ctx; fprintf(stderr, "    %s", line);
}
static inline void dump_window(void) {
    fprintf(stderr, "  /proc/self/maps over the window:\n");
    for_each_maps_line(window_base(), window_base() + window_size(), print_line, NULL);
}

/* Is every byte of [lo, hi) mapped in the kernel's view? A raw syscall:
 * the interposed msync answers ENOMEM for free window pages on purpose.
 * Under MAPWARDEN_RAW_SYSCALLS=trap the raw msync is mapwarden's too, so a
 * test that runs under the trap defines MW_TEST_KERNEL_VIEW_FROM_MAPS and
 * the answer comes from /proc/self/maps: its lines tile [lo, hi). */
#ifdef MW_TEST_KERNEL_VIEW_FROM_MAPS
struct maps_tiling { uintptr_t next; int gap; };
static void maps_tiling_cb(uintptr_t s, uintptr_t e, const char *p, const char *line, void *ctx) {
    (void)p; (void)line;
    struct maps_tiling *t = ctx;
    if (s > t->next) t->gap = 1;
    if (e > t->next) t->next = e;
}
static inline int kernel_mapped(uintptr_t lo, uintptr_t hi) {
    struct maps_tiling t = {lo, 0};
    for_each_maps_line(lo, hi, maps_tiling_cb, &t);
    return !t.gap && t.next >= hi;
}
#else
static inline int kernel_mapped(uintptr_t lo, uintptr_t hi) {
    return raw_syscall(SYS_msync, lo, hi - lo, MS_ASYNC) == 0; /* ENOMEM on any hole */
}
#endif

/*
 * The registry agrees with the kernel over the whole window:
 *  - every byte of the window is mapped in the kernel's view (no hole);
 *  - walking the window with mapwarden_query gives runs that tile it;
 *  - each maps line is either all-free (the reservation: ---p) or lies
 *    within registered mappings whose protection matches the line.
 * Returns the number of registered mappings, or -1 after printing why.
 */
static inline int registry_consistent(void) {
    uintptr_t base = window_base(), end = base + window_size();
    if (!kernel_mapped(base, end)) { fprintf(stderr, "hole in the window\n"); dump_window(); return -1; }
    int mappings = 0;
    for (uintptr_t at = base; at < end;) {
        struct mapwarden_info info;
        if (mapwarden_query((void *)at, &info) != 0) { perror("mapwarden_query"); return -1; }
        if (info.base > at || info.base + info.size <= at) {
            fprintf(stderr, "query(%#lx) gave run %#lx+%#zx\n", at, info.base, info.size); return -1;
        }
        if (info.state == MAPWARDEN_MAPPED) mappings++;
        at = info.base + info.size;
    }
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (fgets(line, sizeof line, f)) {
        uintptr_t s, e; char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &s, &e, perms) != 3 || s >= end || e <= base) continue;
        if (s < base || e > end) continue; /* straddles the edge: checked by the tests that make one */
        for (uintptr_t at = s; at < e;) {
            struct mapwarden_info info;
            mapwarden_query((void *)at, &info);
            if (info.state == MAPWARDEN_FREE) {
                if (strcmp(perms, "---p") != 0) {
                    fprintf(stderr, "free window space %#lx is mapped %s: %s", at, perms, line); fclose(f); return -1;
                }
            } else if (info.prot >= 0) {
                int r = perms[0] == 'r', w = perms[1] == 'w', x = perms[2] == 'x';
                int want = (r ? PROT_READ : 0) | (w ? PROT_WRITE : 0) | (x ? PROT_EXEC : 0);
                if (want != info.prot) {
                    fprintf(stderr, "mapping at %#lx registered prot %d, kernel says %s: %s", at, info.prot, perms, line);
                    fclose(f); return -1;
                }
            }
            uintptr_t next = info.base + info.size;
            at = next < e ? next : e;
        }
    }
    fclose(f);
    return mappings;
}

static inline int query_state(const void *p) {
    struct mapwarden_info info;
    if (mapwarden_query(p, &info) != 0) return -1;
    return (int)info.state;
}

#endif
