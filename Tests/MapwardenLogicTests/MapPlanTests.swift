import Testing
@testable import MapwardenLogic

// MapPlan.decide and MapPlan.alloc: rules 2, 3, 4, 5, 12 and 13 of
// docs/guarantees.md. The window is W0 = pages [16, 32) unless a test says
// otherwise (PlanTestSupport.swift); "the kernel's" means the plan leaves
// the call, exactly as made, to the kernel (.kernel). `offset` is the
// request's offset advanced to the window part's first page, for anonymous
// requests too (as the engine records it today).

private var P: UInt64 { PlanWorld.P }
private let MiB: UInt64 = 1 << 20
private let GiB: UInt64 = 1 << 30
private func pg(_ n: UInt64) -> UInt64 { PlanWorld.page(n) }

/// MAP_FIXED (or MAP_FIXED_NOREPLACE) over pages [a, b).
private func fixedPages(_ a: UInt64, _ b: UInt64, noReplace: Bool = false, anonymous: Bool = true,
                        offset: UInt64 = 0) -> MapRequest {
    var r = MapRequest(addr: pg(a), length: (b - a) * P)
    r.fixed = true
    r.noReplace = noReplace
    r.anonymous = anonymous
    r.offset = offset
    return r
}

/// A hint (no MAP_FIXED) at addr for length bytes.
private func hintAt(_ addr: UInt64, _ length: UInt64, anonymous: Bool = true, offset: UInt64 = 0) -> MapRequest {
    var r = MapRequest(addr: addr, length: length)
    r.anonymous = anonymous
    r.offset = offset
    return r
}

/// A hint over pages [a, b).
private func hintPages(_ a: UInt64, _ b: UInt64, anonymous: Bool = true, offset: UInt64 = 0) -> MapRequest {
    hintAt(pg(a), (b - a) * P, anonymous: anonymous, offset: offset)
}

@Suite(.everyPageSize) struct MapPlanTests {
    // MARK: The kernel's own argument errors, and calls far from every window

    @Test func zeroLengthIsLeftToTheKernelsEINVAL() {
        // rule 3: the kernel's argument errors come first (mmap of length 0 is EINVAL)
        let w = PlanWorld()
        for r in [fixedPages(20, 20), fixedPages(20, 20, noReplace: true), hintPages(20, 20)] {
            #expect(MapPlan.decide(r, w.view, w.registry) == .kernel)
            #expect(MapPlan.decide(r, w.view, nil) == .kernel)
        }
    }

    @Test func lengthThatOverflowsIsLeftToTheKernelsENOMEM() {
        // rule 3: a length past the address space is the kernel's ENOMEM
        let w = PlanWorld()
        for length in [UInt64.max, UInt64.max - pg(20) + 1, UInt64.max - pg(20) - 100] {
            var fixed = MapRequest(addr: pg(20), length: length)
            fixed.fixed = true
            #expect(MapPlan.decide(fixed, w.view, w.registry) == .kernel, "length \(length)")
            #expect(MapPlan.decide(hintAt(pg(20), length), w.view, w.registry) == .kernel, "length \(length)")
        }
    }

    @Test func unalignedFixedAddressIsLeftToTheKernelsEINVAL() {
        // rule 2: MAP_FIXED at an unaligned address is the kernel's EINVAL, nothing changed
        let w = PlanWorld()
        for noReplace in [false, true] {
            var r = fixedPages(20, 22, noReplace: noReplace)
            r.addr += 1
            #expect(MapPlan.decide(r, w.view, w.registry) == .kernel)
            r.addr += P / 2
            #expect(MapPlan.decide(r, w.view, nil) == .kernel)
        }
    }

    @Test func mmapOfNullNeverLandsInTheWindow() {
        // rule 5: mmap(NULL, ...) is the kernel's, which places it outside the (reserved) window
        let w = PlanWorld()
        for length in [P, 1 * GiB, pg(15)] {
            #expect(MapPlan.decide(hintAt(0, length), w.view, w.registry) == .kernel)
            #expect(MapPlan.decide(hintAt(0, length), w.view, nil) == .kernel)
        }
    }

    @Test func callsThatTouchNoWindowAreTheKernels() {
        // rule 12: nothing to do with a window, the call as it is
        let w = PlanWorld(PlanWorld.three)
        let requests = [fixedPages(0, 16), fixedPages(32, 48, noReplace: true), fixedPages(96, 200),
                        hintPages(0, 16), hintPages(64, 80), fixedPages(64, 80, anonymous: false)]
        for r in requests {
            #expect(MapPlan.decide(r, w.view, w.registry) == .kernel, "\(r)")
            #expect(MapPlan.decide(r, w.view, nil) == .kernel, "\(r)")
        }
    }

    // MARK: Hints (rule 4)

    @Test func hintOnFreeWindowPagesIsPlacedThereOrElsewhereOnFailure() {
        // rule 4: a hint in the window is placed exactly at the hint when the range is free;
        // if the kernel then fails, it places the call as it places any unsatisfiable hint
        let w = PlanWorld()
        #expect(MapPlan.decide(hintPages(20, 22), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22), onFailure: .placeElsewhere)))
        // the whole window
        #expect(MapPlan.decide(hintPages(16, 32), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(16), end: pg(32), lo: pg(16), hi: pg(32), onFailure: .placeElsewhere)))
    }

    @Test func unalignedHintRoundsDownAsX86_64Does() {
        // rule 4: the (page-aligned) hint: x86-64 rounds an unaligned hint down
        // (measured on Linux 6.18: a free hint at 0x50100800 is placed at 0x50100000)
        let w = PlanWorld()
        let page20 = InPlaceMap(window: 0, start: pg(20), end: pg(21), lo: pg(20), hi: pg(21), onFailure: .placeElsewhere)
        #expect(MapPlan.decide(hintAt(pg(20) + 0x800, P), w.view, w.registry) == .place(page20))
        #expect(MapPlan.decide(hintAt(pg(20) + 1, 1), w.view, w.registry) == .place(page20))
        // the length rounds up to whole pages, from the rounded-down start
        #expect(MapPlan.decide(hintAt(pg(20), P + 1), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22), onFailure: .placeElsewhere)))
    }

    @Test func unalignedHintWhoseRoundedRangeEndsAtTheWindowIsTheKernels() {
        // rule 5: (hint + len) rounded reaches page 16, but the mapping the kernel
        // makes, [15, 16), lies below the window: nothing of it is the window's
        let w = PlanWorld()
        #expect(MapPlan.decide(hintAt(pg(15) + 0x800, P), w.view, w.registry) == .kernel)
    }

    @Test func hintOverARecordedMappingIsLeftToTheKernel() {
        // rule 4: otherwise the kernel places it, outside the window, never over a live mapping
        let w = PlanWorld()
        w.recordPages(21, 22)
        #expect(MapPlan.decide(hintPages(20, 23), w.view, w.registry) == .kernel)
        #expect(MapPlan.decide(hintPages(21, 22), w.view, w.registry) == .kernel)
        #expect(MapPlan.decide(hintAt(pg(21) + 0x800, 1), w.view, w.registry) == .kernel)
        // next to it is free
        #expect(MapPlan.decide(hintPages(22, 24), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(22), end: pg(24), lo: pg(22), hi: pg(24), onFailure: .placeElsewhere)))
        // straddling the window's edge, with the window's part taken
        w.recordPages(16, 17)
        #expect(MapPlan.decide(hintPages(14, 18), w.view, w.registry) == .kernel)
    }

    @Test func hintRunningPastAWindowEdgeClaimsThePagesOutside() {
        // rule 4: placed at the hint when the pages on both sides are free (the part
        // outside is claimed with MAP_FIXED_NOREPLACE first); the window part is recorded
        let w = PlanWorld()
        #expect(MapPlan.decide(hintPages(14, 18), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(14), end: pg(18), lo: pg(16), hi: pg(18), claimBelow: true,
                                     onFailure: .placeElsewhere, offset: 2 * P)))
        #expect(MapPlan.decide(hintPages(30, 34), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(30), end: pg(34), lo: pg(30), hi: pg(32), claimAbove: true,
                                     onFailure: .placeElsewhere)))
        #expect(MapPlan.decide(hintPages(10, 40), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(10), end: pg(40), lo: pg(16), hi: pg(32), claimBelow: true,
                                     claimAbove: true, onFailure: .placeElsewhere, offset: 6 * P)))
    }

    @Test func hintRunningIntoASecondWindowIsLeftToTheKernel() {
        // rule 4: a hint whose range runs into a second window is placed elsewhere (one
        // mapping lives in one window): the kernel places it, outside the windows
        let w = PlanWorld(PlanWorld.three)
        #expect(MapPlan.decide(hintPages(30, 50), w.view, w.registry) == .kernel)
        // adjacent windows
        let adjacent = PlanWorld([Window(base: pg(16), size: 16 * P), Window(base: pg(32), size: 16 * P)])
        #expect(MapPlan.decide(hintPages(30, 34), adjacent.view, adjacent.registry) == .kernel)
    }

    @Test func hugetlbGrowsDownAndHugePageHintsAreLeftToTheKernel() {
        // rule 4: MAP_HUGETLB and MAP_GROWSDOWN hints are left to the kernel (a MAP_FIXED
        // would change their meaning); so is a hint mapping a file on hugetlbfs
        let w = PlanWorld()
        var huge = hintPages(16, 32)
        huge.hugetlb = true
        huge.hugePageSize = 2 * MiB
        #expect(MapPlan.decide(huge, w.view, w.registry) == .kernel)
        var grows = hintPages(20, 22)
        grows.growsDown = true
        #expect(MapPlan.decide(grows, w.view, w.registry) == .kernel)
        var hugetlbfs = hintPages(16, 32, anonymous: false)
        hugetlbfs.hugePageSize = 2 * MiB
        #expect(MapPlan.decide(hugetlbfs, w.view, w.registry) == .kernel)
    }

    @Test func map32BitHintIsPlacedWhenItEndsAtOrBelow2GiB() {
        // rule 4: MAP_32BIT hints are served in place when the range ends at or below 2 GiB
        let twoG: UInt64 = 0x8000_0000
        let w = PlanWorld([Window(base: 0x7000_0000, size: 0x2000_0000)]) // 1.75 GiB to 2.25 GiB
        var low = hintAt(twoG - 2 * P, 2 * P)
        low.below2GiB = true
        #expect(MapPlan.decide(low, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: twoG - 2 * P, end: twoG, lo: twoG - 2 * P, hi: twoG,
                                     onFailure: .placeElsewhere)))
        // one page further it ends past 2 GiB: the kernel places it below 2 GiB
        var high = hintAt(twoG - P, 2 * P)
        high.below2GiB = true
        #expect(MapPlan.decide(high, w.view, w.registry) == .kernel)
        high.addr = twoG
        #expect(MapPlan.decide(high, w.view, w.registry) == .kernel)
        // without MAP_32BIT the same hint is placed
        #expect(MapPlan.decide(hintAt(twoG - P, 2 * P), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: twoG - P, end: twoG + P, lo: twoG - P, hi: twoG + P,
                                     onFailure: .placeElsewhere)))
        // unaligned: rounded down, as Linux 6.18 does for MAP_32BIT too (measured with 4 KiB
        // pages: 0x7FFFE800 -> 0x7fffe000)
        var unaligned = hintAt(twoG - 2 * P + 0x800, P)
        unaligned.below2GiB = true
        #expect(MapPlan.decide(unaligned, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: twoG - 2 * P, end: twoG - P, lo: twoG - 2 * P, hi: twoG - P,
                                     onFailure: .placeElsewhere)))
    }

    @Test func hintFromASignalHandlerIsLeftToTheKernel() {
        // rule 4: without the registry the plan cannot know the range is free: the kernel
        // places the hint, outside the window, which is reserved
        let w = PlanWorld()
        #expect(MapPlan.decide(hintPages(20, 22), w.view, nil) == .kernel)
        #expect(MapPlan.decide(hintPages(14, 18), w.view, nil) == .kernel)
    }

    @Test func hintInAFileBackedWindowMapsTheWindowsFileOnlyInside() {
        // rule 4 with docs/choices.md: an anonymous hint in a shared or persistent window maps
        // the window's file; that file cannot back pages outside the window, so an anonymous
        // hint across the edge is left to the kernel. A file's own mapping may cross it.
        let w = PlanWorld(fileBacked: 1)
        #expect(MapPlan.decide(hintPages(20, 22), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22), windowFile: true,
                                     onFailure: .placeElsewhere)))
        #expect(MapPlan.decide(hintPages(14, 18), w.view, w.registry) == .kernel)
        #expect(MapPlan.decide(hintPages(30, 34), w.view, w.registry) == .kernel)
        #expect(MapPlan.decide(hintPages(20, 22, anonymous: false), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22), onFailure: .placeElsewhere)))
        #expect(MapPlan.decide(hintPages(14, 18, anonymous: false, offset: 8 * P), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(14), end: pg(18), lo: pg(16), hi: pg(18), claimBelow: true,
                                     onFailure: .placeElsewhere, offset: 10 * P)))
    }

    @Test func hintRecordsTheFileOffsetOfTheWindowPart() {
        // rule 4: the window part is recorded, with the file offset of its first page
        let w = PlanWorld()
        #expect(MapPlan.decide(hintPages(12, 20, anonymous: false, offset: 0x10_0000), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(12), end: pg(20), lo: pg(16), hi: pg(20), claimBelow: true,
                                     onFailure: .placeElsewhere, offset: 0x10_0000 + 4 * P)))
    }

    // MARK: MAP_FIXED (rule 2)

    @Test func fixedInsideTheWindowIsServedInPlaceAndRecorded() {
        // rule 2: MAP_FIXED inside the window is served in place and recorded; a failure is the
        // call's answer (after the window part is repaired, rule 9)
        let w = PlanWorld()
        #expect(MapPlan.decide(fixedPages(20, 22), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22))))
        // a length that is not a page multiple: whole pages
        var r = fixedPages(20, 21)
        r.length = P + 1
        #expect(MapPlan.decide(r, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22))))
        // a file mapping keeps its offset
        #expect(MapPlan.decide(fixedPages(20, 22, anonymous: false, offset: 3 * P), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22), offset: 3 * P)))
    }

    @Test func fixedOverARecordedMappingReplacesIt() {
        // rule 2: MAP_FIXED replaces what was there, as Linux does
        let w = PlanWorld()
        w.recordPages(20, 22)
        #expect(MapPlan.decide(fixedPages(19, 23), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(19), end: pg(23), lo: pg(19), hi: pg(23))))
    }

    @Test func fixedStraddlingAnEdgeIsServedWholeAndItsWindowPartRecorded() {
        // rule 2: a MAP_FIXED that straddles a window edge is served as the kernel would serve it
        // (one MAP_FIXED over the whole range, nothing claimed), and its in-window part is recorded
        let w = PlanWorld()
        #expect(MapPlan.decide(fixedPages(14, 18), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(14), end: pg(18), lo: pg(16), hi: pg(18), offset: 2 * P)))
        #expect(MapPlan.decide(fixedPages(30, 34, anonymous: false, offset: 0x20_0000), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(30), end: pg(34), lo: pg(30), hi: pg(32), offset: 0x20_0000)))
        #expect(MapPlan.decide(fixedPages(10, 40, anonymous: false, offset: 0x20_0000), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(10), end: pg(40), lo: pg(16), hi: pg(32), offset: 0x20_0000 + 6 * P)))
    }

    @Test func fixedInTheSecondWindowIsPlannedForIt() {
        // rule 2, for every window
        let w = PlanWorld(PlanWorld.three)
        #expect(MapPlan.decide(fixedPages(50, 52), w.view, w.registry)
                == .place(InPlaceMap(window: 1, start: pg(50), end: pg(52), lo: pg(50), hi: pg(52))))
        #expect(MapPlan.decide(fixedPages(90, 100), w.view, w.registry)
                == .place(InPlaceMap(window: 2, start: pg(90), end: pg(100), lo: pg(90), hi: pg(96))))
    }

    @Test func fixedTouchingTwoWindowsIsEINVAL() {
        // rule 2 with docs/choices.md: one mapping lives in one window
        let w = PlanWorld(PlanWorld.three)
        #expect(MapPlan.decide(fixedPages(30, 50), w.view, w.registry) == .fail(.invalid))
        #expect(MapPlan.decide(fixedPages(0, 200, anonymous: false), w.view, w.registry) == .fail(.invalid))
        #expect(MapPlan.decide(fixedPages(30, 50, noReplace: true), w.view, w.registry) == .fail(.invalid))
        #expect(MapPlan.decide(fixedPages(30, 50), w.view, nil) == .fail(.invalid))
        let adjacent = PlanWorld([Window(base: pg(16), size: 16 * P), Window(base: pg(32), size: 16 * P)])
        #expect(MapPlan.decide(fixedPages(31, 33), adjacent.view, adjacent.registry) == .fail(.invalid))
        #expect(MapPlan.decide(fixedPages(31, 32), adjacent.view, adjacent.registry)
                == .place(InPlaceMap(window: 0, start: pg(31), end: pg(32), lo: pg(31), hi: pg(32))))
    }

    @Test func anonymousFixedInAFileBackedWindowMapsTheWindowsFile() {
        // rule 2 with docs/choices.md: an anonymous request in a shared or persistent window
        // maps the window's file; a file's own mapping does not
        let w = PlanWorld(PlanWorld.three, fileBacked: 0b010) // W1 only
        #expect(MapPlan.decide(fixedPages(50, 52), w.view, w.registry)
                == .place(InPlaceMap(window: 1, start: pg(50), end: pg(52), lo: pg(50), hi: pg(52), windowFile: true)))
        #expect(MapPlan.decide(fixedPages(50, 52, anonymous: false), w.view, w.registry)
                == .place(InPlaceMap(window: 1, start: pg(50), end: pg(52), lo: pg(50), hi: pg(52))))
        #expect(MapPlan.decide(fixedPages(20, 22), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22))))
        #expect(MapPlan.decide(fixedPages(50, 52, noReplace: true), w.view, w.registry)
                == .place(InPlaceMap(window: 1, start: pg(50), end: pg(52), lo: pg(50), hi: pg(52), windowFile: true)))
    }

    @Test func anonymousFixedAtTheEdgeOfAFileBackedWindowIsEINVAL() {
        // rule 2: except an anonymous one at the edge of a shared or persistent window,
        // which fails with EINVAL (the window's file cannot back what lies outside it)
        let w = PlanWorld(fileBacked: 1)
        #expect(MapPlan.decide(fixedPages(14, 18), w.view, w.registry) == .fail(.invalid))
        #expect(MapPlan.decide(fixedPages(30, 34), w.view, w.registry) == .fail(.invalid))
        #expect(MapPlan.decide(fixedPages(30, 34, noReplace: true), w.view, w.registry) == .fail(.invalid))
        #expect(MapPlan.decide(fixedPages(14, 18), w.view, nil) == .fail(.invalid))
        // a file mapping across the same edge is served
        #expect(MapPlan.decide(fixedPages(14, 18, anonymous: false), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(14), end: pg(18), lo: pg(16), hi: pg(18), offset: 2 * P)))
    }

    @Test func unalignedFileOffsetIsTheKernelsEINVALBeforeAnything() {
        // rule 3: the kernel refuses an unaligned offset before anything else (the call as it
        // is: EINVAL, nothing changed), before a range past user space or any window rule
        let space = PlanWorld.space
        let top = PlanWorld([Window(base: space.userEnd - 16 * P, size: 16 * P)])
        var r = MapRequest(addr: space.userEnd - 2 * P, length: 4 * P)
        r.fixed = true
        r.anonymous = false
        r.offset = 1
        #expect(MapPlan.decide(r, top.view, top.registry) == .kernel)
        r.noReplace = true
        #expect(MapPlan.decide(r, top.view, top.registry) == .kernel)
        #expect(MapPlan.decide(r, top.view, nil) == .kernel)
        // inside the window, far from the end of user space
        let w = PlanWorld()
        #expect(MapPlan.decide(fixedPages(20, 22, anonymous: false, offset: P + 8), w.view, w.registry) == .kernel)
        #expect(MapPlan.decide(fixedPages(20, 22, anonymous: false, offset: UInt64(bitPattern: -1)), w.view, w.registry)
                == .kernel)
    }

    @Test func fixedPastTheEndOfUserSpaceIsTheKernelsAnswer() {
        // rule 3: a length past the address space is the kernel's ENOMEM (the call as it is,
        // which fails before it touches anything), before EEXIST
        let space = PlanWorld.space
        let top = PlanWorld([Window(base: space.userEnd - 16 * P, size: 16 * P)])
        top.record(space.userEnd - 2 * P, space.userEnd)
        var r = MapRequest(addr: space.userEnd - 2 * P, length: 4 * P)
        r.fixed = true
        #expect(MapPlan.decide(r, top.view, top.registry) == .kernel)
        r.noReplace = true
        #expect(MapPlan.decide(r, top.view, top.registry) == .kernel)
        #expect(MapPlan.decide(r, top.view, nil) == .kernel)
        // up to the end exactly is served
        r.noReplace = false
        r.length = 2 * P
        #expect(MapPlan.decide(r, top.view, top.registry)
                == .place(InPlaceMap(window: 0, start: space.userEnd - 2 * P, end: space.userEnd,
                                     lo: space.userEnd - 2 * P, hi: space.userEnd)))
    }

    @Test func fixedFromASignalHandlerIsPlannedAsUnderTheLock() {
        // rule 2 (and issue 11): the signal-handler path executes the same plan; plain
        // MAP_FIXED needs no registry
        let w = PlanWorld(PlanWorld.three, fileBacked: 0b100)
        w.recordPages(20, 22)
        let requests = [fixedPages(20, 22), fixedPages(14, 18), fixedPages(30, 34, anonymous: false, offset: 4 * P),
                        fixedPages(82, 84), fixedPages(82, 84, anonymous: false)]
        for r in requests {
            let locked = MapPlan.decide(r, w.view, w.registry)
            #expect(MapPlan.decide(r, w.view, nil) == locked, "\(r)")
            if case .place = locked {} else { Issue.record("\(r): \(locked)") }
        }
    }

    // MARK: MAP_FIXED_NOREPLACE (rule 3)

    @Test func noReplaceOverARecordedMappingProbesThenFailsEEXIST() {
        // rule 3: EEXIST when a recorded mapping overlaps, after the kernel's own argument
        // errors: the call as it is (which the reservation makes fail) gives those
        let w = PlanWorld()
        w.recordPages(20, 22)
        #expect(MapPlan.decide(fixedPages(21, 23, noReplace: true), w.view, w.registry) == .probeThenExists)
        #expect(MapPlan.decide(fixedPages(18, 21, noReplace: true), w.view, w.registry) == .probeThenExists)
        #expect(MapPlan.decide(fixedPages(14, 34, noReplace: true, anonymous: false), w.view, w.registry) == .probeThenExists)
        var tiny = fixedPages(21, 22, noReplace: true)
        tiny.length = 1
        #expect(MapPlan.decide(tiny, w.view, w.registry) == .probeThenExists)
    }

    @Test func noReplaceOverFreeWindowPagesIsServedInPlace() {
        // rule 3: succeeds exactly when no recorded mapping overlaps (the reservation is not
        // an occupant); right next to a mapping is no overlap
        let w = PlanWorld()
        w.recordPages(20, 22)
        #expect(MapPlan.decide(fixedPages(22, 24, noReplace: true), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(22), end: pg(24), lo: pg(22), hi: pg(24))))
        #expect(MapPlan.decide(fixedPages(18, 20, noReplace: true), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(18), end: pg(20), lo: pg(18), hi: pg(20))))
    }

    @Test func noReplaceAcrossAnEdgeClaimsThePartsOutsideFirst() {
        // rule 3: outside the window the kernel decides: the parts outside are claimed with
        // MAP_FIXED_NOREPLACE before the window part is mapped
        let w = PlanWorld()
        #expect(MapPlan.decide(fixedPages(14, 18, noReplace: true), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(14), end: pg(18), lo: pg(16), hi: pg(18), claimBelow: true,
                                     offset: 2 * P)))
        #expect(MapPlan.decide(fixedPages(30, 34, noReplace: true), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(30), end: pg(34), lo: pg(30), hi: pg(32), claimAbove: true)))
        #expect(MapPlan.decide(fixedPages(10, 40, noReplace: true, anonymous: false, offset: 0), w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(10), end: pg(40), lo: pg(16), hi: pg(32), claimBelow: true,
                                     claimAbove: true, offset: 6 * P)))
    }

    @Test func noReplaceFromASignalHandlerIsEEXISTAfterTheArgumentChecksItCanMake() {
        // rule 3 from a signal handler that interrupted the engine: the registry cannot be
        // read, so a NOREPLACE touching a window is refused with EEXIST; the argument errors
        // the plan can see come first
        let w = PlanWorld()
        #expect(MapPlan.decide(fixedPages(20, 22, noReplace: true), w.view, nil) == .fail(.exists))
        #expect(MapPlan.decide(fixedPages(14, 18, noReplace: true), w.view, nil) == .fail(.exists))
        #expect(MapPlan.decide(fixedPages(20, 20, noReplace: true), w.view, nil) == .kernel)
        #expect(MapPlan.decide(fixedPages(20, 22, noReplace: true, anonymous: false, offset: 7), w.view, nil) == .kernel)
        // not touching a window: the kernel's
        #expect(MapPlan.decide(fixedPages(0, 4, noReplace: true), w.view, nil) == .kernel)
    }

    @Test func sharedValidateFileNoReplaceIsRefusedEOPNOTSUPPOnceThePartsOutsideAreKnownFree() {
        // rule 3: MAP_SHARED_VALIDATE checks a file mapping's flags after the range, and
        // refuses MAP_FIXED_NOREPLACE among them (EEXIST comes first)
        let w = PlanWorld()
        var r = fixedPages(30, 34, noReplace: true, anonymous: false)
        r.validatesFlags = true
        #expect(MapPlan.decide(r, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(30), end: pg(34), lo: pg(30), hi: pg(32), claimAbove: true,
                                     refuse: .notSupported)))
        // anonymous MAP_SHARED_VALIDATE validates nothing
        var anon = fixedPages(20, 22, noReplace: true)
        anon.validatesFlags = true
        #expect(MapPlan.decide(anon, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22))))
        // plain MAP_FIXED has no flag to refuse
        var plain = fixedPages(20, 22, anonymous: false)
        plain.validatesFlags = true
        #expect(MapPlan.decide(plain, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22))))
        // over a recorded mapping: EEXIST first
        w.recordPages(30, 31)
        #expect(MapPlan.decide(r, w.view, w.registry) == .probeThenExists)
    }

    // MARK: Huge pages near a window (rule 13)

    @Test func hugetlbFixedJustBelowAWindowReachesIntoItByWholeHugePages() {
        // rule 13: the kernel maps (and, failing, unmaps) whole huge pages, so a
        // MAP_FIXED|MAP_HUGETLB just below a window can reach into it: rounded as the kernel does
        let h = PlanWorld.origin // 1 GiB aligned
        let w = PlanWorld([Window(base: h + P, size: 16 * MiB)])
        var r = MapRequest(addr: h, length: P)
        r.fixed = true
        r.hugetlb = true
        r.hugePageSize = 2 * MiB
        #expect(MapPlan.decide(r, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: h, end: h + 2 * MiB, lo: h + P, hi: h + 2 * MiB, offset: P)))
        // the same with ordinary pages ends at the window's base: the kernel's
        var small = r
        small.hugetlb = false
        small.hugePageSize = 0
        #expect(MapPlan.decide(small, w.view, w.registry) == .kernel)
        // a file on hugetlbfs rounds alike
        var file = r
        file.hugetlb = false
        file.anonymous = false
        file.offset = 4 * MiB
        #expect(MapPlan.decide(file, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: h, end: h + 2 * MiB, lo: h + P, hi: h + 2 * MiB, offset: 4 * MiB + P)))
        // the signal-handler path rounds the same way
        #expect(MapPlan.decide(r, w.view, nil) == MapPlan.decide(r, w.view, w.registry))
        #expect(MapPlan.decide(file, w.view, nil) == MapPlan.decide(file, w.view, w.registry))
    }

    @Test func gigantic1GiBHugePagesRoundToTheGiB() {
        // rule 13: any huge page size, up to 1 GiB
        let g = PlanWorld.origin
        let w = PlanWorld([Window(base: g + 512 * MiB, size: GiB)])
        var r = MapRequest(addr: g, length: 2 * MiB)
        r.fixed = true
        r.hugetlb = true
        r.hugePageSize = GiB
        #expect(MapPlan.decide(r, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: g, end: g + GiB, lo: g + 512 * MiB, hi: g + GiB, offset: 512 * MiB)))
        r.hugePageSize = 2 * MiB
        #expect(MapPlan.decide(r, w.view, w.registry) == .kernel)
    }

    @Test func hugePageRoundingFollowsTheWindowRules() {
        // rule 13 with rule 2: the rounded range is the mapping's range. A huge page
        // of 512 pages (2 MiB with 4 KiB pages) reaches past all three windows.
        let huge = 512 * P
        var r = MapRequest(addr: PlanWorld.origin, length: P)
        r.fixed = true
        r.hugetlb = true
        r.hugePageSize = huge
        // the rounded range covers all of W0 (pages 16 to 32)
        let one = PlanWorld()
        #expect(MapPlan.decide(r, one.view, one.registry)
                == .place(InPlaceMap(window: 0, start: PlanWorld.origin, end: PlanWorld.origin + huge,
                                     lo: pg(16), hi: pg(32), offset: 16 * P)))
        // ... and touches all three windows: one mapping lives in one window
        let three = PlanWorld(PlanWorld.three)
        #expect(MapPlan.decide(r, three.view, three.registry) == .fail(.invalid))
        // NOREPLACE over a recorded mapping the rounding reaches
        one.recordPages(30, 31)
        r.noReplace = true
        #expect(MapPlan.decide(r, one.view, one.registry) == .probeThenExists)
        // a rounded end that overflows is the kernel's
        var top = MapRequest(addr: 0xFFFF_FFFF_FFE0_0000, length: P)
        top.fixed = true
        top.hugetlb = true
        top.hugePageSize = 2 * MiB
        #expect(MapPlan.decide(top, PlanWorld([Window(base: 0xFFFF_FFFF_FFE0_0000, size: 16 * P)]).view, nil) == .kernel)
    }

    // MARK: mapwarden_alloc (rules 2 and 3: a MAP_FIXED_NOREPLACE at the first fit)

    @Test func allocTakesTheFirstFreeRangeOfTheWindow() {
        // rule 3: alloc maps with MAP_FIXED_NOREPLACE where the registry has room
        let w = PlanWorld()
        #expect(MapPlan.alloc(window: 0, size: 2 * P, align: 0, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(16), end: pg(18), lo: pg(16), hi: pg(18))))
        w.recordPages(16, 18)
        w.recordPages(19, 20)
        #expect(MapPlan.alloc(window: 0, size: P, align: 1, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(18), end: pg(19), lo: pg(18), hi: pg(19))))
        // a size that is not a page multiple takes whole pages; the one-page hole is too small
        #expect(MapPlan.alloc(window: 0, size: P + 1, align: P, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(22), lo: pg(20), hi: pg(22))))
    }

    @Test func allocAlignsTheStart() {
        // rule 3: alloc's range is aligned as asked (at least to a page)
        let w = PlanWorld()
        w.recordPages(16, 17)
        #expect(MapPlan.alloc(window: 0, size: P, align: 8 * P, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(24), end: pg(25), lo: pg(24), hi: pg(25))))
        #expect(MapPlan.alloc(window: 0, size: P, align: 16, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(17), end: pg(18), lo: pg(17), hi: pg(18))))
    }

    @Test func allocInAFileBackedWindowMapsTheWindowsFile() {
        // rule 2 with docs/choices.md: alloc is an anonymous request
        let w = PlanWorld(PlanWorld.three, fileBacked: 0b010)
        #expect(MapPlan.alloc(window: 1, size: P, align: P, w.view, w.registry)
                == .place(InPlaceMap(window: 1, start: pg(48), end: pg(49), lo: pg(48), hi: pg(49), windowFile: true)))
        #expect(MapPlan.alloc(window: 2, size: P, align: P, w.view, w.registry)
                == .place(InPlaceMap(window: 2, start: pg(80), end: pg(81), lo: pg(80), hi: pg(81))))
    }

    @Test func allocWithoutRoomIsENOMEM() {
        let w = PlanWorld()
        // the whole window fits, one page more does not
        #expect(MapPlan.alloc(window: 0, size: 16 * P, align: P, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(16), end: pg(32), lo: pg(16), hi: pg(32))))
        #expect(MapPlan.alloc(window: 0, size: 16 * P + 1, align: P, w.view, w.registry) == .fail(.noMemory))
        #expect(MapPlan.alloc(window: 0, size: UInt64.max, align: P, w.view, w.registry) == .fail(.noMemory))
        // an alignment the window has no multiple of
        #expect(MapPlan.alloc(window: 0, size: P, align: 1 << 40, w.view, w.registry) == .fail(.noMemory))
        // full
        w.recordPages(16, 20)
        w.recordPages(21, 32)
        #expect(MapPlan.alloc(window: 0, size: 2 * P, align: P, w.view, w.registry) == .fail(.noMemory))
        #expect(MapPlan.alloc(window: 0, size: P, align: P, w.view, w.registry)
                == .place(InPlaceMap(window: 0, start: pg(20), end: pg(21), lo: pg(20), hi: pg(21))))
        w.recordPages(20, 21)
        #expect(MapPlan.alloc(window: 0, size: 1, align: P, w.view, w.registry) == .fail(.noMemory))
    }

    // MARK: Where the plan and the kernel disagree (for the lead engineer to decide)

    @Test func anyUnalignedOffsetIsEINVALAsTheKernelSays() {
        // rules 2 and 3: the kernel refuses an unaligned offset before anything else, for
        // anonymous mappings too (measured on Linux 6.18 with syscall(SYS_mmap):
        // MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED with offset 1 -> EINVAL, also with the end past
        // user space, where the plan says ENOMEM; MAP_FIXED_NOREPLACE likewise). In a shared or
        // persistent window the plan maps the window's file at its own offset, so the offset is checked
        // before anything else and the call as it is gets the kernel's EINVAL (before the fix,
        // MAPWARDEN_WINDOW=0x400000000000:1G:shared: MAP_FIXED and a hint with offset 1 at
        // W+0x10000 are mapped; with the window at 0x7FFFFFFF0000:61440 the call past the end
        // of user space is ENOMEM).
        let backed = PlanWorld(fileBacked: 1)
        #expect(MapPlan.decide(fixedPages(20, 22, offset: 1), backed.view, backed.registry) == .kernel)
        #expect(MapPlan.decide(fixedPages(20, 22, noReplace: true, offset: 0x800), backed.view, nil) == .kernel)
        let space = PlanWorld.space
        let top = PlanWorld([Window(base: space.userEnd - 16 * P, size: 16 * P)])
        var r = MapRequest(addr: space.userEnd - 2 * P, length: 4 * P)
        r.fixed = true
        r.offset = 1
        #expect(MapPlan.decide(r, top.view, top.registry) == .kernel)
    }

    @Test func mmapOfNullLongEnoughToReachAWindowIsStillTheKernels() {
        // rule 5: address 0 is no hint (the kernel chooses; an address in page 0 rounds to it),
        // however far the length reaches. The engine's fast path filters `addr != 0` before
        // it plans; the plan, for every entry path, says so itself.
        let w = PlanWorld()
        #expect(MapPlan.decide(hintAt(0, pg(32)), w.view, w.registry) == .kernel)
        #expect(MapPlan.decide(hintAt(0x10, pg(20)), w.view, w.registry) == .kernel)
    }

    @Test func filePastTheEndOfUserSpaceLeavesEBADFToTheKernel() {
        // rule 3: EBADF comes before ENOMEM for a length past the address space (measured on
        // Linux 6.18: MAP_FIXED and MAP_FIXED_NOREPLACE of fd 99 at 0x7ffffffff000-0x1000,
        // length 0x3000 -> EBADF; the engine before the fix, window 0x7FFFFFFF0000:61440: ENOMEM). The
        // plan cannot see the descriptor; the call as it is fails in the kernel before it
        // touches anything, with the kernel's errno in its order.
        let space = PlanWorld.space
        let top = PlanWorld([Window(base: space.userEnd - 16 * P, size: 16 * P)])
        var r = MapRequest(addr: space.userEnd - 2 * P, length: 4 * P)
        r.fixed = true
        r.anonymous = false
        #expect(MapPlan.decide(r, top.view, top.registry) == .kernel)
        r.noReplace = true
        #expect(MapPlan.decide(r, top.view, top.registry) == .kernel)
    }
}
