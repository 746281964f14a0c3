#!/usr/bin/env bash
# The JSON report must be valid JSON, which is UTF-8.
# A mapped file whose name is not valid UTF-8 (any byte string is a legal
# Linux file name) is copied into "path" byte for byte, and the report no
# longer parses (python3: UnicodeDecodeError). Invalid bytes must be
# replaced (U+FFFD) or escaped. Also: a newline in a file name shows as
# the kernel's "\012" escape from /proc/self/maps; "path" should be the
# file's name ("new\nline").
. "$(dirname "$0")/../include/report_test_lib.bash" ljsonutf8
cat >"$tmp/prog.c" <<'C'
#include <fcntl.h>
#include "common.h"
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        int fd = open(argv[i], O_RDWR | O_CREAT | O_TRUNC, 0644);
        CHECK(fd >= 0 && ftruncate(fd, PAGE) == 0);
        CHECK(mmap(W((size_t)i * 0x10000), PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == W((size_t)i * 0x10000));
        close(fd);
    }
    return 0;
}
C
$CC -std=gnu11 -O1 -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile"; exit 1; }
cd "$tmp" && env MAPWARDEN_BACKTRACE_DEPTH=0 MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" \
    "$tmp/prog" "$tmp/bad"$'\xff'"name" "$tmp/new"$'\n'"line" "$tmp/q\"uo\\te s" || { echo "FAIL: status $?"; exit 1; }
python3 - "$tmp/r.json" "$tmp" <<'PY'
import json, sys
try:
    r = json.load(open(sys.argv[1], encoding="utf-8"))
except Exception as e:
    print("FAIL: the report is not valid JSON: %s" % e)
    sys.exit(1)
paths = [l["path"] for l in r["leaks"]]
t = sys.argv[2]
errors = []
if paths[1] != t + "/new\nline": errors.append("newline name: %r" % paths[1])
if paths[2] != t + '/q"uo\\te s': errors.append("quote/backslash name: %r" % paths[2])
if not paths[0].startswith(t + "/bad") or not paths[0].endswith("name"): errors.append("bad UTF-8 name: %r" % paths[0])
if errors:
    print("FAIL: " + "; ".join(errors)); sys.exit(1)
print("ok: %r" % paths)
PY
