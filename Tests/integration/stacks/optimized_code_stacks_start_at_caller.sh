#!/usr/bin/env bash
# Stacks from optimized code: distro programs are built with -O2
# and without frame pointers. A program built so (functions kept apart with
# noinline, -rdynamic for the names) leaks from leak_o2(), called from
# middle(), called from main(), three times from one call site: every leak
# has a stack that starts at leak_o2 (the caller of mmap), then middle,
# then main, and the three share one group. Also a shared library built
# -O2 without frame pointers (its leaking function must be frame #0), and
# C++ -O2. Nothing of libmapwarden.so's own appears in any stack.
. "$(dirname "$0")/../include/report_test_lib.bash" lopt

cat >"$tmp/lib.c" <<'C'
#include "common.h"
#include "leak_helpers.h"
NOINLINE void lib_leak(void) {
    char *p = mmap(W(0x80000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x80000));
    __asm__ volatile("" ::: "memory");
}
C
cat >"$tmp/opt.c" <<'C'
#include "common.h"
#include "leak_helpers.h"
void lib_leak(void);
NOINLINE void leak_o2(size_t off) {
    char *p = mmap(W(off), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(off));
    __asm__ volatile("" ::: "memory");   /* no tail call */
}
NOINLINE void middle(size_t off) { leak_o2(off); __asm__ volatile("" ::: "memory"); }
static volatile int three = 3;   /* a real loop: one call site, not unrolled */
int main(void) {
    for (int i = 0; i < three; i++) middle(0x10000 * (size_t)(i + 1));
    lib_leak();
    __asm__ volatile("" ::: "memory");  /* not a tail call */
    return 0;
}
C
flags="-std=gnu11 -O2 -fomit-frame-pointer -g -Wall -I $include -I $root/CShim/include"
$CC $flags -fPIC -shared -o "$tmp/libopt.so" "$tmp/lib.c" &&
$CC $flags -rdynamic -o "$tmp/opt" "$tmp/opt.c" -L"$tmp" -lopt -Wl,-rpath,"$tmp" || { echo "cannot compile"; exit 1; }

env MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" "$tmp/opt" >"$tmp/out" 2>"$tmp/err"; status=$?
[ $status -eq 0 ] || { fail "status $status"; cat "$tmp/err"; }
"$PY" - "$tmp/r.json" <<'PY' || { fail "stacks of -O2 code"; cat "$tmp/r.json"; }
import json, sys
r = json.load(open(sys.argv[1]))
errors = []
if r["stacks"]["available"] is not True: errors.append("stacks %r" % r["stacks"])
L = {int(l["address"], 16) - 0x400000000000: l for l in r["leaks"]}
if sorted(L) != [0x10000, 0x20000, 0x30000, 0x80000]: errors.append("leaks %r" % [hex(a) for a in L])
for off, l in sorted(L.items()):
    st = l.get("stack") or []
    syms = [f.get("symbol") for f in st]
    if any("libmapwarden" in (f.get("module") or "") for f in st): errors.append("%#x: libmapwarden frames %r" % (off, syms))
    if off == 0x80000:
        if syms[:2] != ["lib_leak", "main"] or not (st[0].get("module") or "").endswith("/libopt.so"):
            errors.append("lib leak: stack %r, expected lib_leak (libopt.so), main, ..." % [(f.get("symbol"), f.get("module")) for f in st])
    elif syms[:3] != ["leak_o2", "middle", "main"]:
        errors.append("%#x: stack %r, expected leak_o2, middle, main, ..." % (off, syms))
if len({L[o].get("stack_id") for o in (0x10000, 0x20000, 0x30000) if o in L}) != 1: errors.append("the three leak_o2 leaks do not share a stack")
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY
ok "-O2 -fomit-frame-pointer C program and library"

env MAPWARDEN_REPORT="$tmp/r.txt" LD_PRELOAD="$LIB" "$tmp/opt" >"$tmp/out" 2>"$tmp/err"; status=$?
grep -qE '^12288 bytes in 3 mappings allocated from:$' "$tmp/r.txt" && grep -qE '^\s+#0 0x[0-9a-f]+ in leak_o2\+0x[0-9a-f]+ \(' "$tmp/r.txt" &&
    grep -qE '^\s+#1 0x[0-9a-f]+ in middle\+0x' "$tmp/r.txt" && ! grep -q 'no stack' "$tmp/r.txt" || { fail "text report"; cat "$tmp/r.txt"; }
ok "text"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
