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
    typealias Holes = RangeCall.Holes

    /// - roundsStart: the call rounds an unaligned start down (mlock,
    ///   munlock) instead of refusing it with EINVAL.
    /// - argumentError: the kernel's answer to the call's arguments alone
    ///   (nil when they are valid), asked only before answering ENOMEM.
    /// - needsRegistry: the call may not run unchecked from a signal handler
    ///   that interrupted the engine (which cannot read the registry): letting
    ///   the kernel decide could harm the window (mlock). The plan refuses it.
    /// - call: the system call on (addr, len), or on a part of the range.
    @inline(__always)
    static func onMappings(_ addr: UInt64, _ len: UInt64, _ stack: CallStack, roundsStart: Bool = false, holes: Holes = .stop,
                           change: Change = .none, needsRegistry: Bool = false,
                           argumentError: () -> Int32? = { nil }, _ call: (UInt64, UInt64) -> KernelResult) -> KernelResult {
        if !touchesWindow(addr, roundsStart && (len == 0 || len > UInt64.max - 2 * config.space.pageSize) ? 1 : len) {
            if config.tracksOutside, case .protection(let prot) = change { return protectOutside(addr, len, prot) { call(addr, len) } }
            return call(addr, len)
        }
        if Clobber.on && stack.missing { return .needsStack }
        return onMappingsInWindow(addr, len, stack, roundsStart: roundsStart, holes: holes, change: change,
                                  needsRegistry: needsRegistry, argumentError: argumentError, call)
    }

    @inline(never)
    static func onMappingsInWindow(_ addr: UInt64, _ len: UInt64, _ stack: CallStack, roundsStart: Bool, holes: Holes,
                                   change: Change, needsRegistry: Bool, argumentError: () -> Int32?,
                                   _ call: (UInt64, UInt64) -> KernelResult) -> KernelResult {
        let r = serveOnMappings(addr, len, stack, roundsStart: roundsStart, holes: holes, change: change,
                                needsRegistry: needsRegistry, argumentError: argumentError, call)
        if config.debug {
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
    /// RangeCallPlan decides (rule 7); this executes the plan.
    static func serveOnMappings(_ addr: UInt64, _ len: UInt64, _ stack: CallStack, roundsStart: Bool, holes: Holes,
                                change: Change, needsRegistry: Bool, argumentError: () -> Int32?,
                                _ call: (UInt64, UInt64) -> KernelResult) -> KernelResult {
        var c = RangeCall(addr: addr, length: len)
        c.roundsStart = roundsStart
        c.holes = holes
        if case .protection(let prot) = change { c.growsDown = prot & PROT_GROWSDOWN != 0 }
        c.needsRegistry = needsRegistry
        return locked({
            var edits = DeferredEdits()
            return executeRangeCall(c, change, &edits, argumentError: argumentError, onFree: { _, _ in }, call)
        }) { state in
            if case .protection = change { state.calls.mprotect += 1 } else { state.calls.other += 1 }
            return withLockedEdits(&state) { edits in
                let state = edits.state
                return executeRangeCall(c, change, &edits, argumentError: argumentError, onFree: { lo, hi in
                    Clobber.misuse(.freeWindowCall, stack, lo, hi, &state.pointee)
                }, call)
            }
        }
    }

    /// Executes a call's RangeCallPlan; `onFree` sees the window part that
    /// holds the first free page (the clobber guard, under the lock).
    static func executeRangeCall<E: RegistryEdits>(_ c: RangeCall, _ change: Change, _ edits: inout E,
                                                   argumentError: () -> Int32?, onFree: (UInt64, UInt64) -> Void,
                                                   _ call: (UInt64, UInt64) -> KernelResult) -> KernelResult {
        let windows = view.windows
        switch RangeCallPlan.decide(c, in: EngineConfig.viewAddress, edits.registry) {
        case .kernel:
            return call(c.addr, c.length)
        case .fail(let e):
            return .failure(e.errno)
        case .whole(let lo, let hi):
            if case .none = change { return call(c.addr, c.length) }
            let touched = windows.touching(lo, hi)
            guard edits.reserve(recording: change, windows: touched.count) else { return noMemory }
            let r = call(c.addr, c.length)
            // madvise skips holes outside the windows and does the rest.
            let done = c.holes == .skip && r.failed && r.errno == ENOMEM ? KernelResult.success : r
            for i in touched { edits.record(change, done, windows[i].clip(lo, hi), (lo, hi)) }
            return r
        case .overFreePages(let lo, let hi, let free, let then):
            if let e = argumentError() { return .failure(e) }
            if Clobber.on, let i = windows.index(containing: free) {
                let inside = windows[i].clip(lo, hi)
                onFree(inside.lo, inside.hi)
            }
            guard edits.reserve(recording: change, windows: Windows.count) else { return noMemory }
            switch then {
            case .noMemory:
                return noMemory
            case .fromFirstMapped(let first):
                let r = call(first, hi - first)
                for i in windows.touching(first, hi) { edits.record(change, r, windows[i].clip(first, hi), (first, hi)) }
                return r
            case .upToFree:
                let r = call(c.addr, free - c.addr)
                for i in windows.touching(lo, free) { edits.record(change, r, windows[i].clip(lo, free), (lo, free)) }
                return r.failed ? r : noMemory
            case .eachMappedRun:
                var result = noMemory
                // Run by run from the live registry (recording a run may
                // split or join records).
                var at = lo
                while at < hi {
                    var run: (lo: UInt64, hi: UInt64)? = nil
                    edits.registry!.forEachRun(at, hi, in: windows) { a, b, free in
                        if free { return true }
                        run = (a, b)
                        return false
                    }
                    guard let run else { break }
                    let r = call(run.lo, run.hi - run.lo)
                    // (ENOMEM here is a hole outside the windows: the mapped
                    // parts were done all the same.)
                    let done = r.failed && r.errno == ENOMEM ? KernelResult.success : r
                    for i in windows.touching(run.lo, run.hi) { edits.record(change, done, windows[i].clip(run.lo, run.hi), run) }
                    if r.failed && r.errno != ENOMEM {
                        result = r
                        break
                    }
                    at = run.hi
                }
                return result
            }
        }
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
            state.registry.update(config.windows[i].base, config.windows[i].end) { m in
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
                // PROT_GROWSDOWN changes a MAP_GROWSDOWN VMA from its start
                // (the call succeeded: the VMA at the start grows down).
                var lo = inside.lo
                if prot & PROT_GROWSDOWN != 0, let m = state.registry.mapping(containing: lo),
                   m.kind & MappingKind.growsDown != 0, let start = state.registry.vmaStart(containing: lo) {
                    lo = start
                }
                state.registry.update(lo, inside.hi) { $0.prot = recorded }
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
