#!/usr/bin/env bash
# Persistent windows: run 1 maps private anonymous memory in a
# persist=PATH window, writes, exits normally (one mapping unmapped first,
# one left mapped); run 2 maps the same ranges and reads the data back, and
# a fresh place reads zero. The file: created mode 0600, sparse, one header
# page + the window, header fields (magic MAPWARDN, version 1, header size,
# base, size, state 0 after a clean exit, pid, times opened) and the data
# at pagesize + X. A file made for another base or size, another version, a
# non-mapwarden file (bad magic) and a file too short for a header are
# refused at start-up: exit 71 before main, a message naming the window,
# the path, the field and the values, and the file left untouched; under
# MAPWARDEN_ON_RESERVE_FAILURE=warn the program runs with no window. An
# empty file is taken as new. A relative path is from the start-up cwd.
. "$(dirname "$0")/../include/window_test_lib.bash" persist_runs
build_wprobe
export MAPWARDEN_REPORT=none
f="$tmp/heap.mw"
BASE=0x500000000000
WIN="MAPWARDEN_WINDOW_HEAP=$BASE:16M:persist=$f"
A=0x500000000000; B=0x500000300000; Z=0x500000800000

header() { # file: prints "magic version hsize base size state reserved pid opened"
    "$PY" -c '
import struct, sys
d = open(sys.argv[1], "rb").read(56)
m, v, h, b, s, st, r, pid, n = struct.unpack("<8sIIQQIIQQ", d)
print(m.decode("latin-1"), v, h, hex(b), hex(s), st, r, pid, n)' "$1"
}

# --- run 1: write, exit normally
run "$WIN" -- pid map $A 0x2000 fill $A 0x2000 11 map $B 0x3000 fill $B 0x3000 12 unmap $A 0x2000 line $B
pid1=$(sed -n 's/^PID //p' "$tmp/out")
[ "$status" -eq 0 ] || { fail "run 1: status $status"; show; }
[ ! -s "$tmp/err" ] || { fail "run 1 printed something"; show; }
grep -qE "^LINE 500000300000-500000303000 rw-s 00301000 .* $f\$" "$tmp/out" || { fail "run 1: the mapping is not rw-s of $f at 0x301000"; show; }
[ -f "$f" ] || fail "no $f after run 1"
[ "$(stat -c %a "$f" 2>/dev/null)" = 600 ] || fail "mode $(stat -c %a "$f" 2>&1), expected 600"
[ "$(stat -c %s "$f" 2>/dev/null)" = $((4096 + 16 * 1024 * 1024)) ] || fail "size $(stat -c %s "$f" 2>&1), expected 4096 + 16M"
[ "$(stat -c %b "$f" 2>/dev/null)" -lt 1024 ] || fail "the file is not sparse: $(stat -c %b "$f") blocks"
h=$(header "$f")
[ "$h" = "MAPWARDN 1 4096 0x500000000000 0x1000000 0 0 $pid1 1" ] ||
    fail "header after run 1: '$h', expected 'MAPWARDN 1 4096 0x500000000000 0x1000000 0 0 $pid1 1'"
[ "$(head -c 8 "$f")" = MAPWARDN ] || fail "the magic is not at offset 0"
[ "$(od -An -tx8 -j16 -N8 "$f" | tr -d ' ')" = 0000500000000000 ] || fail "od: base at offset 16"
"$PY" - "$f" <<'PY' || fail "the data in the file"
import sys
f = open(sys.argv[1], "rb")
def at(off, n): f.seek(off); return f.read(n)
def pat(seed, i): return (seed * 31 + i * 7 + (i >> 12) * 13 + 1) & 0xff
ok = at(4096, 0x2000) == bytes(pat(11, i) for i in range(0x2000)) and \
     at(4096 + 0x300000, 0x3000) == bytes(pat(12, i) for i in range(0x3000))
sys.exit(0 if ok else 1)
PY
ok "run 1 wrote the file"

# --- run 2: the same ranges read back; other places are zero
run "$WIN" -- pid map $A 0x2000 check $A 0x2000 11 map $B 0x3000 check $B 0x3000 12 map $Z 0x1000 zero $Z 0x1000 \
    windows
pid2=$(sed -n 's/^PID //p' "$tmp/out")
[ "$status" -eq 0 ] || { fail "run 2: status $status"; show; }
grep -qx "CHECKED 11" "$tmp/out" && grep -qx "CHECKED 12" "$tmp/out" && grep -qx ZERO "$tmp/out" || { fail "run 2 does not read the data back"; show; }
[ ! -s "$tmp/err" ] || { fail "run 2 printed something"; show; }
grep -qx "WINDOW heap 0x500000000000 0x1000000 2 $f" "$tmp/out" || { fail "run 2: windows entry (backing 2, path)"; show; }
h=$(header "$f")
[ "$h" = "MAPWARDN 1 4096 0x500000000000 0x1000000 0 0 $pid2 2" ] || fail "header after run 2: '$h' (pid $pid2, opened 2)"
# mapwarden_alloc in the window lands at the base and shows the data too
run "$WIN" -- alloc heap 0x2000 check $A 0x2000 11
[ "$status" -eq 0 ] && grep -qx "ALLOC 0x500000000000" "$tmp/out" || { fail "mapwarden_alloc in the persistent window"; show; }
ok "run 2 reads the data back"

# --- refused files: exit 71, named, untouched
fingerprint() { stat -c '%s %y %Y' "$1"; head -c 8192 "$1" | md5sum; }   # size, mtime (ns), the header
refused() { # what, file, fragment... : the file is refused and left as it was
    local what=$1 file=$2; shift 2
    local before; before=$(fingerprint "$file")
    run "MAPWARDEN_WINDOW_HEAP=$WINVAL" -- main
    if [ "$status" -ne 71 ] || grep -q "MAIN REACHED" "$tmp/out"; then fail "$what: status $status, expected 71 before main"; show; return; fi
    local lines; lines=$(grep '^mapwarden: ' "$tmp/err")
    for s in '"heap"' "$file" "$@"; do
        lines=$(grep -F -- "$s" <<<"$lines")
    done
    [ -n "$lines" ] || { fail "$what: no message line with all of: \"heap\" $file $*"; show; }
    [ "$(fingerprint "$file")" = "$before" ] || fail "$what: the file was changed"
    ok "$what: $(grep '^mapwarden: ' "$tmp/err" | grep -F "$file" | head -n 1)"
}
WINVAL="0x510000000000:16M:persist=$f"
refused "another base" "$f" base 0x500000000000 0x510000000000
WINVAL="$BASE:32M:persist=$f"
refused "another size" "$f" size
grep '^mapwarden: ' "$tmp/err" | grep -F "$f" | grep -qE '(0x1000000|16777216|16M).*(0x2000000|33554432|32M)' ||
    { fail "another size: the two sizes are not both given (16M as made, 32M asked)"; show; }
# warn: no window at all
run "MAPWARDEN_WINDOW_HEAP=0x510000000000:16M:persist=$f" MAPWARDEN_ON_RESERVE_FAILURE=warn -- main query 0x400000000000
[ "$status" -eq 0 ] && grep -q "MAIN REACHED" "$tmp/out" && grep -q "QUERY error ENODEV" "$tmp/out" ||
    { fail "warn: a refused file should leave the program without windows"; show; }
# another version
cp "$f" "$tmp/v2.mw"
printf '\x02' | dd of="$tmp/v2.mw" bs=1 seek=8 conv=notrunc status=none
WINVAL="$BASE:16M:persist=$tmp/v2.mw"
refused "another version" "$tmp/v2.mw" version
# not a mapwarden file
yes "just some text" | head -c 8192 >"$tmp/text.mw"
truncate -s $((4096 + 16 * 1024 * 1024)) "$tmp/text.mw"
WINVAL="$BASE:16M:persist=$tmp/text.mw"
refused "bad magic" "$tmp/text.mw" MAPWARDN
# too short for a header
printf 'MAPWARDN' >"$tmp/short.mw"
WINVAL="$BASE:16M:persist=$tmp/short.mw"
refused "too short" "$tmp/short.mw"
# a directory is no backing file either
mkdir -p "$tmp/dir.mw"
run "MAPWARDEN_WINDOW_HEAP=$BASE:16M:persist=$tmp/dir.mw" -- main
[ "$status" -eq 71 ] && ! grep -q "MAIN REACHED" "$tmp/out" && grep '^mapwarden: ' "$tmp/err" | grep -qF "$tmp/dir.mw" ||
    { fail "a directory as the file: status $status, expected 71 naming it"; show; }
# a file in a directory that does not exist
run "MAPWARDEN_WINDOW_HEAP=$BASE:16M:persist=$tmp/nodir/x.mw" -- main
[ "$status" -eq 71 ] && grep '^mapwarden: ' "$tmp/err" | grep -qF "$tmp/nodir/x.mw" ||
    { fail "a file in a missing directory: status $status, expected 71 naming it"; show; }
ok "refused files"

# --- a file cut short after its header: no SIGBUS, the lost part reads zero, the rest is kept
run "$WIN" -- map $B 0x1000 fill $B 0x1000 13
truncate -s $((4096 + 0x200000)) "$f"
run "$WIN" -- map $A 0x2000 check $A 0x2000 11 map $B 0x1000 zero $B 0x1000
[ "$status" -eq 0 ] && grep -qx ZERO "$tmp/out" || { fail "a truncated file: status $status (135 = SIGBUS)"; show; }
# --- one file for two windows: the second is refused
run "MAPWARDEN_WINDOW_ONE=0x520000000000:16M:persist=$tmp/same.mw" "MAPWARDEN_WINDOW_TWO=0x530000000000:16M:persist=$tmp/same.mw" -- main
[ "$status" -eq 71 ] && ! grep -q "MAIN REACHED" "$tmp/out" && grep '^mapwarden: ' "$tmp/err" | grep -qF "$tmp/same.mw" ||
    { fail "one file for two windows: status $status, expected 71 naming the file"; show; }
ok "a truncated file; one file for two windows"

# --- an empty file is taken as new
: >"$tmp/empty.mw"
run "MAPWARDEN_WINDOW_HEAP=$BASE:16M:persist=$tmp/empty.mw" -- map $A 0x1000 zero $A 0x1000 fill $A 0x1000 4
[ "$status" -eq 0 ] || { fail "an empty file: status $status"; show; }
[ "$(header "$tmp/empty.mw" | cut -d' ' -f1-5)" = "MAPWARDN 1 4096 0x500000000000 0x1000000" ] || fail "an empty file: header not written"
ok "an empty file is initialised"

# --- a relative path is from the start-up directory
mkdir -p "$tmp/cwd"
( cd "$tmp/cwd" && run "MAPWARDEN_WINDOW_REL=$BASE:16M:persist=rel.mw" -- map $A 0x1000 fill $A 0x1000 6 line $A
  cp "$tmp/out" "$tmp/rel.out"; exit $status ); status=$?
[ "$status" -eq 0 ] && [ -f "$tmp/cwd/rel.mw" ] || fail "relative persist path: no $tmp/cwd/rel.mw"
( cd / && run "MAPWARDEN_WINDOW_REL=$BASE:16M:persist=$tmp/cwd/rel.mw" -- map $A 0x1000 check $A 0x1000 6; exit $status ) ||
    fail "relative persist path: the data is not in $tmp/cwd/rel.mw"
ok "relative path"

# --- the default window can be persistent too
run "MAPWARDEN_WINDOW=$BASE:16M:persist=$tmp/default.mw" -- map $A 0x1000 fill $A 0x1000 8
run "MAPWARDEN_WINDOW=$BASE:16M:persist=$tmp/default.mw" -- map $A 0x1000 check $A 0x1000 8 windows
[ "$status" -eq 0 ] && grep -qx "WINDOW default 0x500000000000 0x1000000 2 $tmp/default.mw" "$tmp/out" ||
    { fail "MAPWARDEN_WINDOW=...:persist=PATH"; show; }
ok "a persistent default window"

done_all
