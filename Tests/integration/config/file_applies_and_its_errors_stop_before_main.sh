#!/usr/bin/env bash
# Config and start-up: the config file named by MAPWARDEN_CONFIG. A missing
# file, a syntax error (with its line number), an unknown key and a bad
# value in the file each give exit status 78 before main with a message
# naming mapwarden, the file, the key or line, the value and why. A valid
# file with comments, blank lines, export and quotes places the window
# where it says (seen in /proc/self/maps of a cat child), and the
# environment overrides the file.
set -u
unset MAPWARDEN_WINDOW MAPWARDEN_CONFIG MAPWARDEN_ON_RESERVE_FAILURE MAPWARDEN_LOG
tmp=$(mktemp -d "$BUILD/file_applies_and_its_errors_stop_before_main.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
status=0
fail() { echo "FAIL: $*"; echo "--- status $status; stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"; exit 1; }

cat >"$tmp/probe.c" <<'C'
#include <stdio.h>
int main(void) { printf("MAIN REACHED\n"); return 0; }
C
$CC -o "$tmp/probe" "$tmp/probe.c" || { echo "cannot compile the probe"; exit 1; }
: >"$tmp/out"; : >"$tmp/err"

run() { # KEY=VALUE... : the probe under the preload
    env "$@" LD_PRELOAD="$LIB" "$tmp/probe" >"$tmp/out" 2>"$tmp/err"
    status=$?
}
expect_78() { # what
    [ "$status" -eq 78 ] || fail "$1: exit status $status, expected 78"
    ! grep -q "MAIN REACHED" "$tmp/out" || fail "$1: main ran"
    grep -q '^mapwarden: ' "$tmp/err" || fail "$1: no mapwarden message"
}
has() { # what, fixed string that must appear on a line starting with mapwarden:
    grep '^mapwarden: ' "$tmp/err" | grep -qF -- "$2" || fail "$1: the message does not contain '$2'"
}
window_at() { # expected maps-line prefix, KEY=VALUE... : the window of a cat child
    local want=$1; shift
    env "$@" LD_PRELOAD="$LIB" cat /proc/self/maps >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ "$status" -eq 0 ] || fail "cat exited $status"
    grep -q "^$want ---p" "$tmp/out" || fail "no window line '$want ---p'"
}

# --- a missing file
run MAPWARDEN_CONFIG=/nonexistent
expect_78 "missing file"
has "missing file" "MAPWARDEN_CONFIG"
has "missing file" '"/nonexistent"'
grep -qiE "ENOENT|no such file" "$tmp/err" || fail "missing file: the reason (ENOENT) is not given"
# a directory is not a readable config file either
run MAPWARDEN_CONFIG="$tmp"
expect_78 "directory as config file"
has "directory as config file" "\"$tmp\""
echo "ok: missing file"

# --- a syntax error, with its line number
cat >"$tmp/syntax.env" <<'F'
# a comment

MAPWARDEN_LOG=quiet
this line has no equals sign
F
run MAPWARDEN_CONFIG="$tmp/syntax.env"
expect_78 "syntax error"
has "syntax error" "$tmp/syntax.env:4:"
has "syntax error" "this line has no equals sign"
grep -qi "syntax" "$tmp/err" || fail "syntax error: the message does not say it is a syntax error"
[ "$(grep -c '^mapwarden: .*syntax.env:' "$tmp/err")" -eq 1 ] || fail "syntax error: expected exactly one problem line"

printf 'MAPWARDEN_LOG=quiet\nMAPWARDEN_WINDOW="0x500000000000:1G\n' >"$tmp/quote.env"
run MAPWARDEN_CONFIG="$tmp/quote.env"
expect_78 "unterminated quote"
has "unterminated quote" "$tmp/quote.env:2:"
grep -qi "quote" "$tmp/err" || fail "unterminated quote: the reason is not given"

printf '\n\n\n\n\n9BAD=1\n' >"$tmp/key.env"
run MAPWARDEN_CONFIG="$tmp/key.env"
expect_78 "invalid key name"
has "invalid key name" "$tmp/key.env:6:"
has "invalid key name" "9BAD"
echo "ok: syntax errors"

# --- an unknown key
printf '# typo below\nMAPWARDEN_WINDOWS=0x500000000000:1G\n' >"$tmp/unknown.env"
run MAPWARDEN_CONFIG="$tmp/unknown.env"
expect_78 "unknown key"
has "unknown key" "$tmp/unknown.env:2:"
has "unknown key" "MAPWARDEN_WINDOWS"
has "unknown key" '"0x500000000000:1G"'
grep -qi "unknown key" "$tmp/err" || fail "unknown key: the reason is not given"
echo "ok: unknown key"

# --- a bad value in the file: line number, key, value, why
printf 'MAPWARDEN_LOG=info\n\nexport MAPWARDEN_WINDOW=0x500000000123:1G\n' >"$tmp/value.env"
run MAPWARDEN_CONFIG="$tmp/value.env"
expect_78 "bad value in the file"
has "bad value in the file" "$tmp/value.env:3:"
has "bad value in the file" 'MAPWARDEN_WINDOW="0x500000000123:1G"'
has "bad value in the file" "page-aligned"
# several problems: one line each
printf 'A B\nFOO=1\nMAPWARDEN_LOG=loud\n' >"$tmp/many.env"
run MAPWARDEN_CONFIG="$tmp/many.env"
expect_78 "several problems"
for n in 1 2 3; do has "several problems" "$tmp/many.env:$n:"; done
# MAPWARDEN_CONFIG inside a config file is refused
printf 'MAPWARDEN_CONFIG=/etc/passwd\n' >"$tmp/nested.env"
run MAPWARDEN_CONFIG="$tmp/nested.env"
expect_78 "MAPWARDEN_CONFIG in a file"
has "MAPWARDEN_CONFIG in a file" "$tmp/nested.env:1:"
echo "ok: bad values in the file"

# --- a valid file with comments, blank lines, export and quotes
cat >"$tmp/good.env" <<'F'
# mapwarden configuration

   # an indented comment
export MAPWARDEN_WINDOW="0x500000000000:2G"   # a comment after the quotes
MAPWARDEN_ON_RESERVE_FAILURE='abort'
  MAPWARDEN_LOG=quiet   # a comment after a bare value

F
window_at "500000000000-500080000000" MAPWARDEN_CONFIG="$tmp/good.env"
! grep -q '^400000000000-' "$tmp/out" || fail "the default window is reserved too"
[ ! -s "$tmp/err" ] || fail "a valid file prints something"
run MAPWARDEN_CONFIG="$tmp/good.env"
[ "$status" -eq 0 ] && grep -q "MAIN REACHED" "$tmp/out" || fail "a valid file does not run the program"
# single quotes around the window, no export
printf "MAPWARDEN_WINDOW='0x600000000000:16M'\n" >"$tmp/single.env"
window_at "600000000000-600001000000" MAPWARDEN_CONFIG="$tmp/single.env"
# the last line without a newline
printf 'MAPWARDEN_WINDOW=0x610000000000:8M' >"$tmp/nonl.env"
window_at "610000000000-610000800000" MAPWARDEN_CONFIG="$tmp/nonl.env"
echo "ok: valid file"

# --- the environment overrides the file
window_at "700000000000-700040000000" MAPWARDEN_CONFIG="$tmp/good.env" MAPWARDEN_WINDOW=0x700000000000:1G
! grep -q '^500000000000-' "$tmp/out" || fail "the file's window is reserved despite the environment"
# ... including over a bad value in the file
printf 'MAPWARDEN_LOG=quiet\n' >"$tmp/log.env"
run MAPWARDEN_CONFIG="$tmp/log.env" MAPWARDEN_LOG=loud
expect_78 "bad environment value over a good file"
has "bad environment value over a good file" 'environment: MAPWARDEN_LOG="loud"'
# the file's on-failure policy applies unless the environment says otherwise
printf 'MAPWARDEN_ON_RESERVE_FAILURE=warn\n' >"$tmp/warn.env"
run MAPWARDEN_CONFIG="$tmp/warn.env" MAPWARDEN_WINDOW=garbage
[ "$status" -eq 0 ] && grep -q "MAIN REACHED" "$tmp/out" || fail "warn from the file does not apply"
run MAPWARDEN_CONFIG="$tmp/warn.env" MAPWARDEN_ON_RESERVE_FAILURE=abort MAPWARDEN_WINDOW=garbage
expect_78 "abort in the environment over warn in the file"
echo "ok: the environment overrides the file"
echo "all ok"
