#!/usr/bin/env bash
# EXCLUSIVE: raises vm.mmap_rnd_bits for the machine (see ../../machine_lock.bash)
# Layout variants: window_held_in_default_layout.c (window held, a
# fixed-mapping round, 200 mmap(NULL) and a 1 TiB sweep that must jump over the window)
# run under the preload with
#   ulimit -s unlimited          (the kernel then uses the legacy layout)
#   setarch -R                   (no randomisation)
#   setarch -L                   (legacy bottom-up layout)
#   setarch -L -R, and ulimit -s unlimited together with -L and with -R
#   vm.mmap_rnd_bits at its maximum (if the sysctl is writable; restored
#   by a trap), default and legacy layouts, several runs each.
# EDGE_EXPECT tells the program which layout it must find, so a variant
# that did not take effect fails. For each variant a program run without
# the preload also lists its maps: nothing there may overlap the default
# window (the preloaded run would exit 71 on a collision).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
include=$root/Tests/integration/include
out="$BUILD/edge_layout_variants"
mkdir -p "$out"
fail() { echo "window_held_in_every_layout: $*"; exit 1; }

command -v setarch >/dev/null || fail "setarch is missing (util-linux)"
$CC -std=gnu11 -O1 -g -Wall -pthread -I "$include" -I "$root/CShim/include" -o "$out/prog" "$here/window_held_in_default_layout.c" ||
    fail "cannot build window_held_in_default_layout.c"
# Without the preload: does anything of a plain process overlap the window?
cat >"$out/plain.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
int main(void) {
    for (int i = 0; i < 200; i++) if (mmap(NULL, 1 << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) return 2;
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int bad = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < 0x410000000000UL && e > 0x400000000000UL) { printf("collides: %s", line); bad = 1; }
    }
    return bad;
}
C
$CC -O1 -o "$out/plain" "$out/plain.c" || fail "cannot build plain.c"

# ulimit -s unlimited needs a hard limit of unlimited (or CAP_SYS_RESOURCE).
if ! (ulimit -s unlimited) 2>/dev/null; then
    echo "note: cannot raise the stack limit here; the unlimited-stack variants are skipped"
    can_unlimit=0
else
    can_unlimit=1
fi

status=0
variant() { # description, expect, stack (unlimited|-), setarch flags...
    local what=$1 expect=$2 stack=$3; shift 3
    local log="$out/run.log"
    if [ "$stack" = unlimited ] && [ $can_unlimit = 0 ]; then echo "skipped: $what"; return; fi
    (
        [ "$stack" = unlimited ] && ulimit -s unlimited
        if [ $# -gt 0 ]; then pre=(setarch "$@"); else pre=(); fi
        "${pre[@]}" "$out/plain" || { echo "without the preload: exit $?"; exit 1; }
        EDGE_EXPECT="$expect" LD_PRELOAD="$LIB" timeout 10 "${pre[@]}" "$out/prog"
    ) >"$log" 2>&1
    local st=$?
    if [ $st -eq 0 ]; then
        echo "ok: $what"; grep -E '^(layout|nearest|sweep)' "$log" | sed 's/^/    /'
    else
        echo "FAILED ($st): $what"; sed 's/^/    /' "$log"; status=1
    fi
}

# (With an unlimited stack, kernels before 6.x use the legacy bottom-up
# layout; newer x86 kernels stay top-down from TASK_SIZE/6. Either way the
# mmap area starts below the window: "low".)
variant "default layout" topdown,high -
variant "ulimit -s unlimited" low,unlimited unlimited
variant "setarch -R" topdown,high,norand - -R
variant "setarch -L" legacy - -L
variant "setarch -L -R" legacy,norand - -L -R
variant "ulimit -s unlimited + setarch -L" legacy,unlimited unlimited -L
variant "ulimit -s unlimited + setarch -R" low,unlimited,norand unlimited -R
variant "ulimit -s unlimited + setarch -L -R" legacy,unlimited,norand unlimited -L -R

# vm.mmap_rnd_bits at its maximum (32 on x86-64): the most spread-out layouts.
rnd=/proc/sys/vm/mmap_rnd_bits
old_rnd=$(cat $rnd 2>/dev/null || echo)
if [ -n "$old_rnd" ] && (echo "$old_rnd" >$rnd) 2>/dev/null; then
    trap 'echo "$old_rnd" >$rnd' EXIT INT TERM HUP
    max_rnd=32
    until echo $max_rnd >$rnd 2>/dev/null; do max_rnd=$((max_rnd - 1)); [ $max_rnd -le "$old_rnd" ] && break; done
    echo "vm.mmap_rnd_bits: $old_rnd -> $(cat $rnd)"
    for i in 1 2 3 4 5; do
        variant "mmap_rnd_bits=$max_rnd, default layout (run $i)" topdown,high -
        variant "mmap_rnd_bits=$max_rnd, ulimit -s unlimited (run $i)" low,unlimited unlimited
        variant "mmap_rnd_bits=$max_rnd, setarch -L (run $i)" legacy - -L
        variant "mmap_rnd_bits=$max_rnd, ulimit -s unlimited + setarch -L (run $i)" legacy unlimited -L
    done
    echo "$old_rnd" >$rnd
    trap - EXIT INT TERM HUP
    [ "$(cat $rnd)" = "$old_rnd" ] || fail "could not restore vm.mmap_rnd_bits to $old_rnd"
else
    echo "skipped: vm.mmap_rnd_bits is not writable here"
fi
exit $status
