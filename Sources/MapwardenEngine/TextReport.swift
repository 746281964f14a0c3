import CShim
import MapwardenLogic

/// The report as text, in LeakSanitizer's shape:
///
///     ==1234== mapwarden: 3 leaked mappings (12288 bytes) at exit of leaky
///
///     8192 bytes in 2 mappings allocated from:
///         #0 0x55d1c0a1b2c3 in leak_two+0x1c (/tmp/t/leaky)
///       at 0x400000010000 (4096 bytes, rw-, private anonymous, thread 1234)
///     ...
///     SUMMARY: mapwarden: 12288 bytes leaked in 3 mappings; ...
enum TextReport {
    static func write(_ r: LeakReport, _ c: ReportContext, _ out: inout ReportSink) {
        let pid = Process.id
        let tracked = c.calls.recorded
        if r.leaked.mappings == 0 && r.inherited.mappings == 0 && r.suppressed.mappings == 0 && c.events.total == 0 {
            out.text.append("mapwarden: no leaks (pid ")
            out.text.append(decimal: pid)
            out.text.append(", ")
            out.text.append(count: tracked, "mapping tracked", "mappings tracked")
            if r.kept.mappings > 0 {
                kept(r, &out)
                out.text.append(")\n")
            } else {
                out.text.append(tracked == 1 ? ", unmapped)\n" : ", all unmapped)\n")
            }
            return
        }
        out.text.append("==")
        out.text.append(decimal: pid)
        out.text.append("== mapwarden: ")
        out.text.append(count: r.leaked.mappings, "leaked mapping", "leaked mappings")
        out.text.append(" (")
        out.text.append(unsigned: r.leaked.bytes)
        out.text.append(" bytes) at ")
        out.text.append(c.settings.endedByName)
        out.text.append(" of ")
        Process.withExecutable { exe in
            out.text.append(exe.count > 0 ? baseName(exe) : Bytes.empty)
        }
        out.text.append("\n")
        stacksNote(c, &out)

        for g in 0..<r.groupCount {
            out.room()
            let group = r.groups[g]
            let first = r.leaks[Int(r.order[group.first])]
            out.text.append("\n")
            out.text.append(unsigned: group.bytes)
            out.text.append(" bytes in ")
            out.text.append(count: group.count, "mapping", "mappings")
            out.text.append(first.inherited ? " inherited from the parent process, allocated from:\n" : " allocated from:\n")
            frames(first.stack, c, &out)
            for i in group.first..<(group.first + group.count) {
                out.room()
                mappingLine(r.leaks[Int(r.order[i])], r, &out)
            }
        }

        if r.suppressed.mappings > 0 {
            out.text.append("\nSuppressions used:\n  mappings        bytes  pattern\n")
            let list = c.settings.suppressions
            for s in 0..<Swift.min(list.count, LeakReport.suppressionLimit) where r.suppressionUses[s].0 > 0 {
                out.room()
                padded(UInt64(r.suppressionUses[s].0), 10, &out)
                out.text.append(" ")
                padded(r.suppressionUses[s].1, 12, &out)
                out.text.append("  ")
                out.text.append(list.rule(at: s))
                out.text.append("\n")
            }
        }

        if c.events.total > 0 {
            out.text.append("\nClobbers and misuse:\n")
            for i in 0..<c.events.count {
                out.room()
                let e = c.events[i]
                out.text.append("  ")
                eventLine(e, &out)
                out.text.append("\n")
                frames(e.stack, c, &out)
            }
            if c.events.lost > 0 {
                out.text.append("  (")
                out.text.append(decimal: c.events.lost)
                out.text.append(" more not kept)\n")
            }
        }

        out.text.append("\nSUMMARY: mapwarden: ")
        out.text.append(unsigned: r.leaked.bytes)
        out.text.append(" bytes leaked in ")
        out.text.append(count: r.leaked.mappings, "mapping", "mappings")
        out.text.append("; ")
        out.text.append(decimal: r.suppressed.mappings)
        out.text.append(" suppressed (")
        out.text.append(unsigned: r.suppressed.bytes)
        out.text.append(" bytes); ")
        out.text.append(decimal: r.inherited.mappings)
        out.text.append(" inherited (")
        out.text.append(unsigned: r.inherited.bytes)
        out.text.append(" bytes); ")
        out.text.append(count: c.events.total, "clobber", "clobbers")
        if r.kept.mappings > 0 { kept(r, &out) }
        out.text.append(".\n")
    }

    /// `; N kept in shared or persistent windows (B bytes, not leaks)`
    static func kept(_ r: LeakReport, _ out: inout ReportSink) {
        out.text.append("; ")
        out.text.append(decimal: r.kept.mappings)
        out.text.append(" kept in shared or persistent windows (")
        out.text.append(unsigned: r.kept.bytes)
        out.text.append(" bytes, not leaks)")
    }

    static func stacksNote(_ c: ReportContext, _ out: inout ReportSink) {
        if let why = c.settings.stacksMissing {
            out.text.append("mapwarden: no stacks: ")
            out.text.append(Bytes(cString: UnsafeRawPointer(why).assumingMemoryBound(to: UInt8.self)))
            out.text.append("\n")
        }
        if c.droppedStacks > 0 {
            out.text.append("mapwarden: ")
            out.text.append(decimal: c.droppedStacks)
            out.text.append(" stacks were not kept (no memory for them)\n")
        }
    }

    /// `    #N ADDR in SYMBOL+0xOFF (MODULE)` lines.
    static func frames(_ stack: UInt32, _ c: ReportContext, _ out: inout ReportSink) {
        let (frames, depth) = c.depot.frames(stack)
        guard let frames, depth > 0 else {
            out.text.append(c.settings.stacksMissing != nil || config.backtraceDepth == 0
                            ? "    (no stack: capture is off or unavailable)\n"
                            : "    (no stack: made before libunwind was loaded, or from a signal handler that interrupted mapwarden)\n")
            return
        }
        for f in 0..<depth {
            out.room()
            let name = FrameName(frames[f])
            out.text.append("    #")
            out.text.append(decimal: f)
            out.text.append(" ")
            out.text.append(hex: name.address)
            out.text.append(" in ")
            if name.hasSymbol {
                name.withName { out.text.append($0) }
                out.text.append("+")
                out.text.append(hex: name.symbolOffset)
                out.text.append(" (")
                out.text.append(name.module)
                out.text.append(")\n")
            } else if name.hasModule {
                out.text.append("?? (")
                out.text.append(name.module)
                out.text.append("+")
                out.text.append(hex: name.moduleOffset)
                out.text.append(")\n")
            } else {
                out.text.append("??\n")
            }
        }
    }

    /// `  at 0x400000010000 (4096 bytes, rw-, private anonymous, thread 1234)`
    static func mappingLine(_ l: Leak, _ r: LeakReport, _ out: inout ReportSink) {
        out.text.append("  at ")
        out.text.append(hex: l.start)
        out.text.append(" (")
        out.text.append(unsigned: l.size)
        out.text.append(" bytes, ")
        out.text.append(protection: l.prot)
        out.text.append(l.kind & MappingKind.shared != 0 ? ", shared" : ", private")
        if l.kind & MappingKind.anonymous != 0 {
            out.text.append(" anonymous")
        } else if l.kind & MappingKind.moved != 0 && r.path(l).count == 0 {
            out.text.append(" (moved by mremap)")
        } else {
            out.text.append(" file ")
            let p = r.path(l)
            out.text.append(p.count > 0 ? p : Bytes.empty)
            out.text.append(" offset ")
            out.text.append(hex: l.offset)
        }
        if !l.inWindow {
            out.text.append(", outside the window")
        } else if Windows.count > 1, let name = Windows.name(containing: l.start) {
            out.text.append(", in window \"")
            out.text.append(name: name)
            out.text.append("\"")
        }
        if l.thread != 0 {
            out.text.append(", thread ")
            out.text.append(unsigned: UInt64(l.thread))
        }
        if l.inherited { out.text.append(", inherited") }
        out.text.append(")\n")
    }

    /// `clobber: mmap MAP_FIXED 0x...+0x... over [heap]: denied (EEXIST)`
    static func eventLine(_ e: GuardEvent, _ out: inout ReportSink) {
        switch e.kind {
        case .clobber: out.text.append("clobber: ")
        case .freeWindowCall: out.text.append("call on free window pages: ")
        case .unmappedWindowMunmap: out.text.append("munmap of window pages never mapped: ")
        }
        out.text.append(e.call)
        out.text.append(e.kind == .clobber ? " MAP_FIXED " : " ")
        out.text.append(hex: e.address)
        out.text.append("+")
        out.text.append(hex: e.size)
        e.withVictim { v in
            if v.count > 0 {
                out.text.append(" over ")
                out.text.append(v)
            }
        }
        if e.thread != 0 {
            out.text.append(", thread ")
            out.text.append(unsigned: UInt64(e.thread))
        }
        switch e.kind {
        case .clobber: out.text.append(e.denied ? ": denied (EEXIST)" : ": reported")
        case .freeWindowCall: out.text.append(": refused (ENOMEM)")
        case .unmappedWindowMunmap: out.text.append(": nothing to unmap")
        }
    }

    static func padded(_ v: UInt64, _ width: Int, _ out: inout ReportSink) {
        var digits = 1, x = v
        while x >= 10 {
            x /= 10
            digits += 1
        }
        for _ in 0..<Swift.max(0, width - digits) { out.text.append(" ") }
        out.text.append(unsigned: v)
    }
}

/// The text after the last '/'.
func baseName(_ path: Bytes) -> Bytes {
    var start = 0
    for i in 0..<path.count where path[i] == 0x2F { start = i + 1 }
    return path.dropFirst(start)
}
