/*
 * demo.c - what mapwarden does, in one run (`make demo`).
 *
 * An ordinary program that wants memory at a fixed address inside the
 * window. It knows nothing of mapwarden except that it asks it (weakly)
 * what an address is, to show the registry's view.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "../CShim/include/mapwarden.h"

#pragma weak mapwarden_query
#pragma weak mapwarden_windows

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static void show_window(uintptr_t base, uintptr_t end) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < end && e > base) printf("    %s", line);
    }
    if (f) fclose(f);
}

static const char *state_name(const void *p) {
    struct mapwarden_info info;
    if (!mapwarden_query) return "(mapwarden not loaded)";
    if (mapwarden_query(p, &info) != 0) return "(no window)";
    switch (info.state) {
    case MAPWARDEN_MAPPED: return "MAPPED";
    case MAPWARDEN_FREE: return "FREE (reserved)";
    default: return "OUTSIDE";
    }
}

/* Not unmapped: the leak report at exit names this function. */
__attribute__((noinline)) void leave_one_mapped(uintptr_t window_base) {
    char *p = mmap((char *)window_base + 0x400000, 64 << 10, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != MAP_FAILED) p[0] = 1;
}

int main(void) {
    struct mapwarden_info info;
    if (!mapwarden_query || mapwarden_query(NULL, &info) != 0) {
        fprintf(stderr, "demo: run me under LD_PRELOAD=build/libmapwarden.so (make demo)\n");
        return 1;
    }
    /* The default window: where mapwarden put it for this address space
     * (it depends on the architecture and the size of user space). */
    struct mapwarden_window windows[MAPWARDEN_WINDOWS_MAX];
    int n = mapwarden_windows ? mapwarden_windows(windows, MAPWARDEN_WINDOWS_MAX) : -1;
    uintptr_t base = 0;
    for (int i = 0; i < n; i++)
        if (strcmp(windows[i].name, "default") == 0) base = windows[i].base;
    if (base == 0) {
        fprintf(stderr, "demo: mapwarden holds no default window\n");
        return 1;
    }
    mapwarden_query((void *)base, &info);
    uintptr_t end = info.window_base + info.window_size;
    printf("mapwarden holds the window %#lx-%#lx (%zu GiB) before main:\n",
           (unsigned long)info.window_base, (unsigned long)end, info.window_size >> 30);
    show_window(info.window_base, end);

    char *want = (char *)(info.window_base + 0x100000);
    char *p = mmap(want, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != want) { perror("mmap MAP_FIXED"); return 1; }
    strcpy(p, "hello from a fixed address");
    printf("\n1. mmap(%p, 1 MiB, MAP_FIXED) -> %p: served in place; it says \"%s\"; state %s\n",
           (void *)want, (void *)p, p, state_name(p));
    show_window(info.window_base, end);

    void *q = mmap(want, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    printf("\n2. MAP_FIXED_NOREPLACE over it -> %s (%s): the mapping is protected\n",
           q == MAP_FAILED ? "refused" : "MAPPED?!", q == MAP_FAILED ? strerror(errno) : "bug");

    void *r = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    printf("\n3. mmap(NULL, 1 MiB) -> %p: %s\n", r,
           ((uintptr_t)r >= info.window_base && (uintptr_t)r < end) ? "INSIDE the window (bug)" : "placed outside the window");
    munmap(r, 1 << 20);

    char *free_page = want + (2 << 20);
    int rc = mprotect(free_page, 4096, PROT_READ | PROT_WRITE);
    printf("\n4. mprotect(RW) of a free window page -> %d (%s): the reservation cannot be made usable\n",
           rc, rc ? strerror(errno) : "bug");

    munmap(p, 1 << 20);
    printf("\n5. munmap -> state %s; the window is whole again:\n", state_name(p));
    show_window(info.window_base, end);

    leave_one_mapped(info.window_base);
    printf("\n6. one 64 KiB mapping is left mapped on purpose: at exit, mapwarden's leak report\n"
           "   (on standard error) shows it with the stack that made it.\n");
    fflush(stdout);
    return 0;
}
