#!/usr/bin/env bash
# A leak made from a Swift method is reported with its demangled name
# (swift_demangle from the program's Swift runtime). Skipped without swiftc.
set -u
out="$BUILD/swift_names_demangled"
mkdir -p "$out"
fail() { echo "swift_names_demangled: $*"; exit 1; }
PATH=/opt/swift/usr/bin:$PATH
command -v swiftc >/dev/null || { echo "skipped: no swiftc"; exit 0; }
cat >"$out/leak.swift" <<'SWIFT'
#if canImport(Glibc)
import Glibc
#endif
public struct Leaker {
    public init() {}
    @inline(never) public func leak(pages: Int) -> UnsafeMutableRawPointer? {
        mmap(UnsafeMutableRawPointer(bitPattern: 0x4000_0001_0000), pages * 4096, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
    }
}
print(Leaker().leak(pages: 2)!)
SWIFT
swiftc -Onone -g "$out/leak.swift" -o "$out/leak" -Xlinker --export-dynamic 2>"$out/cc.log" || fail "swiftc: $(cat "$out/cc.log")"
report=$(MAPWARDEN_REPORT=stderr LD_PRELOAD="$LIB" "$out/leak" 2>&1 >/dev/null) || fail "the program failed: $report"
grep -qF "8192 bytes in 1 mapping allocated from:" <<<"$report" || fail "no leak group: $report"
grep -qE '#0 0x[0-9a-f]+ in leak\.Leaker\.leak\(pages: Swift\.Int\)' <<<"$report" || fail "frame #0 is not the demangled Swift method: $report"
json=$(MAPWARDEN_REPORT=stderr MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" "$out/leak" 2>&1 >/dev/null)
python3 -c '
import json, sys
d = json.loads(sys.argv[1])
f = d["leaks"][0]["stack"][0]
assert f["symbol"].startswith("leak.Leaker.leak(pages: Swift.Int)"), f
assert f["mangled"].startswith("$s"), f
' "$json" || fail "JSON frame: $json"
echo "swift_names_demangled: ok"
