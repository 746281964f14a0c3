#!/usr/bin/env bash
# Differential test with the kernel as the oracle (Tests/fuzz/difftest.c):
# sequences of mmap-family calls on window addresses run once in a plain
# process (the addresses left unmapped: what Linux does is right) and once
# under the library with the window configured; free window pages must
# behave as unmapped memory, so results, page states and contents must
# agree, and the registry must match /proc/self/smaps.
#   0. the tester runs against itself (no library either side): a
#      difference there is the tester's, and stops the test;
#   1. every case in Tests/fuzz/cases/ is replayed; the op shapes that
#      --avoid-documented leaves out must not reach any of them, and must
#      be recognised in Tests/fuzz/documented/ (each case's "# avoided:" line);
#   2. FUZZ_COUNT (500) random sequences from FUZZ_SEED (1), with
#      --avoid-documented (no op of a difference the README documents): a
#      fixed set, the same on every run (about 20 s here; a failure is
#      minimised and printed as a case file to replay). FUZZ_SEED=random
#      takes the time as the seed; `make fuzz` runs longer, with random seeds;
#      FUZZ_FLAGS adds difftest options to 1 and 2;
#   3. fault injection: raw syscall instructions behind mapwarden's back
#      (munmap of a window mapping, MAP_FIXED over a free page...) must be
#      caught by the registry check.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out="$BUILD/fuzz"
mkdir -p "$out"
tester="$out/difftest"
$CC -std=gnu11 -O1 -g -Wall -Wextra -pthread -I "$root/CShim/include" -o "$tester" "$root/Tests/fuzz/difftest.c" -ldl ||
    { echo "fuzz/differential_against_kernel: cannot build difftest.c"; exit 1; }
seed=${FUZZ_SEED:-1}
[ "$seed" = random ] && seed=$(date +%s)
count=${FUZZ_COUNT:-500}
flags=${FUZZ_FLAGS:-}   # e.g. --libc-only, --readme-partial (see difftest.c)
start=$(date +%s)

echo "== the tester against itself (both runs without the library: must never differ)"
"$tester" --lib "$LIB" --self --avoid-documented --seed "$seed" --count 100 --min-time 0 --out "$out/self" ||
    { echo "fuzz/differential_against_kernel: the tester is not deterministic here; its findings cannot be trusted"; exit 1; }

echo
echo "== replay: Tests/fuzz/cases/"
# shellcheck disable=SC2086
"$tester" --lib "$LIB" --avoid-documented --replay "$root"/Tests/fuzz/cases/*.case $flags | tee "$out/replay.txt"
replay_status=${PIPESTATUS[0]}
# The avoidance must leave out exactly the documented differences: nothing
# the library must do, and every documented case of an avoided class.
avoid_status=0
overreach=$(sed -n 's|^[A-Z]* [^ ]*/\([^/ ]*\)\.case .*  avoided: \(.*\)|\1 (\2)|p' "$out/replay.txt")
[ -n "$overreach" ] && { echo "--avoid-documented leaves out ops of cases the library must pass: $overreach"; avoid_status=1; }
"$tester" --lib "$LIB" --avoid-documented --replay "$root"/Tests/fuzz/documented/*.case > "$out/documented.txt"
for f in "$root"/Tests/fuzz/documented/*.case; do
    want=$(sed -n 's/^# avoided: \([a-z-]*\).*/\1/p' "$f" | head -n 1)
    got=$(grep -F "$f " "$out/documented.txt" | sed -n 's/.*  avoided: //p')
    case "$want" in
    by-the-generator) [ -z "$got" ] || { echo "documented/$(basename "$f"): judged $got, but its line says the generator never makes it"; avoid_status=1; } ;;
    "") echo "documented/$(basename "$f"): no '# avoided:' line (a class of --avoid-documented, or by-the-generator)"; avoid_status=1 ;;
    *) [ "$got" = "$want" ] || { echo "documented/$(basename "$f"): --avoid-documented judges it '${got:-nothing}', its line says '$want'"; avoid_status=1; } ;;
    esac
done
[ "$avoid_status" -eq 0 ] && echo "avoidance: no case in cases/ reached, every documented case recognised"

echo
echo "== fuzz: --seed $seed --count $count --avoid-documented (replay with: FUZZ_SEED=$seed FUZZ_COUNT=$count, or difftest --seed $seed --count $count --avoid-documented)"
rm -rf "$out/found"
fuzz_start=$(date +%s)
# shellcheck disable=SC2086
"$tester" --lib "$LIB" --avoid-documented --seed "$seed" --count "$count" --stop-after 1 --min-time 10 --out "$out/found" $flags | tee "$out/fuzz.txt"
fuzz_status=${PIPESTATUS[0]}
fuzz_seconds=$(( $(date +%s) - fuzz_start ))

echo
echo "== fault injection"
"$tester" --lib "$LIB" --inject --seed "$seed" --count 20 | tee "$out/inject.txt"
inject_status=${PIPESTATUS[0]}

# The summary comes last (run.sh shows the end of a failing test's log).
echo
echo "== summary (seed $seed, $(( $(date +%s) - start )) s)"
failing=$(sed -n 's|^FAIL [^ ]*/\([^/ ]*\)\.case .*|\1|p' "$out/replay.txt")
echo "replay:    $(grep '^replay:' "$out/replay.txt")"
[ -n "$failing" ] && echo "$failing" | head -n 12 | sed 's/^/  failing: /'
[ "$(echo "$failing" | grep -c .)" -gt 12 ] && echo "  ... (all in $out/replay.txt)"
[ "$avoid_status" -eq 0 ] || echo "avoidance: wrong (see above)"
found=$(ls "$out/found" 2>/dev/null | head -n 1)
if [ "$fuzz_status" -eq 0 ]; then echo "fuzz:      no difference in $count sequences (${fuzz_seconds} s)"
else echo "fuzz:      a difference, minimised: $out/found/$found"; sed -n '/^minimised case/,/^difftest:/p' "$out/fuzz.txt" | grep -v '^difftest:' | head -n 16 | sed 's/^/  /'; fi
echo "injection: $(grep 'injection:' "$out/inject.txt")"
[ "$replay_status" -eq 0 ] && [ "$avoid_status" -eq 0 ] && [ "$fuzz_status" -eq 0 ] && [ "$inject_status" -eq 0 ]
