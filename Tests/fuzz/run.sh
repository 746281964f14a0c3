#!/usr/bin/env bash
# A longer differential fuzzing run (the kernel as the oracle; see
# difftest.c): Tests/fuzz/run.sh [SECONDS] (default 300). Every distinct
# difference is minimised into build/fuzz/found/*.case; replay one with
#   build/fuzz/difftest --replay build/fuzz/found/NAME.case
# Environment: FUZZ_SEED (default: the time), LIB (build/libmapwarden.so),
# CC, DIFFTEST_FLAGS (extra options, e.g. --libc-only or --ops 60).
# It runs with --avoid-documented (no op of a difference the README
# documents, Tests/fuzz/README.md): those are known, and would crowd out
# the new ones (hundreds of ops in five minutes). FUZZ_DOCUMENTED=1 makes
# them too, e.g. to see whether a documented limitation is gone.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seconds=${1:-300}
seed=${FUZZ_SEED:-$(date +%s)}
lib=${LIB:-$root/build/libmapwarden.so}
out=$root/build/fuzz
[ -r "$lib" ] || { echo "run.sh: no library at $lib (make lib)"; exit 2; }
mkdir -p "$out"
${CC:-cc} -std=gnu11 -O1 -g -Wall -Wextra -pthread -I "$root/CShim/include" -o "$out/difftest" "$here/difftest.c" -ldl || exit 2
avoid=--avoid-documented
[ "${FUZZ_DOCUMENTED:-0}" = 1 ] && avoid=
rm -rf "$out/found"
# shellcheck disable=SC2086
"$out/difftest" --lib "$lib" --seed "$seed" --time "$seconds" --min-time 60 --out "$out/found" $avoid ${DIFFTEST_FLAGS:-}
status=$?
echo "cases written to $out/found/ ($(ls "$out/found" 2>/dev/null | wc -l))"
exit $status
