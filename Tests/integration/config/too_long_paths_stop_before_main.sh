#!/usr/bin/env bash
# Paths longer than the kernel takes (PATH_MAX, 4096 with the NUL). Every
# too-long path in the configuration (MAPWARDEN_REPORT, _SUPPRESSIONS,
# _LIBUNWIND, _CONFIG, a window's file), also one that only becomes too long
# once made absolute, stops the program before main with status 78 and a
# message naming the key and the start of the value (and its length). A
# report path that only becomes too long at exit (%e, %p) is said so, and
# the report goes to standard error: a report is never lost silently.
. "$(dirname "$0")/../include/report_test_lib.bash" cfglong
unset MAPWARDEN_ON_RESERVE_FAILURE
tmp=$(realpath "$tmp")
show() { echo "--- status $status; stderr:"; head -c 3000 "$tmp/err"; echo; }
long() { printf "%$1s" "" | tr ' ' "${2:-a}"; } # N bytes of a letter

run() { # EXPECTED-STATUS ENV... (runs true)
    step_failed=0
    local want=$1; shift
    timeout 20 env "$@" LD_PRELOAD="$LIB" "${PROG:-/bin/true}" >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ $status -eq "$want" ] || { fail "status $status, expected $want"; show; }
}
says() { grep -qF -- "$1" "$tmp/err" || { fail "stderr lacks: ${1:0:300}"; show; }; }
# the message for KEY=VALUE: the first 160 bytes, then the length
too_long() { # KEY VALUE
    says "$1=\"${2:0:160}\"... (${#2} bytes): the path is longer than 4095 bytes (PATH_MAX)"
}

for n in 4200 9000 17000; do
    v="$tmp/$(long $((n - ${#tmp} - 1)))"
    run 78 MAPWARDEN_REPORT="$v"
    too_long MAPWARDEN_REPORT "$v"
    ok "MAPWARDEN_REPORT of $n bytes: 78, named"
done
v="$tmp/$(long 5000 s)"
for key in MAPWARDEN_SUPPRESSIONS MAPWARDEN_LIBUNWIND; do
    run 78 $key="$v"
    too_long $key "$v"
    ok "$key of ${#v} bytes: 78, named"
done
run 78 MAPWARDEN_WINDOW_BIG="0x500000000000:1G:persist=$v"
says "MAPWARDEN_WINDOW_BIG=\"0x500000000000:1G:persist=$tmp/sss"
says "the path is longer than 4095 bytes (PATH_MAX)"
ok "a persistent window's file of ${#v} bytes: 78, named"
run 78 MAPWARDEN_CONFIG="$v"
says "MAPWARDEN_CONFIG=\"${v:0:160}\"... (${#v} bytes): cannot read the config file: ENAMETOOLONG"
ok "MAPWARDEN_CONFIG of ${#v} bytes: 78, named"
# from a config file: its line, the key and the value
printf 'MAPWARDEN_REPORT=%s\n' "$v" >"$tmp/cfg.env"
run 78 MAPWARDEN_CONFIG="$tmp/cfg.env"
says "mapwarden: $tmp/cfg.env:1: MAPWARDEN_REPORT=\"${v:0:160}\"... (${#v} bytes): the path is longer than 4095 bytes (PATH_MAX)"
ok "from the config file"

# A long key (a window's name) is cut as well: the explanation still fits
# the line, and the next message starts a line of its own.
key="MAPWARDEN_WINDOW_$(long 3000 A)"
run 78 "$key=0x500000000000:1G"
says "mapwarden: environment: ${key:0:160}... (3017 bytes)=\"0x500000000000:1G\": the window name after MAPWARDEN_WINDOW_ must be 1 to 31 letters, digits or _"
grep -qx "mapwarden: the configuration is invalid; exiting with status 78 (MAPWARDEN_ON_RESERVE_FAILURE=abort)" "$tmp/err" ||
    { fail "the next message does not start a line"; show; }
ok "a key of ${#key} bytes: named, cut"

# Relative paths that are too long only once made absolute.
deep="$tmp"
while [ ${#deep} -lt 3900 ]; do deep="$deep/$(long 200 d)"; done
mkdir -p "$deep" || { echo "cannot make $deep"; exit 1; }
rel="$(long 300 r).%p.txt"
(cd "$deep" && run 78 MAPWARDEN_REPORT="$rel"; says "MAPWARDEN_REPORT=\"${rel:0:160}\"... (${#rel} bytes): the path is longer than 4095 bytes (PATH_MAX) once made absolute"
 exit $failures) || failures=$((failures + 1))
(cd "$deep" && run 78 MAPWARDEN_WINDOW_P="0x500000000000:1G:persist=$(long 300 p)"
 says "MAPWARDEN_WINDOW_P=\"0x500000000000:1G:persist=ppp"; says "once made absolute"; exit $failures) || failures=$((failures + 1))
ok "too long once made absolute: 78, named"
(cd "$deep" && run 0 MAPWARDEN_REPORT=r.%p.txt && ls "$deep"/r.*.txt >/dev/null 2>&1 || fail "a report path that fits is not written"
 exit $failures) || failures=$((failures + 1))
ok "a relative path that fits still works"

# Too long only when written: the expansion of %e (a long executable name).
prog="$tmp/$(long 200 e)"
cp /bin/true "$prog" || exit 1
for count in 20 50; do   # 4000 and 10000 more bytes: beyond PATH_MAX, and beyond mapwarden's buffer
    v="$tmp/$(long 1500 x)$(printf '%%e%.0s' $(seq $count))"
    PROG=$prog run 0 MAPWARDEN_REPORT="$v"
    says "mapwarden: MAPWARDEN_REPORT=\"${v:0:160}\"... (${#v} bytes): cannot write the report there: the path is longer than 4095 bytes (PATH_MAX) once %p and %e are expanded; writing it to standard error"
    says "mapwarden: no leaks (pid "
    ok "%e expanded beyond PATH_MAX ($count times): said, and the report on standard error"
done
# a path of a legal length with a file name too long (ENAMETOOLONG at exit)
v="$tmp/$(long 300 n).txt"
run 0 MAPWARDEN_REPORT="$v"
says "mapwarden: MAPWARDEN_REPORT=\"${v:0:160}\"... (${#v} bytes): cannot write the report there: ENAMETOOLONG (file name too long); writing it to standard error"
says "mapwarden: no leaks (pid "
ok "a file name too long: said, and the report on standard error"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
