import CShim
import MapwardenLogic

/// The program's own mappings outside the window, recorded when
/// MAPWARDEN_TRACK=all (for the report) or the clobber guard is on (to tell
/// the program's memory from everyone else's). A registry of its own, in an
/// arena of its own, so the window's registry keeps only window mappings.
struct OutsideMappings {
    var arena: MetadataArena
    var registry: MappingRegistry

    init(arena: MetadataArena) {
        self.arena = arena
        registry = MappingRegistry(storage: arena.pointer, capacity: arena.registryCapacity(nodesAt: 0))
    }

    mutating func ensureSpare(_ n: Int) -> Bool {
        arena.ensureSpare(n, in: &registry, nodesAt: 0)
    }
}

/// Calls outside the window when they are recorded (MAPWARDEN_TRACK=all or
/// the clobber guard). Calls libunwind makes while capturing a stack, and
/// calls from a signal handler that interrupted the engine, go straight to
/// the kernel unrecorded; libunwind's new mappings are placed in the
/// UnwindZone, never in a hole of the program's own memory.
extension WindowService {
    /// An mmap libunwind makes while it captures a stack: in the UnwindZone.
    /// Stacks are captured before the lock is taken (and never by a handler
    /// that interrupted the engine): the lock is free to take.
    @inline(never)
    static func mmapForUnwind(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int) -> KernelResult {
        locked({ Kernel.mmap(addr, len, prot, flags, fd, off) }) { state in
            state.unwindZone.map(addr, len, prot, flags, fd, off, config.space)
        }
    }

    @inline(never)
    static func mmapOutside(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                            _ stack: CallStack) -> KernelResult {
        if mw_capturing() != 0 { return mmapForUnwind(addr, len, prot, flags, fd, off) }
        let replaces = flags & MAP_FIXED != 0 && flags & MAP_FIXED_NOREPLACE == 0
        let tracked = config.track == .all
        if stack.missing && (tracked || (replaces && Clobber.on)) { return .needsStack }
        return locked({ Kernel.mmap(addr, len, prot, flags, fd, off) }) { state in
            state.calls.outside += 1
            guard len > 0, let range = config.view.pages(addr, len), state.outside != nil,
                  !replaces || config.space.isPageAligned(addr),
                  state.outside!.ensureSpare(MappingRegistry.nodesPerChange)
            else { return Kernel.mmap(addr, len, prot, flags, fd, off) }
            var placeholders = Placeholders()
            if replaces && Clobber.on && !Clobber.check(range.lo, range.hi, stack, &state, placeholders: &placeholders) {
                return .failure(EEXIST)
            }
            let r = Kernel.mmap(addr, len, prot, flags, fd, off)
            if r.failed {
                placeholders.removeAll()
                return r
            }
            // Where the kernel put it: a hint's own offset in its page does not count.
            guard let size = config.space.pageAlignedUp(len) else { return r }
            let end = r.address &+ size
            state.outside!.registry.insert(Mapping(start: r.address, end: end, prot: recorded(prot), kind: kind(ofFlags: flags),
                                                   offset: UInt64(bitPattern: Int64(off)),
                                                   origin: Mapping.Origin(stack: tracked ? state.stackID(stack) : 0,
                                                                          thread: mw_thread_id(), generation: state.generation)))
            state.calls.recorded += tracked ? 1 : 0
            return r
        }
    }

    @inline(never)
    static func munmapOutside(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        if mw_capturing() != 0 { return Kernel.munmap(addr, len) }
        return locked({ Kernel.munmap(addr, len) }) { state in
            state.calls.outside += 1
            let r = Kernel.munmap(addr, len)
            if !r.failed, let range = config.view.pages(addr, len), state.outside != nil,
               state.outside!.ensureSpare(MappingRegistry.nodesPerChange) {
                state.outside!.registry.remove(range.lo, range.hi)
            }
            return r
        }
    }

    @inline(never)
    static func mremapOutside(_ old: UInt64, _ oldLen: UInt64, _ newLen: UInt64, _ flags: Int32, _ newAddr: UInt64,
                              _ stack: CallStack) -> KernelResult {
        if mw_capturing() != 0 { return Kernel.mremap(old, oldLen, newLen, flags, newAddr) }
        return locked({ Kernel.mremap(old, oldLen, newLen, flags, newAddr) }) { state in
            state.calls.outside += 1
            let r = Kernel.mremap(old, oldLen, newLen, flags, newAddr)
            guard !r.failed, state.outside != nil, state.outside!.ensureSpare(4),
                  let from = state.outside!.registry.mapping(containing: old),
                  let oldRange = config.view.pages(old, Swift.max(oldLen, 1)),
                  let newRange = config.view.pages(r.address, newLen)
            else { return r } // not one of the program's recorded mappings
            if flags & MREMAP_DONTUNMAP == 0 && oldLen != 0 {
                state.outside!.registry.remove(oldRange.lo, oldRange.hi)
            }
            var m = from
            m.start = newRange.lo
            m.end = newRange.hi
            m.offset = from.offset &+ (old - from.start)
            state.outside!.registry.insert(m)
            return r
        }
    }

    @inline(never)
    static func protectOutside(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ call: () -> KernelResult) -> KernelResult {
        if mw_capturing() != 0 { return call() }
        return locked(call) { state in
            state.calls.outside += 1
            let r = call()
            if !r.failed, let range = config.view.pages(addr, len), state.outside != nil,
               state.outside!.registry.overlapsAny(range.lo, range.hi),
               state.outside!.ensureSpare(MappingRegistry.nodesPerChange) {
                let p = recorded(prot)
                state.outside!.registry.update(range.lo, range.hi) { $0.prot = p }
            }
            return r
        }
    }
}
