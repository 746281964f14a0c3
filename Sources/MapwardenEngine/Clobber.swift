import CShim
import MapwardenLogic

/// The clobber guard (MAPWARDEN_CLOBBER=report|deny): a MAP_FIXED outside
/// the window that would replace memory the program did not map itself
/// through mmap (a library's segments, the heap, a thread stack) is
/// reported with its stack, and under `deny` refused with EEXIST. Misuse
/// of the window is reported too: calls refused on free window pages, and
/// munmap of window pages never mapped.
enum Clobber {
    /// Whether the guard is on (`config.clobber`, MAPWARDEN_CLOBBER).
    static var on: Bool { config.clobber != .allow }

    /// Before a MAP_FIXED over [lo, hi) outside the window: every part the
    /// program's own mappings do not cover is probed with a NOREPLACE
    /// placeholder. Returns false when the call must be refused (deny);
    /// `placeholders` then have been removed. On true, the placeholders
    /// made are listed (the caller's MAP_FIXED replaces them, or, failing,
    /// the caller removes them).
    static func check(_ lo: UInt64, _ hi: UInt64, _ stack: CallStack, _ state: inout EngineState,
                      placeholders: inout Placeholders) -> Bool {
        guard let outside = state.outside else { return true }
        var at = lo
        var victim: (lo: UInt64, hi: UInt64)? = nil
        while at < hi {
            if let m = outside.registry.mapping(containing: at) {
                at = Swift.min(m.end, hi)
                continue
            }
            let next = outside.registry.firstOverlapping(at, hi)
            let gapEnd = next.map { Swift.max($0.start, at) } ?? hi
            if !placeholders.place(at, gapEnd), victim == nil { victim = (at, gapEnd) }
            at = gapEnd
        }
        guard let victim else { return true }
        var event = GuardEvent(kind: .clobber, denied: config.clobber == .deny, call: "mmap", address: lo,
                               size: hi - lo, stack: state.stackID(stack), thread: mw_thread_id())
        name(victim.lo, victim.hi, &event)
        say(event, config.log)
        state.events.add(event)
        if config.clobber == .deny {
            placeholders.removeAll()
            return false
        }
        return true
    }

    /// Records misuse of the window (not a clobber).
    @inline(never) // (cold)
    static func misuse(_ kind: GuardEvent.Kind, _ stack: CallStack, _ lo: UInt64, _ hi: UInt64, _ state: inout EngineState) {
        let event = GuardEvent(kind: kind, denied: false, call: stack.call, address: lo, size: hi - lo,
                               stack: state.stackID(stack), thread: mw_thread_id())
        say(event, config.log)
        state.events.add(event)
    }

    /// What /proc/self/maps shows at the first occupied page of [lo, hi).
    static func name(_ lo: UInt64, _ hi: UInt64, _ event: inout GuardEvent) {
        let maps = ScratchFile(path: cString("/proc/self/maps"), limit: 64 << 20)
        defer { maps.release() }
        var lines = LineReader(maps.bytes)
        while let line = lines.next() {
            guard let r = MapsLine.range(line), r.end > lo, r.start < hi else { continue }
            if let at = MapsLine.nameStart(line) { event.setVictim(line.dropFirst(at)) } // unnamed anonymous memory: none
            return
        }
    }

    /// One line on standard error at once (the program may crash before exit).
    static func say(_ e: GuardEvent, _ log: LogLevel) {
        if log < .info { return }
        Output.line { out in
            out.append("mapwarden: ")
            LeakText.eventHead(e.kind, e.call, e.address, e.size, &out)
            e.withVictim { v in
                if v.count > 0 {
                    out.append(" replaces memory the program did not map (")
                    out.append(v)
                    out.append(")")
                }
            }
            if e.kind == .clobber {
                e.withVictim { v in
                    if v.count == 0 { out.append(" replaces memory the program did not map (anonymous)") }
                }
                out.append(e.denied ? "; denied (EEXIST)" : "; reported")
            }
        }
    }
}

