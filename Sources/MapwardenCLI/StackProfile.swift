/// Leaked bytes by stack, in the shapes flame graph tools read: the
/// collapsed-stack ("folded") lines of Brendan Gregg's flamegraph.pl, which
/// inferno and speedscope read too, and the tree a flame graph draws.
///
/// Frames are named by function (inlined functions included, through the
/// symbolizer), else by symbol, else `module+0xOFF`. Inherited mappings
/// (a forked child's, reported by its parent) are left out, as they are
/// from the totals.
struct StackProfile {
    /// One stack, outermost frame first, and its bytes.
    struct Sample {
        var frames: [String]
        var bytes: UInt64
    }

    var samples: [Sample] = []

    init(_ merged: MergedReport, symbolizer: Symbolizer?) {
        var bytes: [[String]: UInt64] = [:]
        var order: [[String]] = []
        for g in merged.groups where !g.inherited {
            var names = g.stack.flatMap { $0.functionNames(symbolizer) }
            if names.isEmpty { names = ["(no stack)"] }
            let frames = Array(names.reversed())
            if bytes[frames] == nil { order.append(frames) }
            bytes[frames, default: 0] += g.bytes
        }
        samples = order.map { Sample(frames: $0, bytes: bytes[$0]!) }
    }

    var totalBytes: UInt64 { samples.reduce(0) { $0 + $1.bytes } }

    /// `main;cache_alloc;map_at 12288`, one line per stack, sorted.
    func folded() -> String {
        samples.map { s in s.frames.map(StackProfile.foldedName).joined(separator: ";") + " \(s.bytes)" }
            .sorted().map { $0 + "\n" }.joined()
    }

    /// A name as one field of a folded line: no `;` (the separator) and no
    /// line breaks.
    static func foldedName(_ name: String) -> String {
        String(name.map { $0 == ";" ? ":" : ($0 == "\n" || $0 == "\r") ? " " : $0 })
    }

    /// The tree of the samples: each node a frame, its value the bytes of
    /// every stack through it; children in name order (as flamegraph.pl
    /// draws them).
    final class Node {
        let name: String
        var bytes: UInt64 = 0
        var children: [String: Node] = [:]

        init(_ name: String) { self.name = name }

        var sortedChildren: [Node] { children.values.sorted { $0.name < $1.name } }
        var depth: Int { 1 + (children.values.map(\.depth).max() ?? 0) }
    }

    func tree() -> Node {
        let root = Node("all")
        for s in samples {
            root.bytes += s.bytes
            var at = root
            for f in s.frames {
                let child = at.children[f] ?? Node(f)
                at.children[f] = child
                child.bytes += s.bytes
                at = child
            }
        }
        return root
    }
}

extension LeakReport.Frame {
    /// The function names of this frame, innermost first: one per function
    /// inlined at its address, then the function itself.
    func functionNames(_ symbolizer: Symbolizer?) -> [String] {
        if let symbolizer, let module, let moduleOffset,
           case .resolved(let locations) = symbolizer.resolve(module: module, offset: moduleOffset, buildId: buildId) {
            return locations.map { $0.function ?? "??" }
        }
        if let symbol, !symbol.isEmpty { return [symbol] }
        if let module { return ["\(Paths.basename(module))+0x\(String(moduleOffset ?? 0, radix: 16))"] }
        return [address ?? "??"]
    }
}
