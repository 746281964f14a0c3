#!/usr/bin/env bash
# libunwind's own mappings never land in a hole of the program's memory,
# also without the clobber guard: a thread's first stack capture (here, an
# in-window mapping) makes libunwind map its caches, and the kernel would
# place one in the program's one-page hole, where the program's own
# MAP_FIXED would later replace it. They go to an area mapwarden reserved
# instead: the hole is still unmapped after the capture, the program's
# MAP_FIXED over its range is served, and stacks are still captured after.
# On the main thread and on a new thread, 8 runs each.
. "$(dirname "$0")/../include/report_test_lib.bash" unwholes

cat >"$tmp/prog.c" <<'C'
#include <pthread.h>
#include "common.h"
#include "leak_helpers.h"
NOINLINE void *hole_then_capture(void *arg) {
    (void)arg;
    unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(munmap(p + PAGE, PAGE) == 0);
    /* the first call on this thread that captures a stack */
    char *w = mmap(W(0x20000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(w == W(0x20000));
    /* the hole is still a hole in the kernel's view */
    CHECK(raw_syscall(SYS_msync, p + PAGE, PAGE, MS_ASYNC) == -1 && errno == ENOMEM);
    CHECK(mmap(p, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p);
    CHECK(munmap(p, 4 * PAGE) == 0);
    CHECK(munmap(w, PAGE) == 0);
    return NULL;
}
NOINLINE void *leak_after(void *arg) {
    (void)arg;
    CHECK(mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0) == W(0x10000));
    return NULL;
}
int main(int argc, char **argv) {
    CHECK(argc == 2);
    if (strcmp(argv[1], "thread") == 0) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, hole_then_capture, NULL) == 0 && pthread_join(t, NULL) == 0);
    } else {
        hole_then_capture(NULL);
    }
    leak_after(NULL);
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -fno-optimize-sibling-calls -pthread -Wall -I "$include" -I "$root/CShim/include" \
    -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile"; exit 1; }

for mode in main thread; do
    bad=0
    for run in 1 2 3 4 5 6 7 8; do
        env MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" \
            "$tmp/prog" $mode >"$tmp/out" 2>"$tmp/err"
        status=$?
        if [ $status -ne 0 ] || ! "$PY" - "$tmp/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
leaks = r.get("leaks", [])
ok = len(leaks) == 1 and "leak_after" in [f.get("symbol") for f in leaks[0].get("stack") or []]
if not ok: print("report: leaks %r" % leaks)
sys.exit(0 if ok else 1)
PY
        then
            bad=$((bad + 1))
            [ $bad -eq 1 ] && show "$tmp/r.json"
        fi
    done
    [ $bad -eq 0 ] || fail "$mode thread: $bad of 8 runs wrong"
    ok "$mode thread: 8 of 8 runs keep the hole, stacks after"
done
exit $failures
