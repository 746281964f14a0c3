import CShim
import MapwardenLogic

/// A SIGSEGV or SIGBUS that will kill the process, explained when its
/// address lies in a window (MAPWARDEN_FAULTS=explain; docs/faults.md).
///
/// Called from the hooks' signal handler (CShim/faults.c), only for a fault
/// the program does not handle itself. What the address was is decided by
/// `FaultExplanation.classify` (MapwardenLogic) from the windows, the
/// registry and the unmap history; this executes it: it gathers those facts
/// and writes `FaultText`'s lines with the stacks' frames.
///
/// Async-signal-safe as the `_exit` report is: no allocation (the text is
/// built in stack buffers and written with raw write(2)), and the lock is
/// only tried. The faulting thread may hold it itself (a fault inside
/// mapwarden, or in a signal handler that interrupted it): the registry is
/// then not read at all, and the explanation says so. Another thread may
/// hold it for the length of one call: it is tried for up to a second.
enum Faults {
    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        if Kernel.clockGettime(CLOCK_MONOTONIC, &now).failed { return 0 }
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    /// Writes the explanation; false when the address is in no window.
    static func explain(_ f: Fault) -> Bool {
        guard let state = engine, config.windows.index(containing: f.address) != nil else { return false }
        let locked = mw_owns_lock() == 0 && tryLock()
        let kind = FaultExplanation.classify(f, config.view, locked ? state.pointee.registry : nil,
                                             locked ? state.pointee.history : nil)
        if locked { WindowService.unlockApplyingDeferred() }
        let now = mw_ticks()
        let nowNanoseconds = monotonicNanoseconds()
        let ago = { (then: UInt64) -> UInt64? in
            FaultExplanation.nanoseconds(from: then, to: now, referenceTicks: now &- config.startTicks,
                                         referenceNanoseconds: nowNanoseconds &- config.startNanoseconds)
        }
        Output.line { FaultText.head(f, kind, &$0) }
        switch kind {
        case .afterUnmap(let r):
            Output.line { FaultText.unmapped(r, ago: ago(r.time), &$0) }
            frames(r.unmapStack, missing: r.cause == .munmap && config.clobber == .allow
                   ? "(no stack: munmap's stack is captured under the clobber guard, MAPWARDEN_CLOBBER=report)"
                   : missingStack)
            Output.line { FaultText.mapped(r.mapping, live: false, &$0) }
            frames(r.mapStack, missing: missingStack)
        case .protection(let m), .pastFileEnd(let m), .notAsRecorded(let m), .pastEnd(let m, _), .beforeStart(let m, _):
            Output.line { FaultText.mapped(m, live: true, &$0) }
            frames(m.origin.stack, missing: missingStack)
        case .registryBusy, .neverMapped, .outsideWindows:
            break
        }
        return true
    }

    static let missingStack: StaticString =
        "(no stack: capture is off or unavailable, or the call came from a signal handler that interrupted mapwarden)"

    /// The lock, if some thread releases it within about a second.
    static func tryLock() -> Bool {
        var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
        for _ in 0..<1000 {
            if mw_trylock() != 0 { return true }
            _ = Kernel.nanosleep(&pause)
        }
        return false
    }

    /// `    #N ADDR in SYMBOL+0xOFF (MODULE)` lines of a stack in the depot
    /// (append-only: read without the lock), or why there is none.
    static func frames(_ stack: UInt32, missing: StaticString) {
        guard let state = engine else { return }
        let (frames, depth) = state.pointee.depot.frames(stack)
        guard let frames, depth > 0 else {
            Output.line { out in
                out.append("    ")
                out.append(missing)
            }
            return
        }
        for i in 0..<depth {
            let name = FrameName(frames[i])
            name.withName { readable in
                let f = ReportFrameFacts(address: name.address, module: name.module, moduleOffset: name.moduleOffset,
                                         symbol: name.symbol, readable: readable, symbolOffset: name.symbolOffset)
                Output.line { out in
                    out.append("    ")
                    LeakText.frame(i, f, &out)
                }
            }
        }
    }
}

@_cdecl("mw_engine_explains_faults")
func mw_engine_explains_faults() -> Int32 {
    engine != nil && config.faults == .explain ? 1 : 0
}

/// MAPWARDEN_RAW_SYSCALLS (rawsyscalls.c): nonzero when raw mmap-family
/// calls meeting a window are to be trapped (the hooks install the seccomp
/// filter and the SIGSYS handler then, and hand each trapped call to the
/// same mw_engine_* entry points as the libc hooks).
@_cdecl("mw_engine_traps_raw_syscalls")
func mw_engine_traps_raw_syscalls() -> Int32 {
    engine != nil && config.rawSyscalls == .trap ? 1 : 0
}

@_cdecl("mw_engine_fault")
func mw_engine_fault(_ bus: Int32, _ accessError: Int32, _ addr: UInt, _ access: Int32) -> Int32 {
    let f = Fault(signal: bus != 0 ? .bus : .segv, address: UInt64(addr),
                  access: FaultAccess(rawValue: UInt8(truncatingIfNeeded: access)) ?? .unknown,
                  accessError: accessError != 0)
    return Faults.explain(f) ? 1 : 0
}
