import MapwardenLogic

/// The merged report as text, in the library's own (LSan-like) format: the
/// lines a single report has are MapwardenLogic's LeakText, as the library
/// writes them; the merged forms (pids, counts, the Windows block) are here.
struct ReportText {
    var merged: MergedReport
    /// Show only the largest N groups (nil: all).
    var top: Int?
    /// At most this many "at" lines per group.
    var addressesPerGroup = 20
    /// Names frames by function, file and line (nil: as the library wrote them).
    var symbolizer: Symbolizer? = nil

    var single: Bool { merged.sources.count == 1 }

    func render() -> String {
        var out: [String] = []
        let m = merged
        let totals = m.totals
        if single {
            let r = m.sources[0].report
            if m.leakedMappings == 0 && m.inheritedMappings == 0 && m.clobberCount == 0 && m.suppressedMappings == 0 {
                let tracked = r.statistics?.trackedMappings ?? 0
                return Rendered.text { _, out in LeakText.noLeaks(pid: r.pid, tracked: tracked, kept: totals.kept, &out) } + "\n"
            }
            out.append(Rendered.text { store, out in
                LeakText.head(pid: r.pid, leaked: totals.leaked, endedBy: r.endedByValue, program: store.copy(r.programName), &out)
            })
        } else {
            let who = m.sources.map { s -> String in
                var t = "\(s.report.programName) (pid \(s.report.pid)"
                if s.report.forked == true, let p = s.report.parentPid { t += ", forked from \(p)" }
                return t + ")"
            }
            out.append("==mapwarden== \(m.sources.count) reports: " + who.joined(separator: ", "))
            let procs = Set(m.leakGroups.flatMap { $0.pids }).count
            out.append("==mapwarden== \(Fmt.count(m.leakedMappings, "leaked mapping")) (\(m.leakedBytes) bytes) in \(Fmt.count(procs, "process", "processes"))")
        }

        let own = m.leakGroups, inherited = m.inheritedGroups
        let limit = top ?? Int.max
        for g in own.prefix(limit) { out.append(""); out += group(g) }
        if own.count > limit {
            let rest = own.dropFirst(limit)
            out.append("")
            out.append("... \(Fmt.count(rest.count, "more group")) (\(rest.reduce(0) { $0 + $1.bytes }) bytes in \(Fmt.count(rest.reduce(0) { $0 + $1.leaks.count }, "mapping"))) not shown (--top \(limit))")
        }
        for g in inherited.prefix(limit) { out.append(""); out += group(g) }
        if inherited.count > limit {
            out.append("")
            out.append("... \(Fmt.count(inherited.count - limit, "more inherited group")) not shown (--top \(limit))")
        }

        if m.namesWindows {
            // Several windows: what each holds (the library's own text report
            // names the window of each leak, and this sums them up).
            out.append("")
            out.append("Windows:")
            let width = m.windows.map { ($0.window.name ?? "?").count }.max() ?? 0
            for w in m.windows {
                var line = "  " + Fmt.padRight(w.window.name ?? "?", width) + "  " + w.window.rangeText + ": "
                if w.keeps {
                    line += w.mappings == 0 ? "nothing mapped at exit"
                        : "\(Fmt.count(w.mappings, "mapping")) (\(w.mappedBytes) bytes) kept in the file at exit, not leaks"
                } else {
                    line += w.leakedMappings == 0 ? "no leaks" : "\(Fmt.count(w.leakedMappings, "leaked mapping")) (\(w.leakedBytes) bytes)"
                }
                if !single { line += " in \(Fmt.count(w.reports, "report"))" }
                out.append(line)
            }
        }

        if !m.suppressed.isEmpty {
            out.append("")
            out.append(LeakText.suppressionsHeading.description)
            for s in m.suppressed {
                out.append(Rendered.text { store, out in
                    LeakText.suppression(store.copy(s.pattern), ReportCount(mappings: s.mappings, bytes: s.bytes), &out)
                })
            }
        }
        if !m.clobbers.isEmpty {
            out.append("")
            out.append(LeakText.clobbersHeading.description)
            for c in m.clobbers { out += clobber(c) }
        }
        out.append("")
        var summary = Rendered.text { _, out in LeakText.summary(totals, &out) }
        if !single { summary += "; \(m.sources.count) reports" }
        out.append(summary + ".")
        return out.joined(separator: "\n") + "\n"
    }

    func group(_ g: MergedReport.Group) -> [String] {
        var out: [String] = []
        var head = "\(g.bytes) bytes in \(Fmt.count(g.leaks.count, g.inherited ? "inherited mapping" : "mapping"))"
        if !single { head += " (\(g.pids.count == 1 ? "pid" : "pids") \(g.pids.map(String.init).joined(separator: ", ")))" }
        if g.inherited { head += ", mapped before fork and reported by the parent," }
        out.append(head + " allocated from:")
        if g.stack.isEmpty {
            out.append("    (no stack: \(g.noStackReason ?? "none recorded"))")
        } else {
            out += g.stack.lines(indent: "    ", symbolizer)
        }
        for p in g.leaks.prefix(addressesPerGroup) {
            var details = p.leak.details(namingWindows: merged.namesWindows)
            if !single { details += ", pid \(p.pid)" }
            out.append("  at \(p.leak.address) (\(details))")
        }
        if g.leaks.count > addressesPerGroup {
            out.append("  ... and \(Fmt.count(g.leaks.count - addressesPerGroup, "more mapping"))")
        }
        return out
    }

    func clobber(_ g: MergedReport.ClobberGroup) -> [String] {
        let c = g.clobber
        var line = "  \(c.kind): \(c.call ?? "?")"
        if let a = c.address {
            line += " \(a)"
            if let s = c.size { line += "+\(Fmt.hex(s))" }
        }
        if let v = c.victim { line += " over \(v)" }
        if let a = c.action { line += "; \(a)" }
        let pids = Array(Set(g.events.map(\.pid))).sorted()
        if g.events.count > 1 {
            line += " (\(g.events.count) times, \(pids.count == 1 ? "pid" : "pids") \(pids.map(String.init).joined(separator: ", ")))"
        } else if let t = c.thread {
            line += " (pid \(g.events[0].pid), thread \(t))"
        }
        var out = [line]
        out += (c.stack ?? []).lines(indent: "      ", symbolizer)
        return out
    }
}

extension MergedReport {
    /// The totals in the form LeakText writes.
    var totals: ReportTotals {
        var t = ReportTotals()
        t.leaked = ReportCount(mappings: leakedMappings, bytes: leakedBytes)
        t.suppressed = ReportCount(mappings: suppressedMappings, bytes: suppressedBytes)
        t.inherited = ReportCount(mappings: inheritedMappings, bytes: inheritedBytes)
        t.kept = ReportCount(mappings: keptMappings, bytes: keptBytes)
        t.clobbers = clobberCount
        return t
    }
}

/// What MapwardenLogic writes into a TextBuffer, as a String. The store
/// keeps the Bytes made from Strings for it alive meanwhile.
enum Rendered {
    static func text(capacity: Int = 64 << 10, _ body: (ByteStore, inout TextBuffer) -> Void) -> String {
        let store = ByteStore()
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { storage.deallocate() }
        var out = TextBuffer(storage, capacity: capacity)
        body(store, &out)
        return String(decoding: UnsafeBufferPointer(start: storage, count: out.count), as: UTF8.self)
    }
}
