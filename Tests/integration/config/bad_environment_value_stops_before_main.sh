#!/usr/bin/env bash
# Config and start-up: bad values in the environment. Each gets exit
# status 78 before main (the program's own output never appears), not a
# signal, and one stderr line with the word mapwarden, where it came from,
# the key, the quoted value, and why.
set -u
unset MAPWARDEN_WINDOW MAPWARDEN_CONFIG MAPWARDEN_ON_RESERVE_FAILURE MAPWARDEN_LOG
tmp=$(mktemp -d "$BUILD/bad_environment_value_stops_before_main.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- status $status; stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"; exit 1; }

cat >"$tmp/probe.c" <<'C'
#include <stdio.h>
int main(void) { printf("MAIN REACHED\n"); return 0; }
C
$CC -o "$tmp/probe" "$tmp/probe.c" || { echo "cannot compile the probe"; exit 1; }

run() { # KEY=VALUE... : runs the probe under the preload with that environment
    env "$@" LD_PRELOAD="$LIB" "$tmp/probe" >"$tmp/out" 2>"$tmp/err"
    status=$?
}
# expect_config_error KEY VALUE WHY-FRAGMENT...
expect_config_error() {
    local key=$1 value=$2; shift 2
    run "$key=$value"
    [ "$status" -eq 78 ] || fail "$key=$value: exit status $status, expected 78"
    [ "$status" -lt 128 ] || fail "$key=$value: killed by a signal"
    ! grep -q "MAIN REACHED" "$tmp/out" || fail "$key=$value: main ran"
    local line
    line=$(grep -F "$key=\"$value\"" "$tmp/err" | head -n 1)
    [ -n "$line" ] || fail "$key=$value: no message naming the key and the quoted value"
    [[ "$line" == mapwarden:* ]] || fail "$key=$value: the message does not start with 'mapwarden:': $line"
    [[ "$line" == *environment* ]] || fail "$key=$value: the message does not say it came from the environment: $line"
    for why in "$@"; do
        grep -qiF -- "$why" <<<"$line" || fail "$key=$value: the message does not say '$why': $line"
    done
    grep -q "status 78" "$tmp/err" || fail "$key=$value: the exit status is not announced"
    echo "ok: $key=$value -> 78: $line"
}

expect_config_error MAPWARDEN_WINDOW garbage "BASE:SIZE"
expect_config_error MAPWARDEN_WINDOW "zz:1T" "base" "hex"
expect_config_error MAPWARDEN_WINDOW "0x400000000000:lots" "size"
expect_config_error MAPWARDEN_WINDOW "0x400000000001:1T" "page-aligned"
expect_config_error MAPWARDEN_WINDOW "0x400000000800:1G" "page-aligned"
expect_config_error MAPWARDEN_WINDOW "0x400000000000:0" "size" "zero"
expect_config_error MAPWARDEN_WINDOW "0x400000000000:0T" "zero"
expect_config_error MAPWARDEN_WINDOW "0x400000000000:100" "page size"
expect_config_error MAPWARDEN_WINDOW "0x800000000000:1G" "user space"
expect_config_error MAPWARDEN_WINDOW "0x7fffffff0000:1T" "user space"
expect_config_error MAPWARDEN_WINDOW "0xffffffffffff0000:1G" "user space"
expect_config_error MAPWARDEN_ON_RESERVE_FAILURE maybe "abort" "warn"
expect_config_error MAPWARDEN_LOG loud "quiet" "debug"

# two problems: one line each, one exit
run MAPWARDEN_WINDOW=garbage MAPWARDEN_LOG=loud
[ "$status" -eq 78 ] || fail "two problems: status $status"
[ "$(grep -c '^mapwarden: environment: ' "$tmp/err")" -eq 2 ] || fail "two problems: expected two lines"

# a good value runs the program with the window where asked
run MAPWARDEN_WINDOW=0x500000000000:4G
[ "$status" -eq 0 ] && grep -q "MAIN REACHED" "$tmp/out" || fail "a good window does not run"
[ ! -s "$tmp/err" ] || fail "a good window prints something"
env MAPWARDEN_WINDOW=0x500000000000:4G LD_PRELOAD="$LIB" cat /proc/self/maps >"$tmp/maps" || fail "cat failed"
grep -q '^500000000000-500100000000 ---p' "$tmp/maps" || { cat "$tmp/maps"; fail "window not at 0x500000000000 (4G)"; }
! grep -q '^400000000000-' "$tmp/maps" || fail "default window also reserved"
echo "all ok"
