import MapwardenLogic

/// `mapwarden report --diff OLD NEW`: what grew and what shrank between two
/// reports of the same program (snapshots of a running one, most often), by
/// stack, largest growth first. This is how a leak in a server is found:
/// the stack whose live bytes keep growing.
struct ReportDiff {
    struct Change {
        var stack: [LeakReport.Frame]
        var before: (mappings: Int, bytes: UInt64)
        var after: (mappings: Int, bytes: UInt64)
        var delta: Int64 { Int64(bitPattern: after.bytes) - Int64(bitPattern: before.bytes) }
    }

    var old: MergedReport.Source
    var new: MergedReport.Source
    /// Every stack whose bytes or mappings differ, largest growth first,
    /// then the largest shrink.
    var changes: [Change] = []

    init(old: MergedReport.Source, new: MergedReport.Source) {
        self.old = old
        self.new = new
        var byKey: [String: Change] = [:]
        var order: [String] = []
        for (source, isNew) in [(old, false), (new, true)] {
            for g in MergedReport([source]).groups where !g.inherited {
                if byKey[g.key] == nil {
                    byKey[g.key] = Change(stack: g.stack, before: (0, 0), after: (0, 0))
                    order.append(g.key)
                }
                if isNew { byKey[g.key]!.after = (g.leaks.count, g.bytes) } else { byKey[g.key]!.before = (g.leaks.count, g.bytes) }
            }
        }
        changes = order.compactMap { byKey[$0] }
            .filter { $0.before.bytes != $0.after.bytes || $0.before.mappings != $0.after.mappings }
            .sorted { ($0.delta, $0.after.bytes) > ($1.delta, $1.after.bytes) }
    }

    func render(symbolizer: Symbolizer?) -> String {
        var out: [String] = []
        let a = MergedReport([old]), b = MergedReport([new])
        let delta = Int64(bitPattern: b.leakedBytes) - Int64(bitPattern: a.leakedBytes)
        out.append("mapwarden: from \(ReportDiff.describe(old)) to \(ReportDiff.describe(new)): "
                   + "\(ReportDiff.signed(delta)) bytes (\(a.leakedBytes) → \(b.leakedBytes)), "
                   + "\(ReportDiff.signed(Int64(b.leakedMappings - a.leakedMappings))) mappings (\(a.leakedMappings) → \(b.leakedMappings))")
        if changes.isEmpty {
            out.append("")
            out.append("no stack's mappings changed.")
        }
        for c in changes {
            out.append("")
            let verb = c.delta > 0 ? "grew" : c.delta < 0 ? "shrank" : "changed"
            out.append("\(verb) by \(ReportDiff.signed(c.delta)) bytes (\(c.before.bytes) → \(c.after.bytes) bytes, "
                       + "\(c.before.mappings) → \(c.after.mappings) \(c.after.mappings == 1 ? "mapping" : "mappings")), allocated from:")
            if c.stack.isEmpty { out.append("    (no stack)") } else { out += c.stack.lines(indent: "    ", symbolizer) }
        }
        return out.joined(separator: "\n") + "\n"
    }

    static func describe(_ s: MergedReport.Source) -> String {
        "\(Paths.display(s.file)) (pid \(s.report.pid), \(s.report.endedByValue == .snapshot ? "snapshot" : "at \(s.report.endedByValue.word)"))"
    }

    static func signed(_ v: Int64) -> String { v > 0 ? "+\(v)" : "\(v)" }
}
