#!/usr/bin/env bash
# C++ under the preload with stacks on: the .cpp beside this script throws and
# catches thousands of exceptions through a dlopen()ed library while mapping
# in the window; it must exit 0 with every count right (libunwind, loaded
# by mapwarden, must not take over C++ unwinding: the library never has it
# as DT_NEEDED, and _Unwind_RaiseException still resolves to libgcc_s).
# Its leak from ns::Leaker::leak(int) shows the demangled name in the text
# and JSON reports, and suppressions match both the demangled and the
# mangled name.
. "$(dirname "$0")/../include/report_test_lib.bash" lcxx
CXX=${CXX:-g++}
show() { echo "--- status $status; stdout:"; cat "$tmp/out"; echo "--- stderr:"; head -c 4000 "$tmp/err"; for f in "$@"; do echo "--- $f:"; cat "$f"; done; }

flags="-std=gnu++17 -g -O0 -fno-inline -fno-optimize-sibling-calls -Wall"
# the two compiles in parallel (g++ is most of this test's time)
$CXX $flags -DLEAK_CXX_LIBRARY -fPIC -shared -o "$tmp/libthrow.so" "$here/cxx_exceptions_unaffected_by_libunwind.cpp" & lib_job=$!
$CXX $flags -rdynamic -o "$tmp/cxxprog" "$here/cxx_exceptions_unaffected_by_libunwind.cpp" -ldl && wait $lib_job || { echo "cannot compile"; exit 1; }

# the preload library must not link libunwind
if readelf -d "$LIB" | grep NEEDED | grep -qi unwind; then fail "$LIB has libunwind as DT_NEEDED: $(readelf -d "$LIB" | grep NEEDED | tr '\n' ' ')"; fi

# the program itself is right without the preload
"$tmp/cxxprog" "$tmp/libthrow.so" 2000 >"$tmp/out" 2>"$tmp/err"; status=$?
[ $status -eq 0 ] || { fail "without the preload: status $status"; show; exit 1; }

# under the preload, stacks on (default depth), report to a file
env MAPWARDEN_REPORT="$tmp/r.txt" LD_PRELOAD="$LIB" "$tmp/cxxprog" "$tmp/libthrow.so" 2000 >"$tmp/out" 2>"$tmp/err"; status=$?
[ $status -eq 0 ] && grep -q '^RESULT lib 1000 returned 1000 callback 2000 mapped 2000$' "$tmp/out" ||
    { fail "under the preload: status $status"; show; }
ok "6000 exceptions under the preload: $(cat "$tmp/out")"
grep -qE '^\s+#[0-9]+ 0x[0-9a-f]+ in ns::Leaker::leak\(int\)\+0x[0-9a-f]+ \(/.*/cxxprog\)$' "$tmp/r.txt" &&
    grep -q '^SUMMARY: mapwarden: 4096 bytes leaked in 1 mapping' "$tmp/r.txt" && ! grep -q '_ZN2ns6Leaker4leakEi' "$tmp/r.txt" ||
    { fail "text report: no demangled ns::Leaker::leak(int) frame"; show "$tmp/r.txt"; }
ok "demangled in text: $(grep -m1 'ns::Leaker' "$tmp/r.txt" | sed 's/^ *//')"

# stacks were really captured (libunwind loaded), and the JSON symbol is demangled
env MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" "$tmp/cxxprog" "$tmp/libthrow.so" 1000 >"$tmp/out" 2>"$tmp/err"; status=$?
[ $status -eq 0 ] || { fail "JSON run: status $status"; show; }
"$PY" - "$tmp/r.json" <<'PY' || { fail "JSON report"; show "$tmp/r.json"; }
import json, sys
r = json.load(open(sys.argv[1]))
errors = []
if r["stacks"]["available"] is not True: errors.append("stacks %r" % r["stacks"])
L = r["leaks"]
if len(L) != 1 or L[0]["address"] != "0x400000010000": errors.append("leaks %r" % L)
else:
    syms = [f.get("symbol") for f in L[0]["stack"]]
    if "ns::Leaker::leak(int)" not in syms or "main" not in syms: errors.append("stack symbols %r" % syms)
st = r["statistics"]
if st.get("tracked_mappings") != 2001: errors.append("statistics.tracked_mappings %r, expected 2001" % st.get("tracked_mappings"))
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY
ok "JSON"

# depth 128 (the maximum) while exceptions fly
env MAPWARDEN_BACKTRACE_DEPTH=128 MAPWARDEN_REPORT=none LD_PRELOAD="$LIB" "$tmp/cxxprog" "$tmp/libthrow.so" 1000 >"$tmp/out" 2>"$tmp/err"; status=$?
[ $status -eq 0 ] || { fail "depth 128: status $status"; show; }

# suppressions by demangled and by mangled name
for pat in 'ns::Leaker::leak' '^ns::Leaker::leak(int)$' '_ZN2ns6Leaker4leakEi'; do
    step_failed=0
    printf 'leak:%s\n' "$pat" >"$tmp/s.supp"
    env MAPWARDEN_SUPPRESSIONS="$tmp/s.supp" MAPWARDEN_LEAK_EXITCODE=23 MAPWARDEN_REPORT="$tmp/s.json" MAPWARDEN_REPORT_FORMAT=json \
        LD_PRELOAD="$LIB" "$tmp/cxxprog" "$tmp/libthrow.so" 10 >"$tmp/out" 2>"$tmp/err"; status=$?
    [ $status -eq 0 ] && "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["leaks"]==[] and r["summary"]["suppressed_mappings"]==1 else 1)' "$tmp/s.json" ||
        { fail "suppression leak:$pat: status $status (23 = not suppressed)"; show "$tmp/s.json"; }
    ok "leak:$pat suppresses"
done

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
