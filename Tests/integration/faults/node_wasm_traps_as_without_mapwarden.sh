#!/usr/bin/env bash
# V8 turns an out-of-bounds WebAssembly memory access into a SIGSEGV that
# its trap handler catches and throws as a RuntimeError (the memory sits
# in guard regions). Under mapwarden (MAPWARDEN_FAULTS=explain, the
# default) its handler is the kernel's, as without mapwarden: a program
# that traps 1000 times prints the same and exits the same with and
# without the preload, and strace shows the SIGSEGVs were there. Skipped
# (passes, saying why) when node is missing.
. "$(dirname "$0")/../include/report_test_lib.bash" faultsnode
command -v node >/dev/null || { echo "skipped: node is not installed (.ci/setup test installs nodejs)"; exit 0; }
cat > "$tmp/oob.js" <<'JS'
// (module (memory 1) (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))
const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,5,3,1,0,1,7,8,1,4,108,111,97,100,0,0,10,9,1,7,0,32,0,40,2,0,11]);
const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
let traps = 0, sum = 0;
for (let i = 0; i < 2000; i++) {
  try { sum += instance.exports.load(i % 2 ? 8 : 70000 + i); }
  catch (e) { if (e instanceof WebAssembly.RuntimeError) traps++; else throw e; }
}
console.log("traps", traps, "sum", sum);
JS
LD_PRELOAD="$LIB" node "$tmp/oob.js" >"$tmp/with.out" 2>"$tmp/with.err"
echo $? >"$tmp/with.status"
env -u LD_PRELOAD node "$tmp/oob.js" >"$tmp/without.out" 2>"$tmp/without.err"
echo $? >"$tmp/without.status"
for part in out err status; do
    if ! cmp -s "$tmp/with.$part" "$tmp/without.$part"; then
        fail "$part differs with mapwarden"
        echo "--- with:"; cat "$tmp/with.$part"; echo "--- without:"; cat "$tmp/without.$part"
    fi
done
grep -q "^traps 1000 sum 0$" "$tmp/with.out" || fail "unexpected output: $(cat "$tmp/with.out" "$tmp/with.err")"
ok "same output and status with and without mapwarden"

if command -v strace >/dev/null; then
    LD_PRELOAD="$LIB" strace -f -qq -e trace=none -e signal=SIGSEGV -o "$tmp/strace" node "$tmp/oob.js" >"$tmp/s.out" 2>&1
    segvs=$(grep -c 'SIGSEGV {si_signo=SIGSEGV' "$tmp/strace")
    [ "$segvs" -gt 0 ] || fail "no SIGSEGV was delivered: the test does not exercise V8's trap handler"
    cmp -s "$tmp/s.out" "$tmp/with.out" || fail "under strace: $(cat "$tmp/s.out")"
    ok "$segvs SIGSEGVs handled by V8 under the preload"
fi
exit $failures
