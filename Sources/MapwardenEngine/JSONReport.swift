import CShim
import MapwardenLogic

/// The report as one JSON object: MapwardenLogic's ReportJSON writes it
/// (schema and layout, docs/leak-reports.md); this gathers what it says.
enum JSONReport {
    static func write(_ r: LeakReport, _ c: ReportContext, _ out: inout ReportSink) {
        ReportJSON.write(ExitReport(report: r, context: c), to: &out)
    }
}

extension ReportSink: ReportOutput {}

/// The facts of the report at exit, for both formats.
struct ExitReport: ReportJSONSource {
    let report: LeakReport
    let context: ReportContext

    var header: ReportHeader {
        let s = context.settings
        var h = ReportHeader()
        h.pid = Process.id
        h.parentPID = Process.parentID
        h.forked = context.generation > 0
        h.exitTime = Int64(WallClock.secondsSinceEpoch)
        h.endedBy = s.endedByValue
        h.track = config.track
        h.backtraceDepth = config.backtraceDepth
        h.clobber = config.clobber
        h.leakExitCode = s.leakExitCode
        h.stacksMissing = s.stacksMissing.map { Bytes(cString: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self)) }
        h.uniqueStacks = context.depot.count
        h.droppedStacks = context.droppedStacks
        return h
    }

    func withExecutable(_ body: (Bytes) -> Void) {
        Process.withExecutable { body($0) }
    }

    var windowCount: Int { Windows.count }

    func window(_ i: Int) -> ReportWindowFacts {
        let w = config.windows[i], d = config.windowDetails[i]
        let path = d.path.map { Bytes(cString: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self)) }
        return ReportWindowFacts(name: d.name, base: w.base, size: w.size, backing: d.backing, path: path,
                                 mapped: ReportCount(mappings: report.perWindow.count(i), bytes: report.perWindow.size(i)))
    }

    var statistics: ReportStatistics {
        let k = context.calls
        var s = ReportStatistics()
        s.mmap = k.mmap
        s.munmap = k.munmap
        s.mprotect = k.mprotect
        s.mremap = k.mremap
        s.other = k.other
        s.trackedMappings = k.recorded
        s.outsideCalls = k.outside
        return s
    }

    func leak(_ l: Leak) -> ReportLeakFacts {
        ReportLeakFacts(address: l.start, size: l.size, protection: l.prot, kind: l.kind, path: report.path(l),
                        offset: l.offset, thread: l.thread, inherited: l.inherited, inWindow: l.inWindow,
                        window: l.inWindow ? Windows.name(containing: l.start) : nil, stack: l.stack)
    }

    func forEachLeak(_ body: (ReportLeakFacts) -> Void) {
        for i in 0..<report.count where report.leaks[i].suppressedBy < 0 { body(leak(report.leaks[i])) }
    }

    func forEachSuppression(_ body: (Bytes, ReportCount) -> Void) {
        guard report.suppressed.mappings > 0 else { return }
        let list = context.settings.suppressions
        for i in 0..<Swift.min(list.count, LeakReport.suppressionLimit) where report.suppressionUses[i].0 > 0 {
            body(list.rule(at: i), ReportCount(mappings: report.suppressionUses[i].0, bytes: report.suppressionUses[i].1))
        }
    }

    func forEachEvent(_ body: (ReportEventFacts) -> Void) {
        for i in 0..<context.events.count { ExitReport.withEvent(context.events[i], body) }
    }

    /// Runs body with the facts of an event (its victim lives in the event).
    static func withEvent(_ e: GuardEvent, _ body: (ReportEventFacts) -> Void) {
        e.withVictim { victim in
            body(ReportEventFacts(kind: e.kind, denied: e.denied, call: e.call, address: e.address, size: e.size,
                                  victim: victim, thread: e.thread, stack: e.stack))
        }
    }

    var totals: ReportTotals {
        var t = ReportTotals()
        t.leaked = ReportCount(mappings: report.leaked.mappings, bytes: report.leaked.bytes)
        t.suppressed = ReportCount(mappings: report.suppressed.mappings, bytes: report.suppressed.bytes)
        t.inherited = ReportCount(mappings: report.inherited.mappings, bytes: report.inherited.bytes)
        t.kept = ReportCount(mappings: report.kept.mappings, bytes: report.kept.bytes)
        t.clobbers = context.events.total
        return t
    }

    func forEachFrame(of stack: UInt32, _ body: (ReportFrameFacts) -> Void) {
        let (frames, depth) = context.depot.frames(stack)
        guard let frames else { return }
        for f in 0..<depth {
            let name = FrameName(frames[f])
            name.withName(demangling: context.settings.demangles) { readable in
                var facts = ReportFrameFacts(address: name.address, module: name.module, moduleOffset: name.moduleOffset,
                                             symbol: name.symbol, readable: readable, symbolOffset: name.symbolOffset)
                facts.buildId = name.buildId
                body(facts)
            }
        }
    }
}
