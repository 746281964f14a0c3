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
    static func unlockApplyingDeferred() {
        Deferral.apply(&engine!.pointee)
        mw_unlock()
        // A handler may have run between the last look and the release.
        while mw_deferred_count() != 0 {
            mw_lock()
            Deferral.apply(&engine!.pointee)
            mw_unlock()
        }
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
        return kind
    }

    /// The page range [lo, hi) of (addr, len), or nil when it overflows.
    static func pages(_ addr: UInt64, _ len: UInt64, _ space: AddressSpace) -> (lo: UInt64, hi: UInt64)? {
        let (end, overflow) = addr.addingReportingOverflow(len)
        if overflow { return nil }
        guard let hi = space.pageAlignedUp(end) else { return nil }
        return (space.pageAlignedDown(addr), hi)
    }

    /// The kernel's own range check for munmap and friends (EINVAL).
    static func withinUserSpace(_ lo: UInt64, _ hi: UInt64, _ space: AddressSpace) -> Bool {
        lo <= space.userEnd && hi <= space.userEnd
    }

    static let noMemory = KernelResult.failure(ENOMEM)

    // MARK: mmap

    @inline(__always)
    static func mmap(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                     _ stack: CallStack) -> KernelResult {
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0
        let relevant = fixed ? touchesWindow(addr, reach(len, flags)) : addr != 0 && touchesWindow(addr, len)
        if !relevant {
            if Tracking.outside { return mmapOutside(addr, len, prot, flags, fd, off, stack) }
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
        if Debug.enabled { Debug.call("mmap", addr, len, Int64(prot), "prot", Int64(flags), "flags", result: r) }
        return r
    }

    static func serveMmap(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                          _ stack: CallStack) -> KernelResult {
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0
        return locked({ Deferral.mmap(addr, len, prot, flags, fd, off) }) { state in
            state.calls.mmap += 1
            state.setCallOrigin(stack)
            guard len > 0, let range = pages(addr, len, state.space),
                  !fixed || state.space.isPageAligned(addr)
            else { return Kernel.mmap(addr, len, prot, flags, fd, off) } // the kernel's EINVAL/ENOMEM
            guard state.ensureSpare(8) else { return noMemory }
            // The kernel maps (and, failing, may unmap) whole huge pages, for
            // MAP_HUGETLB and for files on hugetlbfs alike.
            let huge = hugePageSize(flags, fd)
            if !fixed {
                // (With one window, the hint's range touches it: see `mmap`.)
                guard let i = Windows.count == 1 ? 0 : Windows.ranges.firstTouching(range.lo, range.hi)
                else { return Kernel.mmap(addr, len, prot, flags, fd, off) }
                state.focus(i)
                return mapHinted(addr, len, prot, flags, fd, off, hugePages: huge != 0, &state)
            }
            guard let end = huge != 0 ? alignedUp(range.hi, to: huge) : range.hi, touchesWindow(addr, end - addr)
            else { return Kernel.mmap(addr, len, prot, flags, fd, off) } // (what `reach` feared, it does not reach)
            // One mapping lives in one window (docs/choices.md).
            if Windows.count > 1 {
                guard Windows.ranges.countTouching(addr, end) == 1, let i = Windows.ranges.firstTouching(addr, end)
                else { return .failure(EINVAL) }
                state.focus(i)
            }
            return mapFixed(addr, end, prot, flags, fd, off, &state)
        }
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
    /// 2 MiB (x86-64, and aarch64 with 4 KiB pages).
    /// For a file on hugetlbfs, the file system's page size. Otherwise 0.
    static func hugePageSize(_ flags: Int32, _ fd: Int32) -> UInt64 {
        if flags & MAP_HUGETLB != 0 {
            let shift = UInt64((flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK)
            return shift != 0 ? 1 << shift : 2 << 20
        }
        if flags & MAP_ANONYMOUS == 0 { return FileFacts.hugePageSize(of: fd) }
        return 0
    }

    static func alignedUp(_ a: UInt64, to size: UInt64) -> UInt64? {
        let (s, o) = a.addingReportingOverflow(size - 1)
        return o ? nil : s & ~(size - 1)
    }

    /// A hint inside the window: placed exactly there (rounded down to a page,
    /// as x86-64 does) when the range is free; otherwise left to the kernel,
    /// which places it outside the window, never over a live mapping.
    static func mapHinted(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                          hugePages: Bool, _ state: inout EngineState) -> KernelResult {
        let start = state.space.pageAlignedDown(addr)
        guard flags & (MAP_HUGETLB | MAP_GROWSDOWN) == 0, !hugePages, let size = state.space.pageAlignedUp(len),
              !start.addingReportingOverflow(size).overflow,
              // MAP_32BIT: the kernel honours a free hint that ends at or below 2 GiB.
              flags & MW_MAP_32BIT == 0 || start + size <= 0x8000_0000,
              case let inside = state.window.clip(start, start + size), inside.lo < inside.hi,
              !state.registry.overlapsAny(inside.lo, inside.hi),
              // (the window's file backs only what lies in the window)
              (inside.lo == start && inside.hi == start + size) || !isWindowFile(state.windowIndex, flags)
        else { return Kernel.mmap(addr, len, prot, flags, fd, off) }
        // A hint whose range runs past the window's edge: the kernel would
        // place it there if the pages beyond were free too. Claim them first.
        var claimed = (below: false, above: false)
        if start < inside.lo {
            if claim(start, inside.lo).failed { return Kernel.mmap(addr, len, prot, flags, fd, off) }
            claimed.below = true
        }
        if inside.hi < start + size {
            if claim(inside.hi, start + size).failed {
                if claimed.below { _ = Kernel.munmap(start, inside.lo - start) }
                return Kernel.mmap(addr, len, prot, flags, fd, off)
            }
            claimed.above = true
        }
        let windowFile = isWindowFile(state.windowIndex, flags)
        guard let (flags, fd, off) = backed(state.windowIndex, start, flags, fd, off) else { return .failure(EBADF) }
        let r = Kernel.mmap(start, size, prot, flags | MAP_FIXED, fd, off)
        if r.failed {
            // Rule 4: an unsatisfiable hint is placed elsewhere, as the kernel would.
            if claimed.below { _ = Kernel.munmap(start, inside.lo - start) }
            if claimed.above { _ = Kernel.munmap(inside.hi, start + size - inside.hi) }
            Reservation.repair(inside.lo, inside.hi, &state)
            return Kernel.mmap(addr, len, prot, flags, fd, off)
        }
        state.registry.insert(Mapping(start: inside.lo, end: inside.hi, prot: recorded(prot), kind: kind(ofFlags: flags, windowFile: windowFile),
                                      offset: UInt64(bitPattern: Int64(off)) &+ (inside.lo - start), origin: state.callOrigin))
        state.calls.recorded += 1
        return r
    }

    /// MAP_FIXED or MAP_FIXED_NOREPLACE over [addr, end), inside the window
    /// or straddling its edge.
    static func mapFixed(_ addr: UInt64, _ end: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                         _ state: inout EngineState) -> KernelResult {
        let inside = state.window.clip(addr, end)
        if isWindowFile(state.windowIndex, flags)
            && (inside.lo != addr || inside.hi != end) {
            return .failure(EINVAL) // the window's file cannot back what lies outside it
        }
        let windowFile = isWindowFile(state.windowIndex, flags)
        // The kernel refuses an unaligned offset before anything else, then
        // a range past user space (ENOMEM), before it looks at the range.
        if flags & MAP_ANONYMOUS == 0 && UInt64(bitPattern: Int64(off)) & (state.space.pageSize - 1) != 0 {
            return .failure(EINVAL)
        }
        if end > state.space.userEnd { return noMemory }
        if flags & MAP_FIXED_NOREPLACE != 0 && state.registry.overlapsAny(inside.lo, inside.hi) {
            // The reservation is not an occupant; the program's own mappings
            // are. The kernel checks the arguments (descriptor, offset,
            // length) before the range: the call itself, made as it is,
            // gives those errors, or EEXIST (the window is all mapped).
            let probe = Kernel.mmap(addr, end - addr, prot, flags, fd, off)
            if !probe.failed {
                _ = Kernel.munmap(probe.address, end - addr) // a kernel before 4.17 took it as a hint
                return .failure(EEXIST)
            }
            return probe
        }
        // MAP_SHARED_VALIDATE checks the flags of a file mapping after the
        // range (below: once the parts outside are known free), and refuses
        // MAP_FIXED_NOREPLACE among them.
        let validateRefuses = flags & MAP_FIXED_NOREPLACE != 0 && flags & MAP_TYPE == MAP_SHARED_VALIDATE
            && flags & MAP_ANONYMOUS == 0
        guard let (flags, fd, off) = backed(state.windowIndex, addr, flags, fd, off) else { return .failure(EBADF) }
        var claimed = (below: false, above: false)
        if flags & MAP_FIXED_NOREPLACE != 0 {
            // Outside the window the kernel decides: claim those parts first.
            if addr < inside.lo {
                let p = claim(addr, inside.lo)
                if p.failed { return p }
                claimed.below = true
            }
            if inside.hi < end {
                let p = claim(inside.hi, end)
                if p.failed {
                    if claimed.below { _ = Kernel.munmap(addr, inside.lo - addr) }
                    return p
                }
                claimed.above = true
            }
            if validateRefuses {
                if claimed.below { _ = Kernel.munmap(addr, inside.lo - addr) }
                if claimed.above { _ = Kernel.munmap(inside.hi, end - inside.hi) }
                return .failure(EOPNOTSUPP)
            }
        }
        let r = Kernel.mmap(addr, end - addr, prot, (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED, fd, off)
        if r.failed {
            if claimed.below { _ = Kernel.munmap(addr, inside.lo - addr) }
            if claimed.above { _ = Kernel.munmap(inside.hi, end - inside.hi) }
            Reservation.repair(inside.lo, inside.hi, &state)
            return r
        }
        let offset = UInt64(bitPattern: Int64(off)) &+ (inside.lo - addr)
        state.registry.insert(Mapping(start: inside.lo, end: inside.hi, prot: recorded(prot), kind: kind(ofFlags: flags, windowFile: windowFile), offset: offset,
                                      origin: state.callOrigin))
        state.calls.recorded += 1
        return r
    }

    /// Whether an mmap with these flags in window i maps the window's file
    /// (an anonymous request in a shared or persistent window).
    static func isWindowFile(_ i: Int, _ flags: Int32) -> Bool {
        Windows.anyBacked && flags & MAP_ANONYMOUS != 0 && Windows.details[i].backing != .private
    }

    /// The arguments that map at addr in the focused window (see
    /// Windows.backed), with the window's file open again if the program
    /// closed it; nil when it cannot be.
    static func backed(_ i: Int, _ addr: UInt64, _ flags: Int32, _ fd: Int32, _ off: Int) -> (Int32, Int32, Int)? {
        if !isWindowFile(i, flags) { return (flags, fd, off) }
        if !Windows.details[i].file.stillOpen && !Windows.details[i].file.reopen() { return nil }
        let b = Windows.backed(i, addr, flags, fd, off)
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
            if Tracking.outside { return munmapOutside(addr, len) }
            return Kernel.munmap(addr, len)
        }
        return munmapInWindow(addr, len, stack)
    }

    @inline(never)
    static func munmapInWindow(_ addr: UInt64, _ len: UInt64, _ stack: CallStack) -> KernelResult {
        if Clobber.on && stack.missing { return .needsStack }
        let r = serveMunmap(addr, len, stack)
        if Debug.enabled { Debug.call("munmap", addr, len, result: r) }
        return r
    }

    static func serveMunmap(_ addr: UInt64, _ len: UInt64, _ stack: CallStack) -> KernelResult {
        locked({ Deferral.munmap(addr, len) }) { state in
            state.calls.munmap += 1
            guard len > 0, state.space.isPageAligned(addr), let range = pages(addr, len, state.space),
                  withinUserSpace(range.lo, range.hi, state.space)
            else { return Kernel.munmap(addr, len) } // the kernel's EINVAL, nothing changed
            // Window by window (a range may span several).
            var result = KernelResult.success
            if Windows.count == 1 {
                // One window: the range touches it (see `munmap`).
                guard state.ensureSpare(MappingRegistry.nodesPerChange) else { return noMemory }
                unmappingChecks(range.lo, range.hi, stack, &state)
                return unmap(range.lo, range.hi, &state)
            }
            Windows.ranges.forEachPiece(range.lo, range.hi) { lo, hi, i in
                guard let i else {
                    result = Kernel.munmap(lo, hi - lo)
                    return !result.failed
                }
                state.focus(i)
                guard state.ensureSpare(MappingRegistry.nodesPerChange) else {
                    result = noMemory
                    return false
                }
                unmappingChecks(lo, hi, stack, &state)
                result = unmap(lo, hi, &state)
                return !result.failed
            }
            return result
        }
    }

    /// The clobber guard's look at an munmap of [lo, hi) in the focused window.
    static func unmappingChecks(_ lo: UInt64, _ hi: UInt64, _ stack: CallStack, _ state: inout EngineState) {
        guard Clobber.on else { return }
        let inside = state.window.clip(lo, hi)
        if inside.lo < inside.hi && !state.registry.overlapsAny(inside.lo, inside.hi) {
            Clobber.misuse(.unmappedWindowMunmap, stack, inside.lo, inside.hi, &state)
        }
    }

    /// Unmaps [lo, hi): the parts outside the window first (they are the
    /// ones that can fail), then the part inside goes back to the reservation.
    static func unmap(_ lo: UInt64, _ hi: UInt64, _ state: inout EngineState) -> KernelResult {
        let inside = state.window.clip(lo, hi)
        let outside = unmapOutside(lo, hi, inside)
        if outside.failed { return outside }
        return release(inside.lo, inside.hi, &state)
    }

    /// Unmaps the parts of [lo, hi) below and above `inside` (the window's part).
    static func unmapOutside(_ lo: UInt64, _ hi: UInt64, _ inside: (lo: UInt64, hi: UInt64)) -> KernelResult {
        if lo < inside.lo {
            let below = Kernel.munmap(lo, inside.lo - lo)
            if below.failed { return below }
        }
        if inside.hi < hi { return Kernel.munmap(inside.hi, hi - inside.hi) }
        return .success
    }

    /// The protection the registry records: the access bits of a PROT_* value.
    static func recorded(_ prot: Int32) -> Int32 { prot & (PROT_READ | PROT_WRITE | PROT_EXEC) }

    /// Returns [lo, hi) inside the window to the reservation and forgets it.
    @discardableResult
    static func release(_ lo: UInt64, _ hi: UInt64, _ state: inout EngineState) -> KernelResult {
        if lo == hi { return .success }
        let r = Reservation.cover(lo, hi)
        if r.failed {
            Reservation.repair(lo, hi, &state)
            return r
        }
        state.registry.remove(lo, hi)
        return r
    }
}
