import Testing
@testable import MapwardenLogic

// The registry read together with the windows (MappingRegistry+Runs.swift):
// forEachRun and firstFree split a range into what the kernel acts on and
// free window pages (rule 7); forEachPart splits a window's part into free
// runs and recorded parts, as repair walks it (rule 9). Windows W0 = pages
// [16, 32), W1 = [48, 64).

private var P: UInt64 { PlanWorld.P }
private func pg(_ n: UInt64) -> UInt64 { PlanWorld.page(n) }

private struct Run: Equatable, CustomStringConvertible {
    var lo: UInt64, hi: UInt64, free: Bool
    init(_ lo: UInt64, _ hi: UInt64, _ free: Bool) { (self.lo, self.hi, self.free) = (lo, hi, free) }
    var description: String {
        "[\((lo - PlanWorld.origin) / PlanWorld.P), \((hi - PlanWorld.origin) / PlanWorld.P)) \(free ? "free" : "kernel")"
    }
}

/// A run of pages [a, b).
private func run(_ a: UInt64, _ b: UInt64, free: Bool) -> Run { Run(pg(a), pg(b), free) }

private func twoWindows() -> PlanWorld { PlanWorld(Array(PlanWorld.three.prefix(2))) }

private func runs(_ w: PlanWorld, _ a: UInt64, _ b: UInt64, upTo limit: Int = .max) -> [Run] {
    var out: [Run] = []
    w.registry.forEachRun(pg(a), pg(b), in: w.view.windows) { lo, hi, free in
        out.append(Run(lo, hi, free))
        return out.count < limit
    }
    return out
}

private func parts(_ w: PlanWorld, _ a: UInt64, _ b: UInt64, window i: Int = 0) -> [Run] {
    var out: [Run] = []
    w.registry.forEachPart(pg(a), pg(b), in: w.view.windows[i]) { out.append(Run($0, $1, $2)) }
    return out
}

@Suite(.everyPageSize) struct RegistryRunsTests {
    @Test func runsSplitARangeIntoWhatTheKernelActsOnAndFreeWindowPages() {
        // rule 7: free window pages behave as unmapped memory; outside the windows and on
        // recorded mappings the kernel acts. Runs of one kind are joined.
        let w = twoWindows()
        w.recordPages(18, 20)
        w.recordPages(30, 32)
        w.recordPages(48, 50)
        #expect(runs(w, 14, 66) == [run(14, 16, free: false), run(16, 18, free: true), run(18, 20, free: false),
                                    run(20, 30, free: true), run(30, 50, free: false), run(50, 64, free: true),
                                    run(64, 66, free: false)])
    }

    @Test func runsOfOneKindAreOneRun() {
        // rule 7: the kernel acts VMA by VMA; the plan needs only where free pages start and end
        let w = twoWindows()
        #expect(runs(w, 20, 24) == [run(20, 24, free: true)])
        #expect(runs(w, 0, 16) == [run(0, 16, free: false)])
        #expect(runs(w, 10, 60) == [run(10, 16, free: false), run(16, 32, free: true), run(32, 48, free: false),
                                    run(48, 60, free: true)])
        w.recordPages(20, 22)
        w.recordPages(22, 24) // side by side: one run
        #expect(runs(w, 19, 25) == [run(19, 20, free: true), run(20, 24, free: false), run(24, 25, free: true)])
        // a mapping reaching past the range is clipped; starting inside one as well
        #expect(runs(w, 21, 23) == [run(21, 23, free: false)])
    }

    @Test func runsStopWhenTheBodySaysSo() {
        // rule 7: the stop-at-the-first-hole calls look no further
        let w = twoWindows()
        w.recordPages(18, 20)
        #expect(runs(w, 14, 66, upTo: 1) == [run(14, 16, free: false)])
        #expect(runs(w, 14, 66, upTo: 3) == [run(14, 16, free: false), run(16, 18, free: true), run(18, 20, free: false)])
    }

    @Test func firstFreeIsTheFirstFreeWindowPage() {
        // rule 7: where mprotect, mlock, munlock, mincore and msync(MS_ASYNC) stop
        let w = twoWindows()
        w.recordPages(16, 20)
        w.recordPages(24, 32)
        w.recordPages(48, 52)
        #expect(w.registry.firstFree(pg(14), pg(30), in: w.view.windows) == pg(20))
        #expect(w.registry.firstFree(pg(21), pg(30), in: w.view.windows) == pg(21))
        #expect(w.registry.firstFree(pg(24), pg(60), in: w.view.windows) == pg(52))
        // none: all recorded, or outside every window
        #expect(w.registry.firstFree(pg(14), pg(20), in: w.view.windows) == nil)
        #expect(w.registry.firstFree(pg(24), pg(52), in: w.view.windows) == nil)
        #expect(w.registry.firstFree(pg(0), pg(16), in: w.view.windows) == nil)
        #expect(w.registry.firstFree(pg(64), pg(100), in: w.view.windows) == nil)
    }

    @Test func partsSplitAWindowRangeIntoFreeRunsAndEachRecordedMapping() {
        // rule 9: repair re-reserves the free parts and probes each recorded part, mapping by
        // mapping (each is a VMA of its own)
        let w = twoWindows()
        w.recordPages(18, 20)
        w.recordPages(20, 21)
        w.recordPages(22, 24)
        #expect(parts(w, 17, 23) == [run(17, 18, free: true), run(18, 20, free: false), run(20, 21, free: false),
                                     run(21, 22, free: true), run(22, 23, free: false)])
        #expect(parts(w, 16, 32) == [run(16, 18, free: true), run(18, 20, free: false), run(20, 21, free: false),
                                     run(21, 22, free: true), run(22, 24, free: false), run(24, 32, free: true)])
        // all free; in the second window
        #expect(parts(w, 25, 30) == [run(25, 30, free: true)])
        w.recordPages(50, 60)
        #expect(parts(w, 48, 64, window: 1) == [run(48, 50, free: true), run(50, 60, free: false), run(60, 64, free: true)])
        // starting inside a mapping
        #expect(parts(w, 19, 21) == [run(19, 20, free: false), run(20, 21, free: false)])
    }
}

@Suite(.everyPageSize) struct VMAStartTests {
    @Test func vmaStartFollowsRecordsTheKernelWouldHaveMergedAndStopsAtAGrowsDownBoundary() {
        // rule 7 (mprotect with PROT_GROWSDOWN changes a MAP_GROWSDOWN VMA from
        // its start): the start is found down through mergeable records only;
        // a plain anonymous mapping just below a growing-down one is another VMA
        let w = PlanWorld()
        let p = PlanWorld.page
        let grows = MappingKind.anonymous | MappingKind.growsDown
        w.reg.insert(Mapping(start: p(10), end: p(14), prot: 3, kind: MappingKind.anonymous))
        w.reg.insert(Mapping(start: p(14), end: p(16), prot: 2, kind: grows))
        w.reg.insert(Mapping(start: p(16), end: p(18), prot: 2, kind: grows))
        #expect(w.registry.vmaStart(containing: p(17)) == p(14))
        #expect(w.registry.vmaStart(containing: p(11)) == p(10))
        #expect(w.registry.vmaStart(containing: p(20)) == nil)
        #expect(!Mapping.mergeable(Mapping(start: p(10), end: p(14), prot: 2, kind: MappingKind.anonymous),
                                   Mapping(start: p(14), end: p(16), prot: 2, kind: grows)))
    }
}
