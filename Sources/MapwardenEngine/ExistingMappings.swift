import CShim
import MapwardenLogic

/// mprotect, pkey_mprotect, madvise, mlock, mlock2, munlock, msync and
/// mincore: calls that act on existing mappings. Inside the window, free
/// pages behave as unmapped memory: the call does what Linux does on the
/// same range with those pages unmapped (see `Holes`), after the kernel's own
/// argument checks, so that EINVAL still comes first.
extension WindowService {
    /// What a successful call changes in the registry.
    enum Change {
        case none
        case protection(Int32)
        case inheritedByFork(Bool) // MADV_DOFORK / MADV_DONTFORK
        case locking(Bool)         // mlock, mlock2 / munlock
    }

    /// How the kernel treats unmapped pages inside the call's range.
    enum Holes {
        /// mprotect, pkey_mprotect, mlock, mlock2, munlock, mincore and
        /// msync(MS_ASYNC): VMA by VMA from the start, stopping with ENOMEM
        /// at the first hole (what lies before it is done).
        case stop
        /// madvise and msync with MS_SYNC or MS_INVALIDATE: every mapped
        /// part, holes skipped, then ENOMEM.
        case skip
    }

    /// - roundsStart: the call rounds an unaligned start down (mlock,
    ///   munlock) instead of refusing it with EINVAL.
    /// - argumentError: the kernel's answer to the call's arguments alone
    ///   (nil when they are valid), asked only before answering ENOMEM.
    /// - refusedWhenInterrupted: the errno for this call from a signal handler
    ///   that interrupted the engine (which cannot check the registry), when
    ///   letting the kernel decide could harm the window (mlock).
    /// - call: the system call on (addr, len), or on a part of the range.
    @inline(__always)
    static func onMappings(_ addr: UInt64, _ len: UInt64, _ stack: CallStack, roundsStart: Bool = false, holes: Holes = .stop,
                           change: Change = .none, refusedWhenInterrupted: Int32? = nil,
                           argumentError: () -> Int32? = { nil }, _ call: (UInt64, UInt64) -> KernelResult) -> KernelResult {
        if !touchesWindow(addr, roundsStart && (len == 0 || len > UInt64.max - 2 * pageSize) ? 1 : len) {
            if Tracking.outside, case .protection(let prot) = change { return protectOutside(addr, len, prot) { call(addr, len) } }
            return call(addr, len)
        }
        if Clobber.on && stack.missing { return .needsStack }
        return onMappingsInWindow(addr, len, stack, roundsStart: roundsStart, holes: holes, change: change,
                                  refusedWhenInterrupted: refusedWhenInterrupted, argumentError: argumentError, call)
    }

    @inline(never)
    static func onMappingsInWindow(_ addr: UInt64, _ len: UInt64, _ stack: CallStack, roundsStart: Bool, holes: Holes,
                                   change: Change, refusedWhenInterrupted: Int32?, argumentError: () -> Int32?,
                                   _ call: (UInt64, UInt64) -> KernelResult) -> KernelResult {
        let r = serveOnMappings(addr, len, stack, roundsStart: roundsStart, holes: holes, change: change,
                                refusedWhenInterrupted: refusedWhenInterrupted, argumentError: argumentError, call)
        if Debug.enabled {
            if case .protection(let prot) = change {
                Debug.call("mprotect", addr, len, Int64(prot), "prot", result: r)
            } else {
                Debug.call("madvise/mlock/msync/mincore", addr, len, result: r)
            }
        }
        return r
    }

    /// Free window pages behave as unmapped memory: the kernel is asked only
    /// about the parts it would act on (outside every window, or mapped in
    /// the registry), in its own order, so the reservation is never touched
    /// and the answer is the one Linux gives on the same range unmapped.
    static func serveOnMappings(_ addr: UInt64, _ len: UInt64, _ stack: CallStack, roundsStart: Bool, holes: Holes,
                                change: Change, refusedWhenInterrupted: Int32?, argumentError: () -> Int32?,
                                _ call: (UInt64, UInt64) -> KernelResult) -> KernelResult {
        locked({
            if let refused = refusedWhenInterrupted { return .failure(refused) }
            return Deferral.onMappings(addr, len, roundsStart: roundsStart, change: change) { call(addr, len) }
        }) { state in
            if case .protection = change { state.calls.mprotect += 1 } else { state.calls.other += 1 }
            // mlock and munlock round as the kernel does, wrapping: the start
            // down to its page, the length up over the start's offset (so
            // (addr, 0) is addr's page when addr is not aligned, and a length
            // near 2^64 can wrap to a page or two).
            let range: (lo: UInt64, hi: UInt64)
            if roundsStart {
                let mask = state.space.pageSize - 1
                let lo = addr & ~mask, n = (len &+ (addr & mask) &+ mask) & ~mask
                let (hi, overflow) = lo.addingReportingOverflow(n)
                guard n > 0, !overflow else { return call(addr, len) } // the kernel's 0 or EINVAL
                range = (lo, hi)
            } else {
                guard len > 0, state.space.isPageAligned(addr), let r = pages(addr, len, state.space), r.lo < r.hi
                else { return call(addr, len) } // the kernel's answer: 0 for len 0, EINVAL, ENOMEM
                range = r
            }
            let touched = Windows.ranges.touching(range.lo, range.hi)
            if touched.isEmpty { return call(addr, len) }
            // (The common case, every window page of the range recorded, in
            // one walk per window; the first free page only when there is one.)
            var allMapped = true
            for i in touched {
                let inside = Windows.ranges[i].clip(range.lo, range.hi)
                if !state.registry.covers(inside.lo, inside.hi) {
                    allMapped = false
                    break
                }
            }
            guard !allMapped, let hole = firstFree(range.lo, range.hi, state) else {
                // All mapped: the call as it is.
                if case .none = change { return call(addr, len) }
                guard state.ensureSpare(MappingRegistry.nodesPerChange * Windows.count) else { return noMemory }
                let r = call(addr, len)
                // madvise skips holes outside the windows and does the rest.
                let done = holes == .skip && r.failed && r.errno == ENOMEM ? KernelResult.success : r
                for i in touched { record(change, done, Windows.ranges[i].clip(range.lo, range.hi), range, &state) }
                return r
            }
            if let e = argumentError() { return .failure(e) }
            if Clobber.on, let i = Windows.ranges.index(containing: hole) {
                state.focus(i)
                let inside = Windows.ranges[i].clip(range.lo, range.hi)
                Clobber.misuse(.freeWindowCall, stack, inside.lo, inside.hi, &state)
            }
            guard state.ensureSpare(MappingRegistry.nodesPerChange * (Windows.count + 2)) else { return noMemory }
            switch holes {
            case .stop:
                if hole == range.lo {
                    // mprotect with PROT_GROWSDOWN starts at the first VMA of
                    // the range, and refuses one that does not grow down.
                    guard case .protection(let prot) = change, prot & PROT_GROWSDOWN != 0 else { return noMemory }
                    var first: UInt64? = nil
                    forEachRun(range.lo, range.hi, state) { lo, _, free in
                        if !free { first = lo }
                        return free
                    }
                    guard let first else { return noMemory }
                    let r = call(first, range.hi - first)
                    for i in touched { record(change, r, Windows.ranges[i].clip(first, range.hi), (first, range.hi), &state) }
                    return r
                }
                let part = (lo: range.lo, hi: hole)
                let r = call(addr, hole - addr)
                for i in touched { record(change, r, Windows.ranges[i].clip(part.lo, part.hi), part, &state) }
                return r.failed ? r : noMemory
            case .skip:
                var result = noMemory
                forEachRun(range.lo, range.hi, state) { lo, hi, free in
                    if free { return true }
                    let r = call(lo, hi - lo)
                    // (ENOMEM here is a hole outside the windows: the mapped
                    // parts were done all the same.)
                    let done = r.failed && r.errno == ENOMEM ? KernelResult.success : r
                    for i in Windows.ranges.touching(lo, hi) { record(change, done, Windows.ranges[i].clip(lo, hi), (lo, hi), &state) }
                    if r.failed && r.errno != ENOMEM {
                        result = r
                        return false
                    }
                    return true
                }
                return result
            }
        }
    }

    /// The first free window page in [lo, hi), or nil.
    static func firstFree(_ lo: UInt64, _ hi: UInt64, _ state: EngineState) -> UInt64? {
        var found: UInt64? = nil
        forEachRun(lo, hi, state) { at, _, free in
            if free { found = at }
            return !free
        }
        return found
    }

    /// Splits [lo, hi) into the runs the kernel acts on (outside every
    /// window, or mapped in the registry: free == false) and free window
    /// runs (free == true), in address order, until body returns false.
    static func forEachRun(_ lo: UInt64, _ hi: UInt64, _ state: EngineState, _ body: (UInt64, UInt64, Bool) -> Bool) {
        var runStart = lo, runFree = false, cursor = lo
        while cursor < hi {
            let end: UInt64, free: Bool
            if let i = Windows.ranges.index(containing: cursor) {
                if let m = state.registry.mapping(containing: cursor) {
                    (end, free) = (Swift.min(m.end, hi), false)
                } else {
                    (end, free) = (Swift.min(state.registry.freeRun(around: cursor, in: Windows.ranges[i]).hi, hi), true)
                }
            } else {
                let next = Windows.ranges.firstTouching(cursor, hi).map { Swift.max(Windows.ranges[$0].base, cursor) } ?? hi
                (end, free) = (next, false)
            }
            if cursor > lo && free != runFree {
                if !body(runStart, cursor, runFree) { return }
                runStart = cursor
            }
            runFree = free
            cursor = end
        }
        _ = body(runStart, hi, runFree)
    }

    /// mlockall(flags), or munlockall() for flags -1: every recorded
    /// mapping's lock bit follows, and MCL_FUTURE marks the next ones.
    static func lockAll(_ flags: Int32) -> KernelResult {
        let call = { flags < 0 ? Kernel.munlockall() : Kernel.mlockall(flags) }
        return locked(call) { state in
            let r = call()
            if r.failed { return r }
            if flags < 0 || flags & MCL_CURRENT != 0 { markAllLocked(flags >= 0, &state) }
            // Every mlockall sets the default anew: MCL_FUTURE or not.
            state.lockFuture = flags >= 0 && flags & MCL_FUTURE != 0
            return r
        }
    }

    /// Sets or clears the lock bit of every recorded mapping (mlockall,
    /// munlockall, and a forked child, which inherits no locks).
    static func markAllLocked(_ locked: Bool, _ state: inout EngineState) {
        for i in 0..<Windows.count {
            state.registry.update(Windows.ranges[i].base, Windows.ranges[i].end) { m in
                m.kind = locked ? m.kind | MappingKind.locked : m.kind & ~MappingKind.locked
            }
        }
    }

    /// What a call on existing mappings changed in the registry, for the
    /// part `inside` one window of the call's `range`.
    static func record(_ change: Change, _ r: KernelResult, _ inside: (lo: UInt64, hi: UInt64),
                       _ range: (lo: UInt64, hi: UInt64), _ state: inout EngineState) {
        switch change {
        case .protection(let prot):
            if !r.failed {
                let recorded = recorded(prot)
                state.registry.update(inside.lo, inside.hi) { $0.prot = recorded }
            } else if r.errno != EINVAL, let first = state.registry.mapping(containing: inside.lo),
                      first.end < inside.hi || inside != (range.lo, range.hi) {
                // mprotect works VMA by VMA: a failure after the first
                // mapping may come after some changed. (Within one mapping
                // it fails before changing anything.) The kernel says which.
                resyncProtection(inside.lo, inside.hi, &state)
            }
        case .inheritedByFork(let inherited):
            if !r.failed {
                if !inherited { state.needsForkCheck = true }
                state.registry.update(inside.lo, inside.hi) { m in
                    m.kind = inherited ? m.kind & ~MappingKind.dontFork : m.kind | MappingKind.dontFork
                }
            }
        case .locking(let locked):
            // mlock sets VM_LOCKED on the whole range before it faults the
            // pages in: ENOMEM or EAGAIN from that (pages past the end of a
            // file, RLIMIT_MEMLOCK) leave the range locked all the same.
            if !r.failed || (locked && (r.errno == ENOMEM || r.errno == EAGAIN)) {
                state.registry.update(inside.lo, inside.hi) { m in
                    m.kind = locked ? m.kind | MappingKind.locked : m.kind & ~MappingKind.locked
                }
                state.registry.join(inside.lo, inside.hi) // VMAs an earlier lock split merge again
            }
        case .none:
            break
        }
    }

    /// After an mprotect that failed part-way: the protection of each
    /// recorded page in [lo, hi) as /proc/self/maps has it (unknown, -1,
    /// when it cannot be read).
    static func resyncProtection(_ lo: UInt64, _ hi: UInt64, _ state: inout EngineState) {
        let maps = ScratchFile(path: cString("/proc/self/maps"), limit: 64 << 20)
        defer { maps.release() }
        guard maps.count > 0 else {
            state.registry.update(lo, hi) { $0.prot = -1 }
            return
        }
        var lines = LineReader(maps.bytes)
        while let line = lines.next() {
            guard let f = MapsLine.fields(line), f.end > lo, f.start < hi else { continue }
            guard state.ensureSpare(MappingRegistry.nodesPerChange) else { return }
            state.registry.update(Swift.max(f.start, lo), Swift.min(f.end, hi)) { $0.prot = f.prot }
        }
    }

    /// The kernel's EINVAL for protection bits it does not know.
    static func protectionError(_ prot: Int32) -> Int32? {
        let known = PROT_READ | PROT_WRITE | PROT_EXEC | PROT_SEM | PROT_GROWSDOWN | PROT_GROWSUP
        if prot & ~known != 0 { return EINVAL }
        if prot & PROT_GROWSDOWN != 0 && prot & PROT_GROWSUP != 0 { return EINVAL }
        return nil
    }

    /// The registry change a madvise advice makes.
    static func change(ofAdvice advice: Int32) -> Change {
        switch advice {
        case MADV_DONTFORK: return .inheritedByFork(false)
        case MADV_DOFORK: return .inheritedByFork(true)
        default: return .none
        }
    }
}
