#!/usr/bin/env bash
# Two threads end the process at once: one is writing the leak report (at
# _exit), another calls _exit meanwhile. Without mapwarden the second _exit
# simply ends the process; with it, the report the first one started must
# still come out whole, and MAPWARDEN_LEAK_EXITCODE must still be the
# status: a CI job must not see a truncated report (or invalid JSON) and a
# clean status because a second thread happened to exit too.
#
# Made deterministic with a pipe: the report goes to standard error, a pipe
# whose reader stops after the first bytes (the writer then blocks on the
# full pipe, mid-report), lets the second thread call _exit, waits, then
# reads the rest.
. "$(dirname "$0")/../include/report_test_lib.bash" exit_racing_exit

cat >"$tmp/racer.c" <<'C'
#include <pthread.h>
#include <sys/stat.h>
#include "common.h"
static const char *go;
static void *second(void *arg) {
    (void)arg;
    struct stat st;
    while (stat(go, &st) != 0) usleep(1000);
    _exit(0);
}
int main(int argc, char **argv) {
    (void)argc;
    go = argv[1];
    /* 2000 leaks, one line each: a report far larger than a pipe holds */
    for (int i = 0; i < 2000; i++)
        CHECK(mmap(W(2 * PAGE * (size_t)i), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
              W(2 * PAGE * (size_t)i));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, second, NULL) == 0);
    _exit(0);
}
C
$CC -std=gnu11 -O1 -g -pthread -I "$include" -I "$root/CShim/include" -o "$tmp/racer" "$tmp/racer.c" ||
    { echo "cannot build the program"; exit 1; }

cat >"$tmp/reader.py" <<'PY'
import os, sys, time
go, out = sys.argv[1], sys.argv[2]
first = os.read(0, 4096)                # the report has begun; the writer fills the pipe
open(go, "w").close()                   # now the second thread calls _exit
time.sleep(1)
rest = b""
while True:
    b = os.read(0, 65536)
    if not b:
        break
    rest += b
open(out, "wb").write(first + rest)
PY

MAPWARDEN_LEAK_EXITCODE=23 LD_PRELOAD="$LIB" "$tmp/racer" "$tmp/go" 2>&1 >/dev/null </dev/null |
    "$PY" "$tmp/reader.py" "$tmp/go" "$tmp/report"
status=${PIPESTATUS[0]}
leaks=$(grep -c '^  at 0x' "$tmp/report")
grep -q '^SUMMARY: mapwarden: .* in 2000 mappings' "$tmp/report" || fail "the report is cut short ($leaks of 2000 leaks, no SUMMARY line)"
[ "$status" = 23 ] || fail "exit status $status, expected the leak status 23"
ok "a second _exit during the report: report whole, leak status kept"
[ $failures = 0 ]
