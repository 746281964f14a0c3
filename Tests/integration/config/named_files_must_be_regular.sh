#!/usr/bin/env bash
# Files the configuration names must be regular files. A FIFO (or a
# directory, or a device) given as MAPWARDEN_CONFIG or MAPWARDEN_SUPPRESSIONS
# stops the program before main with status 78 (under warn: it runs without
# a window), as MAPWARDEN_LIBUNWIND it only costs the stacks; as
# MAPWARDEN_REPORT the report goes to standard error at exit; as a
# persistent window's file, the window cannot be used (71). Never a hang
# (opening a FIFO waits for its other end), and every message names the key
# and the value. A huge (sparse, 5 GiB) config or suppressions file is
# refused at once as larger than 1 MiB.
. "$(dirname "$0")/../include/report_test_lib.bash" cfgnonreg
unset MAPWARDEN_ON_RESERVE_FAILURE
show() { echo "--- status $status; stderr:"; cat "$tmp/err"; }
mkfifo "$tmp/fifo" || { echo "cannot make a FIFO"; exit 1; }
truncate -s 5G "$tmp/huge" || { echo "cannot make a sparse file"; exit 1; }

# run EXPECTED-STATUS ENV... : the program (true) under the preload, 20 s at most
run() {
    step_failed=0
    local want=$1; shift
    timeout 20 env "$@" LD_PRELOAD="$LIB" /bin/true >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ $status -eq 124 ] && { fail "$*: hangs"; return; }
    [ $status -eq "$want" ] || { fail "$*: status $status, expected $want"; show; }
}
says() { grep -qF -- "$1" "$tmp/err" || { fail "stderr lacks: $1"; show; }; }

for key in MAPWARDEN_CONFIG MAPWARDEN_SUPPRESSIONS; do
    what="the config file"; [ $key = MAPWARDEN_SUPPRESSIONS ] && what="the suppressions file"
    run 78 $key="$tmp/fifo"
    says "mapwarden: $key=\"$tmp/fifo\": cannot read $what: not a regular file (a FIFO)"
    ok "$key=FIFO: 78 before main"
    run 0 $key="$tmp/fifo" MAPWARDEN_ON_RESERVE_FAILURE=warn
    says "mapwarden: $key=\"$tmp/fifo\": cannot read $what: not a regular file (a FIFO)"
    says "the program runs without a window (MAPWARDEN_ON_RESERVE_FAILURE=warn)"
    ok "$key=FIFO under warn: runs without a window"
    run 78 $key="$tmp"
    says "mapwarden: $key=\"$tmp\": cannot read $what: not a regular file (a directory)"
    run 78 $key=/dev/zero
    says "mapwarden: $key=\"/dev/zero\": cannot read $what: not a regular file (a character device)"
    ok "$key=a directory or a device: 78"
    start=$(date +%s%N)
    run 78 $key="$tmp/huge"
    says "mapwarden: $key=\"$tmp/huge\": cannot read $what: it is larger than 1 MiB"
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ $ms -lt 5000 ] || fail "$key=5 GiB file: took $ms ms"
    ok "$key=5 GiB file: 78 in $ms ms"
done

# libunwind: the program runs, without stacks, and says why
run 0 MAPWARDEN_LIBUNWIND="$tmp/fifo" MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json
says "mapwarden: leak reports will have no stacks: MAPWARDEN_LIBUNWIND=\"$tmp/fifo\": not a regular file (a FIFO)"
"$PY" - "$tmp/r.json" "$tmp/fifo" <<'PY' || fail "JSON report's reason"
import json, sys
s = json.load(open(sys.argv[1]))["stacks"]
want = 'MAPWARDEN_LIBUNWIND="%s": not a regular file (a FIFO)' % sys.argv[2]
if s.get("available") is not False or s.get("reason") != want: print("FAIL: stacks %r" % s); sys.exit(1)
PY
ok "MAPWARDEN_LIBUNWIND=FIFO: runs without stacks"
run 0 MAPWARDEN_LIBUNWIND="$tmp/fifo" MAPWARDEN_ON_RESERVE_FAILURE=warn
ok "MAPWARDEN_LIBUNWIND=FIFO under warn"

# a persistent window's file: the window cannot be used (71), never opened
for target in "$tmp/fifo" /dev/zero; do
    kind="a FIFO"; [ "$target" = /dev/zero ] && kind="a character device"
    run 71 MAPWARDEN_WINDOW_HEAP="0x500000000000:1G:persist=$target"
    says "mapwarden: window \"heap\": $target: cannot open it: not a regular file ($kind)"
    ok "a persistent window's file that is $kind: 71"
done

# the report: at exit, to standard error instead, with the reason
for target in "$tmp/fifo" "$tmp" /dev/null; do
    run 0 MAPWARDEN_REPORT="$target"
    kind="a FIFO"; [ "$target" = "$tmp" ] && kind="a directory"; [ "$target" = /dev/null ] && kind="a character device"
    says "mapwarden: MAPWARDEN_REPORT=\"$target\": cannot write the report there: not a regular file ($kind); writing it to standard error"
    says "mapwarden: no leaks (pid "
    ok "MAPWARDEN_REPORT=$kind: the report on standard error"
done

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
