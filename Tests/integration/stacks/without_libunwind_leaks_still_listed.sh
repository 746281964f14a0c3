#!/usr/bin/env bash
# Reports without libunwind: when the libunwind mapwarden loads
# cannot be found (MAPWARDEN_LIBUNWIND names a file that does not exist) or
# is not libunwind (a library without unw_backtrace), the program runs
# normally and the report still lists every leak exactly, with a note that
# stacks are missing: JSON stacks.available false with a reason and no
# frames; text "(no stack: REASON)" in place of the frames.
. "$(dirname "$0")/../include/report_test_lib.bash" lnounw

cat >"$tmp/prog.c" <<'C'
#include "common.h"
#include "leak_helpers.h"
NOINLINE void leak_here(size_t off, size_t len) {
    char *p = mmap(W(off), len, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(off));
}
int main(void) {
    say("PID %d", (int)getpid());
    leak_here(0x10000, PAGE);
    leak_here(0x20000, 3 * PAGE);
    char *p = mmap(W(0x30000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x30000) && munmap(p, PAGE) == 0);
    /* nothing of libunwind's in the process */
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (fgets(line, sizeof line, f)) CHECK(!strstr(line, "libunwind"));
    fclose(f);
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" ||
    { echo "cannot compile"; exit 1; }

for unw in "$tmp/no-such-libunwind.so.8" "$(realpath /lib/x86_64-linux-gnu/libm.so.6 2>/dev/null || echo libm.so.6)"; do
    step_failed=0
    env MAPWARDEN_LIBUNWIND="$unw" MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json MAPWARDEN_LEAK_EXITCODE=23 \
        LD_PRELOAD="$LIB" "$tmp/prog" >"$tmp/out" 2>"$tmp/err"; status=$?
    [ $status -eq 23 ] || { fail "$unw: status $status, expected 23 (the leaks)"; show; continue; }
    "$PY" - "$tmp/r.json" <<'PY' && echo "ok: JSON without libunwind ($unw)" || { fail "JSON with MAPWARDEN_LIBUNWIND=$unw"; show "$tmp/r.json"; }
import json, sys
r = json.load(open(sys.argv[1]))
errors = []
st = r.get("stacks", {})
if st.get("available") is not False or not st.get("reason"): errors.append("stacks %r" % st)
got = [(l["address"], l["size"], l.get("stack")) for l in r["leaks"]]
if [(a, s) for a, s, _ in got] != [("0x400000010000", 4096), ("0x400000020000", 12288)]: errors.append("leaks %r" % got)
if any(s not in (None, []) for _, _, s in got): errors.append("frames without libunwind: %r" % got)
if r["summary"]["leaked_mappings"] != 2 or r["summary"]["leaked_bytes"] != 16384: errors.append("summary %r" % r["summary"])
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY
    env MAPWARDEN_LIBUNWIND="$unw" MAPWARDEN_REPORT="$tmp/r.txt" LD_PRELOAD="$LIB" "$tmp/prog" >"$tmp/out" 2>"$tmp/err"; status=$?
    [ $status -eq 0 ] && grep -qE '^\s+\(no stack: .+\)$' "$tmp/r.txt" && ! grep -qE '^\s+#[0-9]+ ' "$tmp/r.txt" &&
        grep -q '^SUMMARY: mapwarden: 16384 bytes leaked in 2 mappings' "$tmp/r.txt" || { fail "text with MAPWARDEN_LIBUNWIND=$unw"; show "$tmp/r.txt"; }
    ok "text: $(grep -m1 'no stack' "$tmp/r.txt" | sed 's/^ *//')"
done

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
