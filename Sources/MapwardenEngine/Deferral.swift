import CShim
import MapwardenLogic

/// The deferred log's application. A call from a signal handler that
/// interrupted this thread while it held the registry lock cannot wait for
/// the lock (it would deadlock) nor read the registry (the interrupted code
/// may be halfway through a change). It executes the same plan as the locked
/// path, made without the registry (see RegistryEdits, DeferredEdits):
///
/// - the window stays covered: munmap returns the range to the reservation,
///   exactly as usual; MAP_FIXED maps in place;
/// - its registry change goes to the deferred log (CShim/deferred.c), which
///   the interrupted thread applies here before it releases the lock;
/// - where the registry would be needed to answer, the plan refuses:
///   MAP_FIXED_NOREPLACE inside a window gets EEXIST, a hint goes to the
///   kernel, mlock EAGAIN, mremap ENOMEM (after the kernel's own argument
///   errors), mapwarden_query EAGAIN, and any call ENOMEM when the log (4096
///   entries) is full. mprotect cannot check for free pages: what it made
///   of them is returned to the reservation when its entry is applied.
///   madvise, msync and mincore get the kernel's answer.
enum Deferral {
    /// Applies and empties this thread's deferred log (under the lock).
    /// True when a snapshot was asked for meanwhile: the caller writes it
    /// once it has released the lock.
    @discardableResult
    @inline(never) // (cold: out of every locked section's unlock)
    static func apply(_ state: inout EngineState) -> Bool {
        var done: UInt32 = 0
        var snapshot = false
        while true {
            let seen = mw_deferred_count()
            if seen == 0 { return snapshot }
            while done < Swift.min(seen, UInt32(MW_DEFERRED_CAPACITY)) {
                let e = mw_deferred_entry(done)!.pointee
                if e.op == MW_DEFERRED_SNAPSHOT.rawValue { snapshot = true } else { apply(e, &state) }
                done += 1
            }
            if mw_deferred_finish(seen) != 0 { return snapshot }
        }
    }

    static func apply(_ e: mw_deferred, _ state: inout EngineState) {
        guard e.lo < e.hi, state.ensureSpare(MappingRegistry.nodesPerChange) else { return }
        switch e.op {
        case MW_DEFERRED_INSERT.rawValue:
            state.registry.insert(Mapping(start: e.lo, end: e.hi, prot: e.prot, kind: e.kind, offset: e.offset,
                                          origin: state.unknownOrigin))
        case MW_DEFERRED_REMOVE.rawValue:
            state.registry.remove(e.lo, e.hi)
        case MW_DEFERRED_PROTECT.rawValue:
            // The handler could not check for free pages: whatever it made of
            // them goes back to the reservation now. (The handler clipped the
            // entry to one window.)
            if let i = config.windows.index(containing: e.lo) {
                var at = e.lo
                while at < e.hi {
                    let part = state.registry.part(at, e.hi, in: config.windows[i])
                    if part.free { _ = Reservation.cover(at, part.hi) }
                    at = part.hi
                }
            }
            state.registry.update(e.lo, e.hi) { $0.prot = e.prot }
        case MW_DEFERRED_REPAIR.rawValue:
            if let w = config.windows.index(containing: e.lo) { Reservation.repair(e.lo, e.hi, in: config.windows[w], &state) }
        default:
            break
        }
    }
}
