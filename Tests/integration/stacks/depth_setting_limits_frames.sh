#!/usr/bin/env bash
# MAPWARDEN_BACKTRACE_DEPTH: 1 keeps exactly one frame per stack
# (the function that called mmap); 0 captures none (the report says why, in
# place of the frames); the default keeps 32 frames of a recursion 100 deep;
# 128 (the maximum) keeps all 100 recursion frames; values outside 0..128
# stop the program before main with 78.
. "$(dirname "$0")/../include/report_test_lib.bash" ldepth
show() { echo "--- status $status; stderr:"; cat "$tmp/err"; for f in "$@"; do echo "--- $f:"; head -c 6000 "$f"; echo; done; }

cat >"$tmp/deep.c" <<'C'
#include "common.h"
#include "leak_helpers.h"
NOINLINE void leak_one_page(void) {
    char *p = mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x10000));
}
static volatile int sink;
/* 100 frames of recurse(), the deepest of which maps */
NOINLINE int recurse(int n) {
    if (n == 1) {
        char *p = mmap(W(0x20000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
        CHECK(p == W(0x20000));
        return 1;
    }
    int r = recurse(n - 1) + 1;  /* not a tail call */
    sink = r;
    return r;
}
int main(void) {
    say("PID %d", (int)getpid());
    leak_one_page();
    CHECK(recurse(100) == 100);
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -fno-optimize-sibling-calls -Wall -I "$include" -I "$root/CShim/include" \
    -o "$tmp/deep" "$tmp/deep.c" || { echo "cannot compile"; exit 1; }

run() { # env...
    env "$@" LD_PRELOAD="$LIB" "$tmp/deep" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

cat >"$tmp/check.py" <<'PY'
import json, sys
depth, report = int(sys.argv[1]), sys.argv[2]
errors = []
try:
    r = json.load(open(report))
except Exception as e:
    print("FAIL: JSON does not parse: %s" % e); sys.exit(1)
L = {int(l["address"], 16) - 0x400000000000: l for l in r.get("leaks", [])}
if sorted(L) != [0x10000, 0x20000]: errors.append("leaks at %r" % [hex(a) for a in L])
if r.get("settings", {}).get("backtrace_depth") != depth: errors.append("settings.backtrace_depth %r" % r.get("settings", {}).get("backtrace_depth"))
one, rec = L.get(0x10000, {}), L.get(0x20000, {})
st = r.get("stacks", {})
if depth == 0:
    if st.get("available") is not False or not isinstance(st.get("reason"), str) or not st.get("reason"):
        errors.append("stacks %r: expected available false with a reason" % st)
    for l in L.values():
        if l.get("stack") not in (None, []): errors.append("a stack with depth 0: %r" % l.get("stack"))
else:
    if st.get("available") is not True: errors.append("stacks %r" % st)
    syms = lambda l: [f.get("symbol") for f in l.get("stack") or []]
    if depth == 1:
        for l in L.values():
            if len(l.get("stack") or []) != 1: errors.append("%s: %d frames, expected 1" % (l["address"], len(l.get("stack") or [])))
        if syms(one) != ["leak_one_page"]: errors.append("depth 1: leak_one_page's stack %r" % syms(one))
        if syms(rec) != ["recurse"]: errors.append("depth 1: recurse's stack %r" % syms(rec))
    elif depth == 32:
        if len(rec.get("stack") or []) != 32: errors.append("default depth: %d frames, expected 32" % len(rec.get("stack") or []))
        if syms(rec) != ["recurse"] * 32: errors.append("default depth: not 32 recurse frames: %r" % syms(rec))
        if "leak_one_page" not in syms(one) or "main" not in syms(one): errors.append("leak_one_page's stack %r" % syms(one))
    elif depth == 128:
        s = syms(rec)
        if s[:100] != ["recurse"] * 100 or "recurse" in s[100:]: errors.append("depth 128: %d recurse frames (first 100 expected): %r" % (s.count("recurse"), s))
        if "main" not in s[100:]: errors.append("depth 128: no main after the recursion: %r" % s[100:])
        if len(s) > 110: errors.append("depth 128: %d frames" % len(s))
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY

for d in 1 0 32 128; do
    step_failed=0
    envs=(MAPWARDEN_REPORT="$tmp/d$d.json" MAPWARDEN_REPORT_FORMAT=json)
    [ $d -ne 32 ] && envs+=(MAPWARDEN_BACKTRACE_DEPTH=$d)   # 32: the default
    run "${envs[@]}"
    [ $status -eq 0 ] || { fail "depth $d: status $status"; show; continue; }
    if "$PY" "$tmp/check.py" $d "$tmp/d$d.json"; then echo "ok: depth $d"; else fail "depth $d"; show "$tmp/d$d.json"; fi
done
run MAPWARDEN_BACKTRACE_DEPTH=32 MAPWARDEN_REPORT="$tmp/e32.json" MAPWARDEN_REPORT_FORMAT=json
"$PY" "$tmp/check.py" 32 "$tmp/e32.json" && echo "ok: depth 32 given explicitly" || fail "depth 32 explicit"

# text, depth 0: "(no stack: REASON)" in place of the frames, no frame lines
run MAPWARDEN_BACKTRACE_DEPTH=0 MAPWARDEN_REPORT="$tmp/d0.txt"
n=$(grep -cE '^\s+\(no stack: .+\)$' "$tmp/d0.txt")
[ "$n" -ge 1 ] && ! grep -qE '^\s+#[0-9]+ ' "$tmp/d0.txt" &&
    grep -q '^SUMMARY: mapwarden: 8192 bytes leaked in 2 mappings' "$tmp/d0.txt" ||
    { fail "depth 0 text: $n '(no stack: ...)' lines"; show "$tmp/d0.txt"; }
ok "depth 0 text: $(grep -m1 'no stack' "$tmp/d0.txt")"
# text, depth 1: exactly one frame line per group
run MAPWARDEN_BACKTRACE_DEPTH=1 MAPWARDEN_REPORT="$tmp/d1.txt"
[ "$(grep -cE '^\s+#0 0x[0-9a-f]+ in ' "$tmp/d1.txt")" -eq 2 ] && ! grep -qE '^\s+#1 ' "$tmp/d1.txt" &&
    grep -qE '^\s+#0 0x[0-9a-f]+ in recurse\+0x' "$tmp/d1.txt" && grep -qE '^\s+#0 0x[0-9a-f]+ in leak_one_page\+0x' "$tmp/d1.txt" ||
    { fail "depth 1 text"; show "$tmp/d1.txt"; }
ok "depth 1 text"

for v in 129 256 300 -1 abc 1x "" 99999999999999999999999; do
    run MAPWARDEN_BACKTRACE_DEPTH="$v"
    [ $status -eq 78 ] && ! grep -q '^PID' "$tmp/out" && grep -qF "MAPWARDEN_BACKTRACE_DEPTH=\"$v\"" "$tmp/err" ||
        { fail "MAPWARDEN_BACKTRACE_DEPTH=$v: status $status, expected 78 with a message"; show; }
done
ok "bad values"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
