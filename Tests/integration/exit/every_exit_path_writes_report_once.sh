#!/usr/bin/env bash
# Every way a process ends on purpose writes the leak report, once:
# exit(), _exit(), _Exit(), quick_exit() and syscall(SYS_exit_group) (how
# QEMU's user-mode emulator ends). The program's status is kept (the leak
# status replaces it when MAPWARDEN_LEAK_EXITCODE is set and there are
# leaks); the JSON says how it ended ("ended_by": "exit", "_exit", "_Exit",
# "quick_exit" or "exit_group", and so does the text report's header); an
# ending at once does not flush stdio, exactly as without mapwarden. A vfork
# child that calls _exit shares its parent's memory: it writes no report and
# leaves its parent's alone (the parent still reports at its exit). An
# atexit handler that calls _exit gives one report, not two.
. "$(dirname "$0")/../include/report_test_lib.bash" exit_paths

cat >"$tmp/ender.c" <<'C'
#include <sys/wait.h>
#include "common.h"
#include "leak_helpers.h"
NOINLINE void leak_page(size_t offset) {
    char *p = mmap(W(offset), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(offset));
}
static void atexit_then__exit(void) { _exit(6); }
int main(int argc, char **argv) {
    const char *how = argv[1];
    say("PID %d", (int)getpid());
    leak_page(0x10000);
    printf("unflushed");           /* stays in stdio's buffer */
    if (!strcmp(how, "exit")) exit(5);
    if (!strcmp(how, "_exit")) _exit(5);
    if (!strcmp(how, "_Exit")) _Exit(5);
    if (!strcmp(how, "quick_exit")) quick_exit(5);
    if (!strcmp(how, "exit_group")) syscall(SYS_exit_group, 5);
    if (!strcmp(how, "atexit_exit")) { atexit(atexit_then__exit); exit(5); }
    if (!strcmp(how, "vfork")) {
        fflush(stdout);
        pid_t c = vfork();
        if (c == 0) _exit(3);
        int st;
        CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 3);
        printf("\nVFORK_CHILD %d\n", (int)c);
        exit(5);
    }
    return 99;
}
C
$CC -std=gnu11 -O0 -g -rdynamic -I "$include" -I "$root/CShim/include" -o "$tmp/ender" "$tmp/ender.c" ||
    { echo "cannot build the program"; exit 1; }

run() { # how env...
    local how=$1; shift
    rm -f "$tmp"/r.*
    env "$@" LD_PRELOAD="$LIB" "$tmp/ender" "$how" >"$tmp/out" 2>"$tmp/err"
    status=$?
    pid=$(sed -n 's/^PID //p' "$tmp/out")
}
check_report() { # file ended_by
    "$PY" - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
ok = r["ended_by"] == sys.argv[2] and s["leaked_mappings"] == 1 and s["leaked_bytes"] == 4096
if not ok: print("FAIL: ended_by %r summary %r" % (r["ended_by"], s))
sys.exit(0 if ok else 1)
PY
}

for how in exit _exit _Exit quick_exit exit_group; do
    ended=$how
    run "$how" MAPWARDEN_REPORT="$tmp/r.%p.json" MAPWARDEN_REPORT_FORMAT=json
    [ "$status" -eq 5 ] || { fail "$how: status $status, expected the program's 5"; show; }
    [ "$(ls "$tmp" | grep -c '^r\.')" -eq 1 ] && [ -f "$tmp/r.$pid.json" ] ||
        { fail "$how: expected one report r.$pid.json, have: $(ls "$tmp" | grep '^r\.' | tr '\n' ' ')"; show; }
    check_report "$tmp/r.$pid.json" "$ended" || { fail "$how: report"; show "$tmp/r.$pid.json"; }
    # stdio: flushed by exit() only, with and without mapwarden alike
    without=$(env "$tmp/ender" "$how" 2>/dev/null | grep -c unflushed)
    [ "$(grep -c unflushed "$tmp/out")" = "$without" ] || { fail "$how: stdio flushed differently than without mapwarden"; show; }
    # the leak status replaces the program's
    run "$how" MAPWARDEN_REPORT=none MAPWARDEN_LEAK_EXITCODE=23
    [ "$status" -eq 23 ] || { fail "$how with MAPWARDEN_LEAK_EXITCODE=23: status $status"; show; }
    ok "$how writes the report ($ended), keeps the status, applies the leak status"
done

# the text report says how the process ended
run _exit MAPWARDEN_REPORT=stderr
grep -q "^==$pid== mapwarden: 1 leaked mapping (4096 bytes) at _exit of ender$" "$tmp/err" ||
    { fail "_exit: text report header"; show; }
grep -q "in leak_page" "$tmp/err" || { fail "_exit: the stack names leak_page"; show; }
ok "text report at _exit"

# an atexit handler that calls _exit: one report
run atexit_exit MAPWARDEN_REPORT="$tmp/r.%p.json" MAPWARDEN_REPORT_FORMAT=json
[ "$status" -eq 6 ] && [ "$(ls "$tmp" | grep -c '^r\.')" -eq 1 ] || { fail "atexit handler's _exit: status $status, reports $(ls "$tmp" | grep '^r\.' | tr '\n' ' ')"; show; }
check_report "$tmp/r.$pid.json" _exit || { fail "atexit handler's _exit: report"; show "$tmp/r.$pid.json"; }
ok "one report when an exit handler calls _exit"

# a vfork child's _exit: no report of its own; the parent's is written
run vfork MAPWARDEN_REPORT="$tmp/r.%p.json" MAPWARDEN_REPORT_FORMAT=json
child=$(sed -n 's/^VFORK_CHILD //p' "$tmp/out")
[ "$status" -eq 5 ] && [ -n "$child" ] && [ ! -e "$tmp/r.$child.json" ] && [ -f "$tmp/r.$pid.json" ] ||
    { fail "vfork: status $status, child $child, reports: $(ls "$tmp" | grep '^r\.' | tr '\n' ' ')"; show; }
check_report "$tmp/r.$pid.json" exit || { fail "vfork: the parent's report"; show "$tmp/r.$pid.json"; }
ok "a vfork child's _exit writes no report; the parent's is whole"

exit $failures
