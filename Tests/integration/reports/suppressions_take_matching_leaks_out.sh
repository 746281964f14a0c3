#!/usr/bin/env bash
# MAPWARDEN_SUPPRESSIONS: LeakSanitizer syntax. A `leak:PATTERN`
# line takes matching leaks out of the report; they are counted per pattern
# in "Suppressions used" (text) and "suppressed" (JSON) and in the summary,
# and do not count for MAPWARDEN_LEAK_EXITCODE. Patterns: substring, `^` at
# the start, `$` at the end, `*` any run; matched against every frame's
# function and module path (so a module name works, and so does a frame
# deeper than the first). Comments and blank lines are allowed. A bad file
# stops the program before main with 78, naming the file and the line.
. "$(dirname "$0")/../include/report_test_lib.bash" lsupp   # no pattern below may match $tmp
show() { echo "--- status $status; stderr:"; cat "$tmp/err"; for f in "$@"; do echo "--- $f:"; cat "$f"; done; }

cat >"$tmp/mod.c" <<'C'
#include "common.h"
#include "leak_helpers.h"
NOINLINE void mod_function(void) {
    char *p = mmap(W(0x50000), 3 * PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x50000));
}
C
cat >"$tmp/subject.c" <<'C'
#include "common.h"
#include "leak_helpers.h"
void mod_function(void);
NOINLINE void leak_one_page(void) {
    char *p = mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x10000));
}
NOINLINE void leak_two(size_t offset) {
    char *p = mmap(W(offset), 2 * PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(offset));
}
int main(void) {
    say("PID %d", (int)getpid());
    leak_one_page();                                          /* 0x10000: 1 page   */
    for (int i = 0; i < 2; i++) leak_two(0x20000 + i * 0x10000); /* 0x20000, 0x30000: 2 pages each */
    mod_function();                                           /* 0x50000: 3 pages, in libleakmod.so */
    return 0;
}
C
flags="-std=gnu11 -g -O0 -fno-inline -fno-optimize-sibling-calls -Wall -I $include -I $root/CShim/include"
$CC $flags -fPIC -shared -o "$tmp/libleakmod.so" "$tmp/mod.c" &&
$CC $flags -rdynamic -o "$tmp/subject" "$tmp/subject.c" -L"$tmp" -lleakmod -Wl,-rpath,"$tmp" ||
    { echo "cannot compile"; exit 1; }

cat >"$tmp/check.py" <<'PY'
# check.py report.json 'leaked addresses (hex offsets, comma-separated)' 'pattern=mappings/bytes;...'
import json, sys
report, leaked, supp = sys.argv[1], sys.argv[2], sys.argv[3]
W = 0x400000000000
sizes = {0x10000: 4096, 0x20000: 8192, 0x30000: 8192, 0x50000: 12288}
want_leaks = [W + int(x, 16) for x in leaked.split(",") if x]
want_supp = {}
for item in filter(None, supp.split(";")):
    pat, n = item.rsplit("=", 1)
    m, b = n.split("/")
    want_supp[pat] = (int(m), int(b))
errors = []
try:
    r = json.load(open(report))
except Exception as e:
    print("FAIL: JSON does not parse: %s" % e); sys.exit(1)
got = [int(l["address"], 16) for l in r.get("leaks", []) if not l.get("inherited")]
if got != sorted(want_leaks): errors.append("leaks %s, expected %s" % ([hex(a) for a in got], [hex(a) for a in sorted(want_leaks)]))
gs = {}
for s in r.get("suppressed", []):
    if s.get("pattern") in gs: errors.append("pattern %r listed twice" % s.get("pattern"))
    gs[s.get("pattern")] = (s.get("mappings"), s.get("bytes"))
if gs != want_supp: errors.append("suppressed %r, expected %r" % (gs, want_supp))
sm, sb = sum(v[0] for v in want_supp.values()), sum(v[1] for v in want_supp.values())
lb = sum(sizes[a - W] for a in want_leaks)
s = r.get("summary", {})
want_summary = {"leaked_mappings": len(want_leaks), "leaked_bytes": lb, "suppressed_mappings": sm, "suppressed_bytes": sb}
if {k: s.get(k) for k in want_summary} != want_summary: errors.append("summary %r, expected %r" % (s, want_summary))
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY

# case NAME 'leaked offsets' 'pattern=m/b;...' SUPPRESSION-LINES...
case_() {
    step_failed=0
    local name=$1 leaked=$2 supp=$3; shift 3
    printf '%s\n' "$@" >"$tmp/$name.supp"
    env MAPWARDEN_SUPPRESSIONS="$tmp/$name.supp" MAPWARDEN_REPORT="$tmp/$name.json" MAPWARDEN_REPORT_FORMAT=json \
        MAPWARDEN_LEAK_EXITCODE=23 LD_PRELOAD="$LIB" "$tmp/subject" >"$tmp/out" 2>"$tmp/err"
    status=$?
    local want_status=23; [ -z "$leaked" ] && want_status=0
    [ $status -eq $want_status ] || { fail "$name: status $status, expected $want_status"; show "$tmp/$name.supp"; return; }
    if "$PY" "$tmp/check.py" "$tmp/$name.json" "$leaked" "$supp"; then echo "ok: $name"
    else fail "$name"; show "$tmp/$name.supp" "$tmp/$name.json"; fi
}

case_ none "10000,20000,30000,50000" "" "# nothing here" "" "leak:no_such_function_anywhere"
case_ exact "20000,30000,50000" "leak:leak_one_page=1/4096" "leak:leak_one_page"
case_ anchors "" "leak:^leak_tw=2/16384;leak:one_page\$=1/4096;leak:libleakmod.so=1/12288" \
    "# LSan-style file" "" "leak:^leak_tw" "leak:^eak_two" "   # indented comment" "leak:one_page\$" "leak:leak_one\$" \
    "leak:libleakmod.so" ""
case_ stars "20000,30000" "leak:l*k_o*page=1/4096;leak:*/libleak*.so\$=1/12288" "leak:l*k_o*page" "leak:*/libleak*.so\$" "leak:leak_*_none"
case_ anchored_both "10000,50000" "leak:^leak_two\$=2/16384" "leak:^leak_two\$" "leak:^leak_tw\$" "leak:^eak_two\$"
case_ deeper_frame "" "leak:^main\$=4/32768" "leak:^main\$"
case_ first_wins "50000" "leak:leak_=3/20480" "leak:leak_" "leak:leak_two"

# text: the table, the summary, and no trace of the suppressed leaks
printf 'leak:leak_one_page\nleak:libleakmod\nleak:never_matches\n' >"$tmp/t.supp"
env MAPWARDEN_SUPPRESSIONS="$tmp/t.supp" MAPWARDEN_REPORT="$tmp/t.txt" LD_PRELOAD="$LIB" "$tmp/subject" >"$tmp/out" 2>"$tmp/err"
status=$?
"$PY" - "$tmp/t.txt" <<'PY' || { fail "text report with suppressions"; show "$tmp/t.txt"; }
import re, sys
text = open(sys.argv[1]).read()
lines = text.split("\n")
errors = []
if not re.match(r"==\d+== mapwarden: 2 leaked mappings \(16384 bytes\) at exit of subject$", lines[0]): errors.append("first line %r" % lines[0])
try:
    i = lines.index("Suppressions used:")
    if not re.fullmatch(r"\s*mappings\s+bytes\s+pattern", lines[i + 1]): errors.append("table header %r" % lines[i + 1])
    rows = []
    for l in lines[i + 2:]:
        m = re.fullmatch(r"\s*(\d+)\s+(\d+)\s+(leak:\S+)", l)
        if not m: break
        rows.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    if sorted(rows) != sorted([(1, 4096, "leak:leak_one_page"), (1, 12288, "leak:libleakmod")]): errors.append("table rows %r" % rows)
except ValueError:
    errors.append("no 'Suppressions used:' line")
if "never_matches" in text: errors.append("an unused pattern is listed")
s = [l for l in lines if l.startswith("SUMMARY:")]
if len(s) != 1 or not re.fullmatch(r"SUMMARY: mapwarden: 16384 bytes leaked in 2 mappings; 2 suppressed \(16384 bytes\); 0 inherited \(0 bytes\); 0 clobbers?\.", s[0]):
    errors.append("SUMMARY %r" % s)
for a in ("400000010000", "400000050000"):
    if a in text: errors.append("suppressed leak %s appears" % a)
if "leak_one_page" in text.replace("leak:leak_one_page", ""): errors.append("leak_one_page appears outside the table")
if "mod_function" in text: errors.append("mod_function appears")
if len(re.findall(r"allocated from:", text)) != 1: errors.append("expected exactly one group")
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY
ok "text table"

# the config file may name the suppressions too
printf 'MAPWARDEN_SUPPRESSIONS=%s\n' "$tmp/exact.supp" >"$tmp/cfg.env"
env MAPWARDEN_CONFIG="$tmp/cfg.env" MAPWARDEN_REPORT="$tmp/cfg.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" "$tmp/subject" >/dev/null 2>&1
"$PY" "$tmp/check.py" "$tmp/cfg.json" "20000,30000,50000" "leak:leak_one_page=1/4096" && echo "ok: from the config file" || fail "suppressions from the config file"

# bad files: 78 before main, naming the file (and the line)
bad() { # name expected-fragment lines...
    step_failed=0
    local name=$1 frag=$2; shift 2
    printf '%s\n' "$@" >"$tmp/$name.supp"
    env MAPWARDEN_SUPPRESSIONS="$tmp/$name.supp" LD_PRELOAD="$LIB" "$tmp/subject" >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ $status -eq 78 ] || { fail "$name: status $status, expected 78"; show; return; }
    ! grep -q '^PID' "$tmp/out" || fail "$name: main ran"
    grep '^mapwarden:' "$tmp/err" | grep -qF "$frag" || { fail "$name: no message naming '$frag'"; show; return; }
    ok "$name -> 78: $(grep -F "$frag" "$tmp/err" | head -n 1)"
}
bad no_colon "$tmp/no_colon.supp:3" "# ok" "leak:fine" "nonsense"
bad bad_kind "$tmp/bad_kind.supp:2" "leak:fine" "leek:leak_one_page"
env MAPWARDEN_SUPPRESSIONS="$tmp/does-not-exist.supp" LD_PRELOAD="$LIB" "$tmp/subject" >"$tmp/out" 2>"$tmp/err"; status=$?
[ $status -eq 78 ] && grep -qF "$tmp/does-not-exist.supp" "$tmp/err" && ! grep -q '^PID' "$tmp/out" ||
    { fail "missing suppressions file: status $status"; show; }
ok "missing file -> $status"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
