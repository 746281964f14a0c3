import MapwardenLogic

extension LeakReport.Frame {
    /// This frame as report lines numbered from n: with the symbolizer's
    /// answer, one line per function inlined at the address (innermost
    /// first) and the function itself, named by file and line; otherwise
    /// the line the library wrote.
    func lines(from n: Int, _ symbolizer: Symbolizer?) -> [String] {
        guard let symbolizer, let module, let moduleOffset else { return [line(n)] }
        switch symbolizer.resolve(module: module, offset: moduleOffset, buildId: buildId) {
        case .resolved(let locations):
            return locations.enumerated().map { k, location in line(n + k, location) }
        case .otherBuild(let expected, let found):
            symbolizer.noteOtherBuild(module, expected: expected, found: found)
            return [line(n)]
        case .unknown:
            return [line(n)]
        }
    }

    /// `#n ADDR in FUNCTION FILE:LINE:COLUMN`, or, from the symbol table
    /// alone, `#n ADDR in FUNCTION+0xOFF (MODULE)`.
    func line(_ n: Int, _ l: Symbolizer.Location) -> String {
        Rendered.text { store, out in
            let name = store.copy(l.function ?? "")
            var facts = ReportFrameFacts(
                address: LeakReport.parseAddress(address ?? "") ?? 0, module: store.copy(module ?? ""),
                moduleOffset: moduleOffset ?? 0, symbol: name, readable: name, symbolOffset: l.symbolOffset ?? 0)
            facts.source = store.copy(l.source)
            LeakText.frame(n, facts, &out)
        }
    }
}

extension Array where Element == LeakReport.Frame {
    /// The stack's lines, inlined frames numbered in turn, each after indent.
    func lines(indent: String, _ symbolizer: Symbolizer?) -> [String] {
        var out: [String] = []
        for f in self {
            for l in f.lines(from: out.count, symbolizer) { out.append(indent + l) }
        }
        return out
    }
}
