import Testing
@testable import MapwardenLogic

private let P: UInt64 = 4096

/// A window of n pages starting at page p (of an arbitrary origin).
private func W(_ p: UInt64, _ n: UInt64) -> Window { Window(base: 0x1000_0000_0000 + p * P, size: n * P) }
/// The address of page p.
private func A(_ p: UInt64) -> UInt64 { 0x1000_0000_0000 + p * P }

private func ranges(_ ws: [Window]) -> WindowRanges {
    var r = WindowRanges()
    for w in ws { do { let ok = r.insert(w); #expect(ok) } }
    return r
}

private func all(_ r: WindowRanges) -> [Window] { (0..<r.count).map { r[$0] } }

private struct Piece: Equatable, CustomStringConvertible {
    var lo: UInt64, hi: UInt64, index: Int?
    init(_ lo: UInt64, _ hi: UInt64, _ index: Int?) { self.lo = lo; self.hi = hi; self.index = index }
    var description: String { "[\(lo), \(hi)) -> \(index.map(String.init) ?? "none")" }
}

private func pieces(_ r: WindowRanges, _ lo: UInt64, _ hi: UInt64) -> [Piece] {
    var out: [Piece] = []
    let finished = r.forEachPiece(lo, hi) { out.append(Piece($0, $1, $2)); return true }
    #expect(finished)
    return out
}

/// The properties every split has: pieces in order, contiguous, covering
/// [lo, hi) exactly; a piece with an index overlaps that window and no
/// other; a piece without one overlaps none.
private func checkSplit(_ r: WindowRanges, _ lo: UInt64, _ hi: UInt64,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    let ps = pieces(r, lo, hi)
    guard let first = ps.first, let last = ps.last else {
        Issue.record("no pieces for [\(lo), \(hi))", sourceLocation: sourceLocation)
        return
    }
    #expect(first.lo == lo, sourceLocation: sourceLocation)
    #expect(last.hi == hi, sourceLocation: sourceLocation)
    for (a, b) in zip(ps, ps.dropFirst()) {
        #expect(a.hi == b.lo, "\(ps)", sourceLocation: sourceLocation)
    }
    for p in ps {
        #expect(p.lo < p.hi, "empty piece in \(ps)", sourceLocation: sourceLocation)
        let touched = (0..<r.count).filter { r[$0].overlaps(p.lo, p.hi) }
        if let i = p.index {
            #expect(touched == [i], "\(p) in \(ps)", sourceLocation: sourceLocation)
        } else {
            #expect(touched == [], "\(p) in \(ps)", sourceLocation: sourceLocation)
        }
    }
    // Every window the range touches gets exactly one piece.
    let indexed = ps.compactMap(\.index)
    #expect(indexed == (0..<r.count).filter { r[$0].overlaps(lo, hi) }, "\(ps)", sourceLocation: sourceLocation)
    #expect(indexed.count == r.countTouching(lo, hi), sourceLocation: sourceLocation)
    #expect(Array(r.touching(lo, hi)) == (0..<r.count).filter { r[$0].overlaps(lo, hi) }, sourceLocation: sourceLocation)
}

@Suite struct WindowRangesTests {
    @Test func insertKeepsAddressOrder() {
        let r = ranges([W(100, 10), W(0, 10), W(50, 5), W(200, 1), W(20, 1)])
        #expect(all(r) == [W(0, 10), W(20, 1), W(50, 5), W(100, 10), W(200, 1)])
    }

    @Test func insertIsLimitedToEight() {
        var r = WindowRanges()
        for i in (0..<8).reversed() { do { let ok = r.insert(W(UInt64(i) * 10, 1)); #expect(ok) } }
        #expect(r.count == 8)
        do { let ok = r.insert(W(500, 1)); #expect(!ok) }
        #expect(r.count == 8)
        #expect(all(r) == (0..<8).map { W(UInt64($0) * 10, 1) })
    }

    @Test func fromATableSortsByBase() {
        let keep = KeptBytes()
        var t = WindowTable()
        for (n, w) in [("default", W(100, 10)), ("ipc", W(0, 5)), ("heap", W(300, 3)), ("log", W(50, 1))] {
            _ = t.set(WindowSpec(name: windowName(n)!, window: w, key: keep("K"), value: keep("V"), origin: .environment))
        }
        #expect(all(WindowRanges(t)) == [W(0, 5), W(50, 1), W(100, 10), W(300, 3)])
        #expect(WindowRanges(WindowTable()).count == 0)
    }

    @Test func hull() {
        #expect(WindowRanges().hull == Window(base: 0, size: 0))
        #expect(ranges([W(5, 3)]).hull == W(5, 3))
        #expect(ranges([W(50, 5), W(5, 3), W(20, 1)]).hull == W(5, 50))
    }

    @Test func indexContaining() {
        let r = ranges([W(10, 10), W(20, 5), W(40, 1)]) // the first two adjacent
        #expect(r.index(containing: A(10)) == 0)
        #expect(r.index(containing: A(20) - 1) == 0)
        #expect(r.index(containing: A(20)) == 1)   // an end belongs to the next window, not this one
        #expect(r.index(containing: A(25) - 1) == 1)
        #expect(r.index(containing: A(25)) == nil)
        #expect(r.index(containing: A(10) - 1) == nil)
        #expect(r.index(containing: A(40)) == 2)
        #expect(r.index(containing: A(41)) == nil)
        #expect(r.index(containing: 0) == nil)
        #expect(r.index(containing: UInt64.max) == nil)
        #expect(WindowRanges().index(containing: A(10)) == nil)
    }

    @Test func firstAndCountTouching() {
        let r = ranges([W(10, 10), W(30, 10), W(40, 10)]) // the last two adjacent
        #expect(r.firstTouching(A(0), A(10)) == nil)        // ends at a base
        #expect(r.countTouching(A(0), A(10)) == 0)
        #expect(r.firstTouching(A(0), A(11)) == 0)
        #expect(r.countTouching(A(0), A(11)) == 1)
        #expect(r.firstTouching(A(20), A(30)) == nil)       // the gap exactly
        #expect(r.countTouching(A(20), A(30)) == 0)
        #expect(r.firstTouching(A(15), A(35)) == 0)
        #expect(r.countTouching(A(15), A(35)) == 2)
        #expect(r.firstTouching(A(39), A(41)) == 1)         // across the adjacent boundary
        #expect(r.countTouching(A(39), A(41)) == 2)
        #expect(r.firstTouching(A(40), A(41)) == 2)
        #expect(r.countTouching(A(40), A(41)) == 1)
        #expect(r.countTouching(0, UInt64.max) == 3)
        #expect(r.firstTouching(A(50), A(60)) == nil)       // starts at the last end
        #expect(WindowRanges().countTouching(0, UInt64.max) == 0)
    }

    @Test func rangeWhollyOutsideIsOnePiece() {
        let r = ranges([W(10, 10), W(30, 10)])
        #expect(pieces(r, A(0), A(5)) == [Piece(A(0), A(5), nil)])
        #expect(pieces(r, A(0), A(10)) == [Piece(A(0), A(10), nil)])
        #expect(pieces(r, A(20), A(30)) == [Piece(A(20), A(30), nil)])
        #expect(pieces(r, A(40), A(100)) == [Piece(A(40), A(100), nil)])
        #expect(pieces(WindowRanges(), A(1), A(2)) == [Piece(A(1), A(2), nil)])
    }

    @Test func rangeInsideOneWindow() {
        let r = ranges([W(10, 10), W(30, 10)])
        #expect(pieces(r, A(12), A(14)) == [Piece(A(12), A(14), 0)])
        #expect(pieces(r, A(10), A(20)) == [Piece(A(10), A(20), 0)])
        #expect(pieces(r, A(30), A(40)) == [Piece(A(30), A(40), 1)])
    }

    @Test func rangeAcrossWindowsAndGaps() {
        let r = ranges([W(10, 10), W(30, 10)])
        // Starts before the first window, ends after the last: each gap goes
        // with the window after it, the tail is a piece of its own.
        #expect(pieces(r, A(0), A(50)) == [Piece(A(0), A(20), 0), Piece(A(20), A(40), 1), Piece(A(40), A(50), nil)])
        #expect(pieces(r, A(15), A(35)) == [Piece(A(15), A(20), 0), Piece(A(20), A(35), 1)])
        #expect(pieces(r, A(15), A(25)) == [Piece(A(15), A(20), 0), Piece(A(20), A(25), nil)])
        #expect(pieces(r, A(25), A(35)) == [Piece(A(25), A(35), 1)])
    }

    @Test func adjacentWindowsSplitAtTheirBoundary() {
        let r = ranges([W(10, 10), W(20, 10)])
        #expect(pieces(r, A(10), A(30)) == [Piece(A(10), A(20), 0), Piece(A(20), A(30), 1)])
        #expect(pieces(r, A(19), A(21)) == [Piece(A(19), A(20), 0), Piece(A(20), A(21), 1)])
        #expect(pieces(r, A(5), A(35)) == [Piece(A(5), A(20), 0), Piece(A(20), A(30), 1), Piece(A(30), A(35), nil)])
    }

    @Test func splitPropertiesOverManyRanges() {
        let r = ranges([W(10, 10), W(20, 10), W(40, 5), W(46, 1), W(60, 20)])
        let points: [UInt64] = [0, 5, 10, 11, 19, 20, 21, 30, 35, 40, 44, 45, 46, 47, 50, 60, 79, 80, 90]
        for lo in points {
            for hi in points where hi > lo {
                checkSplit(r, A(lo), A(hi))
            }
        }
        // Byte granularity (not page-aligned) too.
        checkSplit(r, A(20) - 1, A(20) + 1)
        checkSplit(r, A(45) + 7, A(46) + 3)
    }

    @Test func stopsEarly() {
        let r = ranges([W(10, 10), W(30, 10), W(50, 10)])
        var seen: [Piece] = []
        let finished = r.forEachPiece(A(0), A(100)) { seen.append(Piece($0, $1, $2)); return seen.count < 2 }
        #expect(!finished)
        #expect(seen == [Piece(A(0), A(20), 0), Piece(A(20), A(40), 1)])
        // Stopping at the tail piece also says so.
        seen = []
        let tail = r.forEachPiece(A(55), A(70)) { seen.append(Piece($0, $1, $2)); return $2 != nil }
        #expect(!tail)
        #expect(seen == [Piece(A(55), A(60), 2), Piece(A(60), A(70), nil)])
        // Stopping at the first piece.
        var calls = 0
        #expect(!r.forEachPiece(A(0), A(100)) { _, _, _ in calls += 1; return false })
        #expect(calls == 1)
    }

    @Test func emptyRangeOutsideEveryWindowIsOneEmptyPiece() {
        let r = ranges([W(10, 10)])
        #expect(pieces(r, A(5), A(5)) == [Piece(A(5), A(5), nil)])
        #expect(pieces(r, A(10), A(10)) == [Piece(A(10), A(10), nil)]) // at a base: touches nothing
        #expect(pieces(r, A(20), A(20)) == [Piece(A(20), A(20), nil)]) // at an end
        #expect(pieces(WindowRanges(), 0, 0) == [Piece(0, 0, nil)])
    }
}
