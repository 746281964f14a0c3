import CShim
import MapwardenLogic

/// mremap. Inside the window the kernel cannot grow a mapping in place (the
/// reservation is in the way) and moving one away would leave a hole, so the
/// engine does both itself, without ever leaving the window uncovered.
extension WindowService {
    static func mremap(_ old: UInt64, _ oldLen: UInt64, _ newLen: UInt64, _ flags: Int32, _ newAddr: UInt64,
                       _ stack: CallStack) -> KernelResult {
        let fixed = flags & MREMAP_FIXED != 0
        let sourceIn = touchesWindow(old, Swift.max(oldLen, 1))
        let targetIn = fixed ? touchesWindow(newAddr, newLen)
            : (newLen > oldLen && touchesWindow(old, newLen))
                || (flags & MREMAP_DONTUNMAP != 0 && newAddr != 0 && touchesWindow(newAddr, newLen)) // a hint
        if !sourceIn && !targetIn {
            if config.tracksOutside { return mremapOutside(old, oldLen, newLen, flags, newAddr, stack) }
            return Kernel.mremap(old, oldLen, newLen, flags, newAddr)
        }
        return mremapInWindow(old, oldLen, newLen, flags, newAddr, stack)
    }

    @inline(never)
    static func mremapInWindow(_ old: UInt64, _ oldLen: UInt64, _ newLen: UInt64, _ flags: Int32, _ newAddr: UInt64,
                               _ stack: CallStack) -> KernelResult {
        if stack.missing { return .needsStack }
        let r = serveMremap(old, oldLen, newLen, flags, newAddr, stack)
        if config.debug {
            Debug.call("mremap", old, oldLen, Int64(bitPattern: newLen), "to size", Int64(bitPattern: newAddr), "at", result: r)
        }
        return r
    }

    static func serveMremap(_ old: UInt64, _ oldLen: UInt64, _ newLen: UInt64, _ flags: Int32, _ newAddr: UInt64,
                            _ stack: CallStack) -> KernelResult {
        var request = RemapRequest(old: old, oldLength: oldLen, newLength: newLen, newAddr: newAddr)
        request.mayMove = flags & MREMAP_MAYMOVE != 0
        request.fixed = flags & MREMAP_FIXED != 0
        request.dontUnmap = flags & MREMAP_DONTUNMAP != 0
        request.unknownFlags = flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) != 0
        // From a signal handler that interrupted the engine: the plan says
        // moving needs the registry.
        return locked({
            // From a signal handler that interrupted the engine: the kernel's
            // own argument errors, or the plan's refusal (moving needs the registry).
            let plan = RemapPlan.decide(request, view, nil)
            guard case .kernelRefuses = plan else { return .failure(plan.refusal) }
            var edits = DeferredEdits()
            return kernelRefuses(old, oldLen, newLen, flags, newAddr, request, &edits)
        }) { state in
            // What this call returns to the reservation is recorded in the
            // unmap history; once it succeeded, the records say whether
            // their pages moved (and where) or were cut off.
            let mark = state.history.written
            let r = serveMremapLocked(request, old, oldLen, newLen, flags, newAddr, stack, &state)
            if !r.failed && state.history.written != mark {
                state.history.settleRemap(since: mark, old: old, newSize: request.sizes(config.space).new, result: r.address)
            }
            return r
        }
    }

    static func serveMremapLocked(_ request: RemapRequest, _ old: UInt64, _ oldLen: UInt64, _ newLen: UInt64, _ flags: Int32,
                                  _ newAddr: UInt64, _ stack: CallStack, _ state: inout EngineState) -> KernelResult {
        var request = request
        state.calls.mremap += 1
        state.setCallOrigin(stack)
        state.unmapOrigin = state.callOrigin // what it returns to the reservation, for the history
        var flags = flags
        // The source's smaps entries, when a move from outside needs them
        // (read once, before any change).
        var sourceMaps: ScratchFile? = nil
        defer { sourceMaps?.release() }
        if RemapPlan.takesHint(request, view, state.registry) {
            // MREMAP_DONTUNMAP's hint, free in a window: the kernel would
            // take it, so it is the destination (for a source that is one
            // VMA: a hint does not make the move of several).
            let maps = ScratchFile(path: cString("/proc/self/smaps"), limit: 256 << 20)
            sourceMaps = maps
            let oldSize = request.sizes(config.space).old
            if let (source, _) = vma(containing: old, maps), source.end >= old + oldSize {
                flags |= MREMAP_FIXED
                request.fixed = true
            }
        }
        let (oldSize, newSize) = request.sizes(config.space)
        switch RemapPlan.decide(request, view, state.registry) {
        case .kernel:
            return Kernel.mremap(old, oldLen, newLen, flags, newAddr)
        case .kernelRefuses:
            return withLockedEdits(&state) { edits in
                kernelRefuses(old, oldLen, newLen, flags, newAddr, request, &edits)
            }
        case .fail(let e):
            return .failure(e.errno)
        case .fromWindow(let i, let how):
            guard state.ensureSpare(8) else { return noMemory }
            return remapFromWindow(old, oldSize, newSize, flags, newAddr, how, in: config.windows[i], &state)
        case .growTowardWindow:
            guard state.ensureSpare(8) else { return noMemory }
            if flags & MREMAP_DONTUNMAP == 0, newSize > oldSize,
               let r = growIntoWindow(old, oldSize, newSize, flags, &state) { return r }
            return Kernel.mremap(old, oldLen, newLen, flags, newAddr)
        case .intoWindow(let t):
            guard state.ensureSpare(8) else { return noMemory }
            // What arrives is what the kernel has at the source now: its
            // /proc/self/smaps entries, read first.
            let window = config.windows[t]
            let target = window.clip(newAddr, newAddr + newSize)
            let maps = sourceMaps ?? ScratchFile(path: cString("/proc/self/smaps"), limit: 256 << 20)
            sourceMaps = maps
            let r = Kernel.mremap(old, oldLen, newLen, flags, newAddr)
            if r.failed {
                Reservation.repair(target.lo, target.hi, in: window, &state)
                return r
            }
            var origin = state.callOrigin
            if state.outside != nil, state.outside!.ensureSpare(MappingRegistry.nodesPerChange),
               let from = state.outside!.registry.mapping(containing: old) {
                // One of the program's recorded outside mappings moves in:
                // it keeps where it was made, and is no longer outside.
                origin = from.origin
                if flags & MREMAP_DONTUNMAP == 0, let source = config.view.pages(old, Swift.max(oldLen, 1)) {
                    state.outside!.registry.remove(source.lo, source.hi)
                }
            }
            adopt(from: old, oldSize, newSize, to: newAddr, maps, origin: origin, in: window, &state)
            state.needsForkCheck = true // it may carry MADV_DONTFORK from outside
            return r
        }
    }

    /// Arguments the kernel refuses: the call as it is. Should the kernel
    /// take it all the same, the registry is made to agree (under the lock;
    /// from a signal handler the source's and destination's window parts are
    /// repaired). A failed MREMAP_FIXED may have unmapped its destination
    /// first: what it unmapped in a window is reserved again and forgotten.
    static func kernelRefuses<E: RegistryEdits>(_ old: UInt64, _ oldLen: UInt64, _ newLen: UInt64, _ flags: Int32,
                                                _ newAddr: UInt64, _ request: RemapRequest, _ edits: inout E) -> KernelResult {
        let newSize = request.sizes(config.space).new
        let r = Kernel.mremap(old, oldLen, newLen, flags, newAddr)
        if !r.failed {
            if edits.reconcileUnexpectedMove(from: old, to: r.address, size: newSize) { return r }
            repairWindowParts(old, Swift.max(request.sizes(config.space).old, config.space.pageSize), &edits)
            repairWindowParts(r.address, newSize, &edits)
        } else if request.fixed {
            repairWindowParts(newAddr, newSize, &edits)
        }
        return r
    }

    /// Repairs the window parts of [lo, lo+size) (clipped at 2^64).
    static func repairWindowParts<E: RegistryEdits>(_ lo: UInt64, _ size: UInt64, _ edits: inout E) {
        let (end, overflow) = lo.addingReportingOverflow(size)
        let hi = overflow ? UInt64.max : end
        for i in config.windows.touching(lo, hi) {
            let part = config.windows[i].clip(lo, hi)
            guard edits.reserve(1) else { return }
            edits.repair(part.lo, part.hi)
        }
    }

    /// Records a mapping that arrived in a window from outside (the engine
    /// never saw it made), as the kernel moved it: VMA by VMA, each entry of
    /// /proc/self/smaps over the source (read before the move) shifted to the
    /// destination with its protection, sharing, file offset and
    /// MADV_DONTFORK mark; a grown
    /// tail extends the last. A source with holes (Linux 6.17 and later move
    /// such a range VMA by VMA) leaves the destination's parts under the
    /// holes as they were; whatever there is neither recorded nor mapped is
    /// reserved again. Without the maps text, the whole range is recorded
    /// with protection unknown and probed for holes.
    static func adopt(from old: UInt64, _ oldSize: UInt64, _ newSize: UInt64, to dst: UInt64, _ maps: ScratchFile,
                      origin: Mapping.Origin, in window: Window, _ state: inout EngineState) {
        let shift = dst &- old
        guard maps.count > 0 else {
            let target = window.clip(dst, dst + newSize)
            state.registry.insert(Mapping(start: target.lo, end: target.hi, prot: -1, kind: MappingKind.moved, origin: origin))
            Reservation.verifyMapped(target.lo, target.hi, &state)
            return
        }
        // (old size 0: a duplicate of [old, old+newSize) of a shared mapping)
        let moved = oldSize == 0 ? newSize : Swift.min(oldSize, newSize)
        // One VMA's piece at a time: `current` takes its VmFlags line
        // (MADV_DONTFORK is "dc"), `last` waits so a grown tail extends it.
        var last: Mapping? = nil, current: Mapping? = nil
        var lines = LineReader(maps.bytes)
        while let line = lines.next() {
            if line.hasPrefix("VmFlags:") {
                if current != nil && MapsLine.hasFlag(line, "dc") { current!.kind |= MappingKind.dontFork }
                if current != nil && MapsLine.hasFlag(line, "lo") { current!.kind |= MappingKind.locked }
                if current != nil && MapsLine.hasFlag(line, "gd") { current!.kind |= MappingKind.growsDown }
                continue
            }
            guard let f = MapsLine.fields(line) else { continue }
            if let c = current {
                if let last { place(last, shiftedBy: shift, in: window, &state) }
                last = c
                current = nil
            }
            // (a duplicate comes from the one VMA at old)
            guard oldSize == 0 ? f.start <= old && old < f.end : f.end > old && f.start < old + moved else { continue }
            let start = Swift.max(f.start, old), end = Swift.min(f.end, old + moved)
            var kind = MappingKind.moved
            if f.shared { kind |= MappingKind.shared }
            // Shared anonymous memory is a file of the kernel's own ("/dev/zero (deleted)").
            let zero = MapsLine.nameStart(line).map { line.dropFirst($0).hasPrefix("/dev/zero") } ?? false
            if !f.file || zero { kind |= MappingKind.anonymous }
            current = Mapping(start: start, end: end, prot: f.prot, kind: kind,
                              offset: f.file && !zero ? f.offset &+ (start - f.start) : 0, origin: origin)
        }
        if let c = current {
            if let last { place(last, shiftedBy: shift, in: window, &state) }
            last = c
        }
        if oldSize == 0, var copy = last ?? nil {
            // A duplicate is one new VMA of newSize from the VMA at old, past
            // its end too (the object's pages), without its DONTFORK or lock.
            copy.end = old + newSize
            copy.kind &= ~(MappingKind.dontFork | MappingKind.locked)
            last = copy
        }
        if oldSize > 0, newSize > oldSize, last != nil, last!.end == old + oldSize { last!.end = old + newSize }
        if let last { place(last, shiftedBy: shift, in: window, &state) }
        // The destination's parts that nothing arrived in nor was recorded
        // in before: the reservation's (again).
        let target = window.clip(dst, dst + newSize)
        var cursor = target.lo
        state.registry.forEach(overlapping: target.lo, target.hi) { m in
            if m.start > cursor { _ = Reservation.cover(cursor, m.start) }
            cursor = Swift.max(cursor, m.end)
        }
        if cursor < target.hi { _ = Reservation.cover(cursor, target.hi) }
    }

    /// After an mremap the engine expected the kernel to refuse: forget and
    /// re-reserve whatever the source lost, and record the result where it
    /// lies in the window.
    static func reconcileUnexpected(source old: UInt64, _ result: UInt64, size: UInt64, _ state: inout EngineState) {
        if let m = state.registry.mapping(containing: old), let w = config.windows.index(containing: m.start) {
            Reservation.repair(m.start, m.end, in: config.windows[w], &state)
        }
        let (end, overflow) = result.addingReportingOverflow(size)
        let resultEnd = overflow ? UInt64.max : end
        guard let i = config.windows.firstTouching(result, resultEnd) else { return }
        let target = config.windows[i].clip(result, resultEnd)
        guard target.lo < target.hi, state.ensureSpare(MappingRegistry.nodesPerChange) else { return }
        state.registry.insert(Mapping(start: target.lo, end: target.hi, prot: -1, kind: MappingKind.moved, origin: state.callOrigin))
        state.needsForkCheck = true
    }

    /// mremap of a source in `window`, as RemapPlan decided.
    static func remapFromWindow(_ old: UInt64, _ oldSize: UInt64, _ newSize: UInt64, _ flags: Int32, _ newAddr: UInt64,
                                _ how: RemapPlan.FromWindow, in window: Window, _ state: inout EngineState) -> KernelResult {
        let page = config.space.pageSize
        switch how {
        case .straddlesEdge:
            // (Nothing at all at the source is the kernel's EFAULT.)
            let mapped = window.contains(old) ? state.registry.mapping(containing: old) != nil
                                              : Kernel.msync(old, page, MS_ASYNC).errno != ENOMEM
            return .failure(mapped ? EINVAL : EFAULT)
        case .duplicate:
            // The source stays as it is.
            let r = Kernel.mremap(old, 0, newSize, flags, newAddr)
            if flags & MREMAP_FIXED != 0 {
                if r.failed {
                    let target = window.clip(newAddr, newAddr + newSize)
                    Reservation.repair(target.lo, target.hi, in: window, &state)
                } else if let from = state.registry.mapping(containing: old) {
                    // A duplicate is one new VMA of newSize from the VMA at
                    // old (its protection and object, past its end too);
                    // MADV_DONTFORK and the lock stay with the source.
                    var copy = from
                    copy.start = old
                    copy.end = old + newSize
                    copy.offset = from.offset &+ (old - from.start)
                    copy.kind &= ~(MappingKind.dontFork | MappingKind.locked)
                    place(copy, shiftedBy: newAddr &- old, in: window, &state)
                }
            }
            return r
        case .shrinkInPlace:
            if newSize < oldSize {
                let r = release(old + newSize, old + oldSize, in: window, &state)
                if r.failed { return r }
            }
            return KernelResult(Int(bitPattern: UInt(old)))
        case .movePieces(let keepSource):
            return movePieces(old, oldSize, to: newAddr, keepSource: keepSource, in: window, &state)
        case .move(let keepSource, let shrinkFirst):
            var oldSize = oldSize
            if shrinkFirst {
                // The kernel unmaps the tail, then moves the rest.
                let r = release(old + newSize, old + oldSize, in: window, &state)
                if r.failed { return r }
                oldSize = newSize
            }
            let target = window.clip(newAddr, newAddr + newSize)
            let r = keepSource ? Kernel.mremap(old, oldSize, newSize, flags, newAddr)
                               : relocate(old, oldSize, newSize, to: newAddr, &state)
            if r.failed {
                Reservation.repair(target.lo, target.hi, in: window, &state)
                return r
            }
            record(copyOf: old, oldSize: oldSize, at: newAddr, size: newSize, in: window, &state)
            if keepSource { dontUnmapUnlocked(old, oldSize, &state) } else { release(old, old + oldSize, in: window, &state) }
            return r
        case .copyToHint:
            let r = Kernel.mremap(old, oldSize, newSize, flags | MREMAP_FIXED, newAddr)
            if r.failed {
                Reservation.repair(newAddr, newAddr + newSize, in: window, &state)
                return r
            }
            record(copyOf: old, oldSize: oldSize, at: newAddr, size: newSize, in: window, &state)
            dontUnmapUnlocked(old, oldSize, &state)
            return r
        case .copyAnywhere:
            let r = Kernel.mremap(old, oldSize, newSize, flags, newAddr)
            if !r.failed { dontUnmapUnlocked(old, oldSize, &state) }
            return r
        case .grow(let tailFree, let mayMove):
            // In place when the tail is free, in the window (the registry)
            // and past its end (claimed from the kernel first).
            let tail = (lo: old + oldSize, hi: old + newSize)
            let inside = window.clip(tail.lo, tail.hi)
            if tailFree, let claimed = claimBeyond(inside, tail) {
                let r = relocate(old, oldSize, newSize, to: old, &state)
                if r.failed {
                    if claimed { _ = Kernel.munmap(inside.hi, tail.hi - inside.hi) }
                    Reservation.repair(old, inside.hi, in: window, &state)
                    return r
                }
                record(copyOf: old, oldSize: oldSize, at: old, size: newSize, in: window, &state)
                return r
            }
            if !mayMove { return noMemory }
            let r = relocate(old, oldSize, newSize, to: nil, &state)
            if !r.failed { release(old, old + oldSize, in: window, &state) }
            return r
        }
    }

    /// For a tail that runs past the window's end: claims the part beyond
    /// it (nil when that is not free). True when something was claimed.
    static func claimBeyond(_ inside: (lo: UInt64, hi: UInt64), _ tail: (lo: UInt64, hi: UInt64)) -> Bool? {
        if inside.hi >= tail.hi { return false }
        return claim(Swift.max(inside.hi, tail.lo), tail.hi).failed ? nil : true
    }

    /// The smaps entry of the VMA holding addr, and whether it is locked.
    static func vma(containing addr: UInt64, _ maps: ScratchFile) -> (MapsLine.Fields, Bool)? {
        var found: MapsLine.Fields? = nil, locked = false, inside = false
        var lines = LineReader(maps.bytes)
        while let line = lines.next() {
            if let f = MapsLine.fields(line) {
                if found != nil { break }
                inside = f.start <= addr && addr < f.end
                if inside { found = f }
            } else if inside && line.hasPrefix("VmFlags:") {
                locked = MapsLine.hasFlag(line, "lo")
            }
        }
        return found.map { ($0, locked) }
    }

    /// mremap growing a mapping outside every window in place, into one:
    /// as the kernel does when the pages there are free (the registry's
    /// part of the tail free, the rest claimed from the kernel first).
    static func growIntoWindow(_ old: UInt64, _ oldSize: UInt64, _ newSize: UInt64, _ flags: Int32,
                               _ state: inout EngineState) -> KernelResult? {
        let tail = (lo: old + oldSize, hi: old + newSize)
        guard let i = config.windows.firstTouching(tail.lo, tail.hi), config.windows.countTouching(tail.lo, tail.hi) == 1
        else { return nil }
        let window = config.windows[i]
        let inside = window.clip(tail.lo, tail.hi)
        guard inside.lo < inside.hi, !state.registry.overlapsAny(inside.lo, inside.hi), inside.hi == tail.hi
        else { return nil } // (a tail through a whole window: left to the kernel)
        // The source must be one VMA (EFAULT), as its smaps entry tells,
        // which also says whether it is locked.
        let maps = ScratchFile(path: cString("/proc/self/smaps"), limit: 256 << 20)
        defer { maps.release() }
        guard let (source, locked) = vma(containing: old, maps), source.end >= old + oldSize else { return .failure(EFAULT) }
        // The part below the window must be free too: claim it.
        let below = inside.lo > tail.lo
        if below && claim(tail.lo, inside.lo).failed { return nil }
        let r = relocate(old, oldSize, newSize, to: old, locked: locked, &state)
        if r.failed {
            if below { _ = Kernel.munmap(tail.lo, inside.lo - tail.lo) }
            Reservation.repair(inside.lo, inside.hi, in: window, &state)
            return r
        }
        adopt(from: old, oldSize, newSize, to: old, maps, origin: state.callOrigin, in: window, &state)
        return r
    }

    /// After the program's own MREMAP_DONTUNMAP of [old, old+size): the
    /// kernel clears VM_LOCKED on the whole source VMA (the pages that stay,
    /// around the range too). The registry follows, over the records the
    /// kernel would have merged with the source.
    static func dontUnmapUnlocked(_ old: UInt64, _ size: UInt64, _ state: inout EngineState) {
        guard var lo = state.registry.mapping(containing: old), lo.kind & MappingKind.locked != 0,
              var hi = state.registry.mapping(containing: old + Swift.max(size, 1) - 1)
        else { return }
        while lo.start > 0, let prev = state.registry.mapping(containing: lo.start - 1), Mapping.mergeable(prev, lo) { lo = prev }
        while let next = state.registry.mapping(containing: hi.end), Mapping.mergeable(hi, next) { hi = next }
        state.registry.update(lo.start, hi.end) { $0.kind &= ~MappingKind.locked }
    }

    /// A same-size MREMAP_FIXED move of a range with holes, as Linux 6.17+
    /// does it: each mapping of the range moves to the same offset from
    /// newAddr; the destination's parts under the holes stay as they were.
    static func movePieces(_ old: UInt64, _ size: UInt64, to dst: UInt64, keepSource: Bool, in window: Window,
                           _ state: inout EngineState) -> KernelResult {
        var cursor = old
        while cursor < old + size, var m = state.registry.firstOverlapping(cursor, old + size) {
            // One VMA at a time, as the kernel moves them: records it would
            // have merged go together (a MREMAP_DONTUNMAP of part of a
            // locked VMA would unlock the rest of it before its turn).
            let start = m.start
            while m.end < old + size, let next = state.registry.mapping(containing: m.end), Mapping.mergeable(m, next) {
                m = next
            }
            let lo = Swift.max(start, cursor), hi = Swift.min(m.end, old + size)
            let to = dst + (lo - old)
            let target = window.clip(to, to + (hi - lo))
            let r = keepSource ? Kernel.mremap(lo, hi - lo, hi - lo, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, to)
                               : relocate(lo, hi - lo, hi - lo, to: to, &state)
            if r.failed {
                Reservation.repair(target.lo, target.hi, in: window, &state)
                return r
            }
            record(copyOf: lo, oldSize: hi - lo, at: to, size: hi - lo, in: window, &state)
            if keepSource { dontUnmapUnlocked(lo, hi - lo, &state) } else { release(lo, hi, in: window, &state) }
            cursor = hi
        }
        return KernelResult(Int(bitPattern: UInt(dst)))
    }

    /// Moves [old, old+oldSize) to dst (or where the kernel likes, outside
    /// the window, when nil), resized to newSize, never leaving the source
    /// unmapped when the kernel allows:
    ///  1. a placeholder outside the window, clear of the destination;
    ///  2. the mapping moved onto it with MREMAP_DONTUNMAP (the source
    ///     stays mapped, so the window has no hole);
    ///  3. moved on to dst with MREMAP_FIXED, which replaces atomically.
    /// On failure the data goes back to old, and the result is ENOMEM or the
    /// kernel's error with the source as it was.
    static func relocate(_ old: UInt64, _ oldSize: UInt64, _ newSize: UInt64, to dst: UInt64?, locked known: Bool = false,
                         _ state: inout EngineState) -> KernelResult {
        guard let holder = placeholder(oldSize, clearOf: dst.map { ($0, $0 + newSize) }) else { return noMemory }
        // MREMAP_DONTUNMAP unlocks the whole source VMA (VM_LOCKED cleared
        // on the pages that stay, too): a locked mapping moves plainly.
        var locked = known
        state.registry.forEach(overlapping: old, old + oldSize) { if $0.kind & MappingKind.locked != 0 { locked = true } }
        var copy = locked ? KernelResult.failure(EINVAL)
                          : Kernel.mremap(old, oldSize, oldSize, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, holder)
        let sourceKept = !copy.failed
        if copy.failed && copy.errno == EINVAL {
            // No DONTUNMAP for this kind of mapping (hugetlb, VM_DONTEXPAND,
            // PFN maps): move it plainly; the source range is unmapped until
            // the caller returns it to the reservation or moves it back.
            copy = Kernel.mremap(old, oldSize, oldSize, MREMAP_MAYMOVE | MREMAP_FIXED, holder)
        }
        if copy.failed {
            // ENOMEM here (vm.max_map_count is checked before anything moves):
            // nothing changed.
            _ = Kernel.munmap(holder, oldSize)
            return copy
        }
        let moved: KernelResult
        if let dst {
            moved = Kernel.mremap(holder, oldSize, newSize, MREMAP_MAYMOVE | MREMAP_FIXED, dst)
        } else {
            moved = newSize == oldSize ? copy : Kernel.mremap(holder, oldSize, newSize, MREMAP_MAYMOVE)
        }
        if moved.failed { putBack(from: holder, to: old, size: oldSize, sourceKept: sourceKept, &state) }
        return moved
    }

    /// A PROT_NONE mapping of size bytes placed by the kernel (so outside the
    /// window) that does not overlap `clearOf`. Placeholders that do are held
    /// until one lands clear (so the kernel places each elsewhere), then freed.
    static func placeholder(_ size: UInt64, clearOf range: (UInt64, UInt64)?) -> UInt64? {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 32) { held in
            var count = 0
            defer { for i in 0..<count { _ = Kernel.munmap(held[i], size) } }
            while count < held.count {
                let p = Kernel.mmap(0, size, PROT_NONE, Reservation.flags)
                if p.failed { return nil }
                guard let range, p.address < range.1 && range.0 < p.address + size else { return p.address }
                held[count] = p.address
                count += 1
            }
            return nil
        }
    }

    /// Moves data parked at `from` back to `to` after a failed move. If the
    /// kernel refuses even that (vm.max_map_count reached), copy the bytes
    /// into the source, which MREMAP_DONTUNMAP left mapped.
    static func putBack(from: UInt64, to: UInt64, size: UInt64, sourceKept: Bool, _ state: inout EngineState) {
        let back = Kernel.mremap(from, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, to)
        if !back.failed || !sourceKept { return } // (not kept: the caller's repair reserves the hole)
        let source = state.registry.mapping(containing: to)
        if let source, source.kind & MappingKind.shared != 0 {
            // A shared source still shows the same pages: nothing to copy.
            _ = Kernel.munmap(from, size)
            return
        }
        let prot = source?.prot ?? -1
        let writable = prot >= 0 && prot & PROT_WRITE != 0
        if !writable && Kernel.mprotect(to, size, PROT_READ | PROT_WRITE).failed {
            return // cannot copy: better to leave the data parked than to lose it
        }
        let target = UnsafeMutableRawPointer(bitPattern: UInt(to))!
        target.copyMemory(from: UnsafeRawPointer(bitPattern: UInt(from))!, byteCount: Int(size))
        if !writable && prot >= 0 { _ = Kernel.mprotect(to, size, prot) }
        _ = Kernel.munmap(from, size)
    }

    /// Records at dst what used to be at [src, src+oldSize), moved and
    /// resized to `size`: piece by piece, as the kernel moves VMA by VMA
    /// (each keeps its protection, kind, tag, origin and file offset), with
    /// a grown tail like the last piece (the kernel grows the last VMA).
    /// In-window parts go to the registry, the rest (moved out of the
    /// window) to the program's outside mappings when those are tracked.
    /// The source stays recorded: the caller releases it.
    static func record(copyOf src: UInt64, oldSize: UInt64, at dst: UInt64, size: UInt64, in window: Window,
                       _ state: inout EngineState) {
        let moved = Swift.min(oldSize, size)
        // The last piece waits, so that a grown tail extends it.
        var last: Mapping? = nil
        if dst == src {
            // Resized in place: the pieces are where they were.
            if oldSize > 0 { last = state.registry.mapping(containing: src + oldSize - 1) }
            if size <= oldSize { return }
        } else {
            var cursor = src
            while cursor < src + moved, let m = state.registry.firstOverlapping(cursor, src + moved) {
                if let last { place(last, shiftedBy: dst &- src, in: window, &state) }
                var piece = m
                piece.start = Swift.max(m.start, cursor)
                piece.end = Swift.min(m.end, src + moved)
                piece.offset = m.offset &+ (piece.start - m.start)
                last = piece
                cursor = piece.end
            }
        }
        if size > oldSize {
            if last == nil || last!.end != src + oldSize {
                if let last { place(last, shiftedBy: dst &- src, in: window, &state) }
                last = Mapping(start: src + oldSize, end: src + oldSize, prot: -1, kind: MappingKind.moved,
                               origin: state.callOrigin)
            }
            last!.end = src + size
        }
        if let last { place(last, shiftedBy: dst &- src, in: window, &state) }
    }

    /// Records m moved by `shift` (wrapping): its part in `window` in the
    /// registry, the rest among the outside mappings when tracked.
    static func place(_ m: Mapping, shiftedBy shift: UInt64, in window: Window, _ state: inout EngineState) {
        var moved = m
        moved.start = m.start &+ shift
        moved.end = m.end &+ shift
        let inside = window.clip(moved.start, moved.end)
        if inside.lo < inside.hi {
            var part = moved
            part.start = inside.lo
            part.end = inside.hi
            part.offset = moved.offset &+ (inside.lo - moved.start)
            state.registry.insert(part)
        }
        if inside.lo == moved.start && inside.hi == moved.end { return }
        guard state.outside != nil, state.outside!.ensureSpare(2 * MappingRegistry.nodesPerChange) else { return }
        if moved.start < inside.lo || inside.lo == inside.hi {
            var below = moved
            below.end = inside.lo == inside.hi ? moved.end : inside.lo
            state.outside!.registry.insert(below)
        }
        if inside.lo < inside.hi && inside.hi < moved.end {
            var above = moved
            above.start = inside.hi
            above.offset = moved.offset &+ (inside.hi - moved.start)
            state.outside!.registry.insert(above)
        }
    }
}
