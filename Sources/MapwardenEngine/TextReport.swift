import CShim
import MapwardenLogic

/// The report as text, in LeakSanitizer's shape (the lines it shares with
/// `mapwarden report` are MapwardenLogic's LeakText):
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
        let facts = ExitReport(report: r, context: c)
        let totals = facts.totals
        let pid = Process.id
        if r.leaked.mappings == 0 && r.inherited.mappings == 0 && r.suppressed.mappings == 0 && c.events.total == 0 {
            LeakText.noLeaks(pid: pid, tracked: c.calls.recorded, kept: totals.kept, &out.text)
            out.text.append("\n")
            return
        }
        Process.withExecutable { exe in
            LeakText.head(pid: pid, leaked: totals.leaked, endedBy: c.settings.endedByValue,
                          program: exe.count > 0 ? baseName(exe) : Bytes.empty, &out.text)
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
            frames(first.stack, facts, &out)
            let namingWindow = Windows.count > 1
            for i in group.first..<(group.first + group.count) {
                out.room()
                out.text.append("  at ")
                let l = r.leaks[Int(r.order[i])]
                out.text.append(hex: l.start)
                out.text.append(" (")
                LeakText.details(facts.leak(l), namingWindow: namingWindow, &out.text)
                out.text.append(")\n")
            }
        }

        if r.suppressed.mappings > 0 {
            out.text.append("\n")
            out.text.append(LeakText.suppressionsHeading)
            out.text.append("\n")
            facts.forEachSuppression { pattern, hidden in
                out.room()
                LeakText.suppression(pattern, hidden, &out.text)
                out.text.append("\n")
            }
        }

        if c.events.total > 0 {
            out.text.append("\n")
            out.text.append(LeakText.clobbersHeading)
            out.text.append("\n")
            facts.forEachEvent { e in
                out.room()
                out.text.append("  ")
                LeakText.event(e, &out.text)
                out.text.append("\n")
                frames(e.stack, facts, &out)
            }
            if c.events.lost > 0 {
                out.text.append("  (")
                out.text.append(decimal: c.events.lost)
                out.text.append(" more not kept)\n")
            }
        }

        out.text.append("\n")
        LeakText.summary(totals, &out.text)
        out.text.append(".\n")
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
    static func frames(_ stack: UInt32, _ facts: ExitReport, _ out: inout ReportSink) {
        var n = 0
        facts.forEachFrame(of: stack) { f in
            let answer = facts.context.names?.answer(f.address) ?? .empty
            if answer.count == 0 {
                out.room()
                out.text.append("    ")
                LeakText.frame(n, f, &out.text)
                out.text.append("\n")
                n += 1
                return
            }
            // One line per function inlined at the address, then its host.
            ExternalNames.forEachFrame(answer) { function, source, offset in
                out.room()
                var named = f
                named.readable = function
                named.symbol = function
                named.source = source
                if source.count == 0 { named.symbolOffset = offset }
                out.text.append("    ")
                LeakText.frame(n, named, &out.text)
                out.text.append("\n")
                n += 1
            }
        }
        if n == 0 {
            let c = facts.context
            out.text.append(c.settings.stacksMissing != nil || config.backtraceDepth == 0
                            ? "    (no stack: capture is off or unavailable)\n"
                            : "    (no stack: made before libunwind could be loaded (before start-up, in a signal handler, or by a trapped raw call), or from a signal handler that interrupted mapwarden)\n")
        }
    }
}

/// The text after the last '/'.
func baseName(_ path: Bytes) -> Bytes {
    var start = 0
    for i in 0..<path.count where path[i] == 0x2F { start = i + 1 }
    return path.dropFirst(start)
}
