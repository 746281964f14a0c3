#!/usr/bin/env bash
# Integration tests, one folder per behaviour (window/, mremap/, fork/,
# reports/, ...; shared headers and sourced helpers in include/). Every *.c
# below Tests/integration is compiled (with -I include) and run under
# LD_PRELOAD=build/libmapwarden.so (exit 0 = pass); every *.sh is run with
# LIB, BUILD and CC set (exit 0 = pass). A test's name is its path without
# the extension, e.g. window/munmap_rereserves; `run.sh FILTER` runs the
# tests whose name contains FILTER (a folder: `run.sh fork/`) and fails when
# none does. A C file may ask for environment with lines
# "// ENV: KEY=VALUE" and for extra compiler flags with "// CFLAGS: ...".
# A test that changes a machine-wide setting (a sysctl) says so with a line
# "# EXCLUSIVE: why" ("// EXCLUSIVE: why" in C): it runs while no other
# test of any run on this machine does (see ../machine_lock.bash). Prints
# "N passed, N failed" last.
#
# Under emulation (make test-aarch64): RUNNER is the emulator (qemu-aarch64),
# CC the cross compiler and LIB the library built for the guest. Each C
# test runs as `RUNNER program`, with LD_PRELOAD given to the guest alone
# (QEMU_SET_ENV), not to the emulator. Shell tests are skipped: they drive
# host programs (the shell, compilers, strace, Python, SBCL, the mapwarden
# command) that cannot be told to run the guest. C tests named in
# emulated-skips.txt ("name: reason") are skipped with their reason
# (docs/testing.md lists them). Prints "N passed, N failed, N skipped" last.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export LIB="${LIB:-$root/build/libmapwarden.so}"
export BUILD="${BUILD:-$root/build/itest}"
export CC="${CC:-cc}"
# The library's own frame names (dladdr) are what most reports here check:
# the symbolizer process that names files and lines at exit is off, but for
# reports/text_report_names_files_and_lines_through_the_command.sh.
export MAPWARDEN_SYMBOLIZER=none
mkdir -p "$BUILD"
filter="${1:-}"
runner="${RUNNER:-}"
passed=0 failed=0 failures=() skipped=0
. "$here/../machine_lock.bash"

# shared or exclusive: the machine lock a test file needs
lock_mode() { if grep -qE '^(#|//) EXCLUSIVE:' "$1"; then echo exclusive; else echo shared; fi; }

run_case() { # name, lock mode, command...
    local name=$1 mode=$2; shift 2
    local log="$BUILD/$name.log"
    mkdir -p "$(dirname "$log")"
    machine_lock "$mode"
    local start=$(date +%s%N)
    # (stdin from /dev/null: a test that counts on the lowest free descriptor
    # being 3 must not find 0 free because the runner had no stdin)
    # (under emulation a test gets 60 s, and SIGKILL 5 s after SIGTERM: the
    # emulator may hold SIGTERM for its guest)
    if [ -n "$runner" ]; then
        timeout -k 5 "${EMULATED_TIMEOUT:-60}" "$@" </dev/null >"$log" 2>&1 {mw_lock_ts}>&- {mw_lock_rw}>&-
    else
        timeout 300 "$@" </dev/null >"$log" 2>&1 {mw_lock_ts}>&- {mw_lock_rw}>&-
    fi
    local status=$?
    machine_unlock
    if [ $status -eq 0 ]; then
        passed=$((passed + 1))
        printf 'PASS %-64s %6d ms\n' "$name" $(( ($(date +%s%N) - start) / 1000000 ))
    else
        failed=$((failed + 1)); failures+=("$name")
        printf 'FAIL %s (exit %s)\n' "$name" "$status"
        sed 's/^/    | /' "$log" | tail -n 40
    fi
}

# Every test below $here (not include/), by path: a folder's tests together.
tests=()
while IFS= read -r t; do tests+=("$t"); done < <(cd "$here" &&
    find . -path ./include -prune -o -type f \( -name '*.c' -o -name '*.sh' \) ! -path ./run.sh -print |
    sed 's|^\./||' | LC_ALL=C sort)

# The reason a test is skipped under emulation, or nothing.
skip_reason() { # name, file
    if [[ "$2" == *.sh ]]; then echo "a shell test: it runs host programs, not the guest"; return; fi
    sed -n "s|^$1: ||p" "$here/emulated-skips.txt"
}

for t in "${tests[@]}"; do
    name=${t%.*}
    [ -n "$filter" ] && [[ "$name" != *$filter* ]] && continue
    if [ -n "$runner" ]; then
        why=$(skip_reason "$name" "$t")
        if [ -n "$why" ]; then
            skipped=$((skipped + 1))
            printf 'SKIP %-64s %s\n' "$name" "$why"
            continue
        fi
    fi
    case $t in
    *.c)
        src="$here/$t"
        mkdir -p "$BUILD/$(dirname "$name")"
        cflags=$(sed -n 's|^// CFLAGS: ||p' "$src" | tr '\n' ' ')
        if ! $CC -std=gnu11 -O1 -g -Wall -Werror=implicit-function-declaration -Werror=int-conversion -pthread -I "$here/include" -I "$root/CShim/include" -o "$BUILD/$name" "$src" $cflags 2>"$BUILD/$name.cc.log"; then
            failed=$((failed + 1)); failures+=("$name")
            echo "FAIL $name (does not compile)"; sed 's/^/    | /' "$BUILD/$name.cc.log" | head -n 20
            continue
        fi
        envs=()
        while IFS= read -r kv; do envs+=("$kv"); done < <(sed -n 's|^// ENV: ||p' "$src")
        if [ -n "$runner" ]; then
            run_case "$name" "$(lock_mode "$src")" env "${envs[@]}" QEMU_SET_ENV="LD_PRELOAD=$LIB" $runner "$BUILD/$name"
        else
            run_case "$name" "$(lock_mode "$src")" env "${envs[@]}" LD_PRELOAD="$LIB" "$BUILD/$name"
        fi
        ;;
    *.sh)
        run_case "$name" "$(lock_mode "$here/$t")" bash "$here/$t"
        ;;
    esac
done

if [ -n "$filter" ] && [ $((passed + failed + skipped)) -eq 0 ]; then
    echo "integration: no test name contains '$filter' (names are folder/name, e.g. window/munmap_rereserves)"
    exit 1
fi
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
if [ -n "$runner" ]; then
    echo "integration ($runner): $passed passed, $failed failed, $skipped skipped"
else
    echo "integration: $passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
