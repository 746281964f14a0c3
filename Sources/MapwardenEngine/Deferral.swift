import CShim
import MapwardenLogic

/// Calls from a signal handler that interrupted this thread while it held
/// the registry lock. Waiting for the lock would deadlock, and reading the
/// registry is not safe (the interrupted code may be halfway through a
/// change), so such a call:
///
/// - still keeps the window covered: munmap returns the range to the
///   reservation, exactly as usual; MAP_FIXED maps in place;
/// - records its registry change in the thread's deferred log, which the
///   interrupted thread applies before it releases the lock;
/// - fails cleanly where the registry would be needed to answer:
///   MAP_FIXED_NOREPLACE inside the window gets EEXIST, mremap touching the
///   window ENOMEM, mapwarden_query EAGAIN, and any call gets ENOMEM when
///   the log (4096 entries) is full, mlock EAGAIN. mprotect cannot check for
///   free pages: what it made of them is returned to the reservation when
///   the entry is applied. madvise, msync and mincore get the kernel's answer.
enum Deferral {
    /// Applies and empties this thread's deferred log (under the lock).
    static func apply(_ state: inout EngineState) {
        var done: UInt32 = 0
        while true {
            let seen = mw_deferred_count()
            if seen == 0 { return }
            while done < Swift.min(seen, UInt32(MW_DEFERRED_CAPACITY)) {
                apply(mw_deferred_entry(done)!.pointee, &state)
                done += 1
            }
            if mw_deferred_finish(seen) != 0 { return }
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
