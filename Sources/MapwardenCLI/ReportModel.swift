import Foundation
import MapwardenLogic

/// A leak report as the library writes it with MAPWARDEN_REPORT_FORMAT=json
/// (ReportSchema: "mapwarden-report", version 1). Every field the renderer
/// can do without is optional, so that a report from a newer library still
/// reads. The keys are the schema's (each type's CodingKeys), never spelled here.
struct LeakReport: Codable {
    typealias CodingKeys = ReportSchema.DocumentField
    var schema: String
    var version: Int
    var pid: Int
    var parentPid: Int?
    var forked: Bool?
    var executable: String?
    var exitTime: String?
    var exitTimeUnix: Int?
    /// How the process ended (ReportSchema.EndedBy), "exit" when absent.
    var endedBy: String?
    var settings: ReportSettings?
    var stacks: StackInfo?
    var windows: [ReportWindow]?
    var statistics: Statistics?
    var leaks: [Leak]?
    var suppressed: [Suppression]?
    var clobbers: [Clobber]?
    var summary: Summary?

    struct ReportSettings: Codable {
        typealias CodingKeys = ReportSchema.SettingsField
        var track: String?
        var backtraceDepth: Int?
        var clobber: String?
        var leakExitcode: Int?
    }

    struct StackInfo: Codable {
        typealias CodingKeys = ReportSchema.StacksField
        var available: Bool?
        var reason: String?
        var unique: Int?
        var dropped: Int?
    }

    /// One window of the process (every window it had, the default one
    /// included; reports from before named windows have only "default").
    struct ReportWindow: Codable {
        typealias CodingKeys = ReportSchema.WindowField
        var name: String?
        var base: String
        var size: UInt64
        /// "private", "shared" or "persistent" (absent: private).
        var backing: String?
        /// The backing file of a shared or persistent window.
        var path: String?
        var mappings: Int?
        var mappedBytes: UInt64?

        var baseValue: UInt64 { LeakReport.parseAddress(base) ?? 0 }
        var endValue: UInt64 { baseValue &+ size }
        func contains(_ address: UInt64) -> Bool { address >= baseValue && address < endValue }

        /// `window "ipc"` (or `window` when the report names none).
        var title: String { name.map { "window \"\($0)\"" } ?? "window" }
        /// Shared or persistent: what is left mapped there is kept in the file, not leaked.
        var keeps: Bool { (backing ?? Backing.private.word) != Backing.private.word }
        /// `0x500000000000-0x500040000000 (1 GiB, shared /dev/shm/x)`.
        var rangeText: String {
            var s = "\(Fmt.hex(baseValue))-\(Fmt.hex(endValue)) (\(Fmt.bytes(size))"
            if let backing, keeps {
                s += ", \(backing)"
                if let path { s += " \(path)" }
            }
            return s + ")"
        }
    }

    /// The calls that touched a window.
    struct Statistics: Codable {
        typealias CodingKeys = ReportSchema.StatisticsField
        var windowCalls: Int?
        var mmap: Int?
        var munmap: Int?
        var mprotect: Int?
        var mremap: Int?
        var other: Int?
        var trackedMappings: Int?
        var outsideCalls: Int?
    }

    struct Frame: Codable, Hashable {
        typealias CodingKeys = ReportSchema.FrameField
        var address: String?
        var module: String?
        var moduleOffset: UInt64?
        /// The module's GNU build-id (hex), when the library could read it.
        var buildId: String?
        /// The readable (demangled) name.
        var symbol: String?
        /// The name as the object has it.
        var mangled: String?
        var offset: UInt64?

        /// What identifies the frame across processes (addresses move with ASLR).
        var key: String {
            if let module { return "\(module)+\(moduleOffset ?? 0)" }
            if let symbol { return "\(symbol)+\(offset ?? 0)" }
            return address ?? "?"
        }

        /// `#N ADDR in SYMBOL+0xOFF (MODULE)` as the library writes it (LeakText.frame).
        func line(_ n: Int) -> String {
            Rendered.text { store, out in
                let symbol = store.copy(self.symbol ?? "")
                let facts = ReportFrameFacts(
                    address: LeakReport.parseAddress(address ?? "") ?? 0, module: store.copy(module ?? ""),
                    moduleOffset: moduleOffset ?? 0, symbol: symbol, readable: symbol, symbolOffset: offset ?? 0)
                LeakText.frame(n, facts, &out)
            }
        }
    }

    struct Leak: Codable {
        typealias CodingKeys = ReportSchema.LeakField
        var address: String
        var size: UInt64
        var protection: String?
        var shared: Bool?
        var anonymous: Bool?
        var path: String?
        var offset: UInt64?
        var thread: Int?
        var inherited: Bool?
        var moved: Bool?
        var inWindow: Bool?
        /// The name of the window it is in (nil: outside the windows).
        var window: String?
        var stackId: Int?
        var stack: [Frame]?

        var addressValue: UInt64 { LeakReport.parseAddress(address) ?? 0 }
        var isInherited: Bool { inherited ?? false }

        /// `(4096 bytes, rw-, private anonymous, thread 1234)` without the
        /// parentheses, as the library writes it (LeakText.details); `, in
        /// window "NAME"` when `namingWindows` (the reports have more than one window).
        func details(namingWindows: Bool = false) -> String {
            Rendered.text { store, out in
                var kind: UInt32 = 0
                if shared ?? false { kind |= MappingKind.shared }
                if anonymous ?? (path == nil) { kind |= MappingKind.anonymous }
                if moved ?? false { kind |= MappingKind.moved }
                let facts = ReportLeakFacts(
                    address: addressValue, size: size, protection: Leak.protectionBits(protection), kind: kind,
                    path: store.copy(path ?? ""), offset: offset ?? 0, thread: UInt32(truncatingIfNeeded: thread ?? 0),
                    inherited: isInherited, inWindow: inWindow ?? true,
                    window: window.flatMap { WindowName(validating: store.copy($0)) }, stack: 0)
                LeakText.details(facts, namingWindow: namingWindows, &out)
            }
        }

        /// PROT_* bits from `rwx` letters; -1 (`?`) when unknown or absent.
        static func protectionBits(_ text: String?) -> Int32 {
            guard let text, text.utf8.count == 3 else { return -1 }
            var bits: Int32 = 0
            for (i, (c, letter)) in zip(text.utf8, "rwx".utf8).enumerated() {
                if c == letter { bits |= 1 << i } else if c != UInt8(ascii: "-") { return -1 }
            }
            return bits
        }
    }

    struct Suppression: Codable {
        typealias CodingKeys = ReportSchema.SuppressionField
        var pattern: String
        var mappings: Int
        var bytes: UInt64
    }

    struct Clobber: Codable {
        typealias CodingKeys = ReportSchema.ClobberField
        var kind: String
        var call: String?
        var address: String?
        var size: UInt64?
        var action: String?
        var victim: String?
        var thread: Int?
        var stack: [Frame]?
    }

    struct Summary: Codable {
        typealias CodingKeys = ReportSchema.SummaryField
        var leakedMappings: Int
        var leakedBytes: UInt64
        var suppressedMappings: Int?
        var suppressedBytes: UInt64?
        var inheritedMappings: Int?
        var inheritedBytes: UInt64?
        /// Mappings left in shared and persistent windows: kept in the
        /// window's file, not leaks (not listed in "leaks").
        var keptMappings: Int?
        var keptBytes: UInt64?
        var clobbers: Int?
    }

    /// The summary, computed from the leaks when the report has none.
    var effectiveSummary: Summary {
        if let summary { return summary }
        let own = (leaks ?? []).filter { !$0.isInherited }
        let inh = (leaks ?? []).filter { $0.isInherited }
        return Summary(
            leakedMappings: own.count, leakedBytes: own.reduce(0) { $0 + $1.size },
            suppressedMappings: (suppressed ?? []).reduce(0) { $0 + $1.mappings },
            suppressedBytes: (suppressed ?? []).reduce(0) { $0 + $1.bytes },
            inheritedMappings: inh.count, inheritedBytes: inh.reduce(0) { $0 + $1.size },
            keptMappings: nil, keptBytes: nil,
            clobbers: clobbers?.count ?? 0)
    }

    /// The totals in the form LeakText writes.
    var totals: ReportTotals {
        let s = effectiveSummary
        var t = ReportTotals()
        t.leaked = ReportCount(mappings: s.leakedMappings, bytes: s.leakedBytes)
        t.suppressed = ReportCount(mappings: s.suppressedMappings ?? 0, bytes: s.suppressedBytes ?? 0)
        t.inherited = ReportCount(mappings: s.inheritedMappings ?? 0, bytes: s.inheritedBytes ?? 0)
        t.kept = ReportCount(mappings: s.keptMappings ?? 0, bytes: s.keptBytes ?? 0)
        t.clobbers = s.clobbers ?? 0
        return t
    }

    /// How the process ended ("exit" when the report does not say).
    var endedByValue: ReportSchema.EndedBy { endedBy.flatMap(ReportSchema.EndedBy.init(word:)) ?? .exit }

    var programName: String { Paths.basename(executable ?? "?") }

    static func parseAddress(_ text: String) -> UInt64? {
        var t = Substring(text)
        if t.hasPrefix("0x") || t.hasPrefix("0X") { t = t.dropFirst(2) }
        return UInt64(t, radix: 16)
    }

    enum LoadError: Error, CustomStringConvertible {
        case unreadable(String, Errno)
        case notJSON(String, String)
        case wrongSchema(String, String)

        var description: String {
            switch self {
            case .unreadable(let p, let e): return "\(p): cannot read: \(e)"
            case .notJSON(let p, let why): return "\(p): not a mapwarden JSON report (\(why)); write reports with --format json"
            case .wrongSchema(let p, let s): return "\(p): schema \"\(s)\" is not \(ReportSchema.name) version \(ReportSchema.version)"
            }
        }
    }

    static func decoder() -> JSONDecoder {
        JSONDecoder() // the keys are the schema's, as written
    }

    static func load(_ path: String) throws(LoadError) -> LeakReport {
        let data: [UInt8]
        switch Paths.read(path) {
        case .success(let d): data = d
        case .failure(let e): throw .unreadable(path, e)
        }
        let report: LeakReport
        do {
            report = try decoder().decode(LeakReport.self, from: Data(data))
        } catch let error as DecodingError {
            throw .notJSON(path, describe(error))
        } catch {
            throw .notJSON(path, "\(error)")
        }
        if report.schema != ReportSchema.name.description || report.version != ReportSchema.version {
            throw .wrongSchema(path, "\(report.schema)\" version \"\(report.version)")
        }
        return report
    }

    static func describe(_ e: DecodingError) -> String {
        switch e {
        case .dataCorrupted(let c): return c.underlyingError.map { "\($0.localizedDescription)" } ?? c.debugDescription
        case .keyNotFound(let k, let c): return "missing \"\(pathText(c.codingPath + [k]))\""
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "unexpected value at \"\(pathText(c.codingPath))\""
        @unknown default: return "\(e)"
        }
    }

    static func pathText(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}
