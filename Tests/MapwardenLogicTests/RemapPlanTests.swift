import Testing
@testable import MapwardenLogic

// RemapPlan.decide, RemapPlan.takesHint, MappingRegistry.isOneVMA and
// Mapping.mergeable: rule 8 of docs/guarantees.md (mremap as Linux 6.17 and
// later on the same pages unmapped), with the choices of docs/choices.md
// (one call works in one window; nothing moves into a shared or persistent
// window). The window is W0 = pages [16, 32) unless a test says otherwise;
// with PlanWorld.three, W1 = [48, 64) and W2 = [80, 96) too
// (PlanTestSupport.swift). "Linux" below means what a raw
// syscall(SYS_mremap, ...) answered on Linux 6.18, without the preload, on
// pages mapped and left unmapped as the test records them.
//
// Where the plan's answer differs from Linux's (or from the contract), the
// test says what Linux does and records the difference with withKnownIssue:
// the plan is left as it is.

private var P: UInt64 { PlanWorld.P }
private func pg(_ n: UInt64) -> UInt64 { PlanWorld.page(n) }

/// mremap's flags, as the engine decodes them into a RemapRequest.
private struct Flags: OptionSet {
    let rawValue: Int
    static let mayMove = Flags(rawValue: 1)
    static let fixed = Flags(rawValue: 2)
    static let dontUnmap = Flags(rawValue: 4)
    static let unknown = Flags(rawValue: 8)
}

/// mremap(addr, oldLength, newLength, flags, newAddr) in bytes.
private func remapAt(_ addr: UInt64, _ oldLength: UInt64, _ newLength: UInt64, _ flags: Flags = [],
                     to newAddr: UInt64 = 0) -> RemapRequest {
    var r = RemapRequest(old: addr, oldLength: oldLength, newLength: newLength, newAddr: newAddr)
    r.mayMove = flags.contains(.mayMove)
    r.fixed = flags.contains(.fixed)
    r.dontUnmap = flags.contains(.dontUnmap)
    r.unknownFlags = flags.contains(.unknown)
    return r
}

/// mremap of pages [a, b) to `pages` pages.
private func remap(_ a: UInt64, _ b: UInt64, _ pages: UInt64, _ flags: Flags = [], to newAddr: UInt64 = 0) -> RemapRequest {
    remapAt(pg(a), (b - a) * P, pages * P, flags, to: newAddr)
}

private let moveTo: Flags = [.mayMove, .fixed]
private let copyTo: Flags = [.mayMove, .fixed, .dontUnmap]
private let copy: Flags = [.mayMove, .dontUnmap]

private func inW0(_ how: RemapPlan.FromWindow) -> RemapPlan { .fromWindow(window: 0, how) }

private extension PlanWorld {
    func plan(_ r: RemapRequest) -> RemapPlan { RemapPlan.decide(r, view, registry) }
    func takesHint(_ r: RemapRequest) -> Bool { RemapPlan.takesHint(r, view, registry) }

    /// Records pages [a, b) with the given protection, kind and file offset.
    func recordPages(_ a: UInt64, _ b: UInt64, prot: Int32, kind: UInt32 = MappingKind.anonymous, offset: UInt64 = 0) {
        reg.insert(Mapping(start: pg(a), end: pg(b), prot: prot, kind: kind, offset: offset))
    }
}

/// A mapping over pages [a, b).
private func mapping(_ a: UInt64, _ b: UInt64, prot: Int32 = 3, kind: UInt32 = MappingKind.anonymous,
                     offset: UInt64 = 0) -> Mapping {
    Mapping(start: pg(a), end: pg(b), prot: prot, kind: kind, offset: offset)
}

@Suite(.everyPageSize) struct RemapPlanTests {
    // MARK: From a signal handler

    @Test func fromASignalHandlerEveryCallTouchingAWindowIsENOMEM() {
        // rule 8 (moving needs the registry): a signal handler that interrupted the engine
        // has none, so every mremap that reaches the plan with valid arguments is ENOMEM,
        // asking the kernel nothing (argument errors: argumentErrorsFromASignalHandler...)
        let w = PlanWorld(PlanWorld.three)
        w.recordPages(20, 22)
        let requests = [remap(20, 22, 4), remap(20, 22, 1), remap(20, 22, 2, moveTo, to: pg(24)),
                        remap(20, 22, 2, copy, to: pg(26)), remapAt(pg(20), 0, P, [.mayMove]),
                        remap(8, 10, 2, moveTo, to: pg(20)), remap(8, 10, 8), remap(20, 22, 2, moveTo, to: pg(100)),
                        remap(21, 22, 2, moveTo, to: pg(50)), remap(40, 41, 1, moveTo, to: pg(42)),
                        // (a first page that is free too: its EFAULT needs the registry)
                        remap(24, 25, 2)]
        for r in requests {
            #expect(RemapPlan.decide(r, w.view, nil) == .fail(.noMemory), "\(r)")
        }
    }

    @Test func argumentErrorsFromASignalHandlerAreTheKernelsEINVAL() {
        // rule 8: Linux checks its arguments before it looks at any mapping (EINVAL for an
        // unaligned old address, a new length of 0, unknown flags, MREMAP_FIXED or
        // MREMAP_DONTUNMAP without MREMAP_MAYMOVE); the plan needs no registry for these:
        // from a signal handler too, the call goes to the kernel as it is
        let w = PlanWorld()
        w.recordPages(20, 22)
        let requests = [remapAt(pg(20) + 8, P, P), remap(20, 22, 0), remap(20, 21, 1, [.mayMove, .unknown]),
                        remap(20, 21, 1, [.fixed], to: pg(24)), remap(20, 21, 1, [.dontUnmap])]
        for r in requests {
            #expect(RemapPlan.decide(r, w.view, nil) == .kernelRefuses, "\(r)")
        }
    }

    // MARK: The kernel's argument checks

    @Test func unalignedOldAddressIsTheKernelsEINVAL() {
        // rule 8 (argument checks): an unaligned old address is the kernel's EINVAL, nothing changed
        let w = PlanWorld()
        w.recordPages(20, 22)
        for r in [remapAt(pg(20) + 8, P, P), remapAt(pg(20) + P / 2, P, 2 * P, [.mayMove]),
                  remapAt(pg(20) + 1, P, P, moveTo, to: pg(24)), remapAt(pg(20) + 1, 0, P, [.mayMove])] {
            #expect(w.plan(r) == .kernelRefuses, "\(r)")
        }
    }

    @Test func newSizeZeroIsTheKernelsEINVAL() {
        // rule 8 (argument checks): a new length of 0, or one that rounds up past 2^64 to 0
        let w = PlanWorld()
        w.recordPages(20, 22)
        #expect(w.plan(remap(20, 22, 0)) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 0, moveTo, to: pg(24))) == .kernelRefuses)
        #expect(w.plan(remapAt(pg(20), P, UInt64.max, [.mayMove])) == .kernelRefuses)
        #expect(w.plan(remapAt(pg(20), P, UInt64.max - P + 2, [.mayMove])) == .kernelRefuses)
        // one byte is one page
        #expect(w.plan(remapAt(pg(20), 2 * P, 1)) == inW0(.shrinkInPlace))
    }

    @Test func unknownFlagsAreTheKernelsEINVAL() {
        // rule 8 (argument checks): flags other than MAYMOVE, FIXED and DONTUNMAP
        let w = PlanWorld()
        w.recordPages(20, 22)
        #expect(w.plan(remap(20, 22, 1, [.unknown])) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 2, moveTo.union(.unknown), to: pg(24))) == .kernelRefuses)
    }

    @Test func fixedWithoutMayMoveOrAtAnUnalignedAddressIsTheKernelsEINVAL() {
        // rule 8 (argument checks): MREMAP_FIXED needs MREMAP_MAYMOVE and an aligned new address
        let w = PlanWorld()
        w.recordPages(20, 22)
        #expect(w.plan(remap(20, 22, 2, [.fixed], to: pg(24))) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 2, [.fixed, .dontUnmap], to: pg(24))) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 2, moveTo, to: pg(24) + 8)) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 2, moveTo, to: pg(24) + P / 2)) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 2, moveTo, to: pg(24))) == inW0(.move(keepSource: false, shrinkFirst: false)))
    }

    @Test func dontUnmapWithoutMayMoveOrWithASizeChangeIsTheKernelsEINVAL() {
        // rule 8 (argument checks): MREMAP_DONTUNMAP needs MREMAP_MAYMOVE and the same size
        let w = PlanWorld()
        w.recordPages(20, 22)
        #expect(w.plan(remap(20, 22, 2, [.dontUnmap], to: pg(24))) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 2, [.dontUnmap, .fixed], to: pg(24))) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 3, copy, to: pg(24))) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 1, copy, to: pg(24))) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 3, copyTo, to: pg(24))) == .kernelRefuses)
        // the sizes are compared after rounding (Linux 6.18: old P, new P - 100 copies)
        #expect(w.plan(remapAt(pg(20), P, P - 100, copy, to: pg(24))) == inW0(.copyToHint))
    }

    @Test func lengthsThatOverflowOrPassUserSpaceAreTheKernels() {
        // rule 8 (argument checks): old + size past 2^64, a new length past user space, a
        // MREMAP_FIXED destination past user space or wrapping: the kernel's EINVAL
        let w = PlanWorld()
        w.recordPages(20, 22)
        let userEnd = w.view.space.userEnd
        // an old length that rounds to a huge size (not to 0) runs past 2^64
        #expect(w.plan(remapAt(pg(20), UInt64.max - P, P)) == .kernelRefuses)
        #expect(w.plan(remapAt(pg(20), UInt64.max - pg(20) + P, P)) == .kernelRefuses)
        #expect(w.plan(remapAt(pg(20), P, UInt64.max - pg(20) + P, [.mayMove])) == .kernelRefuses)
        #expect(w.plan(remapAt(pg(20), P, userEnd + P, [.mayMove])) == .kernelRefuses)
        #expect(w.plan(remap(20, 21, 1, moveTo, to: userEnd)) == .kernelRefuses)
        #expect(w.plan(remap(20, 21, 2, moveTo, to: userEnd - P)) == .kernelRefuses)
        #expect(w.plan(remap(20, 21, 1, moveTo, to: UInt64.max - P + 1)) == .kernelRefuses)
        // up to the end of user space is allowed
        #expect(w.plan(remap(20, 21, 1, moveTo, to: userEnd - P)) == inW0(.move(keepSource: false, shrinkFirst: false)))
    }

    @Test func fixedDestinationOverlappingTheSourceIsTheKernelsEINVAL() {
        // rule 8 (argument checks): MREMAP_FIXED onto its own source (old size and new size
        // after rounding) is EINVAL; right next to it is a move
        let w = PlanWorld()
        w.recordPages(20, 24)
        for r in [remap(20, 24, 4, moveTo, to: pg(22)), remap(20, 24, 4, moveTo, to: pg(18)),
                  remap(20, 24, 4, moveTo, to: pg(20)), remap(20, 24, 1, moveTo, to: pg(23)),
                  remap(20, 21, 4, moveTo, to: pg(17)), remap(20, 24, 4, copyTo, to: pg(23)),
                  remapAt(pg(20), 4 * P - 1, P, moveTo, to: pg(23))] {
            #expect(w.plan(r) == .kernelRefuses, "\(r)")
        }
        #expect(w.plan(remap(20, 24, 4, moveTo, to: pg(24))) == inW0(.move(keepSource: false, shrinkFirst: false)))
        #expect(w.plan(remap(20, 22, 4, moveTo, to: pg(16))) == inW0(.move(keepSource: false, shrinkFirst: false)))
    }

    @Test func dontUnmapHintUnalignedOrOverlappingTheSourceIsTheKernelsEINVAL() {
        // rule 8 (argument checks): without MREMAP_FIXED, MREMAP_DONTUNMAP's new address is a
        // hint the kernel checks as a destination: aligned, clear of the source (0: no hint)
        let w = PlanWorld()
        w.recordPages(20, 22)
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(24) + 8)) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(21))) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(19))) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(20))) == .kernelRefuses)
        #expect(w.plan(remap(20, 22, 2, copy, to: 0)) == inW0(.copyAnywhere))
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(22))) == inW0(.copyToHint))
        // without MREMAP_DONTUNMAP the kernel ignores new_addr, aligned or not
        #expect(w.plan(remap(20, 22, 3, [], to: pg(21) + 8)) == inW0(.grow(tailFree: true, mayMove: false)))
    }

    @Test func newAddressIsIgnoredWithoutFixedOrDontUnmapAsLinuxDoes() {
        // rule 8 (argument checks): a plain mremap (no MREMAP_FIXED, no MREMAP_DONTUNMAP)
        // ignores new_addr (Linux 6.18: syscall(SYS_mremap, old, P, 2P, 0,
        // 0xFFFFFFFFFFFFF001) grows in place, and the shrink shrinks): so does the plan
        let w = PlanWorld()
        w.recordPages(20, 21)
        w.recordPages(24, 26)
        let wraps = UInt64.max - P + 2
        #expect(w.plan(remap(20, 21, 2, [], to: wraps)) == inW0(.grow(tailFree: true, mayMove: false)))
        #expect(w.plan(remap(24, 26, 1, [], to: wraps)) == inW0(.shrinkInPlace))
        #expect(w.plan(remap(20, 21, 2, [.mayMove], to: wraps)) == inW0(.grow(tailFree: true, mayMove: true)))
    }

    // MARK: The window a call works in

    @Test func fixedTargetInAFileBackedWindowIsEINVAL() {
        // rule 8 with docs/choices.md: in a shared or persistent window an address's pages are
        // the file's at its offset, so nothing moves into one (from outside, from elsewhere in
        // it, from another window): EINVAL, nothing changed
        let w = PlanWorld(PlanWorld.three, fileBacked: 0b001) // W0 only
        w.recordPages(20, 22)
        w.recordPages(50, 52)
        #expect(w.plan(remap(20, 22, 2, moveTo, to: pg(24))) == .fail(.invalid))
        #expect(w.plan(remap(20, 22, 1, moveTo, to: pg(24))) == .fail(.invalid))
        #expect(w.plan(remap(20, 22, 2, copyTo, to: pg(24))) == .fail(.invalid))
        #expect(w.plan(remap(40, 42, 2, moveTo, to: pg(24))) == .fail(.invalid))
        #expect(w.plan(remap(50, 52, 2, moveTo, to: pg(24))) == .fail(.invalid))
        // a target that only reaches into it
        #expect(w.plan(remap(40, 42, 4, moveTo, to: pg(30))) == .fail(.invalid))
        // growing and shrinking in place, and moving out, work as in a private window
        #expect(w.plan(remap(20, 22, 4)) == inW0(.grow(tailFree: true, mayMove: false)))
        #expect(w.plan(remap(20, 22, 1)) == inW0(.shrinkInPlace))
        #expect(w.plan(remap(20, 22, 2, moveTo, to: pg(40))) == inW0(.move(keepSource: false, shrinkFirst: false)))
        // a private window next to it takes moves
        #expect(w.plan(remap(50, 52, 2, moveTo, to: pg(54))) == .fromWindow(window: 1, .move(keepSource: false, shrinkFirst: false)))
    }

    @Test func dontUnmapHintFreeInAFileBackedWindowIsEINVALAsNothingMovesIntoOne() {
        // rule 8 with docs/choices.md ("an mremap that moves a mapping into such a window
        // (from outside, or from elsewhere in it)" fails with EINVAL): a MREMAP_DONTUNMAP
        // copy to a free hint in the source's own file-backed window would make pages there
        // the source's, not the file's at their offset: EINVAL, as with MREMAP_FIXED
        let w = PlanWorld(fileBacked: 1)
        w.recordPages(20, 22)
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(24))) == .fail(.invalid))
        // the same call with MREMAP_FIXED is refused
        #expect(w.plan(remap(20, 22, 2, copyTo, to: pg(24))) == .fail(.invalid))
    }

    @Test func fixedTargetTouchingTwoWindowsIsEINVAL() {
        // rule 8 with docs/choices.md: one call is served by one window
        let w = PlanWorld(PlanWorld.three)
        w.recordPages(20, 22)
        #expect(w.plan(remap(100, 120, 20, moveTo, to: pg(30))) == .fail(.invalid))
        #expect(w.plan(remap(20, 22, 20, moveTo, to: pg(30))) == .fail(.invalid))
        #expect(w.plan(remap(0, 4, 100, moveTo, to: pg(4))) == .fail(.invalid))
        let adjacent = PlanWorld([Window(base: pg(16), size: 16 * P), Window(base: pg(32), size: 16 * P)])
        adjacent.recordPages(20, 22)
        #expect(adjacent.plan(remap(20, 22, 2, moveTo, to: pg(31))) == .fail(.invalid))
    }

    @Test func sourceInOneWindowWithTargetInAnotherIsEINVAL() {
        // rule 8 with docs/choices.md: an mremap from one window into another fails with
        // EINVAL; so does a source that touches two windows
        let w = PlanWorld(PlanWorld.three)
        w.recordPages(20, 22)
        w.recordPages(50, 52)
        #expect(w.plan(remap(20, 22, 2, moveTo, to: pg(50) + 4 * P)) == .fail(.invalid))
        #expect(w.plan(remap(20, 22, 2, copyTo, to: pg(84))) == .fail(.invalid))
        #expect(w.plan(remap(50, 52, 1, moveTo, to: pg(20) + 4 * P)) == .fail(.invalid))
        // a target straddling another window's edge
        #expect(w.plan(remap(20, 22, 4, moveTo, to: pg(46))) == .fail(.invalid))
        // a source range over two windows (its first page free: Linux's EFAULT first)
        #expect(w.plan(remap(30, 50, 20)) == .fail(.fault))
        #expect(w.plan(remap(30, 50, 20, moveTo, to: pg(100))) == .fail(.fault))
        w.recordPages(30, 31)
        #expect(w.plan(remap(30, 50, 20)) == .fail(.invalid))
        #expect(w.plan(remap(30, 50, 20, moveTo, to: pg(100))) == .fail(.invalid))
    }

    @Test func unmappedSourceIsEFAULTBeforeAnyWindowChoiceAsLinuxSays() {
        // rule 8 (the source's first page must be mapped, EFAULT) against docs/choices.md's
        // EINVAL: Linux answers EFAULT for an unmapped source before it touches the
        // destination (6.18: MREMAP_FIXED from an unmapped page is EFAULT, the destination
        // left as it was); so does the plan, before it looks at the destination
        let w = PlanWorld(PlanWorld.three, fileBacked: 0b010) // W1
        #expect(w.plan(remap(20, 22, 2, moveTo, to: pg(84))) == .fail(.fault))
        #expect(w.plan(remap(50, 52, 2, moveTo, to: pg(54))) == .fail(.fault))
    }

    @Test func sourceStraddlingAWindowEdgeIsStraddlesEdge() {
        // rule 8 (docs/limitations.md): a source range that runs over a window's edge is one
        // VMA the registry sees only half of; the engine answers EINVAL when something is
        // mapped at old, else EFAULT
        let w = PlanWorld()
        w.recordPages(30, 32)
        #expect(w.plan(remap(30, 34, 4, moveTo, to: pg(20))) == inW0(.straddlesEdge))
        #expect(w.plan(remap(30, 34, 8)) == inW0(.straddlesEdge))
        #expect(w.plan(remap(31, 33, 1)) == inW0(.straddlesEdge))
        // starting below the window
        #expect(w.plan(remap(14, 18, 8, [.mayMove])) == inW0(.straddlesEdge))
        #expect(w.plan(remap(15, 17, 2, moveTo, to: pg(40))) == inW0(.straddlesEdge))
        // a source over the whole window and past both edges
        #expect(w.plan(remap(10, 40, 30, moveTo, to: pg(100))) == inW0(.straddlesEdge))
        // a duplicate (old size 0) of the window's last page is inside
        w.reg.insert(Mapping(start: pg(30), end: pg(32), prot: 3, kind: MappingKind.shared | MappingKind.anonymous))
        #expect(w.plan(remapAt(pg(31), 0, 4 * P, [.mayMove])) == inW0(.duplicate))
    }

    @Test func sourceRangeRunningPastTheWindowIntoFreePagesIsShrunkOrMovedByLinux() {
        // rule 8 against Linux 6.18 on the pages past the window unmapped (mapping [A, A+2P),
        // nothing after it): a shrink over the hole shrinks (the tail unmapped, whatever it
        // was), growing over it is EFAULT, a same-size MREMAP_FIXED moves the mapped part and
        // a MREMAP_FIXED shrink unmaps the tail and moves the rest. The plan says
        // straddlesEdge to all of these (EINVAL, docs/limitations.md)
        let w = PlanWorld()
        w.recordPages(30, 32)
        withKnownIssue("a shrink whose old range runs past the window's edge is refused") {
            #expect(w.plan(remap(30, 34, 1)) == inW0(.shrinkInPlace))
        }
        withKnownIssue("growing over the hole past the window's edge is EINVAL, Linux EFAULT") {
            #expect(w.plan(remap(30, 34, 6, [.mayMove])) == .fail(.fault))
        }
        withKnownIssue("a same-size move of a range past the window's edge is refused") {
            #expect(w.plan(remap(30, 34, 4, moveTo, to: pg(20))) == inW0(.movePieces(keepSource: false)))
        }
        withKnownIssue("a MREMAP_FIXED shrink of a range past the window's edge is refused") {
            #expect(w.plan(remap(30, 34, 1, moveTo, to: pg(20))) == inW0(.move(keepSource: false, shrinkFirst: true)))
        }
    }

    // MARK: A source in a window

    @Test func unmappedFirstSourcePageIsEFAULT() {
        // rule 8: the source's first page must be mapped (EFAULT), whatever is mapped after it
        // (Linux 6.18: a same-size MREMAP_FIXED with a hole at the start is EFAULT too)
        let w = PlanWorld()
        w.recordPages(21, 24)
        for r in [remap(20, 22, 1), remap(20, 22, 4), remap(20, 22, 4, [.mayMove]), remap(20, 22, 2, moveTo, to: pg(26)),
                  remap(20, 24, 4, moveTo, to: pg(26)), remap(20, 22, 2, copy, to: pg(26)),
                  remap(20, 22, 1, moveTo, to: pg(26)), remapAt(pg(20), 0, P, [.mayMove]),
                  remapAt(pg(25), 0, P, moveTo, to: pg(28))] {
            #expect(w.plan(r) == .fail(.fault), "\(r)")
        }
    }

    @Test func oldSizeZeroIsADuplicate() {
        // rule 8: old size 0 duplicates the shared mapping at old (the kernel refuses a
        // private one with EINVAL, checked by the call itself); the source stays
        let w = PlanWorld()
        w.reg.insert(Mapping(start: pg(20), end: pg(22), prot: 3, kind: MappingKind.shared | MappingKind.anonymous))
        #expect(w.plan(remapAt(pg(20), 0, 2 * P, [.mayMove])) == inW0(.duplicate))
        #expect(w.plan(remapAt(pg(21), 0, 4 * P, moveTo, to: pg(24))) == inW0(.duplicate))
        #expect(w.plan(remapAt(pg(20), 0, P, moveTo, to: pg(40))) == inW0(.duplicate))
        #expect(w.plan(remapAt(pg(20), 0, P)) == inW0(.duplicate))
        w.recordPages(26, 27)
        #expect(w.plan(remapAt(pg(26), 0, P, [.mayMove])) == inW0(.duplicate))
    }

    @Test func oldLengthThatRoundsPast2To64IsADuplicate() {
        // rule 8: the kernel's rounding wraps, so an old length of 2^64 - 4095 up to 2^64 - 1
        // is old size 0 (Linux 6.18: mremap(shared, SIZE_MAX, P, MAYMOVE|FIXED, B) duplicates
        // it at B); 2^64 - 4096 does not wrap to 0 and runs past 2^64: the kernel's EINVAL
        let w = PlanWorld()
        w.reg.insert(Mapping(start: pg(20), end: pg(22), prot: 3, kind: MappingKind.shared | MappingKind.anonymous))
        for length in [UInt64.max, UInt64.max - P + 2] {
            #expect(RemapRequest(old: pg(20), oldLength: length, newLength: P).sizes(w.view.space) == (0, P))
            #expect(w.plan(remapAt(pg(20), length, P, moveTo, to: pg(24))) == inW0(.duplicate), "length \(length)")
            #expect(w.plan(remapAt(pg(20), length, P, [.mayMove])) == inW0(.duplicate), "length \(length)")
            // on a free page: EFAULT
            #expect(w.plan(remapAt(pg(28), length, P, [.mayMove])) == .fail(.fault), "length \(length)")
        }
        #expect(w.plan(remapAt(pg(20), UInt64.max - P + 1, P, moveTo, to: pg(24))) == .kernelRefuses)
        // from above every window into one: moved in by the kernel
        #expect(w.plan(remapAt(pg(40), UInt64.max, P, moveTo, to: pg(24))) == .intoWindow(window: 0))
    }

    @Test func oldLengthThatRoundsTo0BelowAWindowDuplicatesIntoTheWindowAsLinuxDoes() {
        // rule 8: a duplicate (old length rounding to 0) of a shared mapping outside every
        // window, below one: the source is the VMA at old's page, outside the windows.
        // Linux 6.18 duplicates it
        // (mremap(shared, SIZE_MAX, P, MAYMOVE|FIXED, B) returns B; MAYMOVE alone places it).
        // The plan moves it in (.intoWindow), as the engine before RemapPlan did
        let one = PlanWorld()
        #expect(one.plan(remapAt(pg(8), UInt64.max, P, moveTo, to: pg(20))) == .intoWindow(window: 0))
        let three = PlanWorld(PlanWorld.three)
        #expect(three.plan(remapAt(pg(40), UInt64.max, P, moveTo, to: pg(50))) == .intoWindow(window: 1))
        let plan = three.plan(remapAt(pg(40), UInt64.max - 100, P, [.mayMove]))
        #expect(plan == .growTowardWindow || plan == .kernel)
    }

    @Test func shrinkingInPlaceReleasesTheTailWhateverItHolds() {
        // rule 8: shrinking (or keeping the size) in place: the tail goes back to the
        // reservation whatever it holds (Linux 6.18 shrinks over holes and other VMAs), old
        // stays where it is, with or without MREMAP_MAYMOVE
        let w = PlanWorld()
        w.recordPages(20, 22)
        w.recordPages(22, 23, prot: 1)
        w.recordPages(25, 26)
        #expect(w.plan(remap(20, 22, 1)) == inW0(.shrinkInPlace))
        #expect(w.plan(remap(20, 26, 1)) == inW0(.shrinkInPlace))
        #expect(w.plan(remap(20, 26, 1, [.mayMove])) == inW0(.shrinkInPlace))
        #expect(w.plan(remap(20, 22, 2)) == inW0(.shrinkInPlace))
        #expect(w.plan(remap(20, 26, 6, [.mayMove])) == inW0(.shrinkInPlace))
        // (the lengths round up: 2 pages and 1 byte is 3 pages)
        #expect(w.plan(remapAt(pg(20), 2 * P + 1, 3 * P)) == inW0(.shrinkInPlace))
    }

    @Test func fixedShrinkAndMoveNeedsTheKeptPartToBeOneVMA() {
        // rule 8: MREMAP_FIXED to a smaller size unmaps the tail, then moves the rest, which
        // must be one VMA (EFAULT); the tail may hold anything (Linux 6.18: a tail that is
        // another VMA or a hole is unmapped and the move done; a kept part of two VMAs EFAULT)
        let w = PlanWorld()
        w.recordPages(20, 22)
        w.recordPages(22, 23, prot: 1)
        #expect(w.plan(remap(20, 23, 2, moveTo, to: pg(26))) == inW0(.move(keepSource: false, shrinkFirst: true)))
        #expect(w.plan(remap(20, 23, 1, moveTo, to: pg(26))) == inW0(.move(keepSource: false, shrinkFirst: true)))
        #expect(w.plan(remap(20, 25, 2, moveTo, to: pg(26))) == inW0(.move(keepSource: false, shrinkFirst: true)))
        // out of the window
        #expect(w.plan(remap(20, 23, 1, moveTo, to: pg(100))) == inW0(.move(keepSource: false, shrinkFirst: true)))
        // the kept part over two VMAs
        #expect(w.plan(remap(20, 24, 3, moveTo, to: pg(26))) == .fail(.fault))
        w.recordPages(24, 25)
        #expect(w.plan(remap(22, 25, 2, moveTo, to: pg(26))) == .fail(.fault))
    }

    @Test func sameSizeFixedMoveOfSeveralVMAsOrHolesMovesPieces() {
        // rule 8: a same-size MREMAP_FIXED move of several VMAs, holes included, moves them
        // one by one (Linux 6.17 and later; 6.18 moves two VMAs of different protection, with
        // or without MREMAP_DONTUNMAP, and a range with a trailing hole)
        let w = PlanWorld(PlanWorld.three)
        w.recordPages(20, 21)
        w.recordPages(21, 22, prot: 1)
        w.recordPages(24, 25)
        #expect(w.plan(remap(20, 22, 2, moveTo, to: pg(26))) == inW0(.movePieces(keepSource: false)))
        #expect(w.plan(remap(20, 22, 2, copyTo, to: pg(26))) == inW0(.movePieces(keepSource: true)))
        #expect(w.plan(remap(20, 25, 5, moveTo, to: pg(26))) == inW0(.movePieces(keepSource: false)))
        #expect(w.plan(remap(24, 26, 2, moveTo, to: pg(28))) == inW0(.movePieces(keepSource: false)))
        // out of the window too
        #expect(w.plan(remap(20, 25, 5, moveTo, to: pg(100))) == inW0(.movePieces(keepSource: false)))
        // one VMA is one move
        #expect(w.plan(remap(24, 25, 1, moveTo, to: pg(28))) == inW0(.move(keepSource: false, shrinkFirst: false)))
    }

    @Test func growingOrMovingWithANewSizeASourceOfSeveralVMAsIsEFAULT() {
        // rule 8: growing, or moving with a new size, needs a source that is one VMA (Linux
        // 6.18: growing two VMAs EFAULT, with MREMAP_MAYMOVE too; MREMAP_FIXED to a larger
        // size EFAULT; a MREMAP_DONTUNMAP copy is a move of the same size, one VMA too)
        let w = PlanWorld()
        w.recordPages(20, 21)
        w.recordPages(21, 22, prot: 1)
        w.recordPages(24, 25)
        for r in [remap(20, 22, 3), remap(20, 22, 3, [.mayMove]), remap(20, 22, 3, moveTo, to: pg(26)),
                  remap(20, 22, 2, copy, to: pg(26)), remap(20, 22, 2, copy), remap(24, 26, 3, [.mayMove]),
                  remap(24, 26, 3, moveTo, to: pg(28))] {
            #expect(w.plan(r) == .fail(.fault), "\(r)")
        }
    }

    @Test func fixedMoveOfOneVMAIsAMove() {
        // rule 8: MREMAP_FIXED moves within the window and out of it, keeping the source with
        // MREMAP_DONTUNMAP; a growing one too
        let w = PlanWorld()
        w.recordPages(20, 22)
        #expect(w.plan(remap(20, 22, 2, moveTo, to: pg(26))) == inW0(.move(keepSource: false, shrinkFirst: false)))
        #expect(w.plan(remap(20, 22, 4, moveTo, to: pg(26))) == inW0(.move(keepSource: false, shrinkFirst: false)))
        #expect(w.plan(remap(20, 22, 2, copyTo, to: pg(26))) == inW0(.move(keepSource: true, shrinkFirst: false)))
        #expect(w.plan(remap(20, 22, 2, moveTo, to: pg(100))) == inW0(.move(keepSource: false, shrinkFirst: false)))
        #expect(w.plan(remap(20, 22, 2, copyTo, to: pg(100))) == inW0(.move(keepSource: true, shrinkFirst: false)))
        // a target straddling the window's edge, from outside the window
        #expect(w.plan(remap(20, 22, 4, moveTo, to: pg(30))) == inW0(.move(keepSource: false, shrinkFirst: false)))
        #expect(w.plan(remap(20, 22, 4, moveTo, to: pg(14))) == inW0(.move(keepSource: false, shrinkFirst: false)))
        // a part of the VMA, and a VMA of pieces the kernel merged
        #expect(w.plan(remap(21, 22, 1, moveTo, to: pg(26))) == inW0(.move(keepSource: false, shrinkFirst: false)))
        w.recordPages(22, 24)
        #expect(w.plan(remap(20, 24, 4, moveTo, to: pg(26))) == inW0(.move(keepSource: false, shrinkFirst: false)))
    }

    @Test func dontUnmapCopyTakesItsHintWhenFreeInTheWindow() {
        // rule 8: MREMAP_DONTUNMAP without MREMAP_FIXED takes new_addr as a hint: the copy goes
        // there when its range is free in the source's window (Linux 6.18 takes a free hint),
        // else the kernel places it (outside: Linux 6.18 places a half-taken hint elsewhere)
        let w = PlanWorld(PlanWorld.three)
        w.recordPages(20, 22)
        w.recordPages(27, 28)
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(24))) == inW0(.copyToHint))
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(16))) == inW0(.copyToHint))
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(30))) == inW0(.copyToHint))
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(26))) == inW0(.copyAnywhere))
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(27))) == inW0(.copyAnywhere))
        #expect(w.plan(remap(20, 22, 2, copy, to: 0)) == inW0(.copyAnywhere))
        // outside every window, or straddling the window's edge (docs/limitations.md)
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(40))) == inW0(.copyAnywhere))
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(31))) == inW0(.copyAnywhere))
        #expect(w.plan(remap(20, 22, 2, copy, to: pg(15))) == inW0(.copyAnywhere))
    }

    @Test func dontUnmapHintFreeInAnotherWindowIsNotTaken() {
        // rule 8 against Linux 6.18, which takes a free MREMAP_DONTUNMAP hint wherever it is:
        // the plan copies to a hint only in the source's own window, so a hint free in
        // another window is placed by the kernel, outside
        let w = PlanWorld(PlanWorld.three)
        w.recordPages(20, 22)
        let plan = w.plan(remap(20, 22, 2, copy, to: pg(50)))
        #expect(plan == inW0(.copyAnywhere))
        withKnownIssue("a MREMAP_DONTUNMAP hint free in another window is not taken") {
            #expect(plan != inW0(.copyAnywhere), "Linux: the copy at the hint, in W1")
        }
    }

    @Test func growingInPlaceWhenTheTailIsFreeElseMovingWithMayMove() {
        // rule 8: growing in place into free window space (also past the window's edge: the
        // engine claims the pages there), else moved with MREMAP_MAYMOVE, else ENOMEM (Linux
        // 6.18: a free tail grows in place; a taken one without MREMAP_MAYMOVE is ENOMEM)
        let w = PlanWorld()
        w.recordPages(20, 22)
        w.recordPages(25, 26)
        w.recordPages(29, 32)
        #expect(w.plan(remap(20, 22, 5)) == inW0(.grow(tailFree: true, mayMove: false)))
        #expect(w.plan(remap(20, 22, 5, [.mayMove])) == inW0(.grow(tailFree: true, mayMove: true)))
        #expect(w.plan(remap(20, 22, 6)) == inW0(.grow(tailFree: false, mayMove: false)))
        #expect(w.plan(remap(20, 22, 6, [.mayMove])) == inW0(.grow(tailFree: false, mayMove: true)))
        #expect(w.plan(remap(20, 22, 12, [.mayMove])) == inW0(.grow(tailFree: false, mayMove: true)))
        // a part of a VMA grows too
        #expect(w.plan(remap(21, 22, 2)) == inW0(.grow(tailFree: true, mayMove: false)))
        // past the window's end: only the window's part is the registry's to judge
        #expect(w.plan(remap(29, 32, 5)) == inW0(.grow(tailFree: true, mayMove: false)))
        #expect(w.plan(remap(29, 32, 5, [.mayMove])) == inW0(.grow(tailFree: true, mayMove: true)))
        // (an unaligned new length rounds up)
        #expect(w.plan(remapAt(pg(20), 2 * P, 3 * P + 1)) == inW0(.grow(tailFree: true, mayMove: false)))
        #expect(w.plan(remapAt(pg(20), 2 * P, 5 * P + 1)) == inW0(.grow(tailFree: false, mayMove: false)))
    }

    // MARK: A source outside every window

    @Test func sourceOutsideGrowingTowardAWindowIsGrowTowardWindow() {
        // rule 8: growing from outside a window into it: in place when the pages there are
        // free (the engine checks the source is one VMA, from its smaps entry)
        let w = PlanWorld(PlanWorld.three)
        #expect(w.plan(remap(12, 16, 8)) == .growTowardWindow)
        #expect(w.plan(remap(12, 16, 8, [.mayMove])) == .growTowardWindow)
        #expect(w.plan(remap(40, 48, 12)) == .growTowardWindow)
        // a MREMAP_DONTUNMAP hint in a window (the engine asks takesHint first)
        #expect(w.plan(remap(40, 42, 2, copy, to: pg(20))) == .growTowardWindow)
    }

    @Test func fixedFromOutsideIntoAWindowIsIntoWindow() {
        // rule 8: MREMAP_FIXED from outside into a window: moved by the kernel, recorded from
        // the source's smaps entries
        let w = PlanWorld(PlanWorld.three)
        #expect(w.plan(remap(40, 42, 2, moveTo, to: pg(20))) == .intoWindow(window: 0))
        #expect(w.plan(remap(40, 42, 4, moveTo, to: pg(50))) == .intoWindow(window: 1))
        #expect(w.plan(remap(40, 42, 1, moveTo, to: pg(84))) == .intoWindow(window: 2))
        #expect(w.plan(remap(100, 102, 2, copyTo, to: pg(20))) == .intoWindow(window: 0))
        #expect(w.plan(remapAt(pg(100), 0, 2 * P, moveTo, to: pg(20))) == .intoWindow(window: 0))
        // a target straddling a window's edge
        #expect(w.plan(remap(40, 42, 4, moveTo, to: pg(14))) == .intoWindow(window: 0))
        #expect(w.plan(remap(40, 42, 4, moveTo, to: pg(94))) == .intoWindow(window: 2))
    }

    @Test func callsUnrelatedToTheWindowsAreTheKernels() {
        // rule 8 (and 12): a MREMAP_FIXED move between pages outside every window is the
        // kernel's. (A call without MREMAP_FIXED from outside is .growTowardWindow, which the
        // engine makes as it is when its tail reaches no free window pages; the engine asks
        // the plan only for calls that touch a window.)
        let w = PlanWorld(PlanWorld.three)
        #expect(w.plan(remap(0, 4, 4, moveTo, to: pg(36))) == .kernel)
        #expect(w.plan(remap(36, 40, 8, moveTo, to: pg(100))) == .kernel)
        #expect(w.plan(remap(100, 104, 4, copyTo, to: pg(70))) == .kernel)
        #expect(w.plan(remapAt(pg(40), 0, 4 * P, moveTo, to: pg(100))) == .kernel)
        #expect(w.plan(remap(36, 40, 2)) == .growTowardWindow)
        // the checks come first
        #expect(w.plan(remap(36, 40, 4, moveTo, to: pg(38))) == .kernelRefuses)
    }

    // MARK: takesHint

    @Test func dontUnmapHintFromOutsideFreeInAWindowBecomesTheDestination() {
        // rule 8: MREMAP_DONTUNMAP|MREMAP_MAYMOVE from outside every window, with its hint
        // aligned and its range free inside one window: the kernel would take the hint, so
        // the engine makes it the destination (MREMAP_FIXED)
        let w = PlanWorld(PlanWorld.three)
        w.recordPages(24, 26)
        #expect(w.takesHint(remap(40, 42, 2, copy, to: pg(20))))
        #expect(w.takesHint(remap(40, 42, 2, copy, to: pg(16))))
        #expect(w.takesHint(remap(40, 42, 2, copy, to: pg(30))))
        #expect(w.takesHint(remap(100, 104, 4, copy, to: pg(50))))
        #expect(w.takesHint(remap(0, 16, 16, copy, to: pg(80))))
        // as a move with MREMAP_FIXED it is a move into the window
        var r = remap(40, 42, 2, copy, to: pg(20))
        r.fixed = true
        #expect(w.plan(r) == .intoWindow(window: 0))
    }

    @Test func dontUnmapHintThatIsNotFreeOrNotInOneWindowIsLeftAHint() {
        // rule 8: otherwise the hint stays a hint (the kernel places the copy)
        let w = PlanWorld(PlanWorld.three)
        w.recordPages(24, 26)
        w.recordPages(20, 22)
        for r in [remap(40, 42, 2, copy, to: pg(23)),           // runs into a recorded mapping
                  remap(40, 42, 2, copy, to: pg(20)),           // over one
                  remap(40, 42, 2, copy, to: pg(31)),           // straddles the window's end
                  remap(40, 42, 2, copy, to: pg(15)),           // starts below it
                  remap(40, 42, 2, copy, to: pg(36)),           // outside every window
                  remap(40, 42, 2, copy, to: 0),                // no hint
                  remap(40, 42, 2, copy, to: pg(27) + 8),       // unaligned
                  remap(40, 42, 2, copyTo, to: pg(27)),         // already MREMAP_FIXED
                  remap(40, 42, 2, [.dontUnmap], to: pg(27)),   // without MREMAP_MAYMOVE
                  remap(40, 42, 2, [.mayMove], to: pg(27)),     // without MREMAP_DONTUNMAP
                  remapAt(pg(40), 0, 2 * P, copy, to: pg(27)),  // old size 0
                  remap(20, 22, 2, copy, to: pg(27)),           // a source in a window
                  remap(14, 18, 4, copy, to: pg(27)),           // a source touching one
                  remap(40, 50, 10, copy, to: pg(80))] {        // a source touching one
            #expect(!w.takesHint(r), "\(r)")
        }
        // a hint whose range wraps past 2^64
        #expect(!w.takesHint(remapAt(pg(40), 2 * P, 2 * P, copy, to: UInt64.max - P + 1)))
    }

    @Test func dontUnmapHintFromOutsideIntoAFileBackedWindowBecomesEINVAL() {
        // rule 8 with docs/choices.md: the hint is free, so it becomes the destination, and
        // nothing moves into a shared or persistent window: EINVAL (Linux would take the
        // hint; a plain hint elsewhere would place the copy outside)
        let w = PlanWorld(PlanWorld.three, fileBacked: 0b001)
        var r = remap(40, 42, 2, copy, to: pg(20))
        #expect(w.takesHint(r))
        r.fixed = true
        #expect(w.plan(r) == .fail(.invalid))
    }

    // MARK: One VMA, as the kernel merges

    @Test func privateAnonymousMemoryMergesWhateverItsOffsets() {
        // rule 8 (docs/choices.md: one VMA as the kernel merges): adjacent private anonymous
        // mappings of one protection are one VMA; their recorded offsets do not matter
        let a = mapping(20, 22, offset: 0), b = mapping(22, 24, offset: 77 * P)
        #expect(Mapping.mergeable(a, b))
        #expect(Mapping.mergeable(a, mapping(22, 23, offset: 2 * P)))
        #expect(!Mapping.mergeable(b, a)) // b after a, not before
        #expect(!Mapping.mergeable(a, mapping(23, 24))) // a gap
        #expect(!Mapping.mergeable(a, mapping(21, 24))) // overlapping records are not adjacent
    }

    @Test func filesAndSharedMemoryMergeOnlyWhereTheOffsetsContinue() {
        // rule 8 (docs/choices.md): a file mapping, private or shared, and shared anonymous
        // memory merge only where b's offset continues a's
        for kind in [0, MappingKind.shared, MappingKind.shared | MappingKind.anonymous] {
            let a = mapping(20, 22, kind: kind, offset: 8 * P)
            #expect(Mapping.mergeable(a, mapping(22, 24, kind: kind, offset: 10 * P)), "kind \(kind)")
            #expect(!Mapping.mergeable(a, mapping(22, 24, kind: kind, offset: 0)), "kind \(kind)")
            #expect(!Mapping.mergeable(a, mapping(22, 24, kind: kind, offset: 11 * P)), "kind \(kind)")
            #expect(!Mapping.mergeable(a, mapping(22, 24, kind: kind, offset: 8 * P)), "kind \(kind)")
        }
    }

    @Test func differentProtectionOrKindNeverMerges() {
        // rule 8 (docs/choices.md): same protection and kind, or two VMAs; the `moved` bit
        // (how the engine learned of a mapping) is no VMA property and is ignored
        let a = mapping(20, 22)
        #expect(!Mapping.mergeable(a, mapping(22, 24, prot: 1)))
        #expect(!Mapping.mergeable(a, mapping(22, 24, prot: -1)))
        for other in [MappingKind.shared | MappingKind.anonymous, 0, MappingKind.anonymous | MappingKind.dontFork,
                      MappingKind.anonymous | MappingKind.locked, MappingKind.anonymous | MappingKind.windowFile] {
            #expect(!Mapping.mergeable(a, mapping(22, 24, kind: other, offset: 2 * P)), "kind \(other)")
            #expect(!Mapping.mergeable(mapping(18, 20, kind: other), a), "kind \(other)")
        }
        #expect(Mapping.mergeable(a, mapping(22, 24, kind: MappingKind.anonymous | MappingKind.moved)))
        #expect(Mapping.mergeable(mapping(18, 20, kind: MappingKind.anonymous | MappingKind.moved), a))
        let file = mapping(20, 22, kind: MappingKind.moved, offset: 0)
        #expect(Mapping.mergeable(file, mapping(22, 24, kind: 0, offset: 2 * P)))
        // tags and origins are the engine's, not the kernel's
        var tagged = mapping(22, 24)
        tagged.tag = 7
        tagged.origin = Mapping.Origin(stack: 3, thread: 4, generation: 1)
        #expect(Mapping.mergeable(a, tagged))
    }

    @Test func isOneVMAFollowsRecordsTheKernelWouldHaveMerged() {
        // rule 8: [lo, hi) is one VMA when recorded throughout by mappings the kernel would
        // have merged; a hole, a first page not recorded or a different neighbour is not
        let w = PlanWorld()
        w.recordPages(20, 22)
        w.reg.insert(mapping(22, 24, kind: MappingKind.anonymous | MappingKind.moved, offset: 5 * P))
        w.recordPages(24, 25, prot: 1)
        w.reg.insert(mapping(26, 27, kind: 0, offset: 0))
        w.reg.insert(mapping(27, 28, kind: 0, offset: P))
        w.reg.insert(mapping(28, 29, kind: 0, offset: 0))
        let r = w.registry
        #expect(r.isOneVMA(pg(20), pg(21)))
        #expect(r.isOneVMA(pg(21), pg(22)))
        #expect(r.isOneVMA(pg(20), pg(24)))
        #expect(r.isOneVMA(pg(21), pg(23)))
        #expect(r.isOneVMA(pg(21), pg(22) + 1)) // any byte of the next record counts
        #expect(!r.isOneVMA(pg(20), pg(25)))
        #expect(r.isOneVMA(pg(24), pg(25)))
        #expect(!r.isOneVMA(pg(24), pg(26)))
        #expect(!r.isOneVMA(pg(25), pg(26)))
        #expect(!r.isOneVMA(pg(19), pg(21)))
        #expect(r.isOneVMA(pg(26), pg(28)))
        #expect(!r.isOneVMA(pg(26), pg(29)))
        #expect(!r.isOneVMA(pg(27), pg(29)))
        // as the plan uses it: growing across a merged pair is allowed, across a split not
        #expect(w.plan(remap(20, 24, 6, [.mayMove])) == inW0(.grow(tailFree: false, mayMove: true)))
        #expect(w.plan(remap(26, 28, 3, [.mayMove])) == inW0(.grow(tailFree: false, mayMove: true)))
        #expect(w.plan(remap(26, 29, 4, [.mayMove])) == .fail(.fault))
    }
}
