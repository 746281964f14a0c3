import CShim
import MapwardenLogic

/// mprotect, pkey_mprotect, madvise, mlock, mlock2, munlock, msync and
/// mincore: calls that act on existing mappings. Inside the window, free
/// pages behave as unmapped memory: if any page of the range is free the call
/// fails with ENOMEM (after the kernel's own argument checks, so that EINVAL
/// still comes first) and changes nothing.
extension WindowService {
    /// What a successful call changes in the registry.
    enum Change {
        case none
        case protection(Int32)
        case inheritedByFork(Bool) // MADV_DOFORK / MADV_DONTFORK
    }

    /// - roundsStart: the call rounds an unaligned start down (mlock,
    ///   munlock) instead of refusing it with EINVAL.
    /// - argumentError: the kernel's answer to the call's arguments alone
    ///   (nil when they are valid), asked only before answering ENOMEM.
    /// - refusedWhenInterrupted: the errno for this call from a signal handler
    ///   that interrupted the engine (which cannot check the registry), when
    ///   letting the kernel decide could harm the window (mlock).
    @inline(__always)
    static func onMappings(_ addr: UInt64, _ len: UInt64, _ stack: CallStack, roundsStart: Bool = false, change: Change = .none,
                           refusedWhenInterrupted: Int32? = nil,
                           argumentError: () -> Int32? = { nil }, _ call: () -> KernelResult) -> KernelResult {
        if !touchesWindow(addr, len) {
            if Tracking.outside, case .protection(let prot) = change { return protectOutside(addr, len, prot, call) }
            return call()
        }
        if Clobber.on && stack.missing { return .needsStack }
        return onMappingsInWindow(addr, len, stack, roundsStart: roundsStart, change: change,
                                  refusedWhenInterrupted: refusedWhenInterrupted, argumentError: argumentError, call)
    }

    @inline(never)
    static func onMappingsInWindow(_ addr: UInt64, _ len: UInt64, _ stack: CallStack, roundsStart: Bool, change: Change,
                                   refusedWhenInterrupted: Int32?, argumentError: () -> Int32?,
                                   _ call: () -> KernelResult) -> KernelResult {
        let r = serveOnMappings(addr, len, stack, roundsStart: roundsStart, change: change,
                                refusedWhenInterrupted: refusedWhenInterrupted, argumentError: argumentError, call)
        if Debug.enabled {
            if case .protection(let prot) = change {
                Debug.call("mprotect", addr, len, Int64(prot), "prot", result: r)
            } else {
                Debug.call("madvise/mlock/msync/mincore", addr, len, result: r)
            }
        }
        return r
    }

    static func serveOnMappings(_ addr: UInt64, _ len: UInt64, _ stack: CallStack, roundsStart: Bool, change: Change,
                                refusedWhenInterrupted: Int32?, argumentError: () -> Int32?,
                                _ call: () -> KernelResult) -> KernelResult {
        locked({
            if let refused = refusedWhenInterrupted { return .failure(refused) }
            return Deferral.onMappings(addr, len, roundsStart: roundsStart, change: change, call)
        }) { state in
            if case .protection = change { state.calls.mprotect += 1 } else { state.calls.other += 1 }
            guard len > 0, roundsStart || state.space.isPageAligned(addr),
                  let range = pages(addr, len, state.space)
            else { return call() } // the kernel's answer: 0 for len 0, EINVAL, ENOMEM
            let touched = Windows.ranges.touching(range.lo, range.hi)
            if touched.isEmpty { return call() }
            // Every window's part must be mapped before anything changes.
            for i in touched {
                let inside = Windows.ranges[i].clip(range.lo, range.hi)
                if !state.registry.covers(inside.lo, inside.hi) {
                    if let e = argumentError() { return .failure(e) }
                    state.focus(i)
                    if Clobber.on { Clobber.misuse(.freeWindowCall, stack, inside.lo, inside.hi, &state) }
                    return noMemory
                }
            }
            if case .none = change { return call() }
            guard state.ensureSpare(MappingRegistry.nodesPerChange * Windows.count) else { return noMemory }
            let r = call()
            for i in touched {
                record(change, r, Windows.ranges[i].clip(range.lo, range.hi), range, &state)
            }
            return r
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
                state.registry.update(inside.lo, inside.hi) { $0.prot = recorded }
            } else if r.errno != EINVAL, let first = state.registry.mapping(containing: inside.lo),
                      first.end < inside.hi || inside != (range.lo, range.hi) {
                // mprotect works VMA by VMA: a failure after the first
                // mapping may come after some changed. (Within one mapping
                // it fails before changing anything.)
                state.registry.update(inside.lo, inside.hi) { $0.prot = -1 }
            }
        case .inheritedByFork(let inherited):
            if !r.failed {
                if !inherited { state.needsForkCheck = true }
                state.registry.update(inside.lo, inside.hi) { m in
                    m.kind = inherited ? m.kind & ~MappingKind.dontFork : m.kind | MappingKind.dontFork
                }
            }
        case .none:
            break
        }
    }

    /// The kernel's EINVAL for protection bits it does not know.
    static func protectionError(_ prot: Int32) -> Int32? {
        let known = PROT_READ | PROT_WRITE | PROT_EXEC | 0x8 /* PROT_SEM */ | PROT_GROWSDOWN | PROT_GROWSUP
        if prot & ~known != 0 { return EINVAL }
        if prot & PROT_GROWSDOWN != 0 && prot & PROT_GROWSUP != 0 { return EINVAL }
        return nil
    }

    /// The registry change a madvise advice makes.
    static func change(ofAdvice advice: Int32) -> Change {
        switch advice {
        case 10: return .inheritedByFork(false) // MADV_DONTFORK
        case 11: return .inheritedByFork(true)  // MADV_DOFORK
        default: return .none
        }
    }
}
