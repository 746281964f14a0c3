#!/usr/bin/env bash
# Calls that arrive before mapwarden's constructor:
#  - a library preloaded before libmapwarden.so (and, separately, after it)
#    whose constructor makes a MAP_FIXED mmap into the window through the
#    ordinary mmap symbol;
#  - an executable whose .preinit_array function does the same (preinit
#    functions run before every constructor).
# main then checks that the early mapping is registered (MAPPED, with its
# base, size and prot), its data survived, and the rest of the window is
# whole (reservation / mapping / reservation, registry consistent).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
include=$root/Tests/integration/include
out="$BUILD/calls_before_constructor_are_registered"
mkdir -p "$out"
fail() { echo "calls_before_constructor_are_registered: $*"; exit 1; }

cat >"$out/early.c" <<'C'
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
char *early_addr;
/* envp: the environment (a .preinit_array function gets it as an argument;
 * environ itself is still NULL then), or NULL to use getenv. */
void early_map(char **envp) {
    const char *w = NULL;
    if (!envp) w = getenv("MAPWARDEN_WINDOW");
    else for (char **e = envp; *e; e++) if (!strncmp(*e, "MAPWARDEN_WINDOW=", 17)) w = *e + 17;
    uintptr_t base = w ? (uintptr_t)strtoull(w, NULL, 16) : (uintptr_t)0x400000000000ULL;
    char *want = (char *)(base + 0x7000000);
    char *p = mmap(want, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == want) { memset(p, 'E', 2 * 4096); early_addr = p; }
}
C

# The preloaded library: its constructor maps into the window.
cat >"$out/other.c" <<'C'
void early_map(char **envp);
__attribute__((constructor)) static void other_ctor(void) { early_map((char **)0); }
C

# The checker: main finds the early mapping registered and the window whole.
cat >"$out/check.h" <<'C'
#include "common.h"
static int check_early(char *early) {
    CHECK(early == W(0x7000000));
    for (int i = 0; i < 2 * 4096; i++) CHECK(early[i] == 'E');
    struct mapwarden_info info;
    CHECK(mapwarden_query(early + 4096, &info) == 0);
    CHECK(info.state == MAPWARDEN_MAPPED);
    CHECK(info.base == (uintptr_t)early && info.size == 2 * 4096);
    CHECK(info.prot == (PROT_READ | PROT_WRITE) && info.kind == MAPWARDEN_KIND_ANONYMOUS);
    CHECK(query_state(early - 1) == MAPWARDEN_FREE && query_state(early + 2 * 4096) == MAPWARDEN_FREE);
    CHECK(registry_consistent() == 1);
    CHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 3);
    /* And it is an ordinary registered mapping from now on. */
    CHECK(munmap(early, 2 * 4096) == 0);
    CHECK(registry_consistent() == 0);
    CHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 1);
    return 0;
}
C

cat >"$out/main_preload.c" <<'C'
#include "check.h"
extern char *early_addr;
int main(void) { return check_early(early_addr); }
C

cat >"$out/main_preinit.c" <<'C'
#include "check.h"
extern char *early_addr;
void early_map(char **envp);
static void preinit(int argc, char **argv, char **envp) { (void)argc; (void)argv; early_map(envp); }
__attribute__((section(".preinit_array"), used)) static void (*preinit_fn)(int, char **, char **) = preinit;
int main(void) { return check_early(early_addr); }
C

cflags=(-std=gnu11 -O1 -g -Wall -pthread -I "$include" -I "$root/CShim/include" -I "$out")
$CC "${cflags[@]}" -shared -fPIC -o "$out/libearly.so" "$out/early.c" || fail "cannot build libearly.so"
$CC "${cflags[@]}" -shared -fPIC -o "$out/libother.so" "$out/other.c" -L "$out" -learly -Wl,-rpath,"$out" || fail "cannot build libother.so"
$CC "${cflags[@]}" -o "$out/main_preload" "$out/main_preload.c" -L "$out" -learly -Wl,-rpath,"$out" || fail "cannot build main_preload"
$CC "${cflags[@]}" -o "$out/main_preinit" "$out/main_preinit.c" "$out/early.c" || fail "cannot build main_preinit"
readelf -S "$out/main_preinit" | grep -q preinit_array || fail "main_preinit has no .preinit_array"

status=0
run() { # description, env...
    local what=$1; shift
    local log="$out/run.log"
    if timeout 10 env "$@" >"$log" 2>&1; then
        echo "ok: $what"
    else
        echo "FAILED ($?): $what"; sed 's/^/    /' "$log"; status=1
    fi
}
run "other.so before libmapwarden.so" LD_PRELOAD="$out/libother.so:$LIB" "$out/main_preload"
run "libmapwarden.so before other.so" LD_PRELOAD="$LIB:$out/libother.so" "$out/main_preload"
run "other.so before, custom window" MAPWARDEN_WINDOW=0x500000000000:64G LD_PRELOAD="$out/libother.so:$LIB" "$out/main_preload"
run ".preinit_array" LD_PRELOAD="$LIB" "$out/main_preinit"
run ".preinit_array, custom window" MAPWARDEN_WINDOW=0x500000000000:64G LD_PRELOAD="$LIB" "$out/main_preinit"
run ".preinit_array and other.so first" LD_PRELOAD="$out/libother.so:$LIB" "$out/main_preinit"
exit $status
