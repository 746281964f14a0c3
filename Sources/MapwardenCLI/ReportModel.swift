import Foundation

/// A leak report as the library writes it with MAPWARDEN_REPORT_FORMAT=json
/// (schema "mapwarden-report", version 1). Every field the renderer can do
/// without is optional, so that a report from a newer library still reads.
struct LeakReport: Codable {
    var schema: String
    var version: Int
    var pid: Int
    var parentPid: Int?
    var forked: Bool?
    var executable: String?
    var exitTime: String?
    var exitTimeUnix: Int?
    var settings: ReportSettings?
    var stacks: StackInfo?
    var windows: [ReportWindow]?
    var statistics: [String: Int]?
    var leaks: [Leak]?
    var suppressed: [Suppression]?
    var clobbers: [Clobber]?
    var summary: Summary?

    struct ReportSettings: Codable {
        var track: String?
        var backtraceDepth: Int?
        var clobber: String?
        var leakExitcode: Int?
    }

    struct StackInfo: Codable {
        var available: Bool?
        var reason: String?
        var unique: Int?
        var dropped: Int?
    }

    /// One window of the process (every window it had, the default one
    /// included; reports from before named windows have only "default").
    struct ReportWindow: Codable {
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
        /// `0x500000000000-0x500040000000 (1 GiB, shared /dev/shm/x)`.
        var rangeText: String {
            var s = "\(Fmt.hex(baseValue))-\(Fmt.hex(endValue)) (\(Fmt.bytes(size))"
            if let backing, backing != "private" {
                s += ", \(backing)"
                if let path { s += " \(path)" }
            }
            return s + ")"
        }
    }

    struct Frame: Codable, Hashable {
        var address: String?
        var module: String?
        var moduleOffset: UInt64?
        var symbol: String?
        var offset: UInt64?

        /// What identifies the frame across processes (addresses move with ASLR).
        var key: String {
            if let module { return "\(module)+\(moduleOffset ?? 0)" }
            if let symbol { return "\(symbol)+\(offset ?? 0)" }
            return address ?? "?"
        }

        /// `#N ADDR in SYMBOL+0xOFF (MODULE)` as the library writes it.
        func line(_ n: Int) -> String {
            var s = "#\(n) \(address ?? "0x0")"
            if let symbol {
                s += " in \(symbol)+\(Fmt.hex(offset ?? 0))"
                if let module { s += " (\(module))" }
            } else if let module {
                s += " in ?? (\(module)+\(Fmt.hex(moduleOffset ?? 0)))"
            } else {
                s += " in ??"
            }
            return s
        }
    }

    struct Leak: Codable {
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
        /// parentheses, as the library writes it; `, in window "NAME"` when
        /// `namingWindows` (the reports have more than one window).
        func details(namingWindows: Bool = false) -> String {
            var parts = ["\(size) bytes"]
            if let protection { parts.append(protection) }
            let kind = (shared ?? false) ? "shared" : "private"
            if anonymous ?? (path == nil) {
                parts.append("\(kind) anonymous")
            } else if moved == true && path == nil {
                parts.append("\(kind) (moved by mremap)")
            } else {
                parts.append("\(kind) file \(path ?? "") offset \(Fmt.hex(offset ?? 0))")
            }
            if inWindow == false {
                parts.append("outside the window")
            } else if namingWindows, let window {
                parts.append("in window \"\(window)\"")
            }
            if let thread, thread != 0 { parts.append("thread \(thread)") }
            if isInherited { parts.append("inherited") }
            return parts.joined(separator: ", ")
        }
    }

    struct Suppression: Codable {
        var pattern: String
        var mappings: Int
        var bytes: UInt64
    }

    struct Clobber: Codable {
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
            case .wrongSchema(let p, let s): return "\(p): schema \"\(s)\" is not mapwarden-report version 1"
            }
        }
    }

    static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
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
        if report.schema != "mapwarden-report" || report.version != 1 {
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
