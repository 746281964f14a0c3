/// Reports of many processes (e.g. the per-pid files of a forking program)
/// merged: leaks with the same stack are one group whatever process they
/// come from. Frames are compared by module and offset in it (or symbol and
/// offset), not by address, which ASLR moves from process to process.
struct MergedReport {
    struct Source {
        var file: String
        var report: LeakReport
    }

    struct Placed {
        var pid: Int
        var leak: LeakReport.Leak
        /// The window it is in (an index into `windows`), nil outside them.
        var window: Int?
    }

    /// A window as the reports name it (name, range and file), with what the
    /// processes had mapped in it, summed over the reports, and what leaked there.
    struct WindowUse {
        var window: LeakReport.ReportWindow
        var key: String
        /// Shared or persistent: what is left mapped there is kept in the file, not leaked.
        var keeps: Bool { window.keeps }
        var reports = 0
        var mappings = 0
        var mappedBytes: UInt64 = 0
        var leakedMappings = 0
        var leakedBytes: UInt64 = 0
    }

    struct Group {
        var key: String
        var inherited: Bool
        var stack: [LeakReport.Frame]
        var noStackReason: String?
        var leaks: [Placed] = []

        var bytes: UInt64 { leaks.reduce(0) { $0 + $1.leak.size } }
        var pids: [Int] { Array(Set(leaks.map(\.pid))).sorted() }
    }

    struct ClobberGroup {
        var key: String
        var clobber: LeakReport.Clobber
        var events: [(pid: Int, clobber: LeakReport.Clobber)] = []
    }

    var sources: [Source]
    var groups: [Group] = []
    var suppressed: [LeakReport.Suppression] = []
    var clobbers: [ClobberGroup] = []
    /// Every window of every report, in address order (then by name).
    var windows: [WindowUse] = []

    /// Whether leaks should say which window they are in: the reports have
    /// more than one window.
    var namesWindows: Bool { windows.count > 1 }

    static func windowKey(_ w: LeakReport.ReportWindow) -> String {
        "\(w.name ?? "")|\(w.baseValue)|\(w.size)|\(w.path ?? "")"
    }

    /// The report's window a leak is in: by the name the leak gives, else by address.
    static func window(of leak: LeakReport.Leak, in report: LeakReport) -> LeakReport.ReportWindow? {
        let list = report.windows ?? []
        if leak.inWindow == false { return nil }
        if let name = leak.window, let w = list.first(where: { $0.name == name }) { return w }
        return list.first { $0.contains(leak.addressValue) }
    }

    var leakGroups: [Group] { groups.filter { !$0.inherited } }
    var inheritedGroups: [Group] { groups.filter { $0.inherited } }

    var leakedMappings: Int { leakGroups.reduce(0) { $0 + $1.leaks.count } }
    var leakedBytes: UInt64 { leakGroups.reduce(0) { $0 + $1.bytes } }
    var inheritedMappings: Int { inheritedGroups.reduce(0) { $0 + $1.leaks.count } }
    var inheritedBytes: UInt64 { inheritedGroups.reduce(0) { $0 + $1.bytes } }
    var keptMappings: Int { sources.reduce(0) { $0 + ($1.report.summary?.keptMappings ?? 0) } }
    var keptBytes: UInt64 { sources.reduce(0) { $0 + ($1.report.summary?.keptBytes ?? 0) } }
    var suppressedMappings: Int { suppressed.reduce(0) { $0 + $1.mappings } }
    var suppressedBytes: UInt64 { suppressed.reduce(0) { $0 + $1.bytes } }
    var clobberCount: Int { clobbers.reduce(0) { $0 + $1.events.count } }

    static func stackKey(_ frames: [LeakReport.Frame]?) -> String {
        (frames ?? []).map(\.key).joined(separator: "|")
    }

    init(_ sources: [Source]) {
        self.sources = sources
        var index: [String: Int] = [:]
        var suppIndex: [String: Int] = [:]
        var clobIndex: [String: Int] = [:]
        var windowKeys: [String: Int] = [:]
        for source in sources {
            for w in source.report.windows ?? [] {
                let key = MergedReport.windowKey(w)
                if windowKeys[key] == nil {
                    windowKeys[key] = windows.count
                    windows.append(WindowUse(window: w, key: key))
                }
            }
        }
        windows.sort { ($0.window.baseValue, $0.window.name ?? "", $0.key) < ($1.window.baseValue, $1.window.name ?? "", $1.key) }
        windowKeys = Dictionary(uniqueKeysWithValues: windows.enumerated().map { ($1.key, $0) })
        for source in sources {
            let r = source.report
            for w in r.windows ?? [] {
                guard let i = windowKeys[MergedReport.windowKey(w)] else { continue }
                windows[i].reports += 1
                windows[i].mappings += w.mappings ?? 0
                windows[i].mappedBytes += w.mappedBytes ?? 0
            }
            let reason = (r.stacks?.available == false) ? (r.stacks?.reason ?? "stacks unavailable") : nil
            for leak in r.leaks ?? [] {
                let key = (leak.isInherited ? "I:" : "L:") + MergedReport.stackKey(leak.stack)
                let at = MergedReport.window(of: leak, in: r).flatMap { windowKeys[MergedReport.windowKey($0)] }
                if let at, !leak.isInherited {
                    windows[at].leakedMappings += 1
                    windows[at].leakedBytes += leak.size
                }
                let placed = Placed(pid: r.pid, leak: leak, window: at)
                if let i = index[key] {
                    groups[i].leaks.append(placed)
                } else {
                    index[key] = groups.count
                    var g = Group(key: key, inherited: leak.isInherited, stack: leak.stack ?? [],
                                  noStackReason: (leak.stack ?? []).isEmpty ? (reason ?? "no stack recorded") : nil)
                    g.leaks.append(placed)
                    groups.append(g)
                }
            }
            for s in r.suppressed ?? [] {
                if let i = suppIndex[s.pattern] {
                    suppressed[i].mappings += s.mappings
                    suppressed[i].bytes += s.bytes
                } else {
                    suppIndex[s.pattern] = suppressed.count
                    suppressed.append(s)
                }
            }
            for c in r.clobbers ?? [] {
                let key = [c.kind, c.call ?? "", c.victim ?? "", c.action ?? "", MergedReport.stackKey(c.stack)].joined(separator: "#")
                if let i = clobIndex[key] {
                    clobbers[i].events.append((r.pid, c))
                } else {
                    clobIndex[key] = clobbers.count
                    var g = ClobberGroup(key: key, clobber: c)
                    g.events.append((r.pid, c))
                    clobbers.append(g)
                }
            }
        }
        // Largest first; inherited groups after the program's own.
        groups.sort {
            if $0.inherited != $1.inherited { return !$0.inherited }
            if $0.bytes != $1.bytes { return $0.bytes > $1.bytes }
            if $0.leaks.count != $1.leaks.count { return $0.leaks.count > $1.leaks.count }
            return $0.key < $1.key
        }
        for i in groups.indices {
            groups[i].leaks.sort { ($0.leak.addressValue, $0.pid) < ($1.leak.addressValue, $1.pid) }
        }
        suppressed.sort { $0.bytes > $1.bytes }
    }
}
