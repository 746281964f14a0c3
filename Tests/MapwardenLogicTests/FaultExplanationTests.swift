import Testing
@testable import MapwardenLogic

/// FaultExplanation.classify: what a SIGSEGV or SIGBUS address in a window
/// was (docs/faults.md), from the windows, the registry and the unmap
/// history; and FaultText's words for it.
final class History {
    let storage = UnsafeMutableRawPointer.allocate(byteCount: UnmapHistory.bytes, alignment: 16)
    var h: UnmapHistory

    init() { h = UnmapHistory(storage: storage) }
    deinit { storage.deallocate() }

    /// Records that [lo, hi) of m was unmapped at `time` by thread 7.
    func unmap(_ lo: UInt64, _ hi: UInt64, of m: Mapping, time: UInt64 = 100, stack: UInt32 = 0) {
        h.record(UnmapRecord(lo: lo, hi: hi, mapping: m, time: time, unmapStack: stack, unmapThread: 7))
    }
}

private let P = PlanWorld.P
private func pg(_ n: UInt64) -> UInt64 { PlanWorld.page(n) }
private func anon(_ a: UInt64, _ b: UInt64, prot: Int32 = 3, stack: UInt32 = 5) -> Mapping {
    Mapping(start: pg(a), end: pg(b), prot: prot, kind: MappingKind.anonymous, origin: Mapping.Origin(stack: stack, thread: 9))
}

@Suite struct FaultClassificationTests {
    func segv(_ addr: UInt64, _ access: FaultAccess = .write, accessError: Bool = true) -> Fault {
        Fault(signal: .segv, address: addr, access: access, accessError: accessError)
    }

    @Test func addressOutsideEveryWindowIsNotExplained() {
        let w = PlanWorld()
        #expect(FaultExplanation.classify(segv(pg(8)), w.view, w.registry, nil) == .outsideWindows)
        #expect(FaultExplanation.classify(segv(pg(32)), w.view, w.registry, nil) == .outsideWindows)
    }

    @Test func unreadableRegistryOnlyNamesTheWindow() {
        let w = PlanWorld(PlanWorld.three)
        #expect(FaultExplanation.classify(segv(pg(50)), w.view, nil, nil) == .registryBusy(window: 1))
    }

    @Test func freePageUnmappedRecentlyIsUseAfterMunmap() {
        let w = PlanWorld()
        let hist = History()
        let m = anon(18, 22)
        hist.unmap(pg(18), pg(22), of: m)
        let kind = FaultExplanation.classify(segv(pg(21) + 8), w.view, w.registry, hist.h)
        guard case .afterUnmap(let r) = kind else {
            Issue.record("expected use after munmap, got \(kind)")
            return
        }
        #expect(r.cause == .munmap)
        #expect(r.mapping.start == pg(18) && r.mapping.end == pg(22))
        #expect(r.mapStack == 5 && r.mapThread == 9 && r.unmapThread == 7)
    }

    @Test func newestUnmapOfThePageWins() {
        let w = PlanWorld()
        let hist = History()
        hist.unmap(pg(18), pg(20), of: anon(18, 20, stack: 1), time: 1)
        hist.unmap(pg(18), pg(19), of: anon(18, 19, stack: 2), time: 2)
        guard case .afterUnmap(let r) = FaultExplanation.classify(segv(pg(18)), w.view, w.registry, hist.h) else {
            Issue.record("expected use after munmap")
            return
        }
        #expect(r.time == 2 && r.mapStack == 2)
        // The older record still explains the page the newer one did not cover.
        guard case .afterUnmap(let older) = FaultExplanation.classify(segv(pg(19)), w.view, w.registry, hist.h) else {
            Issue.record("expected use after munmap")
            return
        }
        #expect(older.time == 1)
    }

    @Test func liveMappingThereNowIsNotAUseAfterUnmap() {
        // Unmapped, then mapped again read-only: the write is a protection
        // violation on the live mapping, not a use after munmap.
        let w = PlanWorld()
        let hist = History()
        hist.unmap(pg(18), pg(22), of: anon(18, 22))
        w.reg.insert(anon(18, 22, prot: 1))
        #expect(FaultExplanation.classify(segv(pg(19)), w.view, w.registry, hist.h) == .protection(anon(18, 22, prot: 1)))
    }

    @Test func writeToReadOnlyAndExecOfReadWriteAreProtectionViolations() {
        let w = PlanWorld()
        w.reg.insert(anon(18, 20, prot: 1))
        w.reg.insert(anon(24, 26, prot: 3))
        #expect(FaultExplanation.classify(segv(pg(19), .write), w.view, w.registry, nil) == .protection(anon(18, 20, prot: 1)))
        #expect(FaultExplanation.classify(segv(pg(24), .exec), w.view, w.registry, nil) == .protection(anon(24, 26)))
        // A read of r-- that faults all the same: not what the registry says.
        #expect(FaultExplanation.classify(segv(pg(18), .read, accessError: false), w.view, w.registry, nil)
                == .notAsRecorded(anon(18, 20, prot: 1)))
    }

    @Test func anyAccessToProtNoneIsAProtectionViolation() {
        let w = PlanWorld()
        w.reg.insert(anon(18, 20, prot: 0))
        #expect(FaultExplanation.classify(segv(pg(18), .read), w.view, w.registry, nil) == .protection(anon(18, 20, prot: 0)))
        #expect(FaultExplanation.classify(segv(pg(18), .unknown), w.view, w.registry, nil) == .protection(anon(18, 20, prot: 0)))
    }

    @Test func busErrorOnAFileMappingIsPastTheFilesEnd() {
        let w = PlanWorld()
        let file = Mapping(start: pg(18), end: pg(20), prot: 1, kind: 0)
        w.reg.insert(file)
        let bus = Fault(signal: .bus, address: pg(19), access: .read)
        #expect(FaultExplanation.classify(bus, w.view, w.registry, nil) == .pastFileEnd(file))
        // An anonymous mapping has no file end.
        w.reg.insert(anon(24, 25))
        #expect(FaultExplanation.classify(Fault(signal: .bus, address: pg(24), access: .read), w.view, w.registry, nil)
                == .notAsRecorded(anon(24, 25)))
    }

    @Test func pageRightAfterAMappingIsPastItsEnd() {
        let w = PlanWorld()
        w.reg.insert(anon(18, 22))
        #expect(FaultExplanation.classify(segv(pg(22)), w.view, w.registry, History().h)
                == .pastEnd(anon(18, 22), distance: 0))
        #expect(FaultExplanation.classify(segv(pg(23) + 16), w.view, w.registry, History().h)
                == .pastEnd(anon(18, 22), distance: P + 16))
    }

    @Test func pageRightBeforeAMappingIsBeforeItsStart() {
        let w = PlanWorld()
        w.reg.insert(anon(28, 30))
        #expect(FaultExplanation.classify(segv(pg(28) - 8), w.view, w.registry, History().h)
                == .beforeStart(anon(28, 30), distance: 8))
    }

    @Test func closerNeighbourIsNamed() {
        let w = PlanWorld()
        w.reg.insert(anon(16, 18))
        w.reg.insert(anon(22, 24))
        #expect(FaultExplanation.classify(segv(pg(18) + 4), w.view, w.registry, History().h)
                == .pastEnd(anon(16, 18), distance: 4))
        #expect(FaultExplanation.classify(segv(pg(22) - 4), w.view, w.registry, History().h)
                == .beforeStart(anon(22, 24), distance: 4))
    }

    @Test func farFromEveryMappingIsNeverMapped() {
        let w = PlanWorld([Window(base: pg(16), size: 64 * P)])
        w.reg.insert(anon(16, 17))
        let far = pg(17 + FaultExplanation.nearbyPages + 1)
        #expect(FaultExplanation.classify(segv(far), w.view, w.registry, History().h)
                == .neverMapped(window: 0, historyComplete: true))
    }

    @Test func neverMappedIsOnlySaidWhileTheHistoryIsComplete() {
        let w = PlanWorld([Window(base: pg(16), size: 64 * P)])
        let hist = History()
        for i in 0..<(UnmapHistory.capacity + 1) { hist.unmap(pg(70), pg(71), of: anon(70, 71), time: UInt64(i)) }
        #expect(hist.h.wrapped)
        #expect(FaultExplanation.classify(segv(pg(40)), w.view, w.registry, hist.h)
                == .neverMapped(window: 0, historyComplete: false))
    }

    @Test func mappingInAnotherWindowIsNotANeighbour() {
        let w = PlanWorld(PlanWorld.three)
        w.reg.insert(anon(46, 48)) // outside every window: not a neighbour of W1
        w.reg.insert(anon(30, 32)) // W0's last pages
        #expect(FaultExplanation.classify(segv(pg(48)), w.view, w.registry, History().h)
                == .neverMapped(window: 1, historyComplete: true))
    }
}

@Suite struct UnmapHistoryTests {
    /// What the history records comes from the registry's own removal: each
    /// mapping removed or trimmed, whole, as it was, and nothing else.
    @Test func removalHandsEachRemovedMappingWhole() {
        let reg = Registry(capacity: 64)
        reg.insert(anon(16, 20, stack: 1))
        reg.insert(anon(20, 24, stack: 2))
        reg.insert(anon(30, 32, stack: 3))
        var seen: [Mapping] = []
        reg.change("remove 18..22") { $0.remove(pg(18), pg(22)) { seen.append($0) } }
        #expect(seen == [anon(16, 20, stack: 1), anon(20, 24, stack: 2)])
        #expect(reg.r.mapping(containing: pg(17)) == anon(16, 18, stack: 1))
        let upper = reg.r.mapping(containing: pg(22))
        #expect(upper?.start == pg(22) && upper?.end == pg(24) && upper?.origin.stack == 2)
        seen = []
        reg.change("remove exactly one") { $0.remove(pg(30), pg(32)) { seen.append($0) } }
        #expect(seen == [anon(30, 32, stack: 3)])
        seen = []
        reg.change("remove nothing") { $0.remove(pg(40), pg(44)) { seen.append($0) } }
        #expect(seen.isEmpty)
    }

    @Test func keepsTheLastCapacityRecords() {
        let hist = History()
        #expect(hist.h.count == 0 && !hist.h.wrapped)
        for i in 0..<(UnmapHistory.capacity + 5) {
            hist.unmap(pg(UInt64(i)), pg(UInt64(i) + 1), of: anon(UInt64(i), UInt64(i) + 1), time: UInt64(i))
        }
        #expect(hist.h.count == UnmapHistory.capacity)
        #expect(hist.h.latest(covering: pg(0)) == nil) // overwritten
        #expect(hist.h.latest(covering: pg(4)) == nil)
        #expect(hist.h.latest(covering: pg(5))?.time == 5)
        #expect(hist.h.latest(covering: pg(UInt64(UnmapHistory.capacity) + 4))?.time == UInt64(UnmapHistory.capacity) + 4)
    }

    @Test func recordIsEightyBytes() {
        #expect(MemoryLayout<UnmapRecord>.stride == 80)
        #expect(UnmapHistory.bytes == 80 * 1024)
    }

    @Test func remapMovesPagesBelowTheNewSizeAndCutsTheTail() {
        let hist = History()
        hist.unmap(pg(18), pg(20), of: anon(18, 22)) // a record from an earlier call: untouched
        let mark = hist.h.written
        hist.unmap(pg(20), pg(22), of: anon(18, 22))   // the tail cut off first
        hist.unmap(pg(18), pg(20), of: anon(18, 20))   // then the rest moved
        hist.h.settleRemap(since: mark, old: pg(18), newSize: 2 * P, result: pg(40))
        let moved = hist.h.latest(covering: pg(19))!
        #expect(moved.cause == .mremapMoved && moved.movedTo == pg(40))
        #expect(hist.h.latest(covering: pg(21))?.cause == .mremapShrank)
        // A shrink in place moves nothing.
        let mark2 = hist.h.written
        hist.unmap(pg(30), pg(31), of: anon(28, 31))
        hist.h.settleRemap(since: mark2, old: pg(28), newSize: 2 * P, result: pg(28))
        #expect(hist.h.latest(covering: pg(30))?.cause == .mremapShrank)
    }
}

@Suite struct FaultTextTests {
    @Test func headNamesSignalAddressAccessAndKind() {
        let m = anon(18, 22)
        let r = UnmapRecord(lo: pg(18), hi: pg(22), mapping: m, time: 0, unmapStack: 0, unmapThread: 4242)
        let f = Fault(signal: .segv, address: 0x4000_0020_3000, access: .write)
        #expect(render { FaultText.head(f, .afterUnmap(r), &$0) }
                == "mapwarden: SIGSEGV at 0x400000203000 (write): use after munmap")
        var moved = r
        moved.cause = .mremapMoved
        moved.movedTo = pg(40)
        #expect(render { FaultText.head(Fault(signal: .segv, address: pg(19) + 8, access: .read), .afterUnmap(moved), &$0) }
                == "mapwarden: SIGSEGV at 0x\(String(pg(19) + 8, radix: 16)) (read): use after mremap moved it to 0x\(String(pg(41) + 8, radix: 16))")
        #expect(render { FaultText.head(Fault(signal: .bus, address: pg(19), access: .read), .pastFileEnd(m), &$0) }
                == "mapwarden: SIGBUS at 0x\(String(pg(19), radix: 16)) (read): past the end of the mapped file")
        #expect(render { FaultText.what(f, .pastEnd(m, distance: 0), &$0) } == "0 bytes past the end of a mapping")
        #expect(render { FaultText.what(f, .beforeStart(m, distance: 1), &$0) } == "1 byte before the start of a mapping")
        #expect(render { FaultText.what(f, .protection(anon(18, 22, prot: 1)), &$0) }
                == "protection violation: write of a r-- mapping")
        #expect(render { FaultText.what(f, .neverMapped(window: 0, historyComplete: true), &$0) } == "never mapped")
        #expect(render { FaultText.what(f, .neverMapped(window: 0, historyComplete: false), &$0) }
                == "not mapped (and not among the last 1024 ranges unmapped)")
    }

    @Test func detailLinesSayWhenWhoAndWhat() {
        let m = Mapping(start: 0x4000_0020_0000, end: 0x4000_0020_4000, prot: 3, kind: MappingKind.anonymous,
                        origin: Mapping.Origin(stack: 1, thread: 4242))
        let r = UnmapRecord(lo: m.start, hi: m.end, mapping: m, time: 0, unmapStack: 0, unmapThread: 4243)
        #expect(render { FaultText.unmapped(r, ago: 1_234_567, &$0) } == "  the page was unmapped 1.2 ms ago by thread 4243:")
        #expect(render { FaultText.unmapped(r, ago: nil, &$0) } == "  the page was unmapped by thread 4243:")
        #expect(render { FaultText.mapped(r.mapping, live: false, &$0) }
                == "  it had been mapped (0x400000200000, 16 KiB, rw-, anonymous) by thread 4242:")
        #expect(render { FaultText.mapped(m, live: true, &$0) }
                == "  the mapping (0x400000200000, 16 KiB, rw-, anonymous) was made by thread 4242:")
    }

    @Test func durationsAndSizes() {
        #expect(render { FaultText.append(duration: 850, &$0) } == "850 ns")
        #expect(render { FaultText.append(duration: 35_240, &$0) } == "35.2 us")
        #expect(render { FaultText.append(duration: 3_000_000_000, &$0) } == "3.0 s")
        #expect(render { FaultText.append(duration: 125_000_000_000, &$0) } == "125 s")
        #expect(render { FaultText.append(bytes: 4096, &$0) } == "4 KiB")
        #expect(render { FaultText.append(bytes: 1 << 30, &$0) } == "1 GiB")
        #expect(render { FaultText.append(bytes: 12_000, &$0) } == "12000 bytes")
    }

    @Test func ticksBecomeNanosecondsByTheReferenceInterval() {
        // 3 ticks a nanosecond: 3000 ticks are 1 us.
        #expect(FaultExplanation.nanoseconds(from: 1000, to: 4000, referenceTicks: 3_000_000, referenceNanoseconds: 1_000_000) == 1000)
        #expect(FaultExplanation.nanoseconds(from: 10, to: 20, referenceTicks: 0, referenceNanoseconds: 5) == nil)
        #expect(FaultExplanation.nanoseconds(from: 20, to: 10, referenceTicks: 10, referenceNanoseconds: 5) == nil)
    }
}
