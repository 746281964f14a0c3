#!/usr/bin/env bash
# MAPWARDEN_TRACK=all:
#  - a mapping the program made outside the window and moved into the window
#    with mremap(MREMAP_FIXED), then unmapped, is reported as leaked (its
#    record in the outside registry is never removed);
#  - a window mapping moved outside with mremap and left there is not
#    reported at all (nothing records it outside);
#  - an mmap with an unaligned hint (no MAP_FIXED) is recorded from the
#    hint's page range, one page too long (8192 bytes for a 4096-byte
#    mapping): the size must come from the length, at the address returned.
. "$(dirname "$0")/../include/report_test_lib.bash" ltrackmoves
cat >"$tmp/prog.c" <<'C'
#include "common.h"
int main(int argc, char **argv) {
    CHECK(argc == 2);
    if (strcmp(argv[1], "into") == 0) {
        char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(p != MAP_FAILED);
        CHECK(mremap(p, PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, W(0x10000)) == W(0x10000));
        CHECK(munmap(W(0x10000), PAGE) == 0);
        printf("LEAKS 0\n");
    } else if (strcmp(argv[1], "out") == 0) {
        CHECK(mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == W(0x10000));
        char *dst = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(dst != MAP_FAILED && munmap(dst, PAGE) == 0);
        CHECK(mremap(W(0x10000), PAGE, PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == dst);
        printf("LEAKS 1 %p 4096\n", (void *)dst);
    } else {
        char *p = mmap((char *)0x10001000 + 1, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(p != MAP_FAILED);
        printf("LEAKS 1 %p 4096\n", (void *)p);
    }
    return 0;
}
C
$CC -std=gnu11 -O1 -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile"; exit 1; }
for mode in into out hint; do
    env MAPWARDEN_TRACK=all MAPWARDEN_BACKTRACE_DEPTH=0 MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json \
        LD_PRELOAD="$LIB" "$tmp/prog" $mode >"$tmp/out" 2>"$tmp/err" || { echo "FAIL: $mode: status $?"; cat "$tmp/err"; failures=$((failures + 1)); continue; }
    python3 - "$tmp/r.json" "$(cat "$tmp/out")" "$mode" <<'PY' || failures=$((failures + 1))
import json, sys
r = json.load(open(sys.argv[1]))
want = sys.argv[2].split()
got = [(int(l["address"], 16), l["size"]) for l in r["leaks"]]
expected = [] if want[1] == "0" else [(int(want[2], 16), int(want[3]))]
if got != expected:
    print("FAIL: %s: leaks %s, expected %s" % (sys.argv[3], [(hex(a), s) for a, s in got], [(hex(a), s) for a, s in expected]))
    sys.exit(1)
print("ok: %s" % sys.argv[3])
PY
done
exit $((failures > 0))
