#!/usr/bin/env bash
# Tests that only make sense under emulation (make test-aarch64): each *.sh
# here runs with RUNNER (the emulator, qemu-aarch64), CC (the cross
# compiler), LIB (the guest's library), BUILD and QEMU_LD_PREFIX set, and
# passes with exit 0. They check what the size of the guest's user space
# decides, which qemu's -R option can shrink. Prints "N passed, N failed".
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${RUNNER:?RUNNER (the emulator) is not set}" "${LIB:?}" "${BUILD:?}" "${CC:?}"
export RUNNER LIB BUILD CC
mkdir -p "$BUILD"
passed=0 failed=0
for t in "$here"/*.sh; do
    name=$(basename "$t" .sh)
    [ "$name" = run ] && continue
    if timeout -k 5 120 bash "$t" </dev/null >"$BUILD/$name.log" 2>&1; then
        passed=$((passed + 1)); echo "PASS emulated/$name"
    else
        failed=$((failed + 1)); echo "FAIL emulated/$name"; sed 's/^/    | /' "$BUILD/$name.log" | tail -n 30
    fi
done
echo "emulated ($RUNNER): $passed passed, $failed failed"
[ "$failed" -eq 0 ]
