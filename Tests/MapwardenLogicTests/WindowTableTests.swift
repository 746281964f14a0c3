import Testing
@testable import MapwardenLogic

/// Bytes that stay valid as long as the keeper lives: for values the logic
/// keeps pointers into (window specs, Settings' keys and values).
final class KeptBytes {
    private var buffers: [UnsafeMutableBufferPointer<UInt8>] = []

    func callAsFunction(_ s: String) -> Bytes {
        let a = Array(s.utf8)
        let p = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(a.count, 1))
        _ = p.initialize(from: a)
        buffers.append(p)
        return Bytes(UnsafePointer(p.baseAddress!), count: a.count)
    }

    deinit { for b in buffers { b.deallocate() } }
}

/// A WindowName from text, or nil.
func windowName(_ s: String) -> WindowName? {
    withBytes(s) { WindowName(validating: $0) }
}

/// A WindowName's bytes as a String.
func text(of name: WindowName) -> String {
    render { $0.append(name: name) }
}

private let G: UInt64 = 1 << 30

@Suite struct WindowNameTests {
    @Test func lowercasesLettersAndKeepsDigitsAndUnderscores() {
        #expect(windowName("IPC").map(text(of:)) == "ipc")
        #expect(windowName("ipc").map(text(of:)) == "ipc")
        #expect(windowName("My_Heap_2").map(text(of:)) == "my_heap_2")
        #expect(windowName("_").map(text(of:)) == "_")
        #expect(windowName("0").map(text(of:)) == "0")
        #expect(windowName("AZaz09_").map(text(of:)) == "azaz09_")
        #expect(windowName("IPC")?.count == 3)
    }

    @Test func differentCaseIsTheSameName() {
        #expect(windowName("IPC") == windowName("ipc"))
        #expect(windowName("Ipc") == windowName("iPC"))
        #expect(windowName("ipc") != windowName("ipc2"))
        #expect(windowName("ipc") != windowName("ip"))
        #expect(windowName("a") != windowName("b"))
    }

    @Test func defaultWindowName() {
        #expect(text(of: .defaultWindow) == "default")
        #expect(windowName("DEFAULT") == .defaultWindow)
    }

    @Test func lengthLimit() {
        #expect(WindowName.maximumLength == 31)
        let longest = String(repeating: "A", count: 31)
        #expect(windowName(longest).map(text(of:)) == String(repeating: "a", count: 31))
        #expect(windowName(String(repeating: "A", count: 32)) == nil)
        #expect(windowName("") == nil)
        // The last byte of the inline storage is used, and compared.
        let a = windowName(String(repeating: "x", count: 30) + "a")
        let b = windowName(String(repeating: "x", count: 30) + "b")
        #expect(a != nil && b != nil && a != b)
    }

    @Test(arguments: ["A-B", "a b", "a.b", "é", "ipc\u{0}", "a=b", "a/b", "-", " ipc", "ipc "])
    func badCharacters(name: String) {
        #expect(windowName(name) == nil, "\(name)")
    }

    @Test func matchesCStringInAnyCase() {
        let ipc = windowName("IPC")!
        func m(_ s: String) -> Bool {
            Array(s.utf8 + [0]).withUnsafeBufferPointer { ipc.matches(cString: $0.baseAddress!) }
        }
        #expect(m("ipc"))
        #expect(m("IPC"))
        #expect(m("iPc"))
        #expect(!m("ipc2"))  // longer
        #expect(!m("ip"))    // shorter
        #expect(!m(""))
        #expect(!m("ipd"))
        #expect(!m("ipc_"))
        let withDigits = windowName("Heap_9")!
        let ok = Array("HEAP_9".utf8 + [0]).withUnsafeBufferPointer { withDigits.matches(cString: $0.baseAddress!) }
        #expect(ok)
        // A caller's '@' (0x40) and '[' (0x5B) sit next to 'A' and 'Z': not letters.
        let at = Array("@pc".utf8 + [0]).withUnsafeBufferPointer { ipc.matches(cString: $0.baseAddress!) }
        #expect(!at)
    }

    @Test func copyWritesNameAndNul() {
        let name = windowName("Shared_Heap")!
        var out = [UInt8](repeating: 0xEE, count: 32)
        out.withUnsafeMutableBufferPointer { name.copy(to: $0.baseAddress!) }
        #expect(Array(out[0..<11]) == Array("shared_heap".utf8))
        #expect(out[11] == 0)
        #expect(out[12] == 0xEE) // nothing written beyond the NUL
        let longest = windowName(String(repeating: "Q", count: 31))!
        var full = [UInt8](repeating: 0xEE, count: 32)
        full.withUnsafeMutableBufferPointer { longest.copy(to: $0.baseAddress!) }
        #expect(Array(full[0..<31]) == [UInt8](repeating: 0x71, count: 31))
        #expect(full[31] == 0)
    }
}

/// A spec for a window called name at [base, base + size).
private func spec(_ name: String, _ base: UInt64, _ size: UInt64, backing: Backing = .private,
                  origin: ConfigError.Origin = .environment) -> WindowSpec {
    WindowSpec(name: windowName(name)!, window: Window(base: base, size: size), backing: backing,
               key: Bytes("MAPWARDEN_WINDOW_X"), value: Bytes("v"), origin: origin)
}

private func names(_ t: WindowTable) -> [String] {
    (0..<t.count).map { text(of: t[$0].name) }
}

@Suite struct WindowTableTests {
    @Test func startsEmpty() {
        let t = WindowTable()
        #expect(t.count == 0)
        #expect(t.index(of: .defaultWindow) == nil)
        #expect(t.firstOverlap() == nil)
        #expect(WindowTable.capacity == 8)
    }

    @Test func setAddsInOrderAndReplacesByName() {
        var t = WindowTable()
        do { let ok = t.set(spec("default", 0x4000_0000_0000, G)); #expect(ok) }
        do { let ok = t.set(spec("ipc", 0x5000_0000_0000, G)); #expect(ok) }
        do { let ok = t.set(spec("heap", 0x6000_0000_0000, G)); #expect(ok) }
        #expect(names(t) == ["default", "ipc", "heap"])
        #expect(t.index(of: windowName("heap")!) == 2)
        #expect(t.index(of: windowName("HEAP")!) == 2)
        #expect(t.index(of: windowName("nope")!) == nil)

        // Same name (any case): replaced in place, count unchanged.
        do { let ok = t.set(spec("IPC", 0x5100_0000_0000, 2 * G, backing: .shared)); #expect(ok) }
        #expect(t.count == 3)
        #expect(names(t) == ["default", "ipc", "heap"])
        #expect(t[1].window == Window(base: 0x5100_0000_0000, size: 2 * G))
        #expect(t[1].backing == .shared)
        #expect(t[2].window == Window(base: 0x6000_0000_0000, size: G))
    }

    @Test func holdsSixteenWhileReadingALimitOfEight() {
        #expect(WindowTable.capacity == 8)
        var t = WindowTable()
        for i in 0..<16 {
            do { let ok = t.set(spec("w\(i)", 0x1000_0000_0000 + UInt64(i) * G, G)); #expect(ok) }
        }
        #expect(t.count == 16)
        let before = t
        do { let ok = t.set(spec("w16", 0x2000_0000_0000, G)); #expect(!ok) }
        #expect(t == before)
        // Replacing an existing one still works when full.
        do { let ok = t.set(spec("w3", 0x3000_0000_0000, G)); #expect(ok) }
        #expect(t.count == 16)
        #expect(t[3].window.base == 0x3000_0000_0000)
        // After a removal there is room again; the new one goes last.
        t.remove(windowName("w0")!)
        #expect(t.count == 15)
        do { let ok = t.set(spec("w16", 0x2000_0000_0000, G)); #expect(ok) }
        #expect(names(t).first == "w1" && names(t).last == "w16")
    }

    @Test func removeShiftsTheLaterOnesUp() {
        var t = WindowTable()
        for (i, n) in ["a", "b", "c", "d"].enumerated() {
            _ = t.set(spec(n, 0x1000_0000_0000 + UInt64(i) * G, G))
        }
        t.remove(windowName("B")!)
        #expect(names(t) == ["a", "c", "d"])
        #expect(t[1].window.base == 0x1000_0000_0000 + 2 * G)
        t.remove(windowName("zzz")!) // absent: nothing happens
        #expect(names(t) == ["a", "c", "d"])
        t.remove(windowName("d")!)   // the last one
        #expect(names(t) == ["a", "c"])
        t.remove(windowName("a")!)   // the first one
        #expect(names(t) == ["c"])
        t.remove(windowName("c")!)
        #expect(t.count == 0)
        // Reusable after emptying.
        do { let ok = t.set(spec("e", 0x1000_0000_0000, G)); #expect(ok) }
        #expect(names(t) == ["e"])
    }

    @Test func equalityComparesTheWindowsInOrder() {
        var a = WindowTable(), b = WindowTable()
        _ = a.set(spec("x", 0x1000_0000_0000, G))
        _ = b.set(spec("x", 0x1000_0000_0000, G))
        #expect(a == b)
        _ = a.set(spec("y", 0x2000_0000_0000, G))
        #expect(a != b)
        _ = b.set(spec("y", 0x2000_0000_0000, 2 * G))
        #expect(a != b)
        _ = b.set(spec("y", 0x2000_0000_0000, G))
        #expect(a == b)
        // A removed slot does not linger in comparisons.
        _ = a.set(spec("z", 0x3000_0000_0000, G))
        a.remove(windowName("z")!)
        #expect(a == b)
    }

    @Test func disjointAndAdjacentWindowsDoNotOverlap() {
        var t = WindowTable()
        _ = t.set(spec("a", 0x1000_0000_0000, G))
        _ = t.set(spec("b", 0x1000_0000_0000 + G, G))       // adjacent above a
        _ = t.set(spec("c", 0x1000_0000_0000 - G, G))       // adjacent below a
        _ = t.set(spec("d", 0x5000_0000_0000, 4096))
        #expect(t.firstOverlap() == nil)
    }

    @Test func firstOverlapNamesTheLaterOneFirst() {
        var t = WindowTable()
        _ = t.set(spec("default", 0x4000_0000_0000, 1 << 40))
        _ = t.set(spec("far", 0x6000_0000_0000, G))
        _ = t.set(spec("ipc", 0x4000_0000_0000 + (1 << 40) - 4096, 8192)) // shares the default's last page
        let o = t.firstOverlap()
        #expect(o.map { text(of: $0.later.name) } == "ipc")
        #expect(o.map { text(of: $0.earlier.name) } == "default")
    }

    @Test func firstOverlapIsTheFirstPairByLaterIndex() {
        var t = WindowTable()
        _ = t.set(spec("a", 0x1000_0000_0000, G))
        _ = t.set(spec("b", 0x2000_0000_0000, G))
        _ = t.set(spec("c", 0x2000_0000_0000 + G / 2, G)) // overlaps b
        _ = t.set(spec("d", 0x1000_0000_0000, G))         // overlaps a (and is later)
        let o = t.firstOverlap()
        #expect(o.map { text(of: $0.later.name) } == "c")
        #expect(o.map { text(of: $0.earlier.name) } == "b")

        // A window inside another, and one that encloses another.
        var u = WindowTable()
        _ = u.set(spec("big", 0x1000_0000_0000, 4 * G))
        _ = u.set(spec("inner", 0x1000_0000_0000 + G, G))
        #expect(u.firstOverlap().map { text(of: $0.later.name) + "/" + text(of: $0.earlier.name) } == "inner/big")
        var v = WindowTable()
        _ = v.set(spec("inner", 0x1000_0000_0000 + G, G))
        _ = v.set(spec("big", 0x1000_0000_0000, 4 * G))
        #expect(v.firstOverlap().map { text(of: $0.later.name) + "/" + text(of: $0.earlier.name) } == "big/inner")
        // With several earlier candidates, the lowest-indexed earlier one.
        var w = WindowTable()
        _ = w.set(spec("p", 0x1000_0000_0000, G))
        _ = w.set(spec("q", 0x1000_0000_0000 + G, G))
        _ = w.set(spec("r", 0x1000_0000_0000, 2 * G))
        #expect(w.firstOverlap().map { text(of: $0.later.name) + "/" + text(of: $0.earlier.name) } == "r/p")
    }
}
