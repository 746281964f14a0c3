import Foundation
import MapwardenLogic

/// The merged report as JSON (MergedReportSchema: "mapwarden-merged-report",
/// version 1). Its leaks, frames, suppressions and clobbers are the report's,
/// written with the report's keys; the keys it adds are MergedReportSchema's.
struct MergedJSON: Encodable {
    typealias CodingKeys = MergedReportSchema.DocumentField
    var schema = MergedReportSchema.name.description
    var version = MergedReportSchema.version
    var reports: [ReportRef]
    var windows: [WindowOut]
    var groups: [GroupOut]
    var groupsNotShown: Int
    var suppressed: [LeakReport.Suppression]
    var clobbers: [ClobberOut]
    var summary: SummaryOut

    struct ReportRef: Encodable {
        typealias CodingKeys = MergedReportSchema.ReportField
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

        func encode(to encoder: any Encoder) throws {
            try leak.encode(to: encoder)
            var c = encoder.container(keyedBy: MergedReportSchema.PlacedLeakField.self)
            try c.encode(pid, forKey: .pid)
        }
    }

    struct GroupOut: Encodable {
        typealias CodingKeys = MergedReportSchema.GroupField
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

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: ReportSchema.WindowField.self)
            try c.encode(name, forKey: .name)
            try c.encode(base, forKey: .base)
            try c.encode(size, forKey: .size)
            try c.encode(backing, forKey: .backing)
            try c.encode(path, forKey: .path) // null for a private window
            try c.encode(mappings, forKey: .mappings)
            try c.encode(mappedBytes, forKey: .mappedBytes)
            var m = encoder.container(keyedBy: MergedReportSchema.WindowField.self)
            try m.encode(reports, forKey: .reports)
            try m.encode(leakedMappings, forKey: .leakedMappings)
            try m.encode(leakedBytes, forKey: .leakedBytes)
        }
    }

    struct ClobberOut: Encodable {
        typealias CodingKeys = MergedReportSchema.ClobberField
        var count: Int
        var pids: [Int]
        var event: LeakReport.Clobber
    }

    /// A report summary (every field set) with the number of reports.
    struct SummaryOut: Encodable {
        var reports: Int
        var totals: LeakReport.Summary

        func encode(to encoder: any Encoder) throws {
            try totals.encode(to: encoder)
            var c = encoder.container(keyedBy: MergedReportSchema.SummaryField.self)
            try c.encode(reports, forKey: .reports)
        }
    }

    init(_ m: MergedReport, top: Int?) {
        reports = m.sources.map {
            ReportRef(file: $0.file, pid: $0.report.pid, parentPid: $0.report.parentPid, forked: $0.report.forked,
                      executable: $0.report.executable, exitTime: $0.report.exitTime, summary: $0.report.effectiveSummary)
        }
        windows = m.windows.map {
            WindowOut(name: $0.window.name, base: $0.window.base, size: $0.window.size, backing: $0.window.backing ?? Backing.private.word,
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
        summary = SummaryOut(reports: m.sources.count, totals: LeakReport.Summary(
            leakedMappings: m.leakedMappings, leakedBytes: m.leakedBytes,
            suppressedMappings: m.suppressedMappings, suppressedBytes: m.suppressedBytes,
            inheritedMappings: m.inheritedMappings, inheritedBytes: m.inheritedBytes,
            keptMappings: m.keptMappings, keptBytes: m.keptBytes,
            clobbers: m.clobberCount))
    }

    func render() throws -> String {
        let e = JSONEncoder() // the keys are the schemas', as written
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try e.encode(self), as: UTF8.self) + "\n"
    }
}
