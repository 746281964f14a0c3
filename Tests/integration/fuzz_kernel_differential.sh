#!/usr/bin/env bash
# Differential test with the kernel as the oracle (Tests/fuzz/difftest.c):
# sequences of mmap-family calls on window addresses run once in a plain
# process (the addresses left unmapped: what Linux does is right) and once
# under the library with the window configured; free window pages must
# behave as unmapped memory, so results, page states and contents must
# agree, and the registry must match /proc/self/smaps.
#   0. the tester runs against itself (no library either side) for 3 s: a
#      difference there is the tester's, and stops the test;
#   1. every case in Tests/fuzz/cases/ is replayed;
#   2. random sequences for FUZZ_SECONDS (20) from FUZZ_SEED (printed; a
#      failure is minimised and printed as a case file to replay);
#      FUZZ_FLAGS adds difftest options to 1 and 2;
#   3. fault injection: raw syscall instructions behind mapwarden's back
#      (munmap of a window mapping, MAP_FIXED over a free page...) must be
#      caught by the registry check.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$BUILD/fuzz"
mkdir -p "$out"
tester="$out/difftest"
$CC -std=gnu11 -O1 -g -Wall -Wextra -pthread -I "$root/CShim/include" -o "$tester" "$root/Tests/fuzz/difftest.c" -ldl ||
    { echo "fuzz_kernel_differential: cannot build difftest.c"; exit 1; }
seed=${FUZZ_SEED:-$(date +%s)}
seconds=${FUZZ_SECONDS:-20}
flags=${FUZZ_FLAGS:-}   # e.g. --libc-only, --readme-partial (see difftest.c)

echo "== the tester against itself (both runs without the library: must never differ)"
"$tester" --lib "$LIB" --self --seed "$seed" --time 3 --min-time 0 --out "$out/self" ||
    { echo "fuzz_kernel_differential: the tester is not deterministic here; its findings cannot be trusted"; exit 1; }

echo
echo "== replay: Tests/fuzz/cases/"
# shellcheck disable=SC2086
"$tester" --lib "$LIB" --replay "$root"/Tests/fuzz/cases/*.case $flags | tee "$out/replay.txt"
replay_status=${PIPESTATUS[0]}

echo
echo "== fuzz: --seed $seed --time $seconds (replay with: FUZZ_SEED=$seed, or difftest --seed $seed --time $seconds)"
rm -rf "$out/found"
# shellcheck disable=SC2086
"$tester" --lib "$LIB" --seed "$seed" --time "$seconds" --stop-after 1 --min-time 30 --out "$out/found" $flags | tee "$out/fuzz.txt"
fuzz_status=${PIPESTATUS[0]}

echo
echo "== fault injection"
"$tester" --lib "$LIB" --inject --seed "$seed" --count 20 | tee "$out/inject.txt"
inject_status=${PIPESTATUS[0]}

# The summary comes last (run.sh shows the end of a failing test's log).
echo
echo "== summary (seed $seed)"
failing=$(sed -n 's|^FAIL [^ ]*/\([^/ ]*\)\.case .*|\1|p' "$out/replay.txt")
echo "replay:    $(grep '^replay:' "$out/replay.txt")"
[ -n "$failing" ] && echo "$failing" | head -n 12 | sed 's/^/  failing: /'
[ "$(echo "$failing" | grep -c .)" -gt 12 ] && echo "  ... (all in $out/replay.txt)"
found=$(ls "$out/found" 2>/dev/null | head -n 1)
if [ "$fuzz_status" -eq 0 ]; then echo "fuzz:      no difference in ${seconds} s"
else echo "fuzz:      a difference, minimised: $out/found/$found"; sed -n '/^minimised case/,/^difftest:/p' "$out/fuzz.txt" | grep -v '^difftest:' | head -n 16 | sed 's/^/  /'; fi
echo "injection: $(grep 'injection:' "$out/inject.txt")"
[ "$replay_status" -eq 0 ] && [ "$fuzz_status" -eq 0 ] && [ "$inject_status" -eq 0 ]
