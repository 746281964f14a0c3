import CShim
import MapwardenLogic

/// How the engine serves each interposed call.
///
/// Every entry point first decides, without a lock, whether the call can
/// touch a window at all. If not, it makes the one system call and returns
/// (the pass-through path). Otherwise it takes the registry lock and serves
/// the call so that the window stays fully covered: every byte is either a
/// mapping the registry lists or the reservation.
///
/// This file: the shared helpers, mmap and munmap. Calls on existing
/// mappings are in ExistingMappings.swift, mremap in Remap.swift.
enum WindowService {
    // MARK: Shared helpers

    /// Runs body under the registry lock. If this thread already holds the
    /// lock, the call comes from a signal handler that interrupted the
    /// engine: `interrupted` serves it without waiting (see Deferral).
    @inline(__always)
    static func locked(_ interrupted: () -> KernelResult, _ body: (inout EngineState) -> KernelResult) -> KernelResult {
        if mw_owns_lock() != 0 { return interrupted() }
        mw_lock()
        let r = body(&engine!.pointee)
        unlockApplyingDeferred()
        return r
    }

    /// Applies what signal handlers logged while this thread held the lock,
    /// and releases it.
    @inline(__always)
    static func unlockApplyingDeferred() {
        // (Nearly always empty: one load, then the release.)
        var snapshot = false
        if mw_deferred_count() != 0 { snapshot = Deferral.apply(&engine!.pointee) }
        mw_unlock()
        // A handler may have run between the last look and the release.
        while mw_deferred_count() != 0 {
            mw_lock()
            snapshot = Deferral.apply(&engine!.pointee) || snapshot
            mw_unlock()
        }
        // The snapshot signal interrupted this thread inside the engine.
        if snapshot { _ = Snapshot.write(to: nil, demangling: false) }
    }

    /// True when [addr, addr+len) may share a byte with a window.
    @inline(__always)
    static func touchesWindow(_ addr: UInt64, _ len: UInt64) -> Bool {
        Windows.touched(addr, len)
    }

    static func kind(ofFlags flags: Int32, windowFile: Bool = false) -> UInt32 {
        var kind: UInt32 = windowFile ? MappingKind.windowFile : 0
        let type = flags & MAP_TYPE
        if type == MAP_SHARED || type == MAP_SHARED_VALIDATE { kind |= MappingKind.shared }
        if flags & MAP_ANONYMOUS != 0 { kind |= MappingKind.anonymous }
        if flags & MAP_LOCKED != 0 || engine?.pointee.lockFuture == true { kind |= MappingKind.locked }
        if flags & MAP_GROWSDOWN != 0 { kind |= MappingKind.growsDown }
        return kind
    }

    static let noMemory = KernelResult.failure(ENOMEM)

    // MARK: mmap

    @inline(__always)
    static func mmap(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                     _ stack: CallStack) -> KernelResult {
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0
        let relevant = fixed ? touchesWindow(addr, reach(len, flags)) : addr != 0 && touchesWindow(addr, len)
        if !relevant {
            if config.tracksOutside { return mmapOutside(addr, len, prot, flags, fd, off, stack) }
            // libunwind's caches (made while it captures a stack) go to the
            // area mapwarden reserved for them, never into a hole of the
            // program's own memory that the program may map over later.
            if !fixed && mw_capturing() != 0 { return mmapForUnwind(addr, len, prot, flags, fd, off) }
            return Kernel.mmap(addr, len, prot, flags, fd, off)
        }
        return mmapInWindow(addr, len, prot, flags, fd, off, stack)
    }

    // The slow paths are kept out of line so that the pass-through path
    // stays a few instructions around the system call.
    @inline(never)
    static func mmapInWindow(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                             _ stack: CallStack) -> KernelResult {
        if stack.missing { return .needsStack }
        let r = serveMmap(addr, len, prot, flags, fd, off, stack)
        if config.debug { Debug.call("mmap", addr, len, Int64(prot), "prot", Int64(flags), "flags", result: r) }
        return r
    }

    static func serveMmap(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                          _ stack: CallStack) -> KernelResult {
        let request = mapRequest(addr, len, flags, fd, off)
        return locked({ mmapInterrupting(request, addr, len, prot, flags, fd, off) }) { state in
            state.calls.mmap += 1
            state.setCallOrigin(stack)
            return withLockedEdits(&state) { edits in
                execute(MapPlan.decide(request, in: EngineConfig.viewAddress, edits.state.pointee.registry), addr, len, prot, flags, fd, off, &edits)
            }
        }
    }

    /// mmap from a signal handler that interrupted the engine on its own
    /// thread (out of line: the locked path's code stays compact).
    @inline(never)
    static func mmapInterrupting(_ request: MapRequest, _ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32,
                                 _ fd: Int32, _ off: Int) -> KernelResult {
        var edits = DeferredEdits()
        return execute(MapPlan.decide(request, in: EngineConfig.viewAddress, nil), addr, len, prot, flags, fd, off, &edits)
    }

    /// The windows as the plans see them (fixed at start-up).
    static var view: WindowView {
        @inline(__always) _read { yield config.view }
    }

    /// The mmap call as the plans read it: its flags decoded.
    static func mapRequest(_ addr: UInt64, _ len: UInt64, _ flags: Int32, _ fd: Int32, _ off: Int) -> MapRequest {
        var r = MapRequest(addr: addr, length: len)
        r.fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0
        r.noReplace = flags & MAP_FIXED_NOREPLACE != 0
        r.anonymous = flags & MAP_ANONYMOUS != 0
        r.hugetlb = flags & MAP_HUGETLB != 0
        r.growsDown = flags & MAP_GROWSDOWN != 0
        r.below2GiB = flags & MW_MAP_32BIT != 0
        r.validatesFlags = flags & MAP_TYPE == MAP_SHARED_VALIDATE && !r.anonymous
        r.offset = UInt64(bitPattern: Int64(off))
        // (Only a call that may be served needs its huge page size: the
        // hugetlbfs test costs a system call for files.)
        if len > 0 { r.hugePageSize = hugePageSize(flags, fd) }
        return r
    }

    /// Executes an mmap plan (the same on every entry path; `edits` says
    /// where its registry changes go).
    static func execute<E: RegistryEdits>(_ plan: MapPlan, _ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32,
                                          _ fd: Int32, _ off: Int, _ edits: inout E) -> KernelResult {
        switch plan {
        case .kernel:
            return Kernel.mmap(addr, len, prot, flags, fd, off)
        case .fail(let e):
            return .failure(e.errno)
        case .probeThenExists:
            // The call itself gives the kernel's argument errors, or EEXIST
            // (the window is all mapped).
            let probe = Kernel.mmap(addr, len, prot, flags, fd, off)
            if probe.failed { return probe }
            _ = Kernel.munmap(probe.address, len) // a kernel before 4.17 took it as a hint
            return .failure(EEXIST)
        case .place(let p):
            return place(p, addr, len, prot, flags, fd, off, &edits)
        }
    }

    /// MAP_FIXED over [p.start, p.end), after claiming the parts outside the
    /// window when the plan says so; records the window part.
    static func place<E: RegistryEdits>(_ p: InPlaceMap, _ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32,
                                        _ fd: Int32, _ off: Int, _ edits: inout E) -> KernelResult {
        let elsewhere = p.onFailure == .placeElsewhere
        guard edits.reserve(1) else { return noMemory }
        guard let (mapFlags, mapFd, mapOff) = backed(p.window, p.windowFile, p.start, flags, fd, off, reopen: edits.holdsLock)
        else { return .failure(EBADF) }
        var claimed = (below: false, above: false)
        func undoClaims() {
            if claimed.below { _ = Kernel.munmap(p.start, p.lo - p.start) }
            if claimed.above { _ = Kernel.munmap(p.hi, p.end - p.hi) }
        }
        if p.claimBelow {
            let c = claim(p.start, p.lo)
            if c.failed { return elsewhere ? Kernel.mmap(addr, len, prot, flags, fd, off) : c }
            claimed.below = true
        }
        if p.claimAbove {
            let c = claim(p.hi, p.end)
            if c.failed {
                undoClaims()
                return elsewhere ? Kernel.mmap(addr, len, prot, flags, fd, off) : c
            }
            claimed.above = true
        }
        if let refused = p.refuse {
            undoClaims()
            return .failure(refused.errno)
        }
        let r = Kernel.mmap(p.start, p.end - p.start, prot, (mapFlags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED, mapFd, mapOff)
        if r.failed {
            undoClaims()
            edits.repair(p.lo, p.hi)
            // Rule 4: an unsatisfiable hint is placed elsewhere, as the kernel would.
            return elsewhere ? Kernel.mmap(addr, len, prot, flags, fd, off) : r
        }
        let offset = p.windowFile ? UInt64(bitPattern: Int64(mapOff)) &+ (p.lo - p.start) : p.offset
        edits.insert(Mapping(start: p.lo, end: p.hi, prot: recorded(prot), kind: kind(ofFlags: mapFlags, windowFile: p.windowFile),
                             offset: offset, origin: Mapping.Origin()))
        return r
    }

    /// How far a fixed mapping of len bytes may reach, before the engine
    /// knows its page size: the kernel maps (and, failing, unmaps) whole
    /// huge pages for MAP_HUGETLB and for files on hugetlbfs, so such a call
    /// just below a window can reach into it. File mappings and MAP_HUGETLB
    /// without a size reach up to 1 GiB further (the largest huge page of
    /// x86-64); the locked path then takes the real size.
    @inline(__always)
    static func reach(_ len: UInt64, _ flags: Int32) -> UInt64 {
        if flags & MAP_ANONYMOUS != 0 && flags & MAP_HUGETLB == 0 { return len }
        let shift = UInt64((flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK)
        let huge: UInt64 = flags & MAP_HUGETLB != 0 && shift != 0 ? 1 << shift : 1 << 30
        let (r, overflow) = len.addingReportingOverflow(huge)
        return overflow ? UInt64.max : r
    }

    /// The page size of a MAP_HUGETLB call: MAP_HUGE_2MB and friends encode
    /// log2 of it in bits 26-31; without them the system default, taken as
    /// the page size's PMD (AddressSpace.defaultHugePageSize: 2 MiB on
    /// x86-64; on aarch64 2, 32 or 512 MiB with 4, 16 or 64 KiB pages).
    /// For a file on hugetlbfs, the file system's page size. Otherwise 0.
    static func hugePageSize(_ flags: Int32, _ fd: Int32) -> UInt64 {
        if flags & MAP_HUGETLB != 0 {
            let shift = UInt64((flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK)
            return shift != 0 ? 1 << shift : view.space.defaultHugePageSize
        }
        if flags & MAP_ANONYMOUS == 0 { return FileFacts.hugePageSize(of: fd) }
        return 0
    }

    static func alignedUp(_ a: UInt64, to size: UInt64) -> UInt64? {
        let (s, o) = a.addingReportingOverflow(size - 1)
        return o ? nil : s & ~(size - 1)
    }

    /// The arguments that map at addr in window i (see Windows.backed), with
    /// the window's file open again if the program closed it (only under the
    /// lock: from a signal handler the call then fails as mmap would).
    static func backed(_ i: Int, _ windowFile: Bool, _ addr: UInt64, _ flags: Int32, _ fd: Int32, _ off: Int,
                       reopen: Bool) -> (Int32, Int32, Int)? {
        if !windowFile { return (flags, fd, off) }
        let state = engine!
        if reopen && !state.pointee.files[i].stillOpen && !state.pointee.files[i].reopen() { return nil }
        let b = Windows.backed(i, addr, flags, fd, off, file: state.pointee.files[i])
        return (b.flags, b.fd, b.off)
    }

    /// Takes [lo, hi) outside the window with NOREPLACE semantics: EEXIST if
    /// anything is there.
    static func claim(_ lo: UInt64, _ hi: UInt64) -> KernelResult {
        let p = Kernel.mmap(lo, hi - lo, PROT_NONE, Reservation.flags | MAP_FIXED_NOREPLACE)
        if !p.failed && p.address != lo {
            _ = Kernel.munmap(p.address, hi - lo)
            return .failure(EEXIST)
        }
        return p
    }

    // MARK: munmap

    @inline(__always)
    static func munmap(_ addr: UInt64, _ len: UInt64, _ stack: CallStack) -> KernelResult {
        if !touchesWindow(addr, len) {
            if config.tracksOutside { return munmapOutside(addr, len) }
            return Kernel.munmap(addr, len)
        }
        return munmapInWindow(addr, len, stack)
    }

    @inline(never)
    static func munmapInWindow(_ addr: UInt64, _ len: UInt64, _ stack: CallStack) -> KernelResult {
        if Clobber.on && stack.missing { return .needsStack }
        let r = serveMunmap(addr, len, stack)
        if config.debug { Debug.call("munmap", addr, len, result: r) }
        return r
    }

    static func serveMunmap(_ addr: UInt64, _ len: UInt64, _ stack: CallStack) -> KernelResult {
        locked({ munmapInterrupting(addr, len) }) { state in
            state.calls.munmap += 1
            state.setUnmapOrigin(stack)
            return withLockedEdits(&state) { edits in
                let state = edits.state
                return executeUnmap(addr, len, &edits) { lo, hi in unmappingChecks(lo, hi, stack, &state.pointee) }
            }
        }
    }

    /// munmap from a signal handler that interrupted the engine (out of line).
    @inline(never)
    static func munmapInterrupting(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        var edits = DeferredEdits()
        return executeUnmap(addr, len, &edits) { _, _ in }
    }

    /// Executes munmap's plan (rule 6); `checks` looks at each window part
    /// before it is released (the clobber guard, under the lock).
    static func executeUnmap<E: RegistryEdits>(_ addr: UInt64, _ len: UInt64, _ edits: inout E,
                                               _ checks: (UInt64, UInt64) -> Void) -> KernelResult {
        guard let range = UnmapPlan.range(addr, len, in: EngineConfig.viewAddress)
        else { return Kernel.munmap(addr, len) } // the kernel's EINVAL, nothing changed
        var result = KernelResult.success
        UnmapPlan.forEachStep(range.lo, range.hi, in: EngineConfig.windowsAddress) { step in
            switch step {
            case .unmap(let lo, let hi):
                result = Kernel.munmap(lo, hi - lo)
            case .release(_, let lo, let hi):
                guard edits.reserve(1) else {
                    result = noMemory
                    return false
                }
                checks(lo, hi)
                result = release(lo, hi, &edits)
            }
            return !result.failed
        }
        return result
    }

    /// The clobber guard's look at an munmap of [lo, hi), a window's part.
    static func unmappingChecks(_ lo: UInt64, _ hi: UInt64, _ stack: CallStack, _ state: inout EngineState) {
        guard Clobber.on else { return }
        if !state.registry.overlapsAny(lo, hi) {
            Clobber.misuse(.unmappedWindowMunmap, stack, lo, hi, &state)
        }
    }

    /// The protection the registry records: the access bits of a PROT_* value.
    static func recorded(_ prot: Int32) -> Int32 { prot & (PROT_READ | PROT_WRITE | PROT_EXEC) }

    /// Returns [lo, hi) inside a window to the reservation and forgets it.
    @discardableResult
    static func release<E: RegistryEdits>(_ lo: UInt64, _ hi: UInt64, _ edits: inout E) -> KernelResult {
        if lo == hi { return .success }
        let r = Reservation.cover(lo, hi)
        if r.failed {
            edits.repair(lo, hi)
            return r
        }
        edits.forget(lo, hi)
        return r
    }

    /// The same under the lock (mremap's sources and tails).
    @discardableResult
    static func release(_ lo: UInt64, _ hi: UInt64, in window: Window, _ state: inout EngineState) -> KernelResult {
        withLockedEdits(&state) { release(lo, hi, &$0) }
    }

    /// Runs body with the registry edits of the locked path, on state.
    @inline(__always)
    static func withLockedEdits<R>(_ state: inout EngineState, _ body: (inout LockedEdits) -> R) -> R {
        withUnsafeMutablePointer(to: &state) { p in
            var edits = LockedEdits(state: p)
            return body(&edits)
        }
    }
}
