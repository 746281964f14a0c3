import Foundation

/// The merged report as JSON (schema "mapwarden-merged-report", version 1).
struct MergedJSON: Encodable {
    var schema = "mapwarden-merged-report"
    var version = 1
    var reports: [ReportRef]
    var windows: [WindowOut]
    var groups: [GroupOut]
    var groupsNotShown: Int
    var suppressed: [LeakReport.Suppression]
    var clobbers: [ClobberOut]
    var summary: SummaryOut

    struct ReportRef: Encodable {
        var file: String
        var pid: Int
        var parentPid: Int?
        var forked: Bool?
        var executable: String?
        var exitTime: String?
        var summary: LeakReport.Summary
    }

    struct PlacedLeak: Encodable {
        var pid: Int
        var leak: LeakReport.Leak

        enum Keys: String, CodingKey { case pid }

        func encode(to encoder: any Encoder) throws {
            try leak.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(pid, forKey: .pid)
        }
    }

    struct GroupOut: Encodable {
        var inherited: Bool
        var mappings: Int
        var bytes: UInt64
        var pids: [Int]
        var stack: [LeakReport.Frame]
        var leaks: [PlacedLeak]
    }

    /// A window of the reports: as they name it, with the mappings in it
    /// at exit summed over the reports that have it, and the leaks there.
    struct WindowOut: Encodable {
        var name: String?
        var base: String
        var size: UInt64
        var backing: String
        var path: String?
        var reports: Int
        var mappings: Int
        var mappedBytes: UInt64
        var leakedMappings: Int
        var leakedBytes: UInt64

        enum CodingKeys: String, CodingKey {
            case name, base, size, backing, path, reports, mappings, mappedBytes, leakedMappings, leakedBytes
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(base, forKey: .base)
            try c.encode(size, forKey: .size)
            try c.encode(backing, forKey: .backing)
            try c.encode(path, forKey: .path) // null for a private window
            try c.encode(reports, forKey: .reports)
            try c.encode(mappings, forKey: .mappings)
            try c.encode(mappedBytes, forKey: .mappedBytes)
            try c.encode(leakedMappings, forKey: .leakedMappings)
            try c.encode(leakedBytes, forKey: .leakedBytes)
        }
    }

    struct ClobberOut: Encodable {
        var count: Int
        var pids: [Int]
        var event: LeakReport.Clobber
    }

    struct SummaryOut: Encodable {
        var reports: Int
        var leakedMappings: Int
        var leakedBytes: UInt64
        var suppressedMappings: Int
        var suppressedBytes: UInt64
        var inheritedMappings: Int
        var inheritedBytes: UInt64
        var keptMappings: Int
        var keptBytes: UInt64
        var clobbers: Int
    }

    init(_ m: MergedReport, top: Int?) {
        reports = m.sources.map {
            ReportRef(file: $0.file, pid: $0.report.pid, parentPid: $0.report.parentPid, forked: $0.report.forked,
                      executable: $0.report.executable, exitTime: $0.report.exitTime, summary: $0.report.effectiveSummary)
        }
        windows = m.windows.map {
            WindowOut(name: $0.window.name, base: $0.window.base, size: $0.window.size, backing: $0.window.backing ?? "private",
                      path: $0.window.path, reports: $0.reports, mappings: $0.mappings, mappedBytes: $0.mappedBytes,
                      leakedMappings: $0.leakedMappings, leakedBytes: $0.leakedBytes)
        }
        let own = m.leakGroups, inh = m.inheritedGroups
        let limit = top ?? Int.max
        let chosen = Array(own.prefix(limit)) + Array(inh.prefix(limit))
        groupsNotShown = own.count + inh.count - chosen.count
        groups = chosen.map {
            GroupOut(inherited: $0.inherited, mappings: $0.leaks.count, bytes: $0.bytes, pids: $0.pids,
                     stack: $0.stack, leaks: $0.leaks.map { PlacedLeak(pid: $0.pid, leak: $0.leak) })
        }
        suppressed = m.suppressed
        clobbers = m.clobbers.map {
            ClobberOut(count: $0.events.count, pids: Array(Set($0.events.map(\.pid))).sorted(), event: $0.clobber)
        }
        summary = SummaryOut(reports: m.sources.count, leakedMappings: m.leakedMappings, leakedBytes: m.leakedBytes,
                             suppressedMappings: m.suppressedMappings, suppressedBytes: m.suppressedBytes,
                             inheritedMappings: m.inheritedMappings, inheritedBytes: m.inheritedBytes,
                             keptMappings: m.keptMappings, keptBytes: m.keptBytes,
                             clobbers: m.clobberCount)
    }

    func render() throws -> String {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(self), as: UTF8.self) + "\n"
    }
}
