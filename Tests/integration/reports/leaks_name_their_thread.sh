#!/usr/bin/env bash
# Leak reports and threads: 4 threads (alive together) each leak
# one window mapping; each leak's "thread" is the tid of the thread that
# made it and its stack has the thread's function. The report is also
# written when a thread other than main calls exit().
. "$(dirname "$0")/../include/report_test_lib.bash" lthreads

cat >"$tmp/threads.c" <<'C'
#include <pthread.h>
#include "common.h"
#include "leak_helpers.h"
static pthread_barrier_t all_alive;
NOINLINE void *thread_leak(void *arg) {
    int i = (int)(intptr_t)arg;
    pthread_barrier_wait(&all_alive);            /* the 4 tids are distinct */
    char *p = mmap(W(0x10000 * (size_t)(i + 1)), (size_t)(i + 1) * PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x10000 * (size_t)(i + 1)));
    say("TID %d %ld %p", i, leak_tid(), (void *)p);
    pthread_barrier_wait(&all_alive);
    return NULL;
}
NOINLINE void *thread_exit(void *arg) { (void)arg; say("EXITER %ld", leak_tid()); exit(0); }
int main(int argc, char **argv) {
    say("PID %d", (int)getpid());
    CHECK(pthread_barrier_init(&all_alive, NULL, 4) == 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, thread_leak, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < 4; i++) CHECK(pthread_join(t[i], NULL) == 0);
    if (argc > 1 && strcmp(argv[1], "exit-in-thread") == 0) {
        pthread_t e;
        CHECK(pthread_create(&e, NULL, thread_exit, NULL) == 0);
        pthread_join(e, NULL);
        for (;;) pause();
    }
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -Wall -pthread -I "$include" -I "$root/CShim/include" -o "$tmp/threads" "$tmp/threads.c" ||
    { echo "cannot compile"; exit 1; }

for mode in return exit-in-thread; do
    step_failed=0
    env MAPWARDEN_REPORT="$tmp/$mode.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" "$tmp/threads" $mode >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ $status -eq 0 ] || { fail "$mode: status $status"; show; continue; }
    "$PY" - "$tmp/$mode.json" "$tmp/out" <<'PY' && echo "ok: $mode" || { fail "$mode"; show "$tmp/$mode.json"; }
import json, sys
r = json.load(open(sys.argv[1]))
facts = open(sys.argv[2]).read().split("\n")
pid = int([l for l in facts if l.startswith("PID ")][0].split()[1])
tids = {int(l.split()[3], 16): (int(l.split()[1]), int(l.split()[2])) for l in facts if l.startswith("TID ")}
errors = []
if len(tids) != 4 or len({t for _, t in tids.values()}) != 4 or pid in {t for _, t in tids.values()}:
    errors.append("the program did not print 4 distinct thread ids: %r" % tids)
got = {int(l["address"], 16): l for l in r["leaks"]}
if sorted(got) != sorted(tids): errors.append("leaks %r, expected %r" % ([hex(a) for a in got], [hex(a) for a in tids]))
for a, (i, tid) in tids.items():
    l = got.get(a)
    if not l: continue
    if l.get("thread") != tid: errors.append("%s: thread %r, expected %d (thread %d)" % (hex(a), l.get("thread"), tid, i))
    if l.get("size") != (i + 1) * 4096: errors.append("%s: size %r" % (hex(a), l.get("size")))
    syms = [f.get("symbol") for f in l.get("stack") or []]
    if "thread_leak" not in syms or "main" in syms: errors.append("%s: stack %r (thread_leak, not main, expected)" % (hex(a), syms))
s = r["summary"]
if s["leaked_mappings"] != 4 or s["leaked_bytes"] != 40960: errors.append("summary %r" % s)
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY
done

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
