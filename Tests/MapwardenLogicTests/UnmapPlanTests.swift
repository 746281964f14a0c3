import Testing
@testable import MapwardenLogic

// UnmapPlan: rule 6 of docs/guarantees.md (munmap inside a window
// re-reserves atomically; munmap of free window space returns 0). Windows
// W0 = pages [16, 32), W1 = [48, 64), W2 = [80, 96).

private var P: UInt64 { PlanWorld.P }
private func pg(_ n: UInt64) -> UInt64 { PlanWorld.page(n) }

private typealias Step = UnmapPlan.Step

/// The steps for pages [a, b), all of them.
private func steps(_ a: UInt64, _ b: UInt64, _ windows: [Window] = PlanWorld.three) -> [Step] {
    let w = PlanWorld(windows)
    var out: [Step] = []
    let finished = UnmapPlan.forEachStep(pg(a), pg(b), w.view.windows) { out.append($0); return true }
    #expect(finished)
    return out
}

private func unmap(_ a: UInt64, _ b: UInt64) -> Step { .unmap(lo: pg(a), hi: pg(b)) }
private func release(_ i: Int, _ a: UInt64, _ b: UInt64) -> Step { .release(window: i, lo: pg(a), hi: pg(b)) }

@Suite(.everyPageSize) struct UnmapPlanTests {
    @Test func rangeLeavesTheKernelsEINVALToIt() {
        // rule 6: the kernel's own answer to the call as it is (EINVAL for a zero length,
        // an unaligned start, a range past user space), nothing changed
        let w = PlanWorld()
        let space = w.view.space
        #expect(UnmapPlan.range(pg(20), 0, w.view) == nil)
        #expect(UnmapPlan.range(pg(20) + 1, P, w.view) == nil)
        #expect(UnmapPlan.range(pg(20) + P / 2, P, w.view) == nil)
        #expect(UnmapPlan.range(pg(20), UInt64.max, w.view) == nil)
        #expect(UnmapPlan.range(pg(20), UInt64.max - pg(20) - 100, w.view) == nil) // rounds past 2^64
        #expect(UnmapPlan.range(space.userEnd - P, P + 1, w.view) == nil)
        #expect(UnmapPlan.range(space.userEnd, P, w.view) == nil)
        #expect(UnmapPlan.range(space.userEnd + P, P, w.view) == nil)
    }

    @Test func rangeRoundsTheLengthUpToWholePages() {
        // rule 6: munmap acts on whole pages, as the kernel does
        let w = PlanWorld()
        let space = w.view.space
        #expect(UnmapPlan.range(pg(20), 1, w.view)! == (pg(20), pg(21)))
        #expect(UnmapPlan.range(pg(20), P, w.view)! == (pg(20), pg(21)))
        #expect(UnmapPlan.range(pg(20), 2 * P - 1, w.view)! == (pg(20), pg(22)))
        #expect(UnmapPlan.range(pg(14), 20 * P, w.view)! == (pg(14), pg(34)))
        // up to the end of user space exactly
        #expect(UnmapPlan.range(space.userEnd - P, P, w.view)! == (space.userEnd - P, space.userEnd))
    }

    @Test func insideOneWindowIsOneRelease() {
        // rule 6: one atomic overmap with the reservation, whatever the pages held
        // (free pages included: munmap of free window space returns 0)
        #expect(steps(20, 22) == [release(0, 20, 22)])
        #expect(steps(16, 32) == [release(0, 16, 32)])
        #expect(steps(95, 96) == [release(2, 95, 96)])
    }

    @Test func rangeTouchingNoWindowIsOneUnmap() {
        // rule 12: the kernel's munmap
        #expect(steps(0, 16) == [unmap(0, 16)])
        #expect(steps(32, 48) == [unmap(32, 48)])
    }

    @Test func straddlingOneWindowUnmapsThePartsOutsideFirst() {
        // rule 6: the parts outside are the ones that can fail: when they do, no window changed
        #expect(steps(14, 18) == [unmap(14, 16), release(0, 16, 18)])
        #expect(steps(30, 34) == [unmap(32, 34), release(0, 30, 32)])
        #expect(steps(10, 40) == [unmap(10, 16), unmap(32, 40), release(0, 16, 32)])
    }

    @Test func twoWindowsUnmapBelowBetweenAndAboveThenReleaseEach() {
        // rule 6 for every window: outside parts in address order, then each window's part
        #expect(steps(14, 66) == [unmap(14, 16), unmap(32, 48), unmap(64, 66), release(0, 16, 32), release(1, 48, 64)])
        #expect(steps(20, 50) == [unmap(32, 48), release(0, 20, 32), release(1, 48, 50)])
        #expect(steps(40, 70) == [unmap(40, 48), unmap(64, 70), release(1, 48, 64)])
    }

    @Test func threeWindowsUnmapEveryGapThenReleaseEach() {
        // rule 6 for every window
        #expect(steps(20, 90) == [unmap(32, 48), unmap(64, 80), release(0, 20, 32), release(1, 48, 64), release(2, 80, 90)])
        #expect(steps(0, 100) == [unmap(0, 16), unmap(32, 48), unmap(64, 80), unmap(96, 100),
                                  release(0, 16, 32), release(1, 48, 64), release(2, 80, 96)])
    }

    @Test func adjacentWindowsLeaveNothingOutside() {
        // rule 6: windows side by side have no gap to unmap
        let adjacent = [Window(base: pg(16), size: 16 * P), Window(base: pg(32), size: 16 * P)]
        #expect(steps(20, 40, adjacent) == [release(0, 20, 32), release(1, 32, 40)])
        #expect(steps(10, 50, adjacent) == [unmap(10, 16), unmap(48, 50), release(0, 16, 32), release(1, 32, 48)])
    }

    @Test func stopsAtTheFirstStepThatFails() {
        // rule 6: the engine stops at the first step that fails (nothing after it is done)
        let w = PlanWorld(PlanWorld.three)
        for stopAt in 0..<7 {
            var seen: [Step] = []
            let finished = UnmapPlan.forEachStep(pg(0), pg(100), w.view.windows) { step in
                seen.append(step)
                return seen.count <= stopAt
            }
            #expect(!finished)
            #expect(seen == Array(steps(0, 100).prefix(stopAt + 1)))
        }
        var all = 0
        #expect(UnmapPlan.forEachStep(pg(0), pg(100), w.view.windows) { _ in all += 1; return true })
        #expect(all == 7)
    }
}
