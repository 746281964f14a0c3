#!/usr/bin/env bash
# The weak-symbol pattern of mapwarden.h: a program that declares
# mapwarden_query weak (and one that looks it up with dlsym) runs WITHOUT
# the preload: the symbol is NULL, the program runs normally (and its
# MAP_FIXED mapping at the would-be window address is an ordinary one);
# WITH the preload the symbol resolves to libmapwarden.so and works.
# Built as PIE and as non-PIE, with lazy and with immediate binding. Note:
# in a non-PIE executable the linker resolves the weak reference to 0 at
# link time, so there it stays NULL under the preload too (dlsym, the way
# mapwarden.h recommends, finds it).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$BUILD/weak_query_and_dlsym_in_pie_and_non_pie"
mkdir -p "$out"
fail() { echo "weak_query_and_dlsym_in_pie_and_non_pie: $*"; exit 1; }

cat >"$out/weak.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "mapwarden.h"
#pragma weak mapwarden_query
#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)
int main(int argc, char **argv) {
    int preloaded = argc > 1 && strncmp(argv[1], "preloaded", 9) == 0;
    void *sym = dlsym(RTLD_DEFAULT, "mapwarden_query");
    char *w = (char *)0x400000010000UL;
    if (!preloaded) {
        if (mapwarden_query != NULL) FAIL("weak mapwarden_query is %p without the preload", (void *)mapwarden_query);
        if (sym != NULL) FAIL("dlsym found mapwarden_query without the preload");
        /* the program runs normally: an ordinary fixed mapping there */
        char *p = mmap(w, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p != w) FAIL("NOREPLACE mapping at %p: %p (%s); nothing should be there", (void *)w, (void *)p, strerror(errno));
        p[1] = 1;
        if (munmap(p, 8192) != 0) FAIL("munmap: %s", strerror(errno));
        puts("no mapwarden: ran normally");
        return 0;
    }
    /* "preloaded-linktime": a non-PIE link resolves an undefined weak
     * function to 0 at link time (no dynamic symbol): it stays NULL even
     * under the preload, while dlsym finds the function. */
    int linktime = strcmp(argv[1], "preloaded-linktime") == 0;
    if (linktime) {
        if (mapwarden_query != NULL) FAIL("weak mapwarden_query is %p, expected the link-time NULL", (void *)mapwarden_query);
        if (sym == NULL) FAIL("dlsym does not find mapwarden_query under the preload");
    } else {
        if (mapwarden_query == NULL) FAIL("weak mapwarden_query is NULL under the preload");
        if (sym != (void *)mapwarden_query) FAIL("dlsym %p and the weak reference %p differ", sym, (void *)mapwarden_query);
    }
    int (*query)(const void *, struct mapwarden_info *) = (int (*)(const void *, struct mapwarden_info *))sym;
    Dl_info di;
    if (!dladdr(sym, &di) || !strstr(di.dli_fname, "mapwarden")) FAIL("mapwarden_query is not from libmapwarden.so");
    struct mapwarden_info info;
    if (query(w, &info) != 0) FAIL("query: %s", strerror(errno));
    if (info.state != MAPWARDEN_FREE || info.window_base != 0x400000000000UL) FAIL("query: state %u window %#lx", info.state, info.window_base);
    char *p = mmap(w, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != w) FAIL("fixed mapping: %p", (void *)p);
    p[1] = 1;
    if (query(p + 4096, &info) != 0 || info.state != MAPWARDEN_MAPPED || info.base != (uintptr_t)w || info.size != 8192)
        FAIL("query after mmap: state %u base %#lx size %#zx", info.state, info.base, info.size);
    errno = 0;
    if (query(w, NULL) != -1 || errno != EINVAL) FAIL("query(NULL info) should be EINVAL");
    if (munmap(p, 8192) != 0 || query(w, &info) != 0 || info.state != MAPWARDEN_FREE) FAIL("munmap");
    puts("mapwarden: query works");
    return 0;
}
C

status=0
build_and_run() { # name, how the weak reference resolves (dynamic|linktime), flags...
    local name=$1 kind=$2; shift 2
    $CC -std=gnu11 -O1 -g -Wall -I "$root/CShim/include" -o "$out/$name" "$out/weak.c" "$@" -ldl ||
        fail "cannot build $name"
    local mode=preloaded
    if [ $kind = dynamic ]; then
        nm -D "$out/$name" | grep -q ' w mapwarden_query' || fail "$name: mapwarden_query is not a weak dynamic symbol"
    else
        mode=preloaded-linktime
        ! nm -D "$out/$name" | grep -q mapwarden_query || fail "$name: unexpected dynamic mapwarden_query"
    fi
    if env -u LD_PRELOAD "$out/$name" plain >"$out/$name.log" 2>&1; then echo "ok: $name without the preload"
    else echo "FAILED: $name without the preload"; sed 's/^/    /' "$out/$name.log"; status=1; fi
    if LD_PRELOAD="$LIB" "$out/$name" $mode >"$out/$name.log" 2>&1; then echo "ok: $name with the preload ($kind weak reference)"
    else echo "FAILED: $name with the preload"; sed 's/^/    /' "$out/$name.log"; status=1; fi
}
build_and_run pie dynamic -fPIE -pie
build_and_run pie_now dynamic -fPIE -pie -Wl,-z,now
# Non-PIE: the linker resolves the undefined weak function to 0 at link
# time, so the weak pattern cannot see the preload (dlsym still works).
# (-z dynamic-undefined-weak does not help: the code's own reference is
# still the link-time 0.)
build_and_run nopie linktime -fno-pie -no-pie
build_and_run nopie_now linktime -fno-pie -no-pie -Wl,-z,now
exit $status
