import Testing
@testable import MapwardenLogic

/// SplitMix64: small, seeded, deterministic.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: UInt64) -> UInt64 { next() % n }
}

/// The naive model: one entry per page. `record` identifies the registry
/// record a page belongs to (records are maximal runs of equal `record`);
/// `offset` is the file offset of that page itself.
struct PageState: Equatable {
    var record: Int
    var prot: Int32
    var kind: UInt32
    var offset: UInt64
    var tag: UInt64
}

@Suite struct RegistryDifferentialTests {
    static let pages = 64
    static let page: UInt64 = 4096
    static let base: UInt64 = 0x4000_0000_0000

    static func addr(_ p: Int) -> UInt64 { base + UInt64(p) * page }

    /// The records the model says the registry must hold, in order.
    static func expected(_ model: [PageState?]) -> [Mapping] {
        var out: [Mapping] = []
        var i = 0
        while i < model.count {
            guard let s = model[i] else { i += 1; continue }
            var j = i + 1
            while j < model.count, let t = model[j], t.record == s.record { j += 1 }
            out.append(Mapping(start: addr(i), end: addr(j), prot: s.prot, kind: s.kind, offset: s.offset, tag: s.tag))
            i = j
        }
        return out
    }

    @Test(arguments: [1, 2, 3, 0xDEAD_BEEF, 20_240_601] as [UInt64])
    func randomOperationsMatchAPageModel(seed: UInt64) {
        var rng = SplitMix64(state: seed)
        let reg = Registry(capacity: 4 * Self.pages + 8) // at most `pages` records + nodesPerChange
        var model = [PageState?](repeating: nil, count: Self.pages)
        var nextRecord = 1
        let window = Window(base: Self.base, size: UInt64(Self.pages) * Self.page)
        let steps = 3000

        func fail(_ step: Int, _ what: String, _ message: String) {
            Issue.record("seed \(seed) step \(step) after \(what): \(message)")
        }

        for step in 0..<steps {
            // A random range, mostly short, sometimes the whole window or empty.
            var lo = Int(rng.below(UInt64(Self.pages)))
            var hi: Int
            switch rng.below(10) {
            case 0: hi = Self.pages
            case 1: hi = lo + Int(rng.below(UInt64(Self.pages - lo) + 1))
            default: hi = min(Self.pages, lo + 1 + Int(rng.below(8)))
            }
            // Often exactly one existing record (the registry's one-walk paths).
            let records = Self.expected(model)
            if !records.isEmpty && rng.below(4) == 0 {
                let m = records[Int(rng.below(UInt64(records.count)))]
                lo = Int((m.start - Self.base) / Self.page)
                hi = Int((m.end - Self.base) / Self.page)
            }
            let what: String
            switch rng.below(3) {
            case 0:
                if hi <= lo { hi = lo + 1 }
                let prot = Int32(rng.below(8))
                let kind = UInt32(rng.below(8))
                let offset = rng.below(1 << 20) * Self.page
                let tag = rng.next()
                what = "insert [\(lo), \(hi)) prot \(prot)"
                let ok = reg.change(what) {
                    $0.insert(Mapping(start: Self.addr(lo), end: Self.addr(hi), prot: prot, kind: kind, offset: offset, tag: tag))
                }
                guard ok else { fail(step, what, "node contract"); return }
                for p in lo..<hi {
                    model[p] = PageState(record: nextRecord, prot: prot, kind: kind,
                                         offset: offset + UInt64(p - lo) * Self.page, tag: tag)
                }
                nextRecord += 1
            case 1:
                what = "remove [\(lo), \(hi))"
                guard reg.change(what, { $0.remove(Self.addr(lo), Self.addr(hi)) }) else {
                    fail(step, what, "node contract"); return
                }
                for p in lo..<max(lo, hi) { model[p] = nil }
            default:
                let prot = Int32(rng.below(8))
                let tagBits = rng.next()
                what = "update [\(lo), \(hi)) prot \(prot)"
                var visited: [UInt64] = []
                let ok = reg.change(what) {
                    $0.update(Self.addr(lo), Self.addr(hi)) { m in
                        visited.append(m.start)
                        m.prot = prot
                        m.tag ^= tagBits
                    }
                }
                guard ok else { fail(step, what, "node contract"); return }
                // Each mapped run inside [lo, hi) becomes its own record.
                var expectVisited: [UInt64] = []
                var p = lo
                while p < hi {
                    guard let s = model[p] else { p += 1; continue }
                    let fresh = nextRecord
                    nextRecord += 1
                    expectVisited.append(Self.addr(p))
                    while p < hi, var t = model[p], t.record == s.record {
                        t.record = fresh
                        t.prot = prot
                        t.tag ^= tagBits
                        model[p] = t
                        p += 1
                    }
                }
                if visited != expectVisited {
                    fail(step, what, "update visited \(visited), expected \(expectVisited)"); return
                }
            }

            // Structure: sorted, disjoint, equal to the model, count right.
            let got = reg.all
            for (a, b) in zip(got, got.dropFirst()) where !(a.start < a.end && a.end <= b.start) {
                fail(step, what, "records out of order or overlapping: \(a) then \(b)"); return
            }
            let want = Self.expected(model)
            if got != want {
                fail(step, what, "registry \(got)\nmodel    \(want)"); return
            }
            if reg.r.count != want.count {
                fail(step, what, "count \(reg.r.count), expected \(want.count)"); return
            }
            // Accounting: every node is either live, free or never used.
            if reg.r.spare != reg.r.capacity - 1 - want.count {
                fail(step, what, "spare \(reg.r.spare) with \(want.count) records, capacity \(reg.r.capacity)"); return
            }

            // Queries at a few random points and ranges.
            for _ in 0..<4 {
                let p = Int(rng.below(UInt64(Self.pages)))
                let q = p + 1 + Int(rng.below(UInt64(Self.pages - p)))
                let a = Self.addr(p) + rng.below(Self.page)
                let found = reg.r.mapping(containing: a)
                let expectFound = want.first { $0.start <= a && a < $0.end }
                if found != expectFound {
                    fail(step, what, "mapping(containing: page \(p)) = \(String(describing: found))"); return
                }
                let mappedInRange = (p..<q).filter { model[$0] != nil }
                let covers = reg.r.covers(Self.addr(p), Self.addr(q))
                if covers != (mappedInRange.count == q - p) {
                    fail(step, what, "covers([\(p), \(q))) = \(covers)"); return
                }
                let overlaps = reg.r.overlapsAny(Self.addr(p), Self.addr(q))
                if overlaps != !mappedInRange.isEmpty {
                    fail(step, what, "overlapsAny([\(p), \(q))) = \(overlaps)"); return
                }
                let first = reg.r.firstOverlapping(Self.addr(p), Self.addr(q))
                let expectFirst = want.first { $0.end > Self.addr(p) && $0.start < Self.addr(q) }
                if first != expectFirst {
                    fail(step, what, "firstOverlapping([\(p), \(q))) = \(String(describing: first))"); return
                }
                var each: [Mapping] = []
                reg.r.forEach(overlapping: Self.addr(p), Self.addr(q)) { each.append($0) }
                let expectEach = want.filter { $0.end > Self.addr(p) && $0.start < Self.addr(q) }
                if each != expectEach {
                    fail(step, what, "forEach(overlapping: [\(p), \(q))) = \(each)"); return
                }
                if model[p] == nil {
                    var lo = p, hi = p + 1
                    while lo > 0 && model[lo - 1] == nil { lo -= 1 }
                    while hi < Self.pages && model[hi] == nil { hi += 1 }
                    let run = reg.r.freeRun(around: Self.addr(p) + rng.below(Self.page), in: window)
                    if run != (Self.addr(lo), Self.addr(hi)) {
                        fail(step, what, "freeRun(around: page \(p)) = \(run), expected [\(lo), \(hi))"); return
                    }
                }
            }
        }
    }
}
