import Testing
@testable import MapwardenLogic

private var P: UInt64 { PlanWorld.P }
private let MiB: UInt64 = 1 << 20
private let base: UInt64 = 0x4000_0000_0000
/// A 64 MiB window.
private let win = Window(base: base, size: 64 * MiB)
/// Page n of the window.
private func pg(_ n: UInt64) -> UInt64 { base + n * P }

/// A registry holding anonymous mappings over [a, b) (absolute addresses).
private func registry(_ ranges: [(UInt64, UInt64)]) -> Registry {
    let reg = Registry(capacity: 64)
    for (a, b) in ranges {
        reg.insert(Mapping(start: a, end: b, prot: 3, kind: MappingKind.anonymous))
    }
    return reg
}

private func usage(_ mappings: Int, _ mapped: UInt64, _ largestFree: UInt64) -> WindowUsage {
    var u = WindowUsage()
    u.mappings = mappings
    u.mappedBytes = mapped
    u.largestFree = largestFree
    return u
}

@Suite(.everyPageSize) struct FirstFitTests {
    @Test func emptyWindowGivesItsBase() {
        let r = registry([]).r
        #expect(r.firstFit(in: win, size: P, align: P) == base)
        #expect(r.firstFit(in: win, size: 64 * MiB, align: P) == base)       // the whole window
        #expect(r.firstFit(in: win, size: 64 * MiB + P, align: P) == nil)    // one page more
        #expect(r.firstFit(in: win, size: 1, align: 1) == base)
    }

    @Test func placesAfterTheMappings() {
        let reg = registry([(pg(0), pg(4)), (pg(4), pg(6)), (pg(10), pg(12))])
        #expect(reg.r.firstFit(in: win, size: P, align: P) == pg(6))
        #expect(reg.r.firstFit(in: win, size: 4 * P, align: P) == pg(6))     // exactly the gap
        #expect(reg.r.firstFit(in: win, size: 5 * P, align: P) == pg(12))    // the gap is too small
    }

    @Test func lowestAddressWins() {
        let reg = registry([(pg(2), pg(3)), (pg(5), pg(100))])
        #expect(reg.r.firstFit(in: win, size: 2 * P, align: P) == pg(0))
        #expect(reg.r.firstFit(in: win, size: 3 * P, align: P) == pg(100))
        let reg2 = registry([(pg(0), pg(1)), (pg(3), pg(4))])
        #expect(reg2.r.firstFit(in: win, size: 2 * P, align: P) == pg(1))
    }

    @Test func alignmentTwoMiB() {
        let two = 2 * MiB
        let reg = registry([(pg(0), pg(1))])
        #expect(reg.r.firstFit(in: win, size: P, align: two) == base + two)
        #expect(reg.r.firstFit(in: win, size: P, align: P) == pg(1))
        // A mapping that reaches just past the next 2 MiB boundary pushes it one more.
        let reg2 = registry([(pg(0), base + two + P)])
        #expect(reg2.r.firstFit(in: win, size: two, align: two) == base + 2 * two)
        // A window whose base is not 2 MiB-aligned: the first aligned address inside it.
        let odd = Window(base: base + P, size: 8 * MiB)
        #expect(registry([]).r.firstFit(in: odd, size: P, align: two) == base + two)
        // The result is always aligned and inside the window.
        let reg3 = registry([(pg(3), pg(700)), (pg(1000), pg(1100))])
        for align: UInt64 in [P, 2 * P, 64 * 1024, two, 4 * MiB] {
            if let a = reg3.r.firstFit(in: win, size: 3 * P, align: align) {
                #expect(a % align == 0)
                #expect(a >= win.base && a + 3 * P <= win.end)
                #expect(reg3.overlapping(a, a + 3 * P).isEmpty, "align \(align)")
            } else {
                Issue.record("no fit for align \(align)")
            }
        }
    }

    @Test func exactFitAtTheEnd() {
        let reg = registry([(base, win.end - 3 * P)])
        #expect(reg.r.firstFit(in: win, size: 3 * P, align: P) == win.end - 3 * P)
        #expect(reg.r.firstFit(in: win, size: 4 * P, align: P) == nil)
        // The end is free but the alignment does not fit it.
        #expect(reg.r.firstFit(in: win, size: 2 * P, align: 2 * MiB) == nil)
    }

    @Test func noFitGivesNil() {
        let full = registry([(base, win.end)])
        #expect(full.r.firstFit(in: win, size: P, align: P) == nil)
        let holes = registry([(pg(0), pg(10)), (pg(11), pg(20)), (pg(22), win.end)])
        #expect(holes.r.firstFit(in: win, size: 3 * P, align: P) == nil)
        #expect(holes.r.firstFit(in: win, size: 2 * P, align: P) == pg(20))
        #expect(holes.r.firstFit(in: win, size: P, align: P) == pg(10))
    }

    @Test func badArgumentsGiveNil() {
        let r = registry([]).r
        for align: UInt64 in [0, 3, 3 * P, 6 * MiB, P + 1] {
            #expect(r.firstFit(in: win, size: P, align: align) == nil, "align \(align)")
        }
        #expect(r.firstFit(in: win, size: 0, align: P) == nil)
        #expect(r.firstFit(in: win, size: UInt64.max, align: P) == nil)
        // Alignment bigger than anything in the window.
        #expect(r.firstFit(in: Window(base: base + P, size: MiB), size: P, align: 1 << 62) == nil)
    }

    @Test func nearTheTopOfTheAddressSpaceDoesNotWrap() {
        let top = Window(base: UInt64.max - 0xFFFF - 4 * P + 1, size: 4 * P)
        #expect(registry([]).r.firstFit(in: top, size: 8 * P, align: P) == nil)
        #expect(registry([]).r.firstFit(in: top, size: P, align: 1 << 63) == nil)
    }

    @Test func mappingsStraddlingTheEdges() {
        // Starts below the window and reaches into it.
        let low = registry([(base - 8 * P, pg(2))])
        #expect(low.r.firstFit(in: win, size: P, align: P) == pg(2))
        // Reaches past the window's end: the tail cannot be used.
        let high = registry([(win.end - 2 * P, win.end + 8 * P)])
        #expect(high.r.firstFit(in: win, size: 64 * MiB - 2 * P, align: P) == base)
        #expect(high.r.firstFit(in: win, size: 64 * MiB - P, align: P) == nil)
        // Mappings entirely outside the window do not matter.
        let outside = registry([(base - 16 * P, base), (win.end, win.end + P)])
        #expect(outside.r.firstFit(in: win, size: 64 * MiB, align: P) == base)
    }
}

@Suite(.everyPageSize) struct WindowUsageTests {
    @Test func emptyWindow() {
        #expect(registry([]).r.usage(of: win) == usage(0, 0, 64 * MiB))
    }

    @Test func countsMappingsBytesAndTheLargestGap() {
        let reg = registry([(pg(0), pg(4)), (pg(10), pg(12)), (pg(100), pg(101))])
        // Gaps: [4,10) 6 pages, [12,100) 88 pages, [101, end).
        let tail = 64 * MiB - 101 * P
        #expect(reg.r.usage(of: win) == usage(3, 7 * P, tail))
        let full = registry([(pg(0), pg(4)), (pg(10), pg(12)), (pg(100), win.end)])
        #expect(full.r.usage(of: win) == usage(3, 64 * MiB - 94 * P, 88 * P))
    }

    @Test func gapAtTheStartCounts() {
        let reg = registry([(pg(50), win.end)])
        #expect(reg.r.usage(of: win) == usage(1, 64 * MiB - 50 * P, 50 * P))
    }

    @Test func fullWindow() {
        let reg = registry([(base, pg(1)), (pg(1), win.end)])
        #expect(reg.r.usage(of: win) == usage(2, 64 * MiB, 0))
    }

    @Test func clipsAtTheEdges() {
        // One below reaching in 2 pages, one above reaching in 3 pages, and
        // ones wholly outside that do not count.
        let reg = registry([(base - 16 * P, base - 8 * P), (base - 8 * P, pg(2)),
                            (win.end - 3 * P, win.end + 5 * P), (win.end + 5 * P, win.end + 9 * P)])
        #expect(reg.r.usage(of: win) == usage(2, 5 * P, 64 * MiB - 5 * P))
        // One mapping covering the window and more.
        let over = registry([(base - P, win.end + P)])
        #expect(over.r.usage(of: win) == usage(1, 64 * MiB, 0))
    }

    @Test func agreesWithFirstFitOnTheLargestGap() {
        let reg = registry([(pg(1), pg(3)), (pg(7), pg(8)), (pg(20), win.end - 5 * P)])
        let u = reg.r.usage(of: win)
        #expect(u.largestFree == 12 * P)
        #expect(reg.r.firstFit(in: win, size: u.largestFree, align: P) == pg(8))
        #expect(reg.r.firstFit(in: win, size: u.largestFree + P, align: P) == nil)
    }
}
