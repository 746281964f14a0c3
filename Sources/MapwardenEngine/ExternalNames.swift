import CShim
import MapwardenLogic

/// Frame names by function, file and line for the text report at exit, from
/// the symbolizer process (`mapwarden symbolize`, with elfutils' libdw: the
/// library itself never reads debug information), as LeakSanitizer asks
/// llvm-symbolizer. Without one, or when it fails or takes longer than
/// `ExternalNames.timeoutMilliseconds`, the report names frames as before.
///
/// The protocol, one line per return address each way: in,
/// `MODULE\tOFFSET_HEX\tBUILD_ID`; out, the frames at that address,
/// innermost inlined function first, separated by 0x1E, each
/// `FUNCTION\tFILE:LINE:COLUMN\tSYMBOL_OFFSET_HEX` (an empty source: named
/// from the symbol table only); an empty line when nothing is known.
struct ExternalNames {
    /// (Well below the 10 s another thread's ending waits for this report.)
    static let timeoutMilliseconds: Int32 = 5_000

    /// The report's distinct return addresses, sorted.
    let addresses: UnsafeMutablePointer<UInt64>
    let count: Int
    /// Address i's answer: (start, length) in `text`.
    let answers: UnsafeMutablePointer<(UInt32, UInt32)>
    let text: UnsafePointer<UInt8>

    /// Asks the configured symbolizer about every frame of the report's
    /// stacks; nil when there is none or it gave no answer.
    static func ask(_ report: inout LeakReport, _ context: ReportContext) -> ExternalNames? {
        let s = context.settings
        guard s.format == .text, s.demangles, !s.snapshot else { return nil }
        let path: UnsafePointer<CChar>
        switch s.symbolizer {
        case .none: return nil
        case .path(let p): path = p
        case .beside:
            let buffer = StaticBuffer.snapshotTemplate // (free at exit)
            let p = UnsafeMutableRawPointer(buffer.base).assumingMemoryBound(to: CChar.self)
            guard mw_symbolizer_beside(p, buffer.size) > 0 else { return nil }
            path = UnsafePointer(p)
        }
        // The addresses: every frame of the listed groups' and events' stacks.
        let depth = Swift.max(config.backtraceDepth, 1)
        let stacks = report.groupCount + context.events.count
        guard stacks > 0, let raw = report.take(UInt64(stacks * depth * 8)) else { return nil }
        let addresses = UnsafeMutableRawPointer(raw).bindMemory(to: UInt64.self, capacity: stacks * depth)
        var n = 0
        func add(_ stack: UInt32) {
            let (frames, d) = context.depot.frames(stack)
            guard let frames else { return }
            for f in 0..<Swift.min(d, depth) where n < stacks * depth { addresses[n] = frames[f]; n += 1 }
        }
        for g in 0..<report.groupCount { add(report.leaks[Int(report.order[report.groups[g].first])].stack) }
        for i in 0..<context.events.count { add(context.events[i].stack) }
        guard n > 0 else { return nil }
        InPlaceSort.sort(addresses, count: n, by: <)
        var unique = 0
        for i in 0..<n where i == 0 || addresses[i] != addresses[unique - 1] {
            addresses[unique] = addresses[i]
            unique += 1
        }
        // The questions.
        // (A question is at most 547 bytes: a module path under 400, a tab,
        // 16 hex digits, a tab, a build-id of at most 128 hex digits, a newline.)
        let inputCapacity = unique * 600 + 4096
        guard let input = report.take(UInt64(inputCapacity)),
              let answers = report.take(UInt64(unique * 8)) else { return nil }
        var question = TextBuffer(input, capacity: inputCapacity)
        for i in 0..<unique {
            let name = FrameName(addresses[i])
            // (A path the protocol cannot carry is asked about as nothing.)
            var plain = name.hasModule && name.module.count < 400
            for k in 0..<name.module.count where name.module[k] == 0x09 || name.module[k] == 0x0A { plain = false }
            if plain {
                question.append(name.module)
                question.append(byte: 0x09)
                question.appendHexDigits(name.moduleOffset, minimumDigits: 1)
                question.append(byte: 0x09)
                question.append(name.buildId)
            }
            question.append(byte: 0x0A)
        }
        let outputCapacity = 16 << 20
        guard let output = report.take(UInt64(outputCapacity)) else { return nil }
        let got = mw_symbolizer_run(path, UnsafeRawPointer(input).assumingMemoryBound(to: CChar.self), question.count,
                                    UnsafeMutableRawPointer(output).assumingMemoryBound(to: CChar.self), outputCapacity,
                                    timeoutMilliseconds)
        guard got > 0 else { return nil }
        // One answer line per question, in order.
        let table = UnsafeMutableRawPointer(answers).bindMemory(to: (UInt32, UInt32).self, capacity: unique)
        var line = 0, start = 0
        for i in 0..<got where output[i] == 0x0A && line < unique {
            table[line] = (UInt32(start), UInt32(i - start))
            line += 1
            start = i + 1
        }
        guard line == unique else { return nil } // a partial answer is no answer
        return ExternalNames(addresses: addresses, count: unique, answers: table, text: UnsafePointer(output))
    }

    /// The answer about address, empty when nothing is known.
    func answer(_ address: UInt64) -> Bytes {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if addresses[mid] < address { lo = mid + 1 } else { hi = mid }
        }
        guard lo < count, addresses[lo] == address else { return .empty }
        let (start, length) = answers[lo]
        return Bytes(text + Int(start), count: Int(length))
    }

    /// Calls body with the frames of an answer: function, source, symbol offset.
    static func forEachFrame(_ answer: Bytes, _ body: (Bytes, Bytes, UInt64) -> Void) {
        var at = 0
        while at < answer.count {
            var end = at
            while end < answer.count && answer[end] != 0x1E { end += 1 }
            let entry = answer.slice(at, end)
            var fields: (Bytes, Bytes, Bytes) = (.empty, .empty, .empty)
            var f = 0, s = 0
            for k in 0...entry.count where k == entry.count || entry[k] == 0x09 {
                let field = entry.slice(s, k)
                if f == 0 { fields.0 = field } else if f == 1 { fields.1 = field } else if f == 2 { fields.2 = field }
                f += 1
                s = k + 1
            }
            var offset: UInt64 = 0
            for k in 0..<fields.2.count {
                let c = fields.2[k]
                let d: UInt8 = c >= 0x61 ? c - 0x61 + 10 : c >= 0x41 ? c - 0x41 + 10 : c &- 0x30
                offset = offset &* 16 &+ UInt64(d & 15)
            }
            if fields.0.count > 0 || fields.1.count > 0 { body(fields.0, fields.1, offset) }
            at = end + 1
        }
    }
}
