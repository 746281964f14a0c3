#!/usr/bin/env bash
# EXCLUSIVE: lowers vm.max_map_count for the machine (see ../../machine_lock.bash)
# vm.max_map_count pressure, the whole sweep:
# max_map_count_pressure_fails_cleanly.c run under the preload with
# vm.max_map_count lowered for the length of the run
# (under a second of CPU time; several seconds of wall-clock time on a
# loaded machine: 7 s seen with 0.8 s of CPU), so that the fill takes ~2,000
# mappings and every distance from the limit can be tried quickly. The old
# value is restored by a trap on every exit path. When the sysctl is not
# writable, the sweep is skipped (run.sh still runs
# max_map_count_pressure_fails_cleanly.c under the default limit). The
# 60 s timeout only tells a hang.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
include=$root/Tests/integration/include
out="$BUILD/edge_maxmap_lowered"
mkdir -p "$out"
fail() { echo "max_map_count_sweep_fails_cleanly: $*"; exit 1; }

$CC -std=gnu11 -O1 -g -Wall -pthread -I "$include" -I "$root/CShim/include" -o "$out/prog" "$here/max_map_count_pressure_fails_cleanly.c" ||
    fail "cannot build max_map_count_pressure_fails_cleanly.c"

knob=/proc/sys/vm/max_map_count
old=$(cat $knob) || fail "cannot read $knob"
if ! (echo "$old" >$knob) 2>/dev/null; then
    echo "skipped: $knob is not writable here (not root, or a read-only /proc/sys); max_map_count_pressure_fails_cleanly.c covers the default limit"
    exit 0
fi
restore() { echo "$old" >$knob; }
trap restore EXIT
trap 'restore; exit 130' INT TERM HUP

status=0
for limit in 4096 4097; do # both parities: an isolated mapping costs 2 VMAs
    echo $limit >$knob || fail "cannot write $knob"
    LD_PRELOAD="$LIB" timeout 60 "$out/prog" >"$out/run.log" 2>&1
    st=$?
    restore
    if [ $st -eq 0 ]; then
        echo "ok: vm.max_map_count=$limit"; sed 's/^/    /' "$out/run.log"
    else
        echo "FAILED ($st): vm.max_map_count=$limit"; sed 's/^/    /' "$out/run.log" | head -60; status=1
    fi
done
[ "$(cat $knob)" = "$old" ] || fail "vm.max_map_count was not restored to $old"
exit $status
