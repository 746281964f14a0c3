#!/usr/bin/env bash
# fork and leak reports: the parent leaks one mapping and forks;
# the child leaks another and exits through exit(). With
# MAPWARDEN_REPORT=DIR/r.%p.json there are two reports: the child's lists
# its own leak and the parent's mapping marked inherited (counted as
# inherited, not leaked, and not for MAPWARDEN_LEAK_EXITCODE); the parent's
# lists only its own. A child that only inherits keeps its own exit status;
# a child that leaves through _exit writes its own report too (ended_by
# "_exit", its status kept); an image that execs writes none (the new one
# reports for itself), nor does one killed by a signal.
. "$(dirname "$0")/../include/report_test_lib.bash" lfork

cat >"$tmp/forker.c" <<'C'
#include <sys/wait.h>
#include "common.h"
#include "leak_helpers.h"
NOINLINE void parent_leak(void) {
    char *p = mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x10000));
}
NOINLINE void child_leak(void) {
    char *p = mmap(W(0x20000), 2 * PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x20000));
}
/* argv[1]: leak (the child leaks and exit()s 0), inherit (the child maps
 * nothing and exit()s 7), _exit (the child leaks and _exit()s 9); exec and
 * abort (no fork: the process leaks, then execs /bin/true or aborts) */
int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "leak";
    say("PID %d", (int)getpid());
    parent_leak();
    if (strcmp(mode, "exec") == 0) { execl("/bin/true", "true", (char *)NULL); return 99; }
    if (strcmp(mode, "abort") == 0) abort();
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) {
        say("CHILD %d", (int)getpid());
        if (strcmp(mode, "inherit") == 0) exit(7);
        child_leak();
        if (strcmp(mode, "_exit") == 0) _exit(9);
        exit(0);
    }
    int st;
    CHECK(waitpid(c, &st, 0) == c);
    say("CHILD_STATUS %d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/forker" "$tmp/forker.c" ||
    { echo "cannot compile"; exit 1; }

run() { # mode env...
    local mode=$1; shift
    rm -f "$tmp"/r.*
    env "$@" LD_PRELOAD="$LIB" "$tmp/forker" "$mode" >"$tmp/out" 2>"$tmp/err"
    status=$?
    ppid_=$(sed -n 's/^PID //p' "$tmp/out"); cpid=$(sed -n 's/^CHILD //p' "$tmp/out")
    cstatus=$(sed -n 's/^CHILD_STATUS //p' "$tmp/out")
}

# 1. JSON, both leak; LEAK_EXITCODE applies to each process for its own leaks
run leak MAPWARDEN_REPORT="$tmp/r.%p.json" MAPWARDEN_REPORT_FORMAT=json MAPWARDEN_LEAK_EXITCODE=23
[ $status -eq 23 ] && [ "$cstatus" = 23 ] || { fail "leak: parent status $status, child $cstatus, expected 23 and 23"; show; }
[ "$(ls "$tmp" | grep -c '^r\.')" -eq 2 ] && [ -f "$tmp/r.$ppid_.json" ] && [ -f "$tmp/r.$cpid.json" ] ||
    { fail "leak: expected r.$ppid_.json and r.$cpid.json, got: $(ls "$tmp" | grep '^r\.' | tr '\n' ' ')"; }
"$PY" - "$tmp/r.$ppid_.json" "$tmp/r.$cpid.json" "$ppid_" "$cpid" <<'PY' || { fail "fork reports"; show "$tmp/r.$ppid_.json" "$tmp/r.$cpid.json"; }
import json, sys
pf, cf, ppid, cpid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
W = 0x400000000000
errors = []
p, c = json.load(open(pf)), json.load(open(cf))
if p.get("pid") != ppid or p.get("forked") is not False: errors.append("parent: pid %r forked %r" % (p.get("pid"), p.get("forked")))
if c.get("pid") != cpid or c.get("forked") is not True or c.get("parent_pid") != ppid:
    errors.append("child: pid %r forked %r parent_pid %r (expected %d, true, %d)" % (c.get("pid"), c.get("forked"), c.get("parent_pid"), cpid, ppid))
pl = [(int(l["address"], 16) - W, l.get("size"), l.get("inherited"), l.get("thread")) for l in p.get("leaks", [])]
if pl != [(0x10000, 4096, False, ppid)]: errors.append("parent leaks %r" % pl)
cl = [(int(l["address"], 16) - W, l.get("size"), l.get("inherited"), l.get("thread")) for l in c.get("leaks", [])]
if cl != [(0x10000, 4096, True, ppid), (0x20000, 8192, False, cpid)]:
    errors.append("child leaks %r, expected [(0x10000, 4096, True, thread %d), (0x20000, 8192, False, thread %d)]" % (cl, ppid, cpid))
ps, cs = p.get("summary", {}), c.get("summary", {})
want_p = {"leaked_mappings": 1, "leaked_bytes": 4096, "inherited_mappings": 0, "inherited_bytes": 0}
want_c = {"leaked_mappings": 1, "leaked_bytes": 8192, "inherited_mappings": 1, "inherited_bytes": 4096}
if {k: ps.get(k) for k in want_p} != want_p: errors.append("parent summary %r" % ps)
if {k: cs.get(k) for k in want_c} != want_c: errors.append("child summary %r" % cs)
for l in c.get("leaks", []):
    syms = [f.get("symbol") for f in l.get("stack") or []]
    want = "parent_leak" if l.get("inherited") else "child_leak"
    if want not in syms: errors.append("child report: %s's stack %r lacks %s" % (l["address"], syms, want))
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY
ok "two JSON reports"

# 2. text: the child's inherited mapping is flagged, in its own group
run leak MAPWARDEN_REPORT="$tmp/r.%p.txt"
[ $status -eq 0 ] && [ "$cstatus" = 0 ] || { fail "text: status $status/$cstatus"; show; }
ct="$tmp/r.$cpid.txt"; pt="$tmp/r.$ppid_.txt"
grep -q "^==$cpid== mapwarden: 1 leaked mapping" "$ct" 2>/dev/null &&
    grep -qE "^\s+at 0x400000010000 \(4096 bytes, rw-, private anonymous, thread $ppid_, inherited\)$" "$ct" &&
    grep -qE "^\s+at 0x400000020000 \(8192 bytes, rw-, private anonymous, thread $cpid\)$" "$ct" &&
    grep -qE "^SUMMARY: mapwarden: 8192 bytes leaked in 1 mappings?; 0 suppressed \(0 bytes\); 1 inherited \(4096 bytes\); 0 clobbers?\.$" "$ct" ||
    { fail "child text report"; show "$ct"; }
grep -q "^SUMMARY: mapwarden: 4096 bytes leaked in 1 mapping" "$pt" 2>/dev/null && ! grep -q "inherited)" "$pt" &&
    ! grep -q "400000020000" "$pt" || { fail "parent text report"; show "$pt"; }
# the inherited group and the child's own are separate groups
[ "$(grep -c 'allocated from:' "$ct")" -eq 2 ] || { fail "child text: expected 2 groups"; show "$ct"; }
ok "text reports"

# 3. a child that only inherits: its own status, its report has no leak of its own
run inherit MAPWARDEN_REPORT="$tmp/r.%p.json" MAPWARDEN_REPORT_FORMAT=json MAPWARDEN_LEAK_EXITCODE=23
[ "$cstatus" = 7 ] && [ $status -eq 23 ] || { fail "inherit: child status $cstatus (expected 7), parent $status (expected 23)"; show; }
"$PY" - "$tmp/r.$cpid.json" <<'PY' || { fail "inherit: child report"; show "$tmp/r.$cpid.json"; }
import json, sys
c = json.load(open(sys.argv[1]))
s = c["summary"]
ok = s["leaked_mappings"] == 0 and s["leaked_bytes"] == 0 and s["inherited_mappings"] == 1 and s["inherited_bytes"] == 4096
ok = ok and [l.get("inherited") for l in c["leaks"]] == [True]
if not ok: print("FAIL: summary %r leaks %r" % (s, c["leaks"]))
sys.exit(0 if ok else 1)
PY
ok "inherited only"

# 4. a child that leaves through _exit writes its own report (so does the parent)
run _exit MAPWARDEN_REPORT="$tmp/r.%p.json" MAPWARDEN_REPORT_FORMAT=json
[ "$cstatus" = 9 ] && [ -f "$tmp/r.$ppid_.json" ] && [ -f "$tmp/r.$cpid.json" ] ||
    { fail "_exit: child status $cstatus, reports: $(ls "$tmp" | grep '^r\.' | tr '\n' ' ')"; show; }
"$PY" - "$tmp/r.$cpid.json" "$tmp/r.$ppid_.json" <<'PY' || { fail "_exit: reports"; show "$tmp/r.$cpid.json" "$tmp/r.$ppid_.json"; }
import json, sys
c, p = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ok = c["ended_by"] == "_exit" and p["ended_by"] == "exit"
ok = ok and c["summary"]["leaked_mappings"] == 1 and c["summary"]["inherited_mappings"] == 1
if not ok: print("FAIL: child %r %r, parent %r" % (c["ended_by"], c["summary"], p["ended_by"]))
sys.exit(0 if ok else 1)
PY

# 5. default destination (stderr): one report from each
run leak
[ "$(grep -c '^SUMMARY: mapwarden:' "$tmp/err")" -eq 2 ] && grep -q "^==$cpid== " "$tmp/err" && grep -q "^==$ppid_== " "$tmp/err" ||
    { fail "stderr: expected one report from each process"; show; }
ok "two reports on stderr"

# 6. not at exec: the image that leaked says nothing; the new image (same
#    pid) tracked nothing, so it prints nothing unless a report was asked for
run exec
[ $status -eq 0 ] && [ ! -s "$tmp/err" ] || { fail "exec: status $status, stderr not empty"; show; }
run exec MAPWARDEN_REPORT="$tmp/r.%p.txt"
[ "$(cat "$tmp/r.$ppid_.txt" 2>/dev/null)" = "mapwarden: no leaks (pid $ppid_, 0 mappings tracked, all unmapped)" ] ||
    { fail "exec: the report is not the new image's no-leaks line"; show "$tmp/r.$ppid_.txt"; }
ok "no report at exec"

# 7. not on a fatal signal
run abort MAPWARDEN_REPORT="$tmp/r.%p.txt"
[ $status -eq 134 ] && [ ! -e "$tmp/r.$ppid_.txt" ] && ! grep -q 'mapwarden' "$tmp/err" ||
    { fail "abort: status $status, or a report was written"; show; ls "$tmp"; }
ok "no report on a fatal signal"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
