import CShim
import MapwardenLogic

/// Where the registry changes of an executed plan go. The plans
/// (MapwardenLogic: MapPlan, UnmapPlan, RangeCallPlan) decide; the engine
/// executes them the same way on every entry path and only the destination
/// of the changes differs:
///
/// - `LockedEdits`: under the registry lock, straight into the registry;
/// - `DeferredEdits`: from a signal handler that interrupted the engine on
///   its own thread (the lock is held, the registry may be half-changed),
///   into the deferred log, applied when the interrupted code unlocks.
///
/// Both reserve before the kernel call (registry nodes, or log entries), so a
/// call that cannot be recorded fails with ENOMEM having changed nothing.
protocol RegistryEdits {
    /// The registry to plan with; nil when it cannot be read.
    var registry: MappingRegistry? { get }
    /// Whether this path holds the lock (and may change engine state
    /// beyond the registry, such as reopening a window's file).
    var holdsLock: Bool { get }
    /// Makes room for the changes one step records (n registry changes);
    /// false: ENOMEM, nothing done.
    mutating func reserve(_ n: Int) -> Bool
    /// Makes room for recording `change` on the parts of `windows` windows.
    mutating func reserve(recording change: WindowService.Change, windows: Int) -> Bool
    /// A mapping now covers [m.start, m.end) (its origin is filled in here).
    mutating func insert(_ m: Mapping)
    /// [lo, hi) went back to the reservation.
    mutating func forget(_ lo: UInt64, _ hi: UInt64)
    /// A kernel call over [lo, hi) inside a window failed: re-reserve what is
    /// free and forget what was lost (rule 9).
    mutating func repair(_ lo: UInt64, _ hi: UInt64)
    /// An mremap the kernel should have refused moved [from, from+size) to
    /// `to` all the same: make the registry agree. False when this path
    /// cannot (the caller then repairs the window parts).
    mutating func reconcileUnexpectedMove(from: UInt64, to: UInt64, size: UInt64) -> Bool
    /// A call on existing mappings changed [inside) of the call's range.
    mutating func record(_ change: WindowService.Change, _ r: KernelResult, _ inside: (lo: UInt64, hi: UInt64),
                         _ range: (lo: UInt64, hi: UInt64))
}

/// Under the lock: the registry itself.
struct LockedEdits: RegistryEdits {
    let state: UnsafeMutablePointer<EngineState>

    var registry: MappingRegistry? { state.pointee.registry }
    var holdsLock: Bool { true }

    mutating func reserve(_ n: Int) -> Bool {
        state.pointee.ensureSpare(MappingRegistry.nodesPerChange * n)
    }

    mutating func reserve(recording change: WindowService.Change, windows: Int) -> Bool {
        if case .none = change { return true }
        return state.pointee.ensureSpare(MappingRegistry.nodesPerChange * (config.windows.count + 2))
    }

    mutating func insert(_ m: Mapping) {
        var m = m
        m.origin = state.pointee.callOrigin
        state.pointee.registry.insert(m)
        state.pointee.calls.recorded += 1
    }

    mutating func forget(_ lo: UInt64, _ hi: UInt64) {
        let state = self.state
        state.pointee.registry.remove(lo, hi) { state.pointee.recordUnmap(lo, hi, of: $0) }
    }

    mutating func repair(_ lo: UInt64, _ hi: UInt64) {
        guard let i = config.windows.index(containing: lo) else { return }
        Reservation.repair(lo, hi, in: config.windows[i], &state.pointee)
    }

    mutating func record(_ change: WindowService.Change, _ r: KernelResult, _ inside: (lo: UInt64, hi: UInt64),
                         _ range: (lo: UInt64, hi: UInt64)) {
        WindowService.record(change, r, inside, range, &state.pointee)
    }

    mutating func reconcileUnexpectedMove(from: UInt64, to: UInt64, size: UInt64) -> Bool {
        WindowService.reconcileUnexpected(source: from, to, size: size, &state.pointee)
        return true
    }
}

/// From a signal handler that interrupted the engine: the deferred log
/// (CShim/deferred.c), applied by `Deferral.apply` under the lock.
struct DeferredEdits: RegistryEdits {
    /// The entries reserved for the step in progress (a step records at most two).
    var entries: (UnsafeMutablePointer<mw_deferred>?, UnsafeMutablePointer<mw_deferred>?) = (nil, nil)
    var used = 0

    var registry: MappingRegistry? { nil }
    var holdsLock: Bool { false }

    mutating func reserve(_ n: Int) -> Bool {
        entries = (nil, nil)
        used = 0
        if n == 0 { return true }
        if n > 2 { return false }
        guard let first = mw_deferred_reserve() else { return false }
        entries.0 = first
        if n == 2 {
            guard let second = mw_deferred_reserve() else { return false }
            entries.1 = second
        }
        return true
    }

    /// Only protection changes are logged (the log has no entry for the
    /// others: see docs/limitations.md), one per window; more than two
    /// windows is refused rather than half-recorded.
    mutating func reserve(recording change: WindowService.Change, windows: Int) -> Bool {
        guard case .protection = change else { return reserve(0) }
        return reserve(windows)
    }

    mutating func next() -> UnsafeMutablePointer<mw_deferred>? {
        defer { used += 1 }
        return used == 0 ? entries.0 : used == 1 ? entries.1 : nil
    }

    mutating func log(_ op: mw_deferred_op, _ lo: UInt64, _ hi: UInt64, prot: Int32 = 0, kind: UInt32 = 0, offset: UInt64 = 0) {
        guard let e = next() else { return }
        e.pointee.lo = lo
        e.pointee.hi = hi
        e.pointee.prot = prot
        e.pointee.kind = kind
        e.pointee.offset = offset
        e.pointee.op = op.rawValue
    }

    mutating func insert(_ m: Mapping) {
        log(MW_DEFERRED_INSERT, m.start, m.end, prot: m.prot, kind: m.kind, offset: m.offset)
    }

    mutating func forget(_ lo: UInt64, _ hi: UInt64) { log(MW_DEFERRED_REMOVE, lo, hi) }

    mutating func repair(_ lo: UInt64, _ hi: UInt64) { log(MW_DEFERRED_REPAIR, lo, hi) }

    mutating func reconcileUnexpectedMove(from: UInt64, to: UInt64, size: UInt64) -> Bool { false }

    mutating func record(_ change: WindowService.Change, _ r: KernelResult, _ inside: (lo: UInt64, hi: UInt64),
                         _ range: (lo: UInt64, hi: UInt64)) {
        // The handler could not check for free pages: the entry returns
        // whatever the call made of them to the reservation when applied.
        guard case .protection(let prot) = change else { return }
        log(MW_DEFERRED_PROTECT, inside.lo, inside.hi, prot: r.failed ? -1 : WindowService.recorded(prot))
    }
}

extension PlanError {
    /// The errno of the system headers.
    var errno: Int32 {
        switch self {
        case .invalid: return EINVAL
        case .noMemory: return ENOMEM
        case .exists: return EEXIST
        case .notSupported: return EOPNOTSUPP
        case .again: return EAGAIN
        case .fault: return EFAULT
        }
    }
}

extension RemapPlan {
    /// The errno of a plan made without the registry (a signal handler's
    /// mremap that touches a window).
    var refusal: Int32 {
        if case .fail(let e) = self { return e.errno }
        return ENOMEM
    }
}
