#!/usr/bin/env bash
# Shared windows: two independent processes started with the same
# MAPWARDEN_WINDOW_IPC=BASE:SIZE:shared=NAME, both alive at once. A maps
# MAP_PRIVATE|MAP_ANONYMOUS MAP_FIXED at BASE+X and writes a pattern; B maps
# the same range and sees it, writes another, A sees that, writes a third, B
# sees it. The same through a hint, MAP_FIXED_NOREPLACE and mapwarden_alloc.
# /proc/self/maps shows the mappings as rw-s pages of /dev/shm/NAME at file
# offset pagesize + X; munmap returns the range to the reservation and the
# data stays in the file (a new mapping there shows it). The file: mode
# 0600, one header page + the window's size, the header (magic, version,
# header size, base, size) and the data at pagesize + X. Paths: plain
# `shared` is /dev/shm/mapwarden.<name>, an absolute path is used as is, a
# relative one with a '/' is taken from the start-up directory. After fork
# parent and child share the pages (MAP_PRIVATE included); the program's
# own files mapped there are ordinary private file mappings; tags are per
# process; a user killed with SIGKILL is reported by the next one.
. "$(dirname "$0")/../include/window_test_lib.bash" shared_two_procs
build_wprobe
export MAPWARDEN_REPORT=none
shm="mw-shared-$$"
cleanup_paths+=("/dev/shm/$shm" "/dev/shm/mw-shared-abs-$$" "/dev/shm/mapwarden.t$$")
BASE=0x500000000000
X=0x500000100000; LEN=0x4000
H=0x500000200000
WIN="MAPWARDEN_WINDOW_IPC=$BASE:16M:shared=$shm"

# --- two processes at once
start A "$WIN" -- pid line $X map $X $LEN line $X fill $X $LEN 1 \
    map $BASE 0x1000 fill $BASE 0x1000 5 \
    map $H 0x1000 hint fill $H 0x1000 7 line $H windows query $X \
    wait check $X $LEN 2 fill $X $LEN 3 \
    wait unmap $X $LEN line $X map $X $LEN check $X $LEN 3
if ! await A READY; then fail "A did not get ready"; cat "$tmp/A.log" "$tmp/A.err"; done_all; fi
start B "$WIN" -- map $X $LEN check $X $LEN 1 fill $X $LEN 2 \
    alloc ipc 0x1000 check $BASE 0x1000 5 \
    map $H 0x1000 noreplace check $H 0x1000 7 \
    wait check $X $LEN 3
if await B READY; then
    tell A
    await A READY || fail "A did not see B's pattern (2)"
    tell B
else fail "B did not see A's pattern"; fi
finish B
[ "$status" -eq 0 ] || fail "B exited $status"
grep -qx "CHECKED 1" "$tmp/B.log" && grep -qx "CHECKED 3" "$tmp/B.log" || fail "B did not see A's patterns 1 and 3"
grep -qx "ALLOC 0x500000000000" "$tmp/B.log" && grep -qx "CHECKED 5" "$tmp/B.log" ||
    fail "B's mapwarden_alloc(\"ipc\") is not at the base or does not show A's page there"
grep -qx "CHECKED 7" "$tmp/B.log" || fail "B's MAP_FIXED_NOREPLACE does not show what A wrote through a hint"
tell A
finish A
[ "$status" -eq 0 ] || fail "A exited $status"
grep -qx "CHECKED 2" "$tmp/A.log" || fail "A did not see B's pattern 2"
[ "$(grep -c '^CHECKED 3$' "$tmp/A.log")" -eq 1 ] || fail "A: after munmap and a new mapping the data (3) is not there"
if [ $failures -gt 0 ]; then for p in A B; do echo "--- $p:"; cat "$tmp/$p.log"; cat "$tmp/$p.err"; done; fi
ok "two processes see each other's writes"

# --- what A saw in /proc/self/maps and from the API
lines=$(grep '^LINE ' "$tmp/A.log")
first=$(sed -n 1p <<<"$lines"); mapped=$(sed -n 2p <<<"$lines"); hint=$(sed -n 3p <<<"$lines"); after=$(sed -n 4p <<<"$lines")
[[ "$first" == "LINE 500000000000-500001000000 ---p "* ]] || fail "before the mapping: not the reservation line of the window: $first"
grep -qE "^LINE 500000100000-500000104000 rw-s 00101000 [0-9a-f:]+ [0-9]+ +/dev/shm/$shm\$" <<<"$mapped" ||
    fail "the mapping is not rw-s of /dev/shm/$shm at offset 0x101000: $mapped"
grep -qE "^LINE 500000200000-500000201000 rw-s 00201000 .*/dev/shm/$shm\$" <<<"$hint" ||
    fail "the hinted mapping is not rw-s of /dev/shm/$shm at offset 0x201000: $hint"
grep -qE "^LINE [0-9a-f]+-[0-9a-f]+ ---p " <<<"$after" && ! grep -q "/dev/shm" <<<"$after" ||
    fail "after munmap the range is not the reservation again: $after"
grep -qx "WINDOW ipc 0x500000000000 0x1000000 1 /dev/shm/$shm" "$tmp/A.log" ||
    fail "mapwarden_windows: no 'ipc' entry with backing 1 (shared) and path /dev/shm/$shm"
grep -q "^QUERY 2 ipc " "$tmp/A.log" || fail "query in the shared window: not MAPPED in ipc"
echo "note: query flags of a MAP_PRIVATE anonymous mapping in a shared window: $(grep '^QUERY' "$tmp/A.log")"
[ $failures -gt 0 ] && cat "$tmp/A.log"
ok "maps lines: rw-s pages of /dev/shm/$shm"

# --- the file
f="/dev/shm/$shm"
[ -f "$f" ] || fail "$f does not exist after the runs"
[ "$(stat -c %a "$f" 2>/dev/null)" = 600 ] || fail "$f mode $(stat -c %a "$f" 2>&1), expected 600"
[ "$(stat -c %s "$f" 2>/dev/null)" = $((4096 + 16 * 1024 * 1024)) ] || fail "$f size $(stat -c %s "$f" 2>&1), expected 4096 + 16M"
"$PY" - "$f" <<'PY' || fail "the file's header or data"
import struct, sys
d = open(sys.argv[1], "rb").read()
err = []
magic, version, hsize, base, size = struct.unpack_from("<8sIIQQ", d, 0)
if magic != b"MAPWARDN": err.append("magic %r" % magic)
if version != 1: err.append("version %d" % version)
if hsize != 4096: err.append("header size %d" % hsize)
if base != 0x500000000000: err.append("base %#x" % base)
if size != 16 << 20: err.append("size %#x" % size)
def pat(seed, i): return (seed * 31 + i * 7 + (i >> 12) * 13 + 1) & 0xff
X = 0x100000
if d[4096 + X:4096 + X + 0x4000] != bytes(pat(3, i) for i in range(0x4000)): err.append("the data at 4096 + X is not pattern 3")
if d[4096:4096 + 0x1000] != bytes(pat(5, i) for i in range(0x1000)): err.append("the data at 4096 + 0 is not pattern 5")
for e in err: print("FAIL: header/data: " + e)
sys.exit(1 if err else 0)
PY
ok "the shared file: header, size, mode, data at pagesize + X"

# --- a third process, after both exited, sees the data (tmpfs keeps it)
run "$WIN" -- map $X $LEN check $X $LEN 3
[ "$status" -eq 0 ] || { fail "a later process does not see the data"; show; }
ok "the data stays in /dev/shm after the processes exit"

# --- fork: parent and child share the window's pages, even MAP_PRIVATE ones
run "$WIN" -- map 0x500000500000 0x2000 fill 0x500000500000 0x2000 31 forkfill 0x500000500000 0x2000 32 check 0x500000500000 0x2000 32
[ "$status" -eq 0 ] && grep -qx "CHECKED 32" "$tmp/out" || { fail "fork: the parent does not see its child's write in the shared window"; show; }
# (in the private default window it does not: copy-on-write, as without mapwarden)
run -- map 0x400000500000 0x2000 fill 0x400000500000 0x2000 31 forkfill 0x400000500000 0x2000 32 check 0x400000500000 0x2000 31
[ "$status" -eq 0 ] && grep -qx "CHECKED 31" "$tmp/out" || { fail "fork in a private window: not copy-on-write"; show; }
ok "fork shares the pages of a shared window"

# --- the program's own files mapped inside a shared window are served as in a private window
printf 'FILEDATA%04090d' 0 >"$tmp/data.bin"
run "$WIN" -- mapfile 0x500000600000 0x1000 "$tmp/data.bin" line 0x500000600000 query 0x500000600000
[ "$status" -eq 0 ] && grep -qx "MAPPED FILE 0x500000600000 FILEDATA" "$tmp/out" || { fail "a file mapped in the shared window"; show; }
grep -qE "^LINE 500000600000-500000601000 r--p 00000000 .* $tmp/data.bin\$" "$tmp/out" || { fail "a file mapped in the shared window: maps line"; show; }
grep -qx "QUERY 2 ipc 0x2 0x500000600000 0x1000" "$tmp/out" || { fail "a file mapped in the shared window: query (MAPPED, flags MAP_PRIVATE)"; show; }
ok "file-backed mappings in a shared window"

# --- an anonymous MAP_FIXED across the shared window's edge: EINVAL, nothing changed (the
# engine's choice, WindowService: the window's file cannot back what lies outside it)
run "$WIN" -- trymap 0x500000ffe000 0x4000 line 0x500000ffe000 line 0x500001000000 query 0x500000fff000
grep -qx "MAPFAIL EINVAL" "$tmp/out" || { fail "a MAP_FIXED across the shared window's end is not EINVAL"; show; }
grep -q "^LINE 500000[0-9a-f]*-500001000000 ---p " "$tmp/out" && grep -qx "LINE none" "$tmp/out" &&
    grep -q "^QUERY 1 ipc " "$tmp/out" || { fail "a failed MAP_FIXED across the edge changed something"; show; }
ok "MAP_FIXED across a shared window's edge"

# --- tags are per process: another process sees tag 0 at the same place
start T "$WIN" -- map $X $LEN tag $X 0x5a5a gettag $X wait
if await T READY; then
    run "$WIN" -- map $X $LEN gettag $X
    grep -qx "TAG 0" "$tmp/out" || { fail "a second process sees another's tag"; show; }
    grep -qx "TAG 0x5a5a" "$tmp/T.log" || fail "the tagging process does not read its tag"
else fail "T did not start"; cat "$tmp/T.err"; fi
tell T; finish T
ok "tags are per process"

# --- crash detection applies to shared files too
shm2="mw-shared-crash-$$"
cleanup_paths+=("/dev/shm/$shm2")
run "MAPWARDEN_WINDOW_IPC=$BASE:16M:shared=$shm2" -- pid map $X 0x1000 fill $X 0x1000 33 kill
kpid=$(sed -n 's/^PID //p' "$tmp/out")
run "MAPWARDEN_WINDOW_IPC=$BASE:16M:shared=$shm2" -- map $X 0x1000 check $X 0x1000 33
[ "$status" -eq 0 ] || { fail "after a SIGKILLed user of a shared window: status $status"; show; }
grep '^mapwarden: ' "$tmp/err" | grep -F "/dev/shm/$shm2" | grep -qE "not closed cleanly \(last opened by pid $kpid\b" ||
    { fail "a SIGKILLed user of a shared window is not reported"; show; }
ok "crash detection on a shared window"

# --- plain `shared`: /dev/shm/mapwarden.<name>
run "MAPWARDEN_WINDOW_T$$=0x510000000000:16M:shared" -- map 0x510000010000 0x1000 fill 0x510000010000 0x1000 9 line 0x510000010000 windows
[ "$status" -eq 0 ] || { fail "plain shared: status $status"; show; }
grep -qE "^LINE 510000010000-510000011000 rw-s 00011000 .*/dev/shm/mapwarden\.t$$\$" "$tmp/out" ||
    { fail "plain shared: not backed by /dev/shm/mapwarden.t$$"; show; }
grep -qx "WINDOW t$$ 0x510000000000 0x1000000 1 /dev/shm/mapwarden.t$$" "$tmp/out" || { fail "plain shared: windows entry"; show; }
[ -f "/dev/shm/mapwarden.t$$" ] || fail "/dev/shm/mapwarden.t$$ does not exist"
run "MAPWARDEN_WINDOW_T$$=0x510000000000:16M:shared" -- map 0x510000010000 0x1000 check 0x510000010000 0x1000 9
[ "$status" -eq 0 ] || { fail "plain shared: the second run does not see the data"; show; }
ok "plain shared -> /dev/shm/mapwarden.<name>"

# --- an absolute path; a relative path with a '/', from the start-up directory
run "MAPWARDEN_WINDOW_ABS=0x510000000000:16M:shared=/dev/shm/mw-shared-abs-$$" -- map 0x510000000000 0x1000 line 0x510000000000
grep -qE "^LINE 510000000000-510000001000 rw-s 00001000 .*/dev/shm/mw-shared-abs-$$\$" "$tmp/out" || { fail "absolute path"; show; }
mkdir -p "$tmp/cwd/sub"
( cd "$tmp/cwd" && run "MAPWARDEN_WINDOW_REL=0x510000000000:16M:shared=sub/rel.shm" -- map 0x510000000000 0x1000 line 0x510000000000 windows
  cp "$tmp/out" "$tmp/rel.out"; exit $status ); status=$?
cp "$tmp/rel.out" "$tmp/out" 2>/dev/null
[ "$status" -eq 0 ] && [ -f "$tmp/cwd/sub/rel.shm" ] || { fail "relative path: no $tmp/cwd/sub/rel.shm"; show; }
grep -qE "^LINE 510000000000-510000001000 rw-s 00001000 .*$tmp/cwd/sub/rel.shm\$" "$tmp/out" || { fail "relative path: maps line"; show; }
grep -qxE "WINDOW rel 0x510000000000 0x1000000 1 ($tmp/cwd/)?sub/rel.shm" "$tmp/out" ||
    { fail "relative path: the window's path"; show; }
ok "absolute and relative paths"

done_all
