#!/usr/bin/env bash
# mapwarden_alloc is recorded like any mapping: memory it hands out and the
# program never unmaps appears in the leak report (text and JSON) with the
# stack of the call to mapwarden_alloc: the calling function is frame #0
# (no frame inside libmapwarden.so), main is further down; the window is
# named ("default", or "ipc" for an alloc in MAPWARDEN_WINDOW_IPC); an
# allocation that was unmapped is not reported.
. "$(dirname "$0")/../include/window_test_lib.bash" api_alloc_leak

cat >"$tmp/leaky.c" <<'C'
#include "common.h"
#include "leak_helpers.h"
#pragma weak mapwarden_alloc

NOINLINE void alloc_leaker(void) {
    char *p = mapwarden_alloc(NULL, 2 * PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    CHECK(p != NULL);
    p[0] = 1;
    say("LEAK alloc_leaker %p %lu", (void *)p, 2 * PAGE);
}
NOINLINE void ipc_leaker(void) {
    char *p = mapwarden_alloc("IPC", 3 * PAGE, 0, PROT_READ, MAP_PRIVATE);
    CHECK(p != NULL);
    say("LEAK ipc_leaker %p %lu", (void *)p, 3 * PAGE);
}
NOINLINE void alloc_freed(void) {
    char *p = mapwarden_alloc(NULL, PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    CHECK(p != NULL);
    CHECK(munmap(p, PAGE) == 0);
    say("FREED %p %lu", (void *)p, PAGE);
}
int main(void) {
    CHECK(mapwarden_alloc != NULL);
    say("PID %d", (int)getpid());
    SAY_SYM(alloc_leaker); SAY_SYM(ipc_leaker); SAY_SYM(alloc_freed);
    alloc_leaker();
    ipc_leaker();
    alloc_freed();
    say("END");
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -fno-optimize-sibling-calls -Wall -I "$include" -I "$root/CShim/include" \
    -o "$tmp/leaky" "$tmp/leaky.c" || { echo "cannot compile leaky"; exit 1; }

cat >"$tmp/check.py" <<'PY'
import json, re, sys
kind, report, outfile = sys.argv[1], sys.argv[2], sys.argv[3]
facts = open(outfile).read().split("\n")
sym = {l.split()[1]: int(l.split()[2], 16) for l in facts if l.startswith("SYM ")}
leaks = {l.split()[1]: (int(l.split()[2], 16), int(l.split()[3])) for l in facts if l.startswith("LEAK ")}
freed = [int(l.split()[1], 16) for l in facts if l.startswith("FREED ")]
text = open(report).read()
errors = []
def need(c, what):
    if not c: errors.append(what)
need(set(leaks) == {"alloc_leaker", "ipc_leaker"}, "the program did not leak as planned: %r" % leaks)
if kind == "text":
    need(re.search(r"mapwarden: 2 leaked mappings \(20480 bytes\)", text), "no '2 leaked mappings (20480 bytes)' line")
    groups = re.split(r"\n(?=\d+ bytes in \d+ mappings? allocated from:)", text)
    for fn, (addr, size) in leaks.items():
        g = [x for x in groups if re.search(r"\bat 0x%x \(%d bytes" % (addr, size), x)]
        need(len(g) == 1, "%s: no group with 'at 0x%x (%d bytes'" % (fn, addr, size))
        if not g: continue
        frames = re.findall(r"^\s+#(\d+) 0x([0-9a-f]+) in (.*)$", g[0], re.M)
        need(frames and frames[0][2].startswith(fn + "+0x"), "%s: frame #0 is %r, expected the caller of mapwarden_alloc" % (fn, frames[:1]))
        need(not any("libmapwarden" in f[2] for f in frames), "%s: frames inside libmapwarden.so: %r" % (fn, frames))
        need(any(f[2].startswith("main+0x") for f in frames), "%s: no frame in main" % fn)
        for n, a, rest in frames:
            m = re.match(r"(\w+)\+0x([0-9a-f]+) ", rest)
            if m and m.group(1) == fn:
                need(int(a, 16) - int(m.group(2), 16) == sym[fn], "%s: frame address - offset is not %s" % (fn, fn))
    for a in freed: need(("%x" % a) not in text, "the freed allocation %#x is reported" % a)
    need("alloc_freed" not in text, "alloc_freed appears in the report")
else:
    r = json.loads(text)
    L = {int(l["address"], 16): l for l in r.get("leaks", [])}
    need(len(L) == 2, "%d leaks in the JSON, expected 2" % len(L))
    for fn, (addr, size) in leaks.items():
        l = L.get(addr)
        if not l: errors.append("%s: %#x not in the JSON leaks" % (fn, addr)); continue
        need(l.get("size") == size, "%s: size %r" % (fn, l.get("size")))
        need(l.get("window") == ("ipc" if fn == "ipc_leaker" else "default"), "%s: window %r" % (fn, l.get("window")))
        need(l.get("in_window") is True and l.get("anonymous") is True, "%s: in_window/anonymous %r %r" % (fn, l.get("in_window"), l.get("anonymous")))
        st = l.get("stack") or []
        need(st and st[0].get("symbol") == fn, "%s: stack[0] is %r, expected %s" % (fn, st[:1], fn))
        need(any(f.get("symbol") == "main" for f in st), "%s: no main in the stack" % fn)
        need(not any("libmapwarden" in (f.get("module") or "") for f in st), "%s: frames inside libmapwarden.so" % fn)
    names = [w.get("name") for w in r.get("windows", [])]
    need("ipc" in names and "default" in names, "JSON windows %r: expected default and ipc" % names)
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY

env MAPWARDEN_WINDOW_IPC=0x500000000000:1G MAPWARDEN_REPORT="$tmp/r.txt" LD_PRELOAD="$LIB" "$tmp/leaky" >"$tmp/out" 2>"$tmp/err"
status=$?
if [ $status -ne 0 ] || ! grep -qx END "$tmp/out"; then fail "leaky: status $status"; show; fi
if [ -f "$tmp/r.txt" ] && "$PY" "$tmp/check.py" text "$tmp/r.txt" "$tmp/out"; then :; else fail "text report"; show "$tmp/r.txt"; fi
ok "text report: alloc leaks with the caller's stack"

env MAPWARDEN_WINDOW_IPC=0x500000000000:1G MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" "$tmp/leaky" >"$tmp/out" 2>"$tmp/err"
status=$?
if [ $status -ne 0 ]; then fail "leaky (json): status $status"; show; fi
if [ -f "$tmp/r.json" ] && "$PY" "$tmp/check.py" json "$tmp/r.json" "$tmp/out"; then :; else fail "JSON report"; show "$tmp/r.json"; fi
ok "JSON report: alloc leaks with the caller's stack and window"
done_all
