#!/usr/bin/env bash
# The clobber guard and libunwind's own mappings. A thread's first stack
# capture makes libunwind map its per-thread caches; placed by the kernel,
# one would land in a hole of the program's own mapping (here: 4 pages it
# mapped, one of them unmapped again), and the program's MAP_FIXED over its
# own 4 pages would then replace libunwind's memory: a false clobber
# (EEXIST under deny, every run). libunwind's mappings go to an area
# mapwarden reserved instead, so the MAP_FIXED is served as the kernel
# serves it without the preload, nothing is reported, and stacks are still
# captured afterwards. On the main thread and on a new thread, 8 runs each.
. "$(dirname "$0")/../include/report_test_lib.bash" lclobown

cat >"$tmp/prog.c" <<'C'
#include <pthread.h>
#include "common.h"
#include "leak_helpers.h"
NOINLINE void *own_range_with_hole(void *arg) {
    (void)arg;
    unsigned char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    memset(p, 0xAB, 4 * PAGE);
    CHECK(munmap(p + PAGE, PAGE) == 0);
    /* the first call on this thread that needs a stack (under the guard) */
    CHECK(mmap(p, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p);
    for (size_t i = 0; i < 4 * PAGE; i++) CHECK(p[i] == 0);
    CHECK(munmap(p, 4 * PAGE) == 0);
    return NULL;
}
/* a leak made after it: its stack must still be captured */
NOINLINE void *leak_after(void *arg) {
    (void)arg;
    CHECK(mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0) == W(0x10000));
    return NULL;
}
/* argv[1]: main | thread */
int main(int argc, char **argv) {
    CHECK(argc == 2);
    if (strcmp(argv[1], "thread") == 0) {
        pthread_t t;
        CHECK(pthread_create(&t, NULL, own_range_with_hole, NULL) == 0 && pthread_join(t, NULL) == 0);
    } else {
        own_range_with_hole(NULL);
    }
    leak_after(NULL);
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -fno-optimize-sibling-calls -pthread -Wall -I "$include" -I "$root/CShim/include" \
    -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile"; exit 1; }

for mode in main thread; do
    # the kernel alone: the program is right
    "$tmp/prog" $mode >"$tmp/out" 2>"$tmp/err"; status=$?
    [ $status -eq 0 ] || { fail "$mode without the preload: status $status"; show; }
    for policy in deny report; do
        step_failed=0
        bad=0
        for run in 1 2 3 4 5 6 7 8; do
            env MAPWARDEN_CLOBBER=$policy MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" \
                "$tmp/prog" $mode >"$tmp/out" 2>"$tmp/err"
            status=$?
            if [ $status -ne 0 ] || grep -q '^mapwarden: clobber' "$tmp/err" ||
               ! "$PY" - "$tmp/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
leaks = r.get("leaks", [])
ok = r.get("clobbers") == [] and len(leaks) == 1 and "leak_after" in [f.get("symbol") for f in leaks[0].get("stack") or []]
if not ok: print("report: clobbers %r, leaks %r" % (r.get("clobbers"), leaks))
sys.exit(0 if ok else 1)
PY
            then
                bad=$((bad + 1))
                [ $bad -eq 1 ] && show "$tmp/r.json"
            fi
        done
        [ $bad -eq 0 ] || fail "$mode thread under $policy: $bad of 8 runs wrong"
        ok "$mode thread under $policy: 8 of 8 runs served in place, nothing reported, stacks after"
    done
done

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
