#!/usr/bin/env bash
# A Swift program (full Swift runtime, dynamically linked) runs under the
# preload and prints exactly what it prints without it, with the same exit
# status; and the library exports only the interposed calls (and pipe2, see interpose.c; sigaction,
# signal and bsd_signal for SIGSEGV and SIGBUS, see faults.c; pthread_create,
# see unwinder_loading.c) and the
# mapwarden_* API (the engine's swift_* symbols must not leak out and
# capture the program's runtime calls).
set -u
SWIFTC=${SWIFTC:-/opt/swift/usr/bin/swiftc}
[ -x "$SWIFTC" ] || SWIFTC=$(command -v swiftc || true)
[ -n "$SWIFTC" ] && [ -x "$SWIFTC" ] || { echo "swift_program_unchanged_and_only_api_exported: swiftc not found (looked in /opt/swift/usr/bin and PATH)"; exit 1; }
command -v nm >/dev/null || { echo "swift_program_unchanged_and_only_api_exported: nm (binutils) not found"; exit 1; }
out="$BUILD/swift_program_unchanged_and_only_api_exported"
mkdir -p "$out"
status=0

# 1. The export list.
expected="madvise mapwarden_query mincore mlock mlock2 mmap mmap64 mprotect mremap msync munlock munmap pkey_mprotect"
exported=$(nm -D --defined-only "$LIB" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
unexpected=$(echo "$exported" | grep -v -x -E 'syscall|_exit|_Exit|mlockall|munlockall|madvise|mincore|mlock|mlock2|mmap|mmap64|mprotect|mremap|msync|munlock|munmap|pkey_mprotect|pipe2|sigaction|signal|bsd_signal|pthread_create|mapwarden_[A-Za-z0-9_]+' || true)
if [ -n "$unexpected" ]; then
    echo "swift_program_unchanged_and_only_api_exported: the library exports more than the interposed calls and mapwarden_*:"; echo "$unexpected" | sed 's/^/    /'
    status=1
fi
for sym in $expected; do
    echo "$exported" | grep -q -x "$sym" || { echo "swift_program_unchanged_and_only_api_exported: the library does not export $sym"; status=1; }
done
if nm -D "$LIB" | grep -q swift_; then
    echo "swift_program_unchanged_and_only_api_exported: swift_* symbols in the dynamic symbol table:"; nm -D "$LIB" | grep swift_ | head | sed 's/^/    /'
    status=1
fi

# 2. A Swift program: arrays, strings, dictionaries, classes, a closure-heavy
# sort, an error thrown and caught, and an mmap through Glibc into the window.
cat >"$out/prog.swift" <<'SWIFT'
import Glibc

final class Node { var value: Int; var next: Node?; init(_ v: Int, _ n: Node?) { value = v; next = n } }
enum Oops: Error { case bad(Int) }
func risky(_ i: Int) throws -> Int { if i % 97 == 0 { throw Oops.bad(i) }; return i }

var numbers: [Int] = []
for i in 0..<200_000 { numbers.append((i &* 7919) % 100_003) }
numbers.sort { $0 > $1 }
var text = ""
for i in 0..<5_000 { text += "\(i)," }
var counts: [String: Int] = [:]
for word in text.split(separator: ",") { counts[String(word.prefix(1)), default: 0] += 1 }
var list: Node? = nil
for i in 0..<10_000 { list = Node(i, list) }
var total = 0
while let n = list { total &+= n.value; list = n.next }
var caught = 0
for i in 0..<1_000 { do { _ = try risky(i) } catch { caught += 1 } }
let big = [UInt8](repeating: 7, count: 8 << 20)
let strings = (0..<20_000).map { "item-\($0)" }.joined(separator: "|")
print("head:", numbers.prefix(5), "tail:", numbers.suffix(3))
print("text:", text.count, "keys:", counts.keys.sorted(), "ones:", counts["1"] ?? -1)
print("list total:", total, "caught:", caught, "big:", big.reduce(0) { $0 &+ Int($1) }, "strings:", strings.utf8.count)

let want = UnsafeMutableRawPointer(bitPattern: 0x4000_1000_0000)
let p = mmap(want, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
if p == want, let p = p {
    p.storeBytes(of: 0x5eed, as: Int.self)
    print("window mmap ok:", p.load(as: Int.self), munmap(p, 3 * 4096))
} else {
    print("window mmap failed, errno", errno)
}
exit(3)
SWIFT
if ! "$SWIFTC" -O "$out/prog.swift" -o "$out/prog" >"$out/build.log" 2>&1; then
    echo "swift_program_unchanged_and_only_api_exported: swiftc failed:"; sed 's/^/    /' "$out/build.log"; exit 1
fi
# Make sure the program really uses the dynamic Swift runtime.
ldd "$out/prog" | grep -q libswiftCore || { echo "swift_program_unchanged_and_only_api_exported: the program does not link libswiftCore dynamically"; status=1; }

timeout 10 "$out/prog" >"$out/plain.out" 2>"$out/plain.err"; plain=$?
timeout 10 env LD_PRELOAD="$LIB" "$out/prog" >"$out/pre.out" 2>"$out/pre.err"; pre=$?
if [ $plain -ne 3 ]; then echo "swift_program_unchanged_and_only_api_exported: without the preload the program exited $plain (expected 3)"; cat "$out/plain.err"; status=1; fi
if [ $pre -ne $plain ]; then echo "swift_program_unchanged_and_only_api_exported: exit status $pre under the preload, $plain without"; status=1; fi
if ! cmp -s "$out/plain.out" "$out/pre.out"; then
    echo "swift_program_unchanged_and_only_api_exported: output differs (without vs with the preload):"; diff "$out/plain.out" "$out/pre.out" | head -20; status=1
fi
if [ -s "$out/pre.err" ]; then echo "swift_program_unchanged_and_only_api_exported: stderr under the preload:"; head -20 "$out/pre.err"; status=1; fi
grep -q "window mmap ok: 24301 0" "$out/pre.out" || { echo "swift_program_unchanged_and_only_api_exported: the window mmap line is missing"; cat "$out/pre.out"; status=1; }
[ $status -eq 0 ] && { echo "swift_program_unchanged_and_only_api_exported: ok"; cat "$out/pre.out"; }
exit $status
