import Testing
@testable import MapwardenLogic

@Suite struct LoaderGapsTests {
    /// The ranges to cover for mappings given as (start, end, isStack).
    func gaps(floor: UInt64, minimum: UInt64 = 0x10000, _ maps: [(UInt64, UInt64, Bool)]) -> [[UInt64]] {
        var g = LoaderGaps(floor: floor, minimum: minimum)
        var out: [[UInt64]] = []
        for m in maps {
            if let r = g.next(start: m.0, end: m.1, isStack: m.2) { out.append([r.lo, r.hi]) }
        }
        return out
    }

    @Test func rangesBelowTheFloorAreLeftAlone() {
        let maps: [(UInt64, UInt64, Bool)] = [(0x1000, 0x2000, false), (0x100000, 0x200000, false), (0x800000, 0x900000, false)]
        #expect(gaps(floor: 0x800000, maps) == [])
    }

    @Test func aRangeAcrossTheFloorIsCoveredFromTheFloor() {
        // The room [0x400000, 0x600000) is free, and so is [0x600000, 0x700000) above it.
        let maps: [(UInt64, UInt64, Bool)] = [(0x100000, 0x400000, false), (0x700000, 0x800000, false)]
        #expect(gaps(floor: 0x600000, maps) == [[0x600000, 0x700000]])
    }

    @Test func everyLargeEnoughRangeAboveIsCoveredSmallOnesAreNot() {
        let maps: [(UInt64, UInt64, Bool)] = [
            (0x100000, 0x600000, false),
            (0x610000, 0x620000, false), // 64 KiB free before it: covered
            (0x628000, 0x630000, false), // 32 KiB: too small for a library
            (0x700000, 0x710000, false), // 0xd0000 free before it
        ]
        #expect(gaps(floor: 0x600000, maps) == [[0x600000, 0x610000], [0x630000, 0x700000]])
    }

    @Test func theRangeBelowTheStackAndEverythingAboveItStay() {
        let maps: [(UInt64, UInt64, Bool)] = [
            (0x100000, 0x600000, false),
            (0x700000, 0x710000, false),
            (0x7000000, 0x7021000, true), // [stack]
            (0x8000000, 0x8001000, false),
        ]
        #expect(gaps(floor: 0x600000, maps) == [[0x600000, 0x700000]])
    }

    @Test func overlappingOrNestedLinesDoNotMakeRanges() {
        let maps: [(UInt64, UInt64, Bool)] = [(0x600000, 0x900000, false), (0x700000, 0x800000, false), (0x900000, 0xa00000, false)]
        #expect(gaps(floor: 0x600000, maps) == [])
    }

    @Test func stackLinesAreRecognised() {
        let stack = "7ffc82d0f000-7ffc82d30000 rw-p 00000000 00:00 0                          [stack]"
        let heap = "560b5cfc8000-560b5cfe9000 rw-p 00000000 00:00 0                          [heap]"
        let anonymous = "7f0f582a2000-7f0f582a5000 rw-p 00000000 00:00 0 "
        let named = "7f0f582a2000-7f0f582a5000 r--p 00000000 fe:00 12 /tmp/[stack]"
        func check(_ s: String) -> Bool {
            var t = s
            return t.withUTF8 { LoaderGaps.isStack(Bytes($0)) }
        }
        #expect(check(stack))
        #expect(!check(heap))
        #expect(!check(anonymous))
        #expect(!check(named))
    }
}
