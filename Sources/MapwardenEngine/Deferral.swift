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
    static func mmap(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int) -> KernelResult {
        if flags & MAP_FIXED_NOREPLACE != 0 { return .failure(EEXIST) }
        // A hint: the kernel places it outside the window, which is reserved.
        guard flags & MAP_FIXED != 0, len > 0, let range = WindowService.pages(addr, len, config.space),
              config.space.isPageAligned(addr)
        else { return Kernel.mmap(addr, len, prot, flags, fd, off) }
        guard config.windows.countTouching(range.lo, range.hi) == 1, let i = config.windows.firstTouching(range.lo, range.hi)
        else { return .failure(EINVAL) }
        let inside = config.windows[i].clip(range.lo, range.hi)
        if config.windowDetails[i].backing != .private && flags & MAP_ANONYMOUS != 0 && inside != (range.lo, range.hi) {
            return .failure(EINVAL)
        }
        // (The window's file, if the program closed it, is opened again
        // only under the lock: here the call fails as mmap would.)
        let windowFile = WindowService.isWindowFile(i, flags)
        let (flags, fd, off) = Windows.backed(i, addr, flags, fd, off, file: engine!.pointee.files[i])
        guard let entry = mw_deferred_reserve() else { return WindowService.noMemory }
        let r = Kernel.mmap(addr, range.hi - range.lo, prot, flags, fd, off)
        entry.pointee.lo = inside.lo
        entry.pointee.hi = inside.hi
        if r.failed {
            entry.pointee.op = MW_DEFERRED_REPAIR.rawValue
        } else {
            entry.pointee.prot = WindowService.recorded(prot)
            entry.pointee.kind = WindowService.kind(ofFlags: flags, windowFile: windowFile)
            entry.pointee.offset = UInt64(bitPattern: Int64(off)) &+ (inside.lo - addr)
            entry.pointee.op = MW_DEFERRED_INSERT.rawValue
        }
        return r
    }

    static func munmap(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        guard len > 0, config.space.isPageAligned(addr), let range = WindowService.pages(addr, len, config.space)
        else { return Kernel.munmap(addr, len) }
        var result = KernelResult.success
        config.windows.forEachPiece(range.lo, range.hi) { lo, hi, i in
            guard let i else {
                result = Kernel.munmap(lo, hi - lo)
                return !result.failed
            }
            guard let entry = mw_deferred_reserve() else {
                result = WindowService.noMemory
                return false
            }
            let inside = config.windows[i].clip(lo, hi)
            entry.pointee.lo = inside.lo
            entry.pointee.hi = inside.hi
            // As on the main path: the parts outside first, they can fail.
            result = WindowService.unmapOutside(lo, hi, inside)
            if result.failed { return false }
            result = Reservation.cover(inside.lo, inside.hi)
            entry.pointee.op = result.failed ? MW_DEFERRED_REPAIR.rawValue : MW_DEFERRED_REMOVE.rawValue
            return !result.failed
        }
        return result
    }

    static func onMappings(_ addr: UInt64, _ len: UInt64, roundsStart: Bool, change: WindowService.Change,
                           _ call: () -> KernelResult) -> KernelResult {
        guard case .protection(let prot) = change, len > 0, roundsStart || config.space.isPageAligned(addr),
              let range = WindowService.pages(addr, len, config.space)
        else { return call() }
        // One entry per window the range touches, taken before the call.
        var entries: (UnsafeMutablePointer<mw_deferred>?, UnsafeMutablePointer<mw_deferred>?) = (nil, nil)
        let touched = config.windows.countTouching(range.lo, range.hi)
        if touched > 2 { return WindowService.noMemory } // rare enough: refuse rather than half-record
        guard let first = mw_deferred_reserve() else { return WindowService.noMemory }
        entries.0 = first
        if touched == 2 {
            guard let second = mw_deferred_reserve() else { return WindowService.noMemory }
            entries.1 = second
        }
        let r = call()
        for (n, i) in config.windows.touching(range.lo, range.hi).enumerated() {
            guard let entry = n == 0 ? entries.0 : entries.1 else { break }
            let inside = config.windows[i].clip(range.lo, range.hi)
            entry.pointee.lo = inside.lo
            entry.pointee.hi = inside.hi
            entry.pointee.prot = r.failed ? -1 : WindowService.recorded(prot)
            entry.pointee.op = MW_DEFERRED_PROTECT.rawValue
        }
        return r
    }

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
            guard let w = config.windows.index(containing: e.lo) else { return }
            let window = config.windows[w]
            var at = e.lo
            while at < e.hi {
                if let m = state.registry.mapping(containing: at) {
                    at = Swift.min(m.end, e.hi)
                } else {
                    let end = Swift.min(state.registry.freeRun(around: at, in: window).hi, e.hi)
                    _ = Reservation.cover(at, end)
                    at = end
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
