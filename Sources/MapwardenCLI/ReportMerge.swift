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

    var leakGroups: [Group] { groups.filter { !$0.inherited } }
    var inheritedGroups: [Group] { groups.filter { $0.inherited } }

    var leakedMappings: Int { leakGroups.reduce(0) { $0 + $1.leaks.count } }
    var leakedBytes: UInt64 { leakGroups.reduce(0) { $0 + $1.bytes } }
    var inheritedMappings: Int { inheritedGroups.reduce(0) { $0 + $1.leaks.count } }
    var inheritedBytes: UInt64 { inheritedGroups.reduce(0) { $0 + $1.bytes } }
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
        for source in sources {
            let r = source.report
            let reason = (r.stacks?.available == false) ? (r.stacks?.reason ?? "stacks unavailable") : nil
            for leak in r.leaks ?? [] {
                let key = (leak.isInherited ? "I:" : "L:") + MergedReport.stackKey(leak.stack)
                if let i = index[key] {
                    groups[i].leaks.append(Placed(pid: r.pid, leak: leak))
                } else {
                    index[key] = groups.count
                    var g = Group(key: key, inherited: leak.isInherited, stack: leak.stack ?? [],
                                  noStackReason: (leak.stack ?? []).isEmpty ? (reason ?? "no stack recorded") : nil)
                    g.leaks.append(Placed(pid: r.pid, leak: leak))
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
