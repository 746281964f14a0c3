#!/usr/bin/env bash
# Under MAPWARDEN_RAW_SYSCALLS=trap a mapping made by the program's own
# `syscall` instruction is recorded as one made through libc: the JSON
# leak report lists it (address, size, protection, window) with the stack
# captured in the SIGSYS handler, which names the function that made the
# call and main. The same leak made through mmap() is listed beside it.
# The trapped call's stack begins, as a libc call's does with the caller of
# mmap, with the function whose `syscall` instruction was trapped: not the
# SIGSYS handler, not the signal return trampoline.
# Without the trap the raw mapping is not in the report at all.
. "$(dirname "$0")/../include/report_test_lib.bash" rawleak

cat >"$tmp/leaky.c" <<'C'
#include "common.h"
#include "leak_helpers.h"
#include "inline_syscall.h"

NOINLINE void leak_by_inline_syscall(void) {
    long r = own_syscall(SYS_mmap, (long)W(0x10000), 2 * PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(r == (long)W(0x10000));
    say("LEAK leak_by_inline_syscall %p %lu", (void *)r, 2 * PAGE);
}

NOINLINE void leak_by_mmap(void) {
    char *p = mmap(W(0x20000), PAGE, PROT_READ, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x20000));
    say("LEAK leak_by_mmap %p %lu", (void *)p, PAGE);
}

int main(void) {
    say("PID %d", (int)getpid());
    leak_by_inline_syscall();
    leak_by_mmap();
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -fno-optimize-sibling-calls -Wall -I "$include" -I "$root/CShim/include" \
    -o "$tmp/leaky" "$tmp/leaky.c" || { echo "cannot compile leaky"; exit 1; }

cat >"$tmp/check.py" <<'PY'
import json, sys
mode, report = sys.argv[1], sys.argv[2]
r = json.load(open(report))
errors = []
def need(cond, what):
    if not cond: errors.append(what)
L = {l["address"]: l for l in r.get("leaks", [])}
need(r["stacks"].get("available") is True, "stacks %r" % r.get("stacks"))
m = L.get("0x400000020000")
need(m is not None and m["size"] == 4096 and m["protection"] == "r--", "the mmap() leak: %r" % m)
if m: need(any(f.get("symbol") == "leak_by_mmap" for f in m["stack"]), "leak_by_mmap not in its stack: %r" % m["stack"])
t = L.get("0x400000010000")
if mode == "trap":
    need(t is not None, "the trapped mapping is not reported: %r" % sorted(L))
    if t:
        need(t["size"] == 8192 and t["protection"] == "rw-" and t["window"] == "default" and t["in_window"] is True,
             "the trapped leak: %r" % t)
        syms = [f.get("symbol") for f in t["stack"]]
        need("leak_by_inline_syscall" in syms, "no frame in leak_by_inline_syscall: %r" % t["stack"])
        need("main" in syms, "no main frame: %r" % t["stack"])
        # #0 own_syscall (static: no symbol, in leaky), #1 its caller, #2 main
        need(syms[1:3] == ["leak_by_inline_syscall", "main"], "frames 1 and 2 are not the caller and main: %r" % syms)
        need(t["stack"][0].get("module", "").endswith("/leaky"), "frame 0 is not in the program: %r" % t["stack"][0])
        need(not any("libmapwarden" in (f.get("module") or "") for f in t["stack"]), "mapwarden's frames listed: %r" % t["stack"])
    need(r["summary"]["leaked_mappings"] == 2, "summary %r" % r["summary"])
else:
    need(t is None, "without the trap the raw mapping was reported: %r" % t)
    need(r["summary"]["leaked_mappings"] == 1, "summary %r" % r["summary"])
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY

for mode in trap off; do
    env MAPWARDEN_RAW_SYSCALLS=$mode MAPWARDEN_REPORT="$tmp/$mode.json" MAPWARDEN_REPORT_FORMAT=json \
        LD_PRELOAD="$LIB" "$tmp/leaky" >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ $status -eq 0 ] || { fail "$mode: status $status"; show; }
    if [ -f "$tmp/$mode.json" ] && $PY "$tmp/check.py" $mode "$tmp/$mode.json"; then
        ok "MAPWARDEN_RAW_SYSCALLS=$mode: the report lists what the registry recorded"
    else
        fail "$mode: report"; show "$tmp/$mode.json"
    fi
done
exit $((failures > 0))
