#!/usr/bin/env bash
# The suppressions file README.md shows ("…suppress a known leak?"), taken
# from README.md as written, comments after the patterns included: each of
# its three rules suppresses what its comment says (a function containing
# known_cache_init, a demangled C++ name starting with third_party::, any
# frame in libvendor.so), and a leak none of them matches is still reported.
. "$(dirname "$0")/../include/report_test_lib.bash" lsuppreadme
CXX=${CXX:-g++}

# The ``` block of README.md that starts with "# mapwarden.supp".
"$PY" - "$root/README.md" "$tmp/readme.supp" <<'PY' || { echo "FAIL: no example suppressions file in README.md"; exit 1; }
import sys
blocks = open(sys.argv[1]).read().split("```")
found = [b for b in blocks if b.startswith("\n# mapwarden.supp\n")]
if len(found) != 1: sys.exit(1)
open(sys.argv[2], "w").write(found[0].lstrip("\n"))
PY
grep -q ' # ' "$tmp/readme.supp" || { echo "FAIL: the README's example has no trailing comment any more: this test no longer tests that"; exit 1; }

cat >"$tmp/vendor.c" <<'C'
#include "common.h"
#include "leak_helpers.h"
NOINLINE void vendor_setup(void) { CHECK(mmap(W(0x30000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0) == W(0x30000)); }
C
# (It uses libstdc++, as C++ programs do: its demangler names the frame.)
cat >"$tmp/third.cpp" <<'CXX'
#include <sys/mman.h>
#include <cstdlib>
#include <string>
namespace third_party { __attribute__((noinline)) void fill_table() {
    std::string what = std::to_string(0x20000);
    void *p = mmap((void *)(0x400000000000 + std::stoul(what)), 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)0x400000020000) std::abort();
} }
extern "C" void third_party_fill(void) { third_party::fill_table(); }
CXX
cat >"$tmp/app.c" <<'C'
#include "common.h"
#include "leak_helpers.h"
void vendor_setup(void);
void third_party_fill(void);
NOINLINE void known_cache_init(void) { CHECK(mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0) == W(0x10000)); }
NOINLINE void really_leaks(void) { CHECK(mmap(W(0x40000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0) == W(0x40000)); }
int main(void) {
    known_cache_init();
    third_party_fill();
    vendor_setup();
    really_leaks();
    return 0;
}
C
flags="-g -O0 -fno-inline -fno-optimize-sibling-calls -Wall -I $include -I $root/CShim/include"
$CC -std=gnu11 $flags -fPIC -shared -o "$tmp/libvendor.so" "$tmp/vendor.c" &&
$CXX $flags -fPIC -c -o "$tmp/third.o" "$tmp/third.cpp" &&
$CC -std=gnu11 $flags -rdynamic -c -o "$tmp/app.o" "$tmp/app.c" &&
$CXX -rdynamic -o "$tmp/app" "$tmp/app.o" "$tmp/third.o" -L"$tmp" -lvendor -Wl,-rpath,"$tmp" || { echo "cannot compile"; exit 1; }

env MAPWARDEN_SUPPRESSIONS="$tmp/readme.supp" MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json \
    MAPWARDEN_LEAK_EXITCODE=23 LD_PRELOAD="$LIB" "$tmp/app" >"$tmp/out" 2>"$tmp/err"
status=$?
[ $status -eq 23 ] || fail "status $status, expected 23 (one leak left)"
"$PY" - "$tmp/r.json" <<'PY' || { fail "report"; show "$tmp/readme.supp" "$tmp/r.json"; }
import json, sys
r = json.load(open(sys.argv[1]))
W = 0x400000000000
errors = []
leaks = [int(l["address"], 16) - W for l in r.get("leaks", [])]
if leaks != [0x40000]: errors.append("leaks at %s, expected only really_leaks's 0x40000" % [hex(a) for a in leaks])
got = {s.get("pattern"): (s.get("mappings"), s.get("bytes")) for s in r.get("suppressed", [])}
want = {"leak:known_cache_init": (1, 4096), "leak:^third_party::": (1, 4096), "leak:libvendor.so": (1, 4096)}
if got != want: errors.append("suppressed %r, expected %r" % (got, want))
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY
ok "the README's example suppresses what it says"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
