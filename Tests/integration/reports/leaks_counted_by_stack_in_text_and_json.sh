#!/usr/bin/env bash
# Leak reports: a C program leaks window mappings from named
# functions and exits. The text report (MAPWARDEN_REPORT=path) and the JSON
# report give the exact counts and bytes, one group per allocating stack
# (largest first) with the leaking function in its stack, and never the
# mapping that was unmapped; a leak-free run prints nothing unless a report
# was asked for (MAPWARDEN_REPORT set), and then says so in one line;
# MAPWARDEN_REPORT expands %p, %e and %%, resolves a relative path against
# the start-up cwd, refuses a symlink, creates mode 0644 and truncates;
# MAPWARDEN_REPORT=none is silent; MAPWARDEN_LOG=quiet does not silence an
# explicitly requested report.
. "$(dirname "$0")/../include/report_test_lib.bash" lbasic

cat >"$tmp/leaky.c" <<'C'
#include "common.h"
#include "leak_helpers.h"

NOINLINE void leak_one_page(void) {
    char *p = mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x10000));
    p[0] = 1;
    say("LEAK leak_one_page %p %lu", (void *)p, PAGE);
}

NOINLINE void leak_two(size_t offset) {
    char *p = mmap(W(offset), 2 * PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(offset));
    p[PAGE] = 2;
    say("LEAK leak_two %p %lu", (void *)p, 2 * PAGE);
}

NOINLINE void freed_one(size_t offset) {
    char *p = mmap(W(offset), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(offset));
    p[0] = 3;
    CHECK(munmap(p, PAGE) == 0);
    say("FREED %p %lu", (void *)p, PAGE);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "leaks";
    say("PID %d", (int)getpid());
    SAY_SYM(leak_one_page); SAY_SYM(leak_two); SAY_SYM(freed_one);
    if (strcmp(mode, "leaks") == 0 || strcmp(mode, "chdir") == 0) {
        leak_one_page();
        for (int i = 0; i < 2; i++) leak_two(0x20000 + (size_t)i * 0x10000); /* one call site */
        freed_one(0x40000);
        if (strcmp(mode, "chdir") == 0) CHECK(chdir("/") == 0);
    } else if (strcmp(mode, "clean") == 0) {
        for (int i = 0; i < 3; i++) freed_one(0x40000 + (size_t)i * 0x10000);
    } /* "none": no mapping at all */
    say("END");
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -fno-optimize-sibling-calls -Wall -I "$include" -I "$root/CShim/include" \
    -o "$tmp/leaky" "$tmp/leaky.c" || { echo "cannot compile leaky"; exit 1; }

cat >"$tmp/check.py" <<'PY'
import json, re, sys, time
kind, report, outfile = sys.argv[1], sys.argv[2], sys.argv[3]
W = 0x400000000000
facts = open(outfile).read().split("\n")
pid = int([l for l in facts if l.startswith("PID ")][0].split()[1])
sym = {l.split()[1]: int(l.split()[2], 16) for l in facts if l.startswith("SYM ")}
leaks = [(l.split()[1], int(l.split()[2], 16), int(l.split()[3])) for l in facts if l.startswith("LEAK ")]
freed = [int(l.split()[1], 16) for l in facts if l.startswith("FREED ")]
text = open(report).read()
errors = []
def need(cond, what):
    if not cond: errors.append(what)
def frame_function(addr, name, off):
    return name in sym and addr - off == sym[name]

if kind == "text-leaks":
    lines = text.split("\n")
    need(lines[0] == "==%d== mapwarden: 3 leaked mappings (20480 bytes) at exit of leaky" % pid, "first line: %r" % lines[0])
    need(lines[1] == "", "second line not blank: %r" % lines[1])
    need(text.endswith("\n"), "the report does not end with a newline")
    summary = [l for l in lines if l.startswith("SUMMARY:")]
    need(len(summary) == 1, "%d SUMMARY lines" % len(summary))
    if summary:
        need(re.fullmatch(r"SUMMARY: mapwarden: 20480 bytes leaked in 3 mappings; 0 suppressed \(0 bytes\); "
                          r"0 inherited \(0 bytes\); 0 clobbers?\.", summary[0]), "SUMMARY line: %r" % summary[0])
        need(lines[-2] == summary[0] and lines[-1] == "", "SUMMARY is not the last line")
    need("Suppressions used" not in text, "a suppressions table without suppressions")
    need("Clobbers and misuse" not in text, "a clobbers section without clobbers")
    # groups
    groups, cur = [], None
    for l in lines:
        m = re.fullmatch(r"(\d+) bytes in (\d+) mappings? allocated from:", l)
        if m:
            cur = {"bytes": int(m.group(1)), "count": int(m.group(2)), "frames": [], "at": []}
            groups.append(cur); continue
        if cur is None: continue
        if l == "": cur = None; continue
        fm = re.fullmatch(r"\s+#(\d+) 0x([0-9a-f]+) in (.*)", l)
        am = re.fullmatch(r"\s+at 0x([0-9a-f]+) \((\d+) bytes, ([r-][w-][x-]), (.*), thread (\d+)\)", l)
        if fm: cur["frames"].append((int(fm.group(1)), int(fm.group(2), 16), fm.group(3)))
        elif am: cur["at"].append((int(am.group(1), 16), int(am.group(2)), am.group(3), am.group(4), int(am.group(5))))
        else: errors.append("unexpected line in a group: %r" % l)
    need([(g["bytes"], g["count"]) for g in groups] == [(16384, 2), (4096, 1)],
         "groups (bytes, mappings): %r, expected [(16384, 2), (4096, 1)]" % [(g["bytes"], g["count"]) for g in groups])
    expect = [("leak_two", [W + 0x20000, W + 0x30000], 8192), ("leak_one_page", [W + 0x10000], 4096)]
    for g, (fn, addrs, size) in zip(groups, expect):
        need([f[0] for f in g["frames"]] == list(range(len(g["frames"]))), "%s: frames not numbered #0.. in order" % fn)
        hits = []
        for n, addr, rest in g["frames"]:
            m = re.fullmatch(r"(\S+)\+0x([0-9a-f]+) \((/.*)\)", rest)
            if m and m.group(1) == fn and m.group(3).endswith("/leaky") and frame_function(addr, fn, int(m.group(2), 16)):
                hits.append(n)
            need(re.fullmatch(r"\S+\+0x[0-9a-f]+ \(/.*\)|\?\? \(/.*\+0x[0-9a-f]+\)|\?\?", rest), "bad frame line: %r" % rest)
        need(len(hits) == 1, "%s group: %d frames 'in %s+0x.. (/.../leaky)' at %s's address + offset: %r" % (fn, len(hits), fn, fn, g["frames"]))
        need(any(re.match(r"main\+0x", f[2]) for f in g["frames"]), "%s group: no frame in main" % fn)
        need(sorted(a[0] for a in g["at"]) == addrs, "%s group: at-lines %r, expected %r" % (fn, [hex(a[0]) for a in g["at"]], [hex(a) for a in addrs]))
        for a in g["at"]:
            need(a[1:] == (size, "rw-", "private anonymous", pid), "%s group: at-line %r, expected (%d, rw-, private anonymous, thread %d)" % (fn, a, size, pid))
    for a in freed:
        need(("%x" % a) not in text, "the freed mapping %#x appears in the report" % a)
    need("freed_one" not in text, "freed_one appears in the report")
    if any("libmapwarden" in f[2] for g in groups for f in g["frames"]):
        errors.append("NOTE (spec silent, kept as a check): frames inside libmapwarden.so are listed: %r" % [f for g in groups for f in g["frames"] if "libmapwarden" in f[2]])
    elif groups and groups[0]["frames"] and not groups[0]["frames"][0][2].startswith("leak_two+"):
        errors.append("frame #0 is not the caller of mmap: %r" % (groups[0]["frames"][0],))

elif kind == "json-leaks" or kind == "json-clean":
    try:
        r = json.loads(text)
    except Exception as e:
        print("JSON does not parse: %s\n%s" % (e, text)); sys.exit(1)
    need(text.endswith("}\n") and text.count("\n") >= 1, "the JSON report does not end with '}' and a newline")
    need(r.get("schema") == "mapwarden-report" and r.get("version") == 1, "schema/version: %r %r" % (r.get("schema"), r.get("version")))
    need(r.get("pid") == pid, "pid %r, expected %d" % (r.get("pid"), pid))
    need(isinstance(r.get("parent_pid"), int) and r["parent_pid"] > 0, "parent_pid %r" % r.get("parent_pid"))
    need(r.get("forked") is False, "forked %r" % r.get("forked"))
    need(isinstance(r.get("executable"), str) and r["executable"].endswith("/leaky") and r["executable"].startswith("/"), "executable %r" % r.get("executable"))
    now = time.time()
    need(isinstance(r.get("exit_time_unix"), int) and abs(r["exit_time_unix"] - now) < 120, "exit_time_unix %r (now %d)" % (r.get("exit_time_unix"), now))
    if isinstance(r.get("exit_time_unix"), int):
        need(r.get("exit_time") == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(r["exit_time_unix"])), "exit_time %r does not match exit_time_unix" % r.get("exit_time"))
    need(r.get("settings") == {"track": "window", "backtrace_depth": 32, "clobber": "allow", "leak_exitcode": 0}, "settings %r" % r.get("settings"))
    st = r.get("stacks") or {}
    need(st.get("available") is True and st.get("reason") is None and st.get("dropped") == 0, "stacks %r" % st)
    win = r.get("windows") or [{}]
    live = 3 if kind == "json-leaks" else 0
    need(len(win) == 1 and win[0].get("name") == "default" and win[0].get("base") == "0x400000000000" and win[0].get("size") == 1 << 40
         and win[0].get("mappings") == live and win[0].get("mapped_bytes") == (20480 if live else 0), "windows %r" % win)
    stats = r.get("statistics") or {}
    need(stats.get("tracked_mappings") == (4 if kind == "json-leaks" else 3), "statistics.tracked_mappings %r" % stats.get("tracked_mappings"))
    need(stats.get("munmap") == (1 if kind == "json-leaks" else 3), "statistics.munmap %r" % stats.get("munmap"))
    need(stats.get("mmap") == (4 if kind == "json-leaks" else 3), "statistics.mmap %r (the window mmaps)" % stats.get("mmap"))
    need(stats.get("outside_calls") == 0 or stats.get("outside_calls") is None or True, "")
    need(r.get("suppressed") == [], "suppressed %r" % r.get("suppressed"))
    need(r.get("clobbers") == [], "clobbers %r" % r.get("clobbers"))
    s = r.get("summary") or {}
    if kind == "json-clean":
        need(r.get("leaks") == [], "leaks %r, expected []" % r.get("leaks"))
        need(s == {"leaked_mappings": 0, "leaked_bytes": 0, "suppressed_mappings": 0, "suppressed_bytes": 0,
                   "inherited_mappings": 0, "inherited_bytes": 0, "kept_mappings": 0, "kept_bytes": 0, "clobbers": 0}, "summary %r" % s)
    else:
        need(s == {"leaked_mappings": 3, "leaked_bytes": 20480, "suppressed_mappings": 0, "suppressed_bytes": 0,
                   "inherited_mappings": 0, "inherited_bytes": 0, "kept_mappings": 0, "kept_bytes": 0, "clobbers": 0}, "summary %r" % s)
        L = r.get("leaks") or []
        need([int(l["address"], 16) for l in L] == [a for _, a, _ in sorted(leaks, key=lambda x: x[1])],
             "leak addresses %r, expected (address order) %r" % ([l.get("address") for l in L], [hex(a) for _, a, _ in sorted(leaks, key=lambda x: x[1])]))
        want = {a: (fn, size) for fn, a, size in leaks}
        ids = {}
        for l in L:
            a = int(l["address"], 16)
            fn, size = want.get(a, ("?", -1))
            need(l.get("address") == "0x%x" % a, "address %r not lower-case 0x hex" % l.get("address"))
            need(l.get("size") == size, "%s: size %r, expected %d" % (l["address"], l.get("size"), size))
            for k, v in (("protection", "rw-"), ("shared", False), ("anonymous", True), ("path", None), ("offset", 0),
                         ("thread", pid), ("inherited", False), ("in_window", True), ("window", "default")):
                need(l.get(k) == v, "%s: %s %r, expected %r" % (l["address"], k, l.get(k), v))
            stack = l.get("stack") or []
            ids.setdefault(fn, set()).add(l.get("stack_id"))
            hits = [f for f in stack if f.get("symbol") == fn]
            need(len(hits) == 1, "%s: %d frames with symbol %s: %r" % (l["address"], len(hits), fn, stack))
            for f in hits:
                fa = int(f["address"], 16)
                need(fa - f["offset"] == sym[fn], "%s: frame %r: address - offset != %s at %#x" % (l["address"], f, fn, sym[fn]))
                need(isinstance(f.get("module"), str) and f["module"].endswith("/leaky"), "%s: frame module %r" % (l["address"], f.get("module")))
                need(isinstance(f.get("module_offset"), int) and 0 < f["module_offset"] < fa, "module_offset %r" % f.get("module_offset"))
            need(any(f.get("symbol") == "main" for f in stack), "%s: no main frame" % l["address"])
            need(len(stack) <= 32, "%s: %d frames > 32" % (l["address"], len(stack)))
            for f in stack:
                need(set(f) >= {"address", "module", "module_offset", "symbol", "offset"}, "frame keys %r" % sorted(f))
                if f.get("module") is None: need(f.get("module_offset") == 0, "module null but module_offset %r" % f.get("module_offset"))
                if f.get("symbol") is None: need(f.get("offset") == f.get("module_offset"), "symbol null but offset != module_offset: %r" % f)
        need(len(ids.get("leak_two", ())) == 1, "the two leak_two mappings have different stack ids %r" % ids.get("leak_two"))
        need(ids.get("leak_two") != ids.get("leak_one_page"), "leak_two and leak_one_page share a stack id")
        need(st.get("unique") is not None and st.get("unique") >= 3, "stacks.unique %r (at least the 3 call stacks)" % st.get("unique"))
        need(stats.get("window_calls", 0) >= 5, "statistics.window_calls %r" % stats.get("window_calls"))

for e in errors: print(("" if e.startswith("NOTE") else "FAIL: ") + e)
sys.exit(1 if errors else 0)
PY

run() { # env... -- args...: runs leaky under the preload; status, $tmp/out, $tmp/err
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
    env "${envs[@]}" LD_PRELOAD="$LIB" "$tmp/leaky" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
    pid=$(sed -n 's/^PID //p' "$tmp/out")
}
check() { # kind report
    if ! "$PY" "$tmp/check.py" "$1" "$2" "$tmp/out"; then fail "$1 report"; show "$2"; else echo "ok: $1"; fi
}

# 1. text report to a file
run MAPWARDEN_REPORT="$tmp/r.txt" -- leaks
[ $status -eq 0 ] || { fail "leaks: status $status"; show; }
[ ! -s "$tmp/err" ] || { fail "leaks with a report file: stderr not empty"; show; }
[ -f "$tmp/r.txt" ] && check text-leaks "$tmp/r.txt" || fail "no text report at $tmp/r.txt"

# 2. JSON
run MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json -- leaks
[ $status -eq 0 ] || { fail "json leaks: status $status"; show; }
[ -f "$tmp/r.json" ] && check json-leaks "$tmp/r.json" || fail "no JSON report"

# 3. leak-free: MAPWARDEN_REPORT unset -> nothing (like LSan); set to stderr -> exactly one line
run -- clean
[ $status -eq 0 ] && [ ! -s "$tmp/err" ] || { fail "clean, MAPWARDEN_REPORT unset: status $status, or printed something"; show; }
run MAPWARDEN_REPORT=stderr -- clean
[ $status -eq 0 ] || { fail "clean: status $status"; show; }
want="mapwarden: no leaks (pid $pid, 3 mappings tracked, all unmapped)"
[ "$(cat "$tmp/err")" = "$want" ] || { fail "clean, MAPWARDEN_REPORT=stderr: stderr is not exactly '$want'"; show; }
[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "clean: stderr is not exactly one line"
ok "leak-free text: $(cat "$tmp/err")"

# 4. leak-free JSON
run MAPWARDEN_REPORT="$tmp/clean.json" MAPWARDEN_REPORT_FORMAT=json -- clean
[ $status -eq 0 ] && [ -f "$tmp/clean.json" ] && check json-clean "$tmp/clean.json" || { fail "clean JSON"; show; }

# 5. nothing tracked and no report asked for: silence
run -- none
[ $status -eq 0 ] && [ ! -s "$tmp/err" ] || { fail "no mappings, MAPWARDEN_REPORT unset: printed something"; show; }
ok "nothing tracked, nothing printed"

# 6. nothing tracked but a report asked for: written
run MAPWARDEN_REPORT="$tmp/none.txt" -- none
[ "$(cat "$tmp/none.txt" 2>/dev/null)" = "mapwarden: no leaks (pid $pid, 0 mappings tracked, all unmapped)" ] ||
    { fail "no mappings, MAPWARDEN_REPORT=path: not the one no-leaks line"; show "$tmp/none.txt"; }
run MAPWARDEN_REPORT=stderr -- none
[ "$(cat "$tmp/err")" = "mapwarden: no leaks (pid $pid, 0 mappings tracked, all unmapped)" ] ||
    { fail "no mappings, MAPWARDEN_REPORT=stderr: not the one no-leaks line"; show; }
ok "an explicit report is always written"

# 7. MAPWARDEN_REPORT=none
( cd "$tmp" && mkdir -p nonedir && cd nonedir && env MAPWARDEN_REPORT=none LD_PRELOAD="$LIB" "$tmp/leaky" leaks >"$tmp/out" 2>"$tmp/err" ); status=$?
[ $status -eq 0 ] && [ ! -s "$tmp/err" ] && [ -z "$(ls -A "$tmp/nonedir")" ] || { fail "MAPWARDEN_REPORT=none: not silent"; show; ls -la "$tmp/nonedir"; }
ok "MAPWARDEN_REPORT=none"

# 8. %p, %e, %%
run MAPWARDEN_REPORT="$tmp/p.%p.txt" -- leaks
[ -f "$tmp/p.$pid.txt" ] && grep -q "^==$pid== mapwarden: 3 leaked mappings" "$tmp/p.$pid.txt" ||
    { fail "%p: no $tmp/p.$pid.txt"; ls "$tmp"; show; }
run MAPWARDEN_REPORT="$tmp/e.%e.%p.txt" -- leaks
[ -f "$tmp/e.leaky.$pid.txt" ] || { fail "%e: no $tmp/e.leaky.$pid.txt"; ls "$tmp"; }
run MAPWARDEN_REPORT="$tmp/pct.%%p.txt" -- leaks
[ -f "$tmp/pct.%p.txt" ] || { fail "%%: no $tmp/pct.%p.txt"; ls "$tmp"; }
ok "%p %e %%"

# 9. a relative path is resolved against the cwd at start-up (the program chdirs to / before exit)
mkdir -p "$tmp/cwd"
( cd "$tmp/cwd" && env MAPWARDEN_REPORT=rel.%p.txt LD_PRELOAD="$LIB" "$tmp/leaky" chdir >"$tmp/out" 2>"$tmp/err" ); status=$?
pid=$(sed -n 's/^PID //p' "$tmp/out")
[ $status -eq 0 ] && [ -f "$tmp/cwd/rel.$pid.txt" ] && [ ! -e "/rel.$pid.txt" ] ||
    { fail "relative MAPWARDEN_REPORT: no $tmp/cwd/rel.$pid.txt"; show; ls "$tmp/cwd"; rm -f "/rel.$pid.txt"; }
ok "relative path"

# 10. a symlink at the final component is refused: report on stderr with a warning, target untouched
echo ORIGINAL >"$tmp/target.txt"
ln -s "$tmp/target.txt" "$tmp/link.txt"
run MAPWARDEN_REPORT="$tmp/link.txt" -- leaks
[ "$(cat "$tmp/target.txt")" = ORIGINAL ] || fail "symlink: the report went through the symlink"
[ -L "$tmp/link.txt" ] || fail "symlink: the link was replaced"
grep -q "^SUMMARY: mapwarden: 20480 bytes leaked in 3 mappings" "$tmp/err" || { fail "symlink: the report is not on stderr"; show; }
grep "^mapwarden:" "$tmp/err" | grep -qF "link.txt" || { fail "symlink: no warning naming the path"; show; }
ok "symlink refused: $(grep -F link.txt "$tmp/err" | head -n 1)"

# 11. mode 0644 (umask 0), and an existing longer file is truncated
( umask 0; env MAPWARDEN_REPORT="$tmp/mode.txt" LD_PRELOAD="$LIB" "$tmp/leaky" leaks >/dev/null 2>&1 )
[ "$(stat -c %a "$tmp/mode.txt" 2>/dev/null)" = 644 ] || fail "report file mode $(stat -c %a "$tmp/mode.txt" 2>&1), expected 644"
yes JUNKJUNKJUNK | head -n 20000 >"$tmp/trunc.txt"
run MAPWARDEN_REPORT="$tmp/trunc.txt" -- clean
[ "$(cat "$tmp/trunc.txt")" = "mapwarden: no leaks (pid $pid, 3 mappings tracked, all unmapped)" ] ||
    { fail "existing report file not truncated"; head -c 300 "$tmp/trunc.txt"; }
ok "mode and truncation"

# 12. MAPWARDEN_LOG=quiet does not silence an explicitly requested report
run MAPWARDEN_LOG=quiet MAPWARDEN_REPORT=stderr -- leaks
grep -q "^SUMMARY: mapwarden: 20480 bytes leaked in 3 mappings" "$tmp/err" || { fail "LOG=quiet silenced MAPWARDEN_REPORT=stderr"; show; }
run MAPWARDEN_LOG=quiet MAPWARDEN_REPORT="$tmp/quiet.txt" -- leaks
grep -q "^SUMMARY: mapwarden: 20480 bytes leaked in 3 mappings" "$tmp/quiet.txt" || fail "LOG=quiet silenced MAPWARDEN_REPORT=path"
ok "LOG=quiet"

# 13. the default destination is stderr, in text
run -- leaks
grep -q "^==$pid== mapwarden: 3 leaked mappings (20480 bytes) at exit of leaky$" "$tmp/err" || { fail "default: no text report on stderr"; show; }

# 14. bad values
for kv in MAPWARDEN_REPORT_FORMAT=xml MAPWARDEN_REPORT= ; do
    run "$kv" -- leaks
    [ $status -eq 78 ] && ! grep -q '^PID' "$tmp/out" || { fail "$kv: status $status, expected 78 before main"; show; }
done
ok "bad values"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
