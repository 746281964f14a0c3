#!/usr/bin/env bash
# "At most 8 windows" should be a property of the
# resulting configuration, not of the order in which entries are applied.
# The config file declares 8 windows (the default and A..G); the
# environment switches one off (MAPWARDEN_WINDOW_A=, "so the environment
# can switch off a window the file declares") and declares another (H):
# 8 windows in the end. Settings.applyNamedWindow checks the capacity as
# each entry is applied, in environment order: when H comes before A= in
# the environment, H is refused ("too many windows", exit 78), when it
# comes after, the same configuration runs. The same happens inside one
# file (a later line removing an earlier window).
# Expected: both orders run (exit 0) with 8 windows, H among them, no A.
. "$(dirname "$0")/../include/window_test_lib.bash" cfg_window_limit_counts_final_configuration
build_wprobe
export MAPWARDEN_REPORT=none
{
    for l in A B C D E F G; do
        i=$(( $(printf '%d' "'$l") - 65 ))
        printf 'MAPWARDEN_WINDOW_%s=0x%x:16M\n' $l $(( 0x500000000000 + i * 0x10000000 ))
    done
} >"$tmp/eight.env"
H="MAPWARDEN_WINDOW_H=0x5f0000000000:16M"
for order in "H-first" "A-first"; do
    step_failed=0
    if [ $order = H-first ]; then envs=("$H" "MAPWARDEN_WINDOW_A="); else envs=("MAPWARDEN_WINDOW_A=" "$H"); fi
    run MAPWARDEN_CONFIG="$tmp/eight.env" "${envs[@]}" -- windows
    [ "$status" -eq 0 ] || { fail "$order: status $status"; show; continue; }
    grep -qx "WINDOWS 8" "$tmp/out" || fail "$order: not 8 windows: $(head -1 "$tmp/out")"
    grep -q "^WINDOW h " "$tmp/out" || fail "$order: no window h"
    ! grep -q "^WINDOW a " "$tmp/out" || fail "$order: window a is still there"
    ok "$order: 8 windows"
done
# one file: a later line removes an earlier window, then one more is declared
{ cat "$tmp/eight.env"; echo "MAPWARDEN_WINDOW_A="; echo "$H"; } >"$tmp/file.env"
run MAPWARDEN_CONFIG="$tmp/file.env" -- windows
[ "$status" -eq 0 ] && grep -qx "WINDOWS 8" "$tmp/out" || { fail "in one file: status $status"; show; }
ok "in one file"
done_all
