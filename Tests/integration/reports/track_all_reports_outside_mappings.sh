#!/usr/bin/env bash
# MAPWARDEN_TRACK. With `all`, an anonymous mmap(NULL) and a
# shared file mapping (of a temp file, at an offset) that the program makes
# outside the window and never unmaps are reported with in_window false,
# the file's path and offset; an outside mapping that was unmapped is not;
# a malloc'd block that glibc mmapped itself is not (glibc's internal mmaps
# do not pass through the interposer). With the default (`window`) only the
# window mappings are reported. A bad value stops with 78.
. "$(dirname "$0")/../include/report_test_lib.bash" ltrack
tmp=$(realpath "$tmp")

head -c 16384 /dev/urandom >"$tmp/data.bin"
cat >"$tmp/tracker.c" <<'C'
#include <fcntl.h>
#include "common.h"
#include "leak_helpers.h"
NOINLINE void anon_outside(void) {
    char *p = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED);
    p[0] = 1;
    say("LEAK anon_outside %p %lu", (void *)p, 3 * PAGE);
}
NOINLINE void file_outside(const char *path) {
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    char *p = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, PAGE);
    CHECK(p != MAP_FAILED);
    close(fd);
    say("LEAK file_outside %p %lu", (void *)p, 2 * PAGE);
}
NOINLINE void file_in_window(const char *path) {
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    char *p = mmap(W(0x20000), PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    CHECK(p == W(0x20000));
    close(fd);
    say("LEAK file_in_window %p %lu", (void *)p, PAGE);
}
NOINLINE void anon_in_window(void) {
    char *p = mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x10000));
    say("LEAK anon_in_window %p %lu", (void *)p, PAGE);
}
NOINLINE void freed_outside(void) {
    char *p = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED && munmap(p, 5 * PAGE) == 0);
}
int main(int argc, char **argv) {
    CHECK(argc == 2);
    say("PID %d", (int)getpid());
    char *big = malloc(1 << 20);       /* glibc mmaps this itself */
    CHECK(big);
    big[0] = 1;
    say("MALLOC %p", (void *)big);
    anon_in_window();
    file_in_window(argv[1]);
    anon_outside();
    file_outside(argv[1]);
    freed_outside();
    return 0;                          /* big is never freed */
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/tracker" "$tmp/tracker.c" ||
    { echo "cannot compile"; exit 1; }

cat >"$tmp/check.py" <<'PY'
import json, sys
track, report, outfile, datafile = sys.argv[1:5]
W, END = 0x400000000000, 0x400000000000 + (1 << 40)
facts = open(outfile).read().split("\n")
pid = int([l for l in facts if l.startswith("PID ")][0].split()[1])
leaks = {int(l.split()[2], 16): (l.split()[1], int(l.split()[3])) for l in facts if l.startswith("LEAK ")}
big = int([l for l in facts if l.startswith("MALLOC ")][0].split()[1], 16)
errors = []
r = json.load(open(report))
if r.get("settings", {}).get("track") != track: errors.append("settings.track %r" % r.get("settings", {}).get("track"))
want = {}
for a, (fn, size) in leaks.items():
    inside = W <= a < END
    if track == "window" and not inside: continue
    want[a] = {"anon_in_window": dict(size=size, protection="rw-", shared=False, anonymous=True, path=None, offset=0, in_window=True, window="default"),
               "file_in_window": dict(size=size, protection="r--", shared=False, anonymous=False, path=datafile, offset=0, in_window=True, window="default"),
               "anon_outside": dict(size=size, protection="rw-", shared=False, anonymous=True, path=None, offset=0, in_window=False, window=None),
               "file_outside": dict(size=size, protection="r--", shared=True, anonymous=False, path=datafile, offset=4096, in_window=False, window=None)}[fn]
    want[a]["fn"] = fn
got = {int(l["address"], 16): l for l in r.get("leaks", [])}
if sorted(got) != sorted(want):
    errors.append("leaks at %r, expected %r" % ([hex(a) for a in sorted(got)], [hex(a) for a in sorted(want)]))
if [int(l["address"], 16) for l in r.get("leaks", [])] != sorted(got): errors.append("leaks not in address order")
for a, w in want.items():
    l = got.get(a)
    if not l: continue
    for k, v in w.items():
        if k == "fn": continue
        if l.get(k) != v: errors.append("%s (%s): %s %r, expected %r" % (hex(a), w["fn"], k, l.get(k), v))
    if l.get("thread") != pid: errors.append("%s: thread %r" % (hex(a), l.get("thread")))
    if w["fn"] not in [f.get("symbol") for f in l.get("stack") or []]: errors.append("%s: %s not in the stack" % (hex(a), w["fn"]))
for a, l in got.items():
    if a <= big < a + l.get("size", 0): errors.append("glibc's malloc mmap %#x is reported" % big)
s = r.get("summary", {})
n, b = len(want), sum(w["size"] for w in want.values())
if s.get("leaked_mappings") != n or s.get("leaked_bytes") != b: errors.append("summary %r, expected %d mappings %d bytes" % (s, n, b))
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY

for track in all window; do
    step_failed=0
    envs=(MAPWARDEN_REPORT="$tmp/$track.json" MAPWARDEN_REPORT_FORMAT=json)
    [ $track = all ] && envs+=(MAPWARDEN_TRACK=all)
    env "${envs[@]}" LD_PRELOAD="$LIB" "$tmp/tracker" "$tmp/data.bin" >"$tmp/out" 2>"$tmp/err"; status=$?
    [ $status -eq 0 ] || { fail "$track: status $status"; show; continue; }
    "$PY" "$tmp/check.py" $track "$tmp/$track.json" "$tmp/out" "$tmp/data.bin" && echo "ok: track $track" ||
        { fail "track $track"; show "$tmp/$track.json"; }
done
env MAPWARDEN_TRACK=window MAPWARDEN_REPORT="$tmp/w2.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" "$tmp/tracker" "$tmp/data.bin" >"$tmp/out" 2>"$tmp/err"
"$PY" "$tmp/check.py" window "$tmp/w2.json" "$tmp/out" "$tmp/data.bin" && echo "ok: track window given explicitly" || fail "explicit window"

# text: the file mappings' at-lines
env MAPWARDEN_TRACK=all MAPWARDEN_REPORT="$tmp/all.txt" LD_PRELOAD="$LIB" "$tmp/tracker" "$tmp/data.bin" >"$tmp/out" 2>"$tmp/err"; status=$?
fo=$(sed -n 's/^LEAK file_outside 0x\([0-9a-f]*\) .*/\1/p' "$tmp/out")
ao=$(sed -n 's/^LEAK anon_outside 0x\([0-9a-f]*\) .*/\1/p' "$tmp/out")
grep -qE "^\s+at 0x$fo \(8192 bytes, r--, shared file $tmp/data.bin offset 0x1000(, outside the window)?, thread [0-9]+\)$" "$tmp/all.txt" &&
    grep -qE "^\s+at 0x400000020000 \(4096 bytes, r--, private file $tmp/data.bin( offset 0x0)?, thread [0-9]+\)$" "$tmp/all.txt" &&
    grep -qE "^\s+at 0x$ao \(12288 bytes, rw-, private anonymous(, outside the window)?, thread [0-9]+\)$" "$tmp/all.txt" &&
    grep -q "^SUMMARY: mapwarden: 28672 bytes leaked in 4 mappings" "$tmp/all.txt" ||
    { fail "text report under MAPWARDEN_TRACK=all"; show "$tmp/all.txt"; }
ok "text at-lines"

env MAPWARDEN_TRACK=everything LD_PRELOAD="$LIB" "$tmp/tracker" "$tmp/data.bin" >"$tmp/out" 2>"$tmp/err"; status=$?
[ $status -eq 78 ] && grep -qF 'MAPWARDEN_TRACK="everything"' "$tmp/err" || { fail "MAPWARDEN_TRACK=everything: status $status"; show; }

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
