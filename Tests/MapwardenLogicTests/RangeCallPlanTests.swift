import Testing
@testable import MapwardenLogic

// RangeCallPlan.decide: rule 7 of docs/guarantees.md (free window pages
// behave as unmapped memory for mprotect, pkey_mprotect, madvise, mlock,
// mlock2, munlock, msync and mincore), and rule 12 for calls far from every
// window. Windows W0 = pages [16, 32) and W1 = [48, 64) unless a test says
// otherwise.

private var P: UInt64 { PlanWorld.P }
private func pg(_ n: UInt64) -> UInt64 { PlanWorld.page(n) }

private func twoWindows() -> PlanWorld { PlanWorld(Array(PlanWorld.three.prefix(2))) }

/// A call over pages [a, b).
private func call(_ a: UInt64, _ b: UInt64, holes: RangeCall.Holes = .stop, growsDown: Bool = false,
                  needsRegistry: Bool = false) -> RangeCall {
    var c = RangeCall(addr: pg(a), length: (b - a) * P)
    c.holes = holes
    c.growsDown = growsDown
    c.needsRegistry = needsRegistry
    return c
}

/// mlock or munlock at (addr, length): the start rounds down, the length up.
private func mlockCall(_ addr: UInt64, _ length: UInt64, needsRegistry: Bool = true) -> RangeCall {
    var c = RangeCall(addr: addr, length: length)
    c.roundsStart = true
    c.needsRegistry = needsRegistry
    return c
}

@Suite(.everyPageSize) struct RangeCallPlanTests {
    @Test func callTouchingNoWindowIsTheKernels() {
        // rule 12: nothing to do with a window: the call as it is, nothing recorded
        let w = twoWindows()
        for c in [call(0, 16), call(32, 48), call(64, 100), call(32, 48, holes: .skip), call(0, 16, needsRegistry: true)] {
            #expect(RangeCallPlan.decide(c, w.view, w.registry) == .kernel, "\(c)")
            #expect(RangeCallPlan.decide(c, w.view, nil) == .kernel, "\(c)")
        }
    }

    @Test func argumentErrorsAreTheKernels() {
        // rule 7: the kernel's own answers come first: 0 for a zero length, EINVAL for an
        // unaligned start, ENOMEM for a range that wraps
        let w = twoWindows()
        var zero = call(20, 20)
        #expect(RangeCallPlan.decide(zero, w.view, w.registry) == .kernel)
        zero.needsRegistry = true
        #expect(RangeCallPlan.decide(zero, w.view, nil) == .kernel)
        var unaligned = call(20, 22)
        unaligned.addr += 8
        #expect(RangeCallPlan.decide(unaligned, w.view, w.registry) == .kernel)
        #expect(RangeCallPlan.decide(unaligned, w.view, nil) == .kernel)
        for length in [UInt64.max, UInt64.max - pg(20) + 1, UInt64.max - pg(20) - 100] {
            let wraps = RangeCall(addr: pg(20), length: length)
            #expect(RangeCallPlan.decide(wraps, w.view, w.registry) == .kernel, "length \(length)")
        }
    }

    @Test func allMappedIsTheWholeCall() {
        // rule 7: on mapped parts the calls work: the call as it is, recorded on each window's part
        let w = twoWindows()
        w.recordPages(20, 24)
        #expect(RangeCallPlan.decide(call(20, 24), w.view, w.registry) == .whole(lo: pg(20), hi: pg(24)))
        #expect(RangeCallPlan.decide(call(21, 22, holes: .skip), w.view, w.registry) == .whole(lo: pg(21), hi: pg(22)))
        // several mappings side by side cover the range as well
        w.recordPages(24, 26)
        #expect(RangeCallPlan.decide(call(22, 26), w.view, w.registry) == .whole(lo: pg(22), hi: pg(26)))
        // a length that is not a page multiple covers whole pages
        var c = call(20, 21)
        c.length = P + 1
        #expect(RangeCallPlan.decide(c, w.view, w.registry) == .whole(lo: pg(20), hi: pg(22)))
    }

    @Test func partsOutsideTheWindowsAreTheKernelsNotFreePages() {
        // rule 7: only free window pages behave as unmapped; outside, the kernel decides
        let w = twoWindows()
        w.recordPages(16, 18)
        w.recordPages(30, 32)
        w.recordPages(48, 50)
        #expect(RangeCallPlan.decide(call(14, 18), w.view, w.registry) == .whole(lo: pg(14), hi: pg(18)))
        #expect(RangeCallPlan.decide(call(30, 50), w.view, w.registry) == .whole(lo: pg(30), hi: pg(50)))
        #expect(RangeCallPlan.decide(call(30, 34, holes: .skip), w.view, w.registry) == .whole(lo: pg(30), hi: pg(34)))
    }

    @Test func startingOnAFreePageIsENOMEMWithNothingDone() {
        // rule 7: on free window pages the calls fail with ENOMEM (after the argument errors)
        let w = twoWindows()
        #expect(RangeCallPlan.decide(call(20, 22), w.view, w.registry)
                == .overFreePages(lo: pg(20), hi: pg(22), free: pg(20), then: .noMemory))
        w.recordPages(21, 22)
        #expect(RangeCallPlan.decide(call(20, 22), w.view, w.registry)
                == .overFreePages(lo: pg(20), hi: pg(22), free: pg(20), then: .noMemory))
        // a range that ends past the window: the first page decides
        #expect(RangeCallPlan.decide(call(30, 34), w.view, w.registry)
                == .overFreePages(lo: pg(30), hi: pg(34), free: pg(30), then: .noMemory))
    }

    @Test func mappedThenFreeActsUpToTheFirstFreePage() {
        // rule 7: mprotect, mlock, munlock, mincore and msync(MS_ASYNC) act VMA by VMA up to
        // the first free page and then fail with ENOMEM
        let w = twoWindows()
        w.recordPages(20, 22)
        #expect(RangeCallPlan.decide(call(20, 24), w.view, w.registry)
                == .overFreePages(lo: pg(20), hi: pg(24), free: pg(22), then: .upToFree))
        // outside a window first: the window's first (free) page stops it
        #expect(RangeCallPlan.decide(call(14, 18), w.view, w.registry)
                == .overFreePages(lo: pg(14), hi: pg(18), free: pg(16), then: .upToFree))
        // mapped, a gap between the windows, then W1's free pages
        w.recordPages(30, 32)
        #expect(RangeCallPlan.decide(call(30, 50), w.view, w.registry)
                == .overFreePages(lo: pg(30), hi: pg(50), free: pg(48), then: .upToFree))
        // a later free page does not matter: the first one is named
        w.recordPages(23, 24)
        #expect(RangeCallPlan.decide(call(20, 26), w.view, w.registry)
                == .overFreePages(lo: pg(20), hi: pg(26), free: pg(22), then: .upToFree))
    }

    @Test func madviseAndSyncingMsyncActOnEveryMappedRun() {
        // rule 7: madvise and msync with MS_SYNC or MS_INVALIDATE act on every mapped part
        // and then fail with ENOMEM, also when the range starts on a free page
        let w = twoWindows()
        w.recordPages(20, 21)
        w.recordPages(22, 23)
        #expect(RangeCallPlan.decide(call(20, 23, holes: .skip), w.view, w.registry)
                == .overFreePages(lo: pg(20), hi: pg(23), free: pg(21), then: .eachMappedRun))
        #expect(RangeCallPlan.decide(call(18, 23, holes: .skip), w.view, w.registry)
                == .overFreePages(lo: pg(18), hi: pg(23), free: pg(18), then: .eachMappedRun))
        #expect(RangeCallPlan.decide(call(24, 26, holes: .skip), w.view, w.registry)
                == .overFreePages(lo: pg(24), hi: pg(26), free: pg(24), then: .eachMappedRun))
    }

    @Test func growsDownStartingOnAFreePageStartsAtTheFirstMappedPage() {
        // rule 7: mprotect with PROT_GROWSDOWN starts at the first VMA of the range (the kernel
        // then refuses one that does not grow down); none in the range: ENOMEM
        let w = twoWindows()
        w.recordPages(22, 24)
        #expect(RangeCallPlan.decide(call(20, 24, growsDown: true), w.view, w.registry)
                == .overFreePages(lo: pg(20), hi: pg(24), free: pg(20), then: .fromFirstMapped(pg(22))))
        #expect(RangeCallPlan.decide(call(18, 21, growsDown: true), w.view, w.registry)
                == .overFreePages(lo: pg(18), hi: pg(21), free: pg(18), then: .noMemory))
        // starting on a mapped page: up to the first free page, as without PROT_GROWSDOWN
        #expect(RangeCallPlan.decide(call(22, 26, growsDown: true), w.view, w.registry)
                == .overFreePages(lo: pg(22), hi: pg(26), free: pg(24), then: .upToFree))
        // free to the window's top: the first page the kernel knows is outside the window
        #expect(RangeCallPlan.decide(call(30, 34, growsDown: true), w.view, w.registry)
                == .overFreePages(lo: pg(30), hi: pg(34), free: pg(30), then: .fromFirstMapped(pg(32))))
        // without PROT_GROWSDOWN the same call is ENOMEM
        #expect(RangeCallPlan.decide(call(20, 24), w.view, w.registry)
                == .overFreePages(lo: pg(20), hi: pg(24), free: pg(20), then: .noMemory))
    }

    @Test func mlockRoundsTheStartDownAndTheLengthUpOverIt() {
        // rule 7 for mlock, mlock2 and munlock: they round as the kernel does
        let w = twoWindows()
        w.recordPages(20, 21)
        // (addr, 0) with addr unaligned is addr's page (measured on Linux 6.18: mlock of an
        // unmapped page's address + 16 with length 0 fails with ENOMEM)
        #expect(RangeCallPlan.decide(mlockCall(pg(20) + 16, 0), w.view, w.registry) == .whole(lo: pg(20), hi: pg(21)))
        #expect(RangeCallPlan.decide(mlockCall(pg(21) + 16, 0), w.view, w.registry)
                == .overFreePages(lo: pg(21), hi: pg(22), free: pg(21), then: .noMemory))
        // (addr, 0) with addr aligned does nothing: the kernel's 0
        #expect(RangeCallPlan.decide(mlockCall(pg(21), 0), w.view, w.registry) == .kernel)
        // the length counts from the rounded start
        #expect(RangeCallPlan.decide(mlockCall(pg(20) + 16, P - 16), w.view, w.registry) == .whole(lo: pg(20), hi: pg(21)))
        #expect(RangeCallPlan.decide(mlockCall(pg(20) + 16, P - 15), w.view, w.registry)
                == .overFreePages(lo: pg(20), hi: pg(22), free: pg(21), then: .upToFree))
        // without roundsStart, an unaligned start is the kernel's EINVAL
        var mprotect = mlockCall(pg(20) + 16, P)
        mprotect.roundsStart = false
        #expect(RangeCallPlan.decide(mprotect, w.view, w.registry) == .kernel)
    }

    @Test func mlockLengthNear2To64WrapsToOnePage() {
        // rule 7: the kernel's rounding wraps (measured on Linux 6.18: mlock(addr + 16,
        // UINT64_MAX) acts on addr's page alone; mlock(addr, UINT64_MAX - 4095) is EINVAL)
        let w = twoWindows()
        w.recordPages(20, 21)
        #expect(RangeCallPlan.decide(mlockCall(pg(20) + 16, UInt64.max), w.view, w.registry) == .whole(lo: pg(20), hi: pg(21)))
        #expect(RangeCallPlan.decide(mlockCall(pg(21) + 16, UInt64.max), w.view, w.registry)
                == .overFreePages(lo: pg(21), hi: pg(22), free: pg(21), then: .noMemory))
        // the largest start offset wraps to one page as well
        #expect(RangeCallPlan.decide(mlockCall(pg(20) + P - 1, UInt64.max), w.view, w.registry) == .whole(lo: pg(20), hi: pg(21)))
        // rounds to exactly 2^64: nothing to do, the kernel's 0
        #expect(RangeCallPlan.decide(mlockCall(pg(20), UInt64.max - P + 2), w.view, w.registry) == .kernel)
        #expect(RangeCallPlan.decide(mlockCall(pg(20) + 16, UInt64.max - P - 14), w.view, w.registry) == .kernel)
        // does not wrap but the end overflows: the kernel's EINVAL
        #expect(RangeCallPlan.decide(mlockCall(pg(20), UInt64.max - P + 1), w.view, w.registry) == .kernel)
    }

    @Test func fromASignalHandlerTheCallIsWholeOrRefused() {
        // rule 7 from a signal handler that interrupted the engine: free pages cannot be
        // checked; the call is made as it is (what it made of free pages is undone when the
        // engine applies the deferred entry), except a call that could harm the window
        // (mlock would lock the reservation): EAGAIN
        let w = twoWindows()
        #expect(RangeCallPlan.decide(call(20, 24), w.view, nil) == .whole(lo: pg(20), hi: pg(24)))
        #expect(RangeCallPlan.decide(call(14, 50, holes: .skip), w.view, nil) == .whole(lo: pg(14), hi: pg(50)))
        #expect(RangeCallPlan.decide(call(20, 24, needsRegistry: true), w.view, nil) == .fail(.again))
        #expect(RangeCallPlan.decide(mlockCall(pg(20) + 16, 0), w.view, nil) == .fail(.again))
        // not touching a window, or the kernel's own answer: no refusal
        #expect(RangeCallPlan.decide(mlockCall(pg(0), P), w.view, nil) == .kernel)
        #expect(RangeCallPlan.decide(mlockCall(pg(20), 0), w.view, nil) == .kernel)
        // under the lock, needsRegistry changes nothing
        w.recordPages(20, 24)
        #expect(RangeCallPlan.decide(call(20, 24, needsRegistry: true), w.view, w.registry) == .whole(lo: pg(20), hi: pg(24)))
    }
}
