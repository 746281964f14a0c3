import Testing
@testable import MapwardenLogic

private var P: UInt64 { PlanWorld.P }
/// An address in the test window: page n.
private func pg(_ n: UInt64) -> UInt64 { 0x4000_0000_0000 + n * P }

private let RW: Int32 = 3
private let RO: Int32 = 1
private let NONE: Int32 = 0
private let anon = MappingKind.anonymous
private let fileShared = MappingKind.shared

/// A MappingRegistry with storage it owns, that checks before every change
/// that the owner's contract holds (`spare >= nodesPerChange`) and that the
/// change really needed no more than that many fresh nodes.
final class Registry {
    let storage: UnsafeMutableRawPointer
    var r: MappingRegistry

    init(capacity: Int) {
        storage = UnsafeMutableRawPointer.allocate(byteCount: MappingRegistry.bytesNeeded(capacity: capacity),
                                                   alignment: 16)
        r = MappingRegistry(storage: storage, capacity: capacity)
    }

    deinit { storage.deallocate() }

    /// Runs a change under the contract; false (and an issue) if it was not met.
    @discardableResult
    func change(_ what: String, _ body: (inout MappingRegistry) -> Void,
                sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
        guard r.spare >= MappingRegistry.nodesPerChange else {
            Issue.record("\(what): spare \(r.spare) < nodesPerChange; test capacity too small", sourceLocation: sourceLocation)
            return false
        }
        let freeBefore = r.freeCount, highBefore = Int(r.highWater)
        body(&r)
        // Fresh nodes taken beyond the free list: at most what the contract promises.
        let fresh = Int(r.highWater) - highBefore
        if fresh > max(0, MappingRegistry.nodesPerChange - freeBefore) {
            Issue.record("\(what) took \(fresh) fresh nodes with \(freeBefore) free; nodesPerChange is \(MappingRegistry.nodesPerChange)",
                         sourceLocation: sourceLocation)
            return false
        }
        return true
    }

    func insert(_ m: Mapping, sourceLocation: SourceLocation = #_sourceLocation) {
        change("insert \(m)", { $0.insert(m) }, sourceLocation: sourceLocation)
    }

    func remove(_ lo: UInt64, _ hi: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        change("remove \(lo)-\(hi)", { $0.remove(lo, hi) }, sourceLocation: sourceLocation)
    }

    func update(_ lo: UInt64, _ hi: UInt64, sourceLocation: SourceLocation = #_sourceLocation,
                _ body: (inout Mapping) -> Void) {
        change("update \(lo)-\(hi)", { $0.update(lo, hi, body) }, sourceLocation: sourceLocation)
    }

    var all: [Mapping] {
        var out: [Mapping] = []
        r.forEach { out.append($0) }
        return out
    }

    func overlapping(_ lo: UInt64, _ hi: UInt64) -> [Mapping] {
        var out: [Mapping] = []
        r.forEach(overlapping: lo, hi) { out.append($0) }
        return out
    }
}

private func M(_ a: UInt64, _ b: UInt64, _ prot: Int32 = RW, _ kind: UInt32 = anon,
               offset: UInt64 = 0, tag: UInt64 = 0) -> Mapping {
    Mapping(start: pg(a), end: pg(b), prot: prot, kind: kind, offset: offset, tag: tag)
}

@Suite(.everyPageSize) struct MappingRegistryTests {
    // MARK: Insert and lookup

    @Test func joinMergesWhatOnlyItsExtentTellsApart() {
        let reg = Registry(capacity: 32)
        reg.insert(M(0, 4))
        // a lock split it, then an unlock: three identical pieces again
        reg.change("update") { $0.update(pg(1), pg(2)) { $0.kind |= MappingKind.locked } }
        reg.change("update") { $0.update(pg(1), pg(2)) { $0.kind &= ~MappingKind.locked } }
        #expect(reg.all.count == 3)
        reg.change("join") { $0.join(pg(1), pg(2)) }
        #expect(reg.all == [M(0, 4)])
        // not joined: other protection, a gap, non-contiguous file offsets, another tag
        reg.insert(M(4, 6, RO))
        reg.insert(M(7, 8))
        reg.insert(M(8, 9, RW, fileShared, offset: 0))
        reg.insert(M(9, 10, RW, fileShared, offset: 2 * P))
        reg.insert(M(10, 11, RW, fileShared, offset: 3 * P, tag: 5))
        let before = reg.all
        reg.change("join") { $0.join(pg(0), pg(11)) }
        #expect(reg.all == before)
        // contiguous file offsets are joined
        reg.insert(M(11, 12, RW, fileShared, offset: 4 * P, tag: 5))
        reg.change("join") { $0.join(pg(11), pg(11)) }
        #expect(reg.r.mapping(containing: pg(10)) == M(10, 12, RW, fileShared, offset: 3 * P, tag: 5))
    }

    @Test func emptyRegistry() {
        let reg = Registry(capacity: 8)
        #expect(reg.r.count == 0)
        #expect(reg.r.spare == 7) // node 0 is the null node
        #expect(reg.all == [])
        #expect(reg.r.mapping(containing: pg(0)) == nil)
        #expect(!reg.r.overlapsAny(0, UInt64.max))
        #expect(reg.r.covers(pg(0), pg(0))) // the empty range is covered
        #expect(!reg.r.covers(pg(0), pg(1)))
        let w = Window(base: pg(0), size: 16 * P)
        #expect(reg.r.freeRun(around: pg(3), in: w) == (pg(0), pg(16)))
    }

    @Test func insertAndLookup() {
        let reg = Registry(capacity: 8)
        let m = M(16, 19, RW, fileShared, offset: 0x5000, tag: 77)
        reg.insert(m)
        #expect(reg.r.count == 1)
        #expect(reg.all == [m])
        #expect(reg.r.mapping(containing: pg(16)) == m)
        #expect(reg.r.mapping(containing: pg(19) - 1) == m)
        #expect(reg.r.mapping(containing: pg(19)) == nil)
        #expect(reg.r.mapping(containing: pg(16) - 1) == nil)
        #expect(m.size == 3 * P)
    }

    @Test func forEachIsInAddressOrder() {
        let reg = Registry(capacity: 64)
        let order: [UInt64] = [9, 3, 15, 0, 12, 6, 1, 14, 7, 4]
        for (i, n) in order.enumerated() { reg.insert(M(n * 2, n * 2 + 1, tag: UInt64(i))) }
        #expect(reg.all.map(\.start) == order.sorted().map { pg($0 * 2) })
        #expect(reg.r.count == order.count)
    }

    @Test func insertReplacesOverlaps() {
        let reg = Registry(capacity: 16)
        reg.insert(M(0, 10, RW, fileShared, offset: 0x10000))
        reg.insert(M(10, 20, RO, fileShared, offset: 0x100000))
        // MAP_FIXED over the boundary: trims both neighbours; the upper one's offset follows.
        reg.insert(M(5, 15, NONE, anon, tag: 1))
        #expect(reg.all == [
            M(0, 5, RW, fileShared, offset: 0x10000),
            M(5, 15, NONE, anon, tag: 1),
            M(15, 20, RO, fileShared, offset: 0x100000 + 5 * P),
        ])
        #expect(reg.r.count == 3)
        // Exactly the same range replaces the record.
        reg.insert(M(5, 15, RW, anon, tag: 2))
        #expect(reg.all[1] == M(5, 15, RW, anon, tag: 2))
        #expect(reg.r.count == 3)
        // Inside one mapping: splits it in three.
        reg.insert(M(1, 2, RO, anon, tag: 3))
        #expect(reg.all == [
            M(0, 1, RW, fileShared, offset: 0x10000),
            M(1, 2, RO, anon, tag: 3),
            M(2, 5, RW, fileShared, offset: 0x10000 + 2 * P),
            M(5, 15, RW, anon, tag: 2),
            M(15, 20, RO, fileShared, offset: 0x100000 + 5 * P),
        ])
        // Over everything: one record is left.
        reg.insert(M(0, 30, RW, anon, tag: 4))
        #expect(reg.all == [M(0, 30, RW, anon, tag: 4)])
        #expect(reg.r.count == 1)
    }

    @Test func insertAdjacentDoesNotTouchNeighbours() {
        let reg = Registry(capacity: 16)
        reg.insert(M(0, 4))
        reg.insert(M(8, 12))
        reg.insert(M(4, 8, RO))
        #expect(reg.all == [M(0, 4), M(4, 8, RO), M(8, 12)])
    }

    // MARK: Remove

    @Test func removeHeadMiddleTail() {
        let reg = Registry(capacity: 16)
        reg.insert(M(0, 20, RW, fileShared, offset: 0x8000, tag: 9))
        reg.remove(pg(0), pg(2)) // head
        #expect(reg.all == [M(2, 20, RW, fileShared, offset: 0x8000 + 2 * P, tag: 9)])
        reg.remove(pg(18), pg(20)) // tail
        #expect(reg.all == [M(2, 18, RW, fileShared, offset: 0x8000 + 2 * P, tag: 9)])
        reg.remove(pg(5), pg(7)) // middle
        #expect(reg.all == [
            M(2, 5, RW, fileShared, offset: 0x8000 + 2 * P, tag: 9),
            M(7, 18, RW, fileShared, offset: 0x8000 + 7 * P, tag: 9),
        ])
        #expect(reg.r.count == 2)
    }

    @Test func removeSpanningSeveral() {
        let reg = Registry(capacity: 16)
        reg.insert(M(0, 4))
        reg.insert(M(4, 8, RO))
        reg.insert(M(10, 12))
        reg.insert(M(12, 16, NONE))
        reg.remove(pg(2), pg(13))
        // The offset of a trimmed head follows the split (anonymous or not).
        #expect(reg.all == [M(0, 2), M(13, 16, NONE, offset: P)])
        #expect(reg.r.count == 2)
    }

    @Test func removeWholeAndFreeSpace() {
        let reg = Registry(capacity: 16)
        reg.insert(M(4, 8))
        reg.insert(M(8, 10))
        reg.remove(pg(0), pg(4)) // free space just below: nothing changes
        reg.remove(pg(10), pg(40)) // free space just above
        reg.remove(pg(6), pg(6)) // empty range
        reg.remove(pg(7), pg(6)) // reversed range
        #expect(reg.all == [M(4, 8), M(8, 10)])
        reg.remove(pg(4), pg(8)) // exactly one mapping
        #expect(reg.all == [M(8, 10)])
        reg.remove(pg(0), pg(64)) // the whole window
        #expect(reg.all == [])
        #expect(reg.r.count == 0)
        #expect(reg.r.spare == 15) // every node came back
    }

    // MARK: Update (mprotect)

    @Test func updateSplitsAtBothEnds() {
        let reg = Registry(capacity: 16)
        reg.insert(M(0, 8, RW, fileShared, offset: 0x100000, tag: 5))
        reg.update(pg(2), pg(5)) { $0.prot = RO }
        #expect(reg.all == [
            M(0, 2, RW, fileShared, offset: 0x100000, tag: 5),
            M(2, 5, RO, fileShared, offset: 0x100000 + 2 * P, tag: 5),
            M(5, 8, RW, fileShared, offset: 0x100000 + 5 * P, tag: 5),
        ])
        #expect(reg.r.count == 3)
        // Aligned with existing boundaries: no further split.
        reg.update(pg(2), pg(5)) { $0.prot = NONE }
        #expect(reg.r.count == 3)
        #expect(reg.all[1].prot == NONE)
    }

    @Test func updateSpansMappingsAndGaps() {
        let reg = Registry(capacity: 16)
        reg.insert(M(0, 4, RW, anon, tag: 1))
        reg.insert(M(6, 10, RW, fileShared, offset: 0x3000, tag: 2))
        var seen: [UInt64] = []
        reg.update(pg(2), pg(8)) { m in
            seen.append(m.start)
            m.prot = RO
            m.tag += 100
        }
        #expect(seen == [pg(2), pg(6)]) // in address order, only mapped parts
        #expect(reg.all == [
            M(0, 2, RW, anon, tag: 1),
            M(2, 4, RO, anon, offset: 2 * P, tag: 101),
            M(6, 8, RO, fileShared, offset: 0x3000, tag: 102),
            M(8, 10, RW, fileShared, offset: 0x3000 + 2 * P, tag: 2),
        ])
        // Over free space only: nothing is called, nothing changes.
        let before = reg.all
        var called = false
        reg.update(pg(4), pg(6)) { _ in called = true }
        reg.update(pg(3), pg(3)) { _ in called = true }
        #expect(!called)
        #expect(reg.all == before)
    }

    // MARK: Queries at edges

    @Test func coversAdjacentMappings() {
        let reg = Registry(capacity: 16)
        reg.insert(M(0, 4))
        reg.insert(M(4, 8, RO))
        reg.insert(M(9, 12))
        #expect(reg.r.covers(pg(0), pg(8)))
        #expect(reg.r.covers(pg(1), pg(7)))
        #expect(reg.r.covers(pg(3), pg(5)))
        #expect(!reg.r.covers(pg(0), pg(9)))
        #expect(!reg.r.covers(pg(7), pg(10)))
        #expect(reg.r.covers(pg(9), pg(12)))
        #expect(!reg.r.covers(pg(9), pg(13)))
        #expect(!reg.r.covers(pg(8), pg(9)))
        #expect(reg.r.covers(pg(8), pg(8)))
    }

    @Test func overlapsAtEdges() {
        let reg = Registry(capacity: 16)
        reg.insert(M(4, 8))
        reg.insert(M(8, 10, RO))
        reg.insert(M(20, 24, NONE))
        #expect(!reg.r.overlapsAny(pg(0), pg(4))) // ends where a mapping starts
        #expect(!reg.r.overlapsAny(pg(10), pg(20))) // the gap exactly
        #expect(!reg.r.overlapsAny(pg(24), pg(100))) // starts where the last ends
        #expect(reg.r.overlapsAny(pg(0), pg(4) + 1))
        #expect(reg.r.overlapsAny(pg(10) - 1, pg(11)))
        #expect(reg.r.overlapsAny(pg(19), pg(21)))
        #expect(reg.r.overlapsAny(pg(5), pg(6))) // strictly inside
        #expect(reg.r.firstOverlapping(pg(0), pg(100)) == M(4, 8))
        #expect(reg.r.firstOverlapping(pg(7), pg(100)) == M(4, 8))
        #expect(reg.r.firstOverlapping(pg(8), pg(9)) == M(8, 10, RO))
        #expect(reg.r.firstOverlapping(pg(10), pg(21)) == M(20, 24, NONE))
        #expect(reg.r.firstOverlapping(pg(10), pg(20)) == nil)
    }

    @Test func forEachOverlapping() {
        let reg = Registry(capacity: 16)
        reg.insert(M(0, 10))
        reg.insert(M(10, 20, RO))
        reg.insert(M(30, 40, NONE))
        #expect(reg.overlapping(pg(5), pg(31)) == [M(0, 10), M(10, 20, RO), M(30, 40, NONE)])
        #expect(reg.overlapping(pg(10), pg(30)) == [M(10, 20, RO)])
        #expect(reg.overlapping(pg(20), pg(30)) == [])
        #expect(reg.overlapping(pg(39), pg(100)) == [M(30, 40, NONE)])
        #expect(reg.overlapping(pg(0), pg(1)) == [M(0, 10)])
        #expect(reg.overlapping(pg(9), pg(11)) == [M(0, 10), M(10, 20, RO)])
    }

    @Test func freeRunAtEdges() {
        let reg = Registry(capacity: 16)
        let w = Window(base: pg(0), size: 100 * P)
        reg.insert(M(10, 20))
        reg.insert(M(20, 30, RO))
        reg.insert(M(50, 60))
        #expect(reg.r.freeRun(around: pg(0), in: w) == (pg(0), pg(10)))
        #expect(reg.r.freeRun(around: pg(10) - 1, in: w) == (pg(0), pg(10)))
        #expect(reg.r.freeRun(around: pg(30), in: w) == (pg(30), pg(50)))
        #expect(reg.r.freeRun(around: pg(49), in: w) == (pg(30), pg(50)))
        #expect(reg.r.freeRun(around: pg(60), in: w) == (pg(60), pg(100)))
        #expect(reg.r.freeRun(around: pg(100) - 1, in: w) == (pg(60), pg(100)))
        // Records outside the window (another window) do not leak into the run.
        reg.insert(Mapping(start: pg(0) - 8 * P, end: pg(0) - 4 * P, prot: RW, kind: anon))
        reg.insert(Mapping(start: pg(104), end: pg(108), prot: RW, kind: anon))
        #expect(reg.r.freeRun(around: pg(1), in: w) == (pg(0), pg(10)))
        #expect(reg.r.freeRun(around: pg(70), in: w) == (pg(60), pg(100)))
        // Mappings touching both window edges.
        reg.insert(M(0, 2))
        reg.insert(M(98, 100))
        #expect(reg.r.freeRun(around: pg(2), in: w) == (pg(2), pg(10)))
        #expect(reg.r.freeRun(around: pg(97), in: w) == (pg(60), pg(98)))
    }

    // MARK: Node accounting

    @Test func spareAccounting() {
        let reg = Registry(capacity: 10)
        #expect(reg.r.spare == 9)
        reg.insert(M(0, 10))
        #expect(reg.r.spare == 8)
        reg.update(pg(3), pg(6)) { $0.prot = RO } // one mapping becomes three
        #expect(reg.r.spare == 6)
        #expect(reg.r.count == 3)
        reg.remove(pg(0), pg(10))
        #expect(reg.r.spare == 9)
        #expect(reg.r.count == 0)
        reg.r.storageGrew(to: 10) // the same capacity: nothing changes
        #expect(reg.r.spare == 9)
    }

    @Test func nodesAreReusedAfterRemoval() {
        let reg = Registry(capacity: 8)
        for i in 0..<20_000 {
            let n = UInt64(i % 50)
            reg.insert(M(n, n + 3, RW, anon, tag: UInt64(i)))
            reg.insert(M(n + 1, n + 2, RO)) // split it in three
            reg.update(pg(n), pg(n + 3)) { $0.prot = NONE }
            reg.remove(pg(n), pg(n + 3))
            if reg.r.count != 0 || reg.r.spare != 7 {
                Issue.record("iteration \(i): count \(reg.r.count), spare \(reg.r.spare)")
                return
            }
        }
        #expect(Int(reg.r.highWater) <= 5) // never more than 3 live + 1 in flight + the null node
    }

    /// The worst cases (a change strictly inside one mapping) need no more
    /// than nodesPerChange fresh nodes. `Registry.change` checks that from
    /// the high-water mark instead of running with spare == nodesPerChange,
    /// so a shortfall is reported rather than trapping the test process.
    @Test func worstCasesFitInNodesPerChange() {
        // Insert strictly inside one mapping.
        let a = Registry(capacity: 16)
        a.insert(M(0, 10, RW, fileShared, offset: 0x1000))
        #expect(a.r.freeCount == 0)
        a.insert(M(4, 5, RO))
        #expect(a.all == [M(0, 4, RW, fileShared, offset: 0x1000), M(4, 5, RO),
                          M(5, 10, RW, fileShared, offset: 0x1000 + 5 * P)])
        // Update strictly inside one mapping.
        let b = Registry(capacity: 16)
        b.insert(M(0, 10))
        b.update(pg(4), pg(5)) { $0.prot = RO }
        #expect(b.all == [M(0, 4), M(4, 5, RO, offset: 4 * P), M(5, 10, offset: 5 * P)])
        // Remove strictly inside one mapping.
        let c = Registry(capacity: 16)
        c.insert(M(0, 10))
        c.remove(pg(4), pg(5))
        #expect(c.all == [M(0, 4), M(5, 10, offset: 5 * P)])
    }

    @Test func storageGrew() {
        let big = UnsafeMutableRawPointer.allocate(byteCount: MappingRegistry.bytesNeeded(capacity: 8),
                                                   alignment: 16)
        defer { big.deallocate() }
        var r = MappingRegistry(storage: big, capacity: 3) // the owner commits 3 of 8 nodes
        #expect(r.spare == 2)
        r.insert(Mapping(start: pg(0), end: pg(4), prot: RW, kind: anon))
        r.storageGrew(to: 8)
        #expect(r.capacity == 8)
        #expect(r.spare == 6)
        r.update(pg(1), pg(2)) { $0.prot = RO }
        #expect(r.count == 3)
    }
}

@Suite(.everyPageSize) struct RegistryStorageSizeTests {
    /// The owner sizes storage with bytesNeeded and learns what committed
    /// memory holds with capacity(fittingIn:): the two must agree, across
    /// block boundaries, so that growth in place never overruns.
    @Test func bytesAndCapacityAgree() {
        #expect(MappingRegistry.bytesNeeded(capacity: 0) == 0)
        for c in [1, 2, 63, 64, 65, 127, 128, 129, 1000, 4096, 30_001] {
            let bytes = MappingRegistry.bytesNeeded(capacity: c)
            #expect(MappingRegistry.capacity(fittingIn: bytes) == c, "capacity \(c)")
            #expect(MappingRegistry.capacity(fittingIn: bytes - 1) == c - 1, "capacity \(c), one byte short")
        }
        #expect(MappingRegistry.capacity(fittingIn: 256 << 10) == (256 << 10) / 4096 * 64)
    }

    /// Thousands of live mappings spread over many 4 KiB blocks.
    @Test func manyBlocks() {
        let n = 5000
        let reg = Registry(capacity: n + 16)
        for i in 0..<n {
            reg.r.insert(Mapping(start: UInt64(2 * i) * 4096, end: UInt64(2 * i + 1) * 4096, prot: Int32(i % 8),
                                 kind: 0, offset: UInt64(i), tag: UInt64(i)))
        }
        #expect(reg.r.count == n)
        for i in stride(from: 0, to: n, by: 7) {
            let m = reg.r.mapping(containing: UInt64(2 * i) * 4096 + 17)
            #expect(m?.tag == UInt64(i) && m?.offset == UInt64(i) && m?.prot == Int32(i % 8))
            #expect(reg.r.mapping(containing: UInt64(2 * i + 1) * 4096) == nil)
        }
        for i in stride(from: 0, to: n, by: 2) {
            reg.r.remove(UInt64(2 * i) * 4096, UInt64(2 * i + 1) * 4096)
        }
        #expect(reg.r.count == n / 2)
        var seen = 0
        var last: UInt64 = 0
        reg.r.forEach { m in
            #expect(m.start >= last)
            last = m.end
            seen += 1
        }
        #expect(seen == n / 2)
    }
}
