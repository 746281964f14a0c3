#!/usr/bin/env bash
# CPython's own mmap test suite (python3 -m test test_mmap) passes under the
# preload, with the same test counts as without it.
set -u
fail() { echo "python_mmap_suite_passes: $*"; exit 1; }
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || fail "python3 is not installed (CI installs it); cannot run CPython's test_mmap"
"$PY" -c 'import test.support, test.test_mmap' 2>/dev/null ||
    fail "$(command -v "$PY") has no test suite (module test.test_mmap); on Debian install libpython3.X-testsuite, or set PYTHON to an interpreter that has it"
out="$BUILD/python_mmap_suite_passes"
mkdir -p "$out"

# The preload is really active in the interpreter.
LD_PRELOAD="$LIB" "$PY" -c '
import sys
lines = [l for l in open("/proc/self/maps") if l.startswith("400000000000-410000000000 ---p")]
sys.exit(0 if len(lines) == 1 else 1)' || fail "the window is not held inside python3 under the preload"

summary() { grep -E '^(Total tests|Result|Tests result)' "$1"; }
(cd "$out" && timeout 60 "$PY" -m test test_mmap >"$out/plain.log" 2>&1); plain=$?
(cd "$out" && timeout 60 env LD_PRELOAD="$LIB" "$PY" -m test test_mmap >"$out/pre.log" 2>&1); pre=$?
[ $plain -eq 0 ] || { cat "$out/plain.log"; fail "test_mmap fails even without the preload (exit $plain)"; }
if [ $pre -ne 0 ]; then cat "$out/pre.log"; fail "test_mmap fails under the preload (exit $pre)"; fi
grep -q 'SUCCESS' "$out/pre.log" || { cat "$out/pre.log"; fail "no SUCCESS line under the preload"; }
if [ "$(summary "$out/plain.log")" != "$(summary "$out/pre.log")" ]; then
    echo "without:"; summary "$out/plain.log"; echo "with:"; summary "$out/pre.log"
    fail "test counts differ under the preload"
fi
echo "python_mmap_suite_passes: ok"; summary "$out/pre.log"
