#!/usr/bin/env bash
# When malloc is not glibc's, libunwind is loaded at start-up, not at the
# first call that needs a stack: a replacement malloc may call mmap (into a
# window) while it holds its own lock, and dlopen, loading libunwind from
# inside that call, would call the same malloc and wait for that lock for
# ever. Here the program's malloc maps its arena in the window while it
# holds its lock, and aborts if it is entered again meanwhile: the program
# must end normally, libunwind must be there at main, and the arena's
# mapping must have its stack.
. "$(dirname "$0")/../include/report_test_lib.bash" lunwmalloc

cat >"$tmp/prog.c" <<'C'
#include <stdatomic.h>
#include "common.h"
#include "leak_helpers.h"

/* A bump allocator: a static buffer first, then an arena it maps in the
 * window, under its lock, when a request does not fit the buffer. */
static _Alignas(16) char boot[1 << 20];
static char *arena, *next_free, *limit;
static atomic_flag lock = ATOMIC_FLAG_INIT;
#define ARENA_SIZE (16u << 20)

static void take(void) {
    if (atomic_flag_test_and_set(&lock)) {
        static const char msg[] = "malloc entered again while its lock is held\n";
        write(2, msg, sizeof msg - 1);
        abort();
    }
}
static void give(void) { atomic_flag_clear(&lock); }

NOINLINE void map_arena(void) {
    arena = mmap(W(0x100000), ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (arena == MAP_FAILED) abort();
    next_free = arena;
    limit = arena + ARENA_SIZE;
}

void *malloc(size_t n) {
    take();
    if (!next_free) { next_free = boot; limit = boot + sizeof boot; }
    n = (n + 15) & ~(size_t)15;
    if ((size_t)(limit - next_free) < n + 16 && !arena) map_arena();
    char *p = NULL;
    if ((size_t)(limit - next_free) >= n + 16) {
        *(size_t *)next_free = n;
        p = next_free + 16;
        next_free += n + 16;
    }
    give();
    return p;
}
void free(void *p) { (void)p; }
void *calloc(size_t a, size_t b) {
    void *p = malloc(a * b);
    if (p) memset(p, 0, a * b);
    return p;
}
void *realloc(void *old, size_t n) {
    void *p = malloc(n);
    if (p && old) {
        size_t had = *(size_t *)((char *)old - 16);
        memcpy(p, old, had < n ? had : n);
    }
    return p;
}

int main(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    char line[512];
    int loaded = 0;
    while (fgets(line, sizeof line, f)) loaded |= strstr(line, "libunwind") != NULL;
    fclose(f);
    CHECK(loaded);
    char *big = malloc(2 << 20); /* does not fit the buffer: the arena */
    CHECK(big != NULL && (uintptr_t)big >= (uintptr_t)W(0x100000));
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -fno-optimize-sibling-calls -Wall -I "$include" -I "$root/CShim/include" \
    -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile"; exit 1; }

step_failed=0
timeout 20 env MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" \
    "$tmp/prog" >"$tmp/out" 2>"$tmp/err"
status=$?
[ $status -eq 0 ] || fail "status $status"
"$PY" - "$tmp/r.json" <<'PY' || fail "report"
import json, sys
r = json.load(open(sys.argv[1]))
got = {l["address"]: [f.get("symbol") for f in l.get("stack") or []] for l in r.get("leaks", [])}
stack = got.get("0x400000100000")
if not stack or stack[:2] != ["map_arena", "malloc"]:
    print("FAIL: the arena's mapping %r (leaks %r)" % (stack, got)); sys.exit(1)
PY
[ "$step_failed" = 0 ] || show "$tmp/r.json"
ok "a malloc that maps in the window under its lock: libunwind loaded at start-up, the arena's stack recorded"
exit $failures
