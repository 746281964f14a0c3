#!/usr/bin/env bash
# The weak pattern for all five functions of API 2 (docs/c-api.md, "With or without
# mapwarden"): a PIE program declaring mapwarden_query, _windows, _set_tag,
# _get_tag and _alloc weak runs WITHOUT the preload (all five NULL, dlsym
# finds none, its fallback mmap works) and WITH it (all five non-NULL, equal
# to what dlsym returns, from libmapwarden.so, and each one works). Lazy and
# immediate binding. Under MAPWARDEN_ON_RESERVE_FAILURE=warn with a bad
# window the functions are there but answer ENODEV (mapwarden_alloc NULL
# with ENODEV), the case the jit_area example in docs/c-api.md falls back on.
. "$(dirname "$0")/../include/window_test_lib.bash" api_weak

cat >"$tmp/weak.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "mapwarden.h"
#pragma weak mapwarden_query
#pragma weak mapwarden_windows
#pragma weak mapwarden_set_tag
#pragma weak mapwarden_get_tag
#pragma weak mapwarden_alloc
#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)
static const char *names[5] = { "mapwarden_query", "mapwarden_windows", "mapwarden_set_tag", "mapwarden_get_tag", "mapwarden_alloc" };

/* The fallback of docs/c-api.md: mapwarden_alloc when it is there and holds a window, else mmap. */
static void *area(size_t size) {
    if (mapwarden_alloc) {
        void *p = mapwarden_alloc(NULL, size, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
        if (p != NULL || errno != ENODEV) return p;
    }
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "plain";
    void *weak[5] = { (void *)mapwarden_query, (void *)mapwarden_windows, (void *)mapwarden_set_tag,
                      (void *)mapwarden_get_tag, (void *)mapwarden_alloc };
    for (int i = 0; i < 5; i++) {
        void *sym = dlsym(RTLD_DEFAULT, names[i]);
        if (strcmp(mode, "plain") == 0) {
            if (weak[i] != NULL) FAIL("without the preload %s is %p", names[i], weak[i]);
            if (sym != NULL) FAIL("without the preload dlsym finds %s", names[i]);
        } else {
            if (weak[i] == NULL) FAIL("under the preload %s is NULL", names[i]);
            if (sym != weak[i]) FAIL("%s: dlsym %p, weak reference %p", names[i], sym, weak[i]);
            Dl_info di;
            if (!dladdr(sym, &di) || !strstr(di.dli_fname, "mapwarden")) FAIL("%s is not from libmapwarden.so", names[i]);
        }
    }
    char *p = area(3 * 4096);
    if (!p) FAIL("area: %s", strerror(errno));
    p[0] = 1; p[3 * 4096 - 1] = 2;
    if (strcmp(mode, "plain") == 0) { puts("no mapwarden: fallback ok"); return 0; }
    if (strcmp(mode, "nowindow") == 0) {
        struct mapwarden_info info;
        struct mapwarden_window w;
        uintptr_t t;
        errno = 0; if (mapwarden_query(p, &info) != -1 || errno != ENODEV) FAIL("query: errno %d, expected ENODEV", errno);
        errno = 0; if (mapwarden_windows(&w, 1) != -1 || errno != ENODEV) FAIL("windows: errno %d, expected ENODEV", errno);
        errno = 0; if (mapwarden_set_tag(p, 1) != -1 || errno != ENODEV) FAIL("set_tag: errno %d, expected ENODEV", errno);
        errno = 0; if (mapwarden_get_tag(p, &t) != -1 || errno != ENODEV) FAIL("get_tag: errno %d, expected ENODEV", errno);
        errno = 0; if (mapwarden_alloc(NULL, 4096, 0, PROT_READ, MAP_PRIVATE) != NULL || errno != ENODEV) FAIL("alloc: errno %d, expected ENODEV", errno);
        puts("no window: ENODEV, fallback ok");
        return 0;
    }
    /* preloaded: each works */
    if ((uintptr_t)p != 0x400000000000UL) FAIL("area() = %p, expected the default window's base", (void *)p);
    struct mapwarden_info info;
    if (mapwarden_query(p, &info) != 0 || info.state != MAPWARDEN_MAPPED || strcmp(info.window, "default") != 0)
        FAIL("query: state %u window '%s'", info.state, info.window);
    if (mapwarden_windows(NULL, 0) != 1) FAIL("windows: count %d", mapwarden_windows(NULL, 0));
    uintptr_t t = 0;
    if (mapwarden_set_tag(p, 77) != 0 || mapwarden_get_tag(p + 4096, &t) != 0 || t != 77) FAIL("tags: %lu", (unsigned long)t);
    if (munmap(p, 3 * 4096) != 0) FAIL("munmap");
    puts("mapwarden: all five work");
    return 0;
}
C

build_and_run() { # name, flags...
    local name=$1; shift
    $CC -std=gnu11 -O1 -g -Wall -I "$root/CShim/include" -o "$tmp/$name" "$tmp/weak.c" "$@" -ldl ||
        { fail "cannot build $name"; return; }
    local s
    for s in mapwarden_query mapwarden_windows mapwarden_set_tag mapwarden_get_tag mapwarden_alloc; do
        nm -D "$tmp/$name" | grep -q " w $s\$" || fail "$name: $s is not a weak dynamic symbol"
    done
    if env -u LD_PRELOAD "$tmp/$name" plain >"$tmp/out" 2>"$tmp/err"; then status=0; else status=$?; fail "$name without the preload"; show; fi
    if LD_PRELOAD="$LIB" "$tmp/$name" preloaded >"$tmp/out" 2>"$tmp/err"; then status=0; else status=$?; fail "$name with the preload"; show; fi
    if MAPWARDEN_ON_RESERVE_FAILURE=warn MAPWARDEN_WINDOW=garbage LD_PRELOAD="$LIB" "$tmp/$name" nowindow >"$tmp/out" 2>"$tmp/err"; then status=0
    else status=$?; fail "$name with the preload but no window"; show; fi
    ok "$name: NULL without, resolved with, ENODEV with no window"
}
build_and_run pie -fPIE -pie
build_and_run pie_now -fPIE -pie -Wl,-z,now
done_all
