import CShim
import MapwardenLogic

/// How the engine serves each interposed call.
///
/// Every entry point first decides, without a lock, whether the call can
/// touch a window at all. If not, it makes the one system call and returns
/// (the pass-through path). Otherwise it takes the registry lock and serves
/// the call so that the window stays fully covered: every byte is either a
/// mapping the registry lists or the reservation.
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
        Deferral.apply(&engine!.pointee)
        mw_unlock()
        // A handler may have run between the last look and the release.
        while mw_deferred_count() != 0 {
            mw_lock()
            Deferral.apply(&engine!.pointee)
            mw_unlock()
        }
        return r
    }

    /// True when [addr, addr+len) may share a byte with the window.
    @inline(__always)
    static func touchesWindow(_ addr: UInt64, _ len: UInt64) -> Bool {
        addr < windowEnd && addr &+ len > windowBase
    }

    static func kind(ofFlags flags: Int32) -> UInt32 {
        var kind: UInt32 = 0
        let type = flags & 0x0F // MAP_TYPE
        if type == MAP_SHARED || type == MAP_SHARED_VALIDATE { kind |= MappingKind.shared }
        if flags & MAP_ANONYMOUS != 0 { kind |= MappingKind.anonymous }
        return kind
    }

    /// The page range [lo, hi) of (addr, len), or nil when it overflows.
    static func pages(_ addr: UInt64, _ len: UInt64, _ space: AddressSpace) -> (lo: UInt64, hi: UInt64)? {
        let (end, overflow) = addr.addingReportingOverflow(len)
        if overflow { return nil }
        guard let hi = space.pageAlignedUp(end) else { return nil }
        return (space.pageAlignedDown(addr), hi)
    }

    static let noMemory = KernelResult.failure(ENOMEM)

    // MARK: mmap

    static func mmap(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int) -> KernelResult {
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0
        let relevant = fixed ? touchesWindow(addr, len) : (addr >= windowBase && addr < windowEnd)
        if !relevant { return Kernel.mmap(addr, len, prot, flags, fd, off) }
        return mmapInWindow(addr, len, prot, flags, fd, off)
    }

    // The slow paths are kept out of line so that the pass-through path
    // stays a few instructions around the system call.
    @inline(never)
    static func mmapInWindow(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int) -> KernelResult {
        let fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE) != 0
        return locked({ Deferral.mmap(addr, len, prot, flags, fd, off) }) { state in
            guard len > 0, let range = pages(addr, len, state.space),
                  !fixed || state.space.isPageAligned(addr)
            else { return Kernel.mmap(addr, len, prot, flags, fd, off) } // the kernel's EINVAL/ENOMEM
            guard state.ensureSpare(8) else { return noMemory }
            return fixed ? mapFixed(addr, range.hi, prot, flags, fd, off, &state)
                         : mapHinted(addr, range.hi - range.lo, prot, flags, fd, off, &state)
        }
    }

    /// A hint inside the window: placed exactly there when the range is free,
    /// otherwise left to the kernel, which places it outside the window.
    static func mapHinted(_ addr: UInt64, _ size: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                          _ state: inout EngineState) -> KernelResult {
        guard let start = state.space.pageAlignedUp(addr) else { return Kernel.mmap(addr, size, prot, flags, fd, off) }
        let end = start &+ size
        guard end > start, state.window.encloses(start, end), !state.registry.overlapsAny(start, end) else {
            return Kernel.mmap(addr, size, prot, flags, fd, off)
        }
        let r = Kernel.mmap(start, size, prot, flags | MAP_FIXED, fd, off)
        if r.failed {
            Reservation.repair(start, end, &state)
            return r
        }
        state.registry.insert(Mapping(start: start, end: end, prot: prot, kind: kind(ofFlags: flags), offset: UInt64(bitPattern: Int64(off))))
        return r
    }

    /// MAP_FIXED or MAP_FIXED_NOREPLACE over [addr, end), inside the window
    /// or straddling its edge.
    static func mapFixed(_ addr: UInt64, _ end: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                         _ state: inout EngineState) -> KernelResult {
        let inside = state.window.clip(addr, end)
        var probes: (below: KernelResult?, above: KernelResult?) = (nil, nil)
        if flags & MAP_FIXED_NOREPLACE != 0 {
            // The reservation is not an occupant; the program's own mappings are.
            if state.registry.overlapsAny(inside.lo, inside.hi) { return .failure(EEXIST) }
            // Outside the window the kernel decides: claim those parts first.
            if addr < inside.lo {
                let p = claim(addr, inside.lo)
                if p.failed { return p }
                probes.below = p
            }
            if inside.hi < end {
                let p = claim(inside.hi, end)
                if p.failed {
                    if probes.below != nil { _ = Kernel.munmap(addr, inside.lo - addr) }
                    return p
                }
                probes.above = p
            }
        }
        let r = Kernel.mmap(addr, end - addr, prot, (flags & ~MAP_FIXED_NOREPLACE) | MAP_FIXED, fd, off)
        if r.failed {
            if probes.below != nil { _ = Kernel.munmap(addr, inside.lo - addr) }
            if probes.above != nil { _ = Kernel.munmap(inside.hi, end - inside.hi) }
            Reservation.repair(inside.lo, inside.hi, &state)
            return r
        }
        let offset = UInt64(bitPattern: Int64(off)) &+ (inside.lo - addr)
        state.registry.insert(Mapping(start: inside.lo, end: inside.hi, prot: prot, kind: kind(ofFlags: flags), offset: offset))
        return r
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

    static func munmap(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        if !touchesWindow(addr, len) { return Kernel.munmap(addr, len) }
        return munmapInWindow(addr, len)
    }

    @inline(never)
    static func munmapInWindow(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        locked({ Deferral.munmap(addr, len) }) { state in
            guard len > 0, state.space.isPageAligned(addr), let range = pages(addr, len, state.space)
            else { return Kernel.munmap(addr, len) } // the kernel's EINVAL
            guard state.ensureSpare(MappingRegistry.nodesPerChange) else { return noMemory }
            let inside = state.window.clip(range.lo, range.hi)
            let r = Reservation.cover(inside.lo, inside.hi)
            if r.failed {
                Reservation.repair(inside.lo, inside.hi, &state)
                return r
            }
            state.registry.remove(inside.lo, inside.hi)
            if range.lo < inside.lo {
                let below = Kernel.munmap(range.lo, inside.lo - range.lo)
                if below.failed { return below }
            }
            if inside.hi < range.hi {
                let above = Kernel.munmap(inside.hi, range.hi - inside.hi)
                if above.failed { return above }
            }
            return .success
        }
    }

    // MARK: mprotect and the other calls on existing mappings

    /// A call that acts on existing mappings. Inside the window, free pages
    /// behave as unmapped memory: if any page of the range is free the call
    /// fails with ENOMEM and changes nothing. `roundsStart` is true for the
    /// calls that round an unaligned start down (mlock, munlock) instead of
    /// refusing it with EINVAL.
    @inline(__always)
    static func onMappings(_ addr: UInt64, _ len: UInt64, roundsStart: Bool = false, newProt: Int32? = nil,
                           _ call: () -> KernelResult) -> KernelResult {
        if !touchesWindow(addr, len) { return call() }
        return onMappingsInWindow(addr, len, roundsStart: roundsStart, newProt: newProt, call)
    }

    @inline(never)
    static func onMappingsInWindow(_ addr: UInt64, _ len: UInt64, roundsStart: Bool, newProt: Int32?,
                                   _ call: () -> KernelResult) -> KernelResult {
        locked({ Deferral.onMappings(addr, len, roundsStart: roundsStart, newProt: newProt, call) }) { state in
            guard len > 0, roundsStart || state.space.isPageAligned(addr),
                  let range = pages(addr, len, state.space)
            else { return call() } // the kernel's answer: 0 for len 0, EINVAL, ENOMEM
            let inside = state.window.clip(range.lo, range.hi)
            if inside.lo == inside.hi { return call() }
            if !state.registry.covers(inside.lo, inside.hi) { return noMemory }
            guard let prot = newProt else { return call() }
            guard state.ensureSpare(MappingRegistry.nodesPerChange) else { return noMemory }
            let r = call()
            // On failure the kernel may have changed part of a range that
            // straddles the window edge: the protection is then unknown.
            let recorded = r.failed ? (inside == (range.lo, range.hi) ? nil : -1) : prot & (PROT_READ | PROT_WRITE | PROT_EXEC)
            if let recorded { state.registry.update(inside.lo, inside.hi) { $0.prot = recorded } }
            return r
        }
    }

    // MARK: mremap

    static func mremap(_ old: UInt64, _ oldLen: UInt64, _ newLen: UInt64, _ flags: Int32, _ newAddr: UInt64) -> KernelResult {
        let fixed = flags & MREMAP_FIXED != 0
        let sourceIn = touchesWindow(old, Swift.max(oldLen, 1))
        let targetIn = fixed && touchesWindow(newAddr, newLen)
        if !sourceIn && !targetIn { return Kernel.mremap(old, oldLen, newLen, flags, newAddr) }
        // Not from a signal handler that interrupted the engine: moving needs the registry.
        return locked({ noMemory }) { state in
            let space = state.space
            let known = MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP
            guard space.isPageAligned(old), newLen > 0, flags & ~known == 0,
                  !fixed || (flags & MREMAP_MAYMOVE != 0 && space.isPageAligned(newAddr)),
                  flags & MREMAP_DONTUNMAP == 0 || flags & MREMAP_MAYMOVE != 0,
                  let oldSize = space.pageAlignedUp(oldLen), let newSize = space.pageAlignedUp(newLen),
                  !old.addingReportingOverflow(Swift.max(oldSize, newSize)).overflow,
                  !newAddr.addingReportingOverflow(newSize).overflow
            else { return Kernel.mremap(old, oldLen, newLen, flags, newAddr) } // the kernel's EINVAL
            guard state.ensureSpare(8) else { return noMemory }
            if sourceIn {
                return remapFromWindow(old, oldSize, newSize, flags, newAddr, &state)
            }
            // From outside into the window.
            let target = state.window.clip(newAddr, newAddr + newSize)
            let r = Kernel.mremap(old, oldLen, newLen, flags, newAddr)
            if r.failed {
                Reservation.repair(target.lo, target.hi, &state)
                return r
            }
            state.registry.insert(Mapping(start: target.lo, end: target.hi, prot: -1, kind: MappingKind.moved))
            return r
        }
    }

    static func remapFromWindow(_ old: UInt64, _ oldSize: UInt64, _ newSize: UInt64, _ flags: Int32, _ newAddr: UInt64,
                                _ state: inout EngineState) -> KernelResult {
        let page = state.space.pageSize
        // A mapping that straddles the window edge is one VMA the registry
        // sees only half of; moving it is not supported.
        if !state.window.encloses(old, old + Swift.max(oldSize, page)) { return .failure(EINVAL) }
        if oldSize == 0 {
            // Duplicates a shared mapping; the source stays as it is.
            let r = Kernel.mremap(old, 0, newSize, flags, newAddr)
            if !r.failed && flags & MREMAP_FIXED != 0 { record(copyOf: old, at: newAddr, size: newSize, &state) }
            return r
        }
        guard state.registry.covers(old, old + oldSize) else { return .failure(EFAULT) }

        if flags & MREMAP_FIXED != 0 {
            if newAddr < old + oldSize && old < newAddr + newSize { return .failure(EINVAL) }
            let target = state.window.clip(newAddr, newAddr + newSize)
            let keepSource = flags & MREMAP_DONTUNMAP != 0
            let r = keepSource ? Kernel.mremap(old, oldSize, newSize, flags, newAddr)
                               : relocate(old, oldSize, newSize, to: newAddr)
            if r.failed {
                Reservation.repair(target.lo, target.hi, &state)
                return r
            }
            record(copyOf: old, at: newAddr, size: newSize, &state)
            if !keepSource { release(old, old + oldSize, &state) }
            return r
        }
        if flags & MREMAP_DONTUNMAP != 0 {
            // Moves a copy outside the window and keeps the source mapped.
            return Kernel.mremap(old, oldSize, newSize, flags)
        }
        if newSize <= oldSize {
            if newSize < oldSize {
                let r = release(old + newSize, old + oldSize, &state)
                if r.failed { return r }
            }
            return KernelResult(Int(bitPattern: UInt(old)))
        }
        // Grow.
        let tail = (lo: old + oldSize, hi: old + newSize)
        if state.window.encloses(tail.lo, tail.hi) && !state.registry.overlapsAny(tail.lo, tail.hi) {
            let r = relocate(old, oldSize, newSize, to: old)
            if r.failed {
                Reservation.repair(old, tail.hi, &state)
                return r
            }
            record(copyOf: old, at: old, size: newSize, &state)
            return r
        }
        if flags & MREMAP_MAYMOVE == 0 { return noMemory }
        let r = relocate(old, oldSize, newSize, to: nil)
        if !r.failed { release(old, old + oldSize, &state) }
        return r
    }

    /// Moves [old, old+oldSize) to dst (or where the kernel likes, when nil),
    /// resized to newSize, without ever leaving the source unmapped: first a
    /// MREMAP_DONTUNMAP copy outside the window (the source stays mapped),
    /// then a MREMAP_FIXED move that replaces the destination atomically.
    /// If the destination step fails the data goes back where it was.
    static func relocate(_ old: UInt64, _ oldSize: UInt64, _ newSize: UInt64, to dst: UInt64?) -> KernelResult {
        let copy = Kernel.mremap(old, oldSize, oldSize, MREMAP_MAYMOVE | MREMAP_DONTUNMAP)
        if copy.failed {
            // No DONTUNMAP for this mapping (kernels before 5.13 for shared or
            // file mappings): move directly. The source range is unmapped until
            // the caller returns it to the reservation.
            guard let dst else { return Kernel.mremap(old, oldSize, newSize, MREMAP_MAYMOVE) }
            if dst != old { return Kernel.mremap(old, oldSize, newSize, MREMAP_MAYMOVE | MREMAP_FIXED, dst) }
            let out = Kernel.mremap(old, oldSize, newSize, MREMAP_MAYMOVE)
            if out.failed { return out }
            return Kernel.mremap(out.address, newSize, newSize, MREMAP_MAYMOVE | MREMAP_FIXED, dst)
        }
        let moved = dst.map { Kernel.mremap(copy.address, oldSize, newSize, MREMAP_MAYMOVE | MREMAP_FIXED, $0) }
            ?? Kernel.mremap(copy.address, oldSize, newSize, MREMAP_MAYMOVE)
        if moved.failed {
            _ = Kernel.mremap(copy.address, oldSize, oldSize, MREMAP_MAYMOVE | MREMAP_FIXED, old)
        }
        return moved
    }

    /// Records at dst the mapping that used to be at src (its attributes,
    /// with the file offset carried along), clipped to the window.
    static func record(copyOf src: UInt64, at dst: UInt64, size: UInt64, _ state: inout EngineState) {
        let target = state.window.clip(dst, dst + size)
        if target.lo == target.hi { return }
        let from = state.registry.mapping(containing: src)
        var m = Mapping(start: target.lo, end: target.hi, prot: -1, kind: MappingKind.moved)
        if let from {
            m.prot = from.prot
            m.kind = from.kind
            m.offset = from.offset &+ (src - from.start) &+ (target.lo - dst)
        }
        state.registry.insert(m)
    }

    /// Returns [lo, hi) inside the window to the reservation and forgets it.
    @discardableResult
    static func release(_ lo: UInt64, _ hi: UInt64, _ state: inout EngineState) -> KernelResult {
        let r = Reservation.cover(lo, hi)
        if r.failed {
            Reservation.repair(lo, hi, &state)
            return r
        }
        state.registry.remove(lo, hi)
        return r
    }

    // MARK: Query (mapwarden.h)

    static func query(_ addr: UInt64, _ info: UnsafeMutablePointer<mapwarden_info>) -> KernelResult {
        locked({ .failure(EAGAIN) }) { state in
            var out = mapwarden_info()
            let w = state.window
            if w.contains(addr) {
                out.window_base = UInt(w.base)
                out.window_size = Int(w.size)
                if let m = state.registry.mapping(containing: addr) {
                    out.state = UInt32(MAPWARDEN_MAPPED.rawValue)
                    out.kind = m.kind
                    out.base = UInt(m.start)
                    out.size = Int(m.size)
                    out.prot = m.prot
                    out.offset = m.offset
                } else {
                    let run = state.registry.freeRun(around: addr, in: w)
                    out.state = UInt32(MAPWARDEN_FREE.rawValue)
                    out.base = UInt(run.lo)
                    out.size = Int(run.hi - run.lo)
                }
            } else {
                out.state = UInt32(MAPWARDEN_OUTSIDE.rawValue)
            }
            info.pointee = out
            return .success
        }
    }
}
