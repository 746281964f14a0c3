import Testing
@testable import MapwardenLogic

private let K: UInt64 = 1 << 10
private let M: UInt64 = 1 << 20
private let G: UInt64 = 1 << 30
private let T: UInt64 = 1 << 40

/// How much address space mapwarden's metadata reserves: from the windows,
/// and within RLIMIT_AS.
@Suite struct MetadataBudgetTests {
    @Test func wantedWithoutALimit() {
        let big = MetadataBudget.wanted(windowBytes: T, pageSize: 4096, tracksOutside: false, stacks: true)
        #expect(big == MetadataSizes(registry: 512 * M, depot: 256 * M, report: G, outside: 0, unwind: 64 * M))
        #expect(MetadataBudget.fit(big, headroom: nil) == big)
        let guarded = MetadataBudget.wanted(windowBytes: T, pageSize: 4096, tracksOutside: true, stacks: true)
        #expect(guarded == MetadataSizes(registry: 512 * M, depot: 256 * M, report: G, outside: 512 * M, unwind: 64 * M))
        // No stacks: no depot to speak of, no libunwind area.
        let bare = MetadataBudget.wanted(windowBytes: T, pageSize: 4096, tracksOutside: true, stacks: false)
        #expect(bare.depot == MetadataBudget.step && bare.unwind == 0)
    }

    /// The registry never holds more mappings than the windows have pages.
    @Test func registrySizedFromTheWindows() {
        let small = MetadataBudget.wanted(windowBytes: 64 * M, pageSize: 4096, tracksOutside: false, stacks: true)
        let nodes = Int(64 * M / 4096)
        #expect(small.registry >= UInt64(MappingRegistry.bytesNeeded(capacity: nodes)) + 4096 + 4096)
        #expect(small.registry < 2 * M)
        #expect(small.registry % MetadataBudget.step == 0)
        #expect(small.report < 16 * M)
    }

    @Test func aTightLimitShrinksEveryArena() {
        let wanted = MetadataBudget.wanted(windowBytes: T, pageSize: 4096, tracksOutside: true, stacks: true)
        for headroom in [64 * M, 300 * M, G, 3 * G] {
            let sizes = MetadataBudget.fit(wanted, headroom: headroom)
            #expect(sizes != nil)
            guard let sizes else { continue }
            #expect(sizes.total <= headroom / 2, "headroom \(headroom): \(sizes)")
            for (got, want) in [(sizes.registry, wanted.registry), (sizes.depot, wanted.depot), (sizes.report, wanted.report),
                                (sizes.outside, wanted.outside), (sizes.unwind, wanted.unwind)] {
                #expect(got <= want)
                #expect(got % MetadataBudget.step == 0)
            }
            #expect(sizes.registry >= M && sizes.report >= 4 * M)
        }
        // Enough room: nothing cut.
        #expect(MetadataBudget.fit(wanted, headroom: 2 * wanted.total) == wanted)
    }

    @Test func theMinimumOrNothing() {
        let wanted = MetadataBudget.wanted(windowBytes: T, pageSize: 4096, tracksOutside: false, stacks: true)
        let least = MetadataBudget.minimum(wanted)
        #expect(least == MetadataSizes(registry: M, depot: M, report: 4 * M, outside: 0, unwind: 0))
        // More than half the headroom, but it fits: the minimum.
        #expect(MetadataBudget.fit(wanted, headroom: 8 * M) == least)
        #expect(MetadataBudget.fit(wanted, headroom: 6 * M) == least)
        #expect(MetadataBudget.fit(wanted, headroom: 6 * M - 1) == nil)
        #expect(MetadataBudget.fit(wanted, headroom: 0) == nil)
    }
}
