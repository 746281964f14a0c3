/// The JSON report (ReportSchema: `mapwarden-report`, version 1), written
/// from the facts a source gives, with the schema's keys and words only.
/// The engine is the source at exit; the unit tests give their own.

/// Where a report is written: a text buffer that `room()` writes out when
/// it is nearly full (called before each item of a list).
public protocol ReportOutput {
    var text: TextBuffer { get set }
    mutating func room()
}

/// What the JSON report says.
public protocol ReportJSONSource {
    var header: ReportHeader { get }
    /// Runs body with the executable's path (empty when unknown).
    func withExecutable(_ body: (Bytes) -> Void)
    var windowCount: Int { get }
    func window(_ i: Int) -> ReportWindowFacts
    var statistics: ReportStatistics { get }
    /// Every leak listed (not suppressed; inherited ones too), in address order.
    func forEachLeak(_ body: (ReportLeakFacts) -> Void)
    /// Every suppression that matched: its pattern and what it hid.
    func forEachSuppression(_ body: (_ pattern: Bytes, _ hidden: ReportCount) -> Void)
    /// Every clobber and misuse kept.
    func forEachEvent(_ body: (ReportEventFacts) -> Void)
    var totals: ReportTotals { get }
    /// The frames of a stack, innermost first (none for stack 0 or a lost one).
    func forEachFrame(of stack: UInt32, _ body: (ReportFrameFacts) -> Void)
}

public enum ReportJSON {
    typealias Document = ReportSchema.DocumentField

    /// The whole report, then a newline.
    public static func write<S: ReportJSONSource, O: ReportOutput>(_ s: S, to out: inout O) {
        let h = s.header
        out.text.appendJSONKey(Document.schema, after: "{")
        out.text.appendJSONString(Bytes(ReportSchema.name))
        out.text.appendJSONKey(Document.version)
        out.text.append(decimal: ReportSchema.version)
        out.text.appendJSONKey(Document.pid, after: ",\n ")
        out.text.append(decimal: h.pid)
        out.text.appendJSONKey(Document.parentPid)
        out.text.append(decimal: h.parentPID)
        out.text.appendJSONKey(Document.forked)
        out.text.appendJSON(h.forked)
        out.text.appendJSONKey(Document.executable, after: ",\n ")
        s.withExecutable { out.text.appendJSONString($0) }
        out.text.appendJSONKey(Document.exitTime)
        out.text.append(byte: 0x22)
        out.text.append(isoTime: h.exitTime)
        out.text.append(byte: 0x22)
        out.text.appendJSONKey(Document.exitTimeUnix)
        out.text.append(decimal: Int(h.exitTime))
        out.text.appendJSONKey(Document.endedBy)
        out.text.appendJSONWord(h.endedBy)

        typealias Settings = ReportSchema.SettingsField
        out.text.appendJSONKey(Document.settings, after: ",\n ")
        out.text.appendJSONKey(Settings.track, after: "{")
        out.text.appendJSONWord(h.track)
        out.text.appendJSONKey(Settings.backtraceDepth)
        out.text.append(decimal: h.backtraceDepth)
        out.text.appendJSONKey(Settings.clobber)
        out.text.appendJSONWord(h.clobber)
        out.text.appendJSONKey(Settings.leakExitcode)
        out.text.append(decimal: Int(h.leakExitCode))
        out.text.append("}")

        typealias Stacks = ReportSchema.StacksField
        out.text.appendJSONKey(Document.stacks, after: ",\n ")
        out.text.appendJSONKey(Stacks.available, after: "{")
        out.text.appendJSON(h.stacksAvailable)
        out.text.appendJSONKey(Stacks.reason)
        if let why = h.stacksMissing {
            out.text.appendJSONString(why)
        } else if h.backtraceDepth == 0 {
            out.text.appendJSONString(Bytes(ReportSchema.depthZeroReason))
        } else {
            out.text.appendJSONNull()
        }
        out.text.appendJSONKey(Stacks.unique)
        out.text.append(decimal: h.uniqueStacks)
        out.text.appendJSONKey(Stacks.dropped)
        out.text.append(decimal: h.droppedStacks)
        out.text.append("}")

        out.text.appendJSONKey(Document.windows, after: ",\n ")
        out.text.append("[")
        for i in 0..<s.windowCount {
            window(s.window(i), first: i == 0, &out.text)
            out.room()
        }
        out.text.append("]")

        statistics(s.statistics, &out.text)

        out.text.appendJSONKey(Document.leaks, after: ",\n ")
        out.text.append("[")
        var first = true
        s.forEachLeak { l in
            out.room()
            out.text.append(first ? "\n  " : ",\n  ")
            first = false
            leak(l, s, &out)
        }
        out.text.append(first ? "]" : "\n ]")

        typealias Suppression = ReportSchema.SuppressionField
        out.text.appendJSONKey(Document.suppressed, after: ",\n ")
        out.text.append("[")
        first = true
        s.forEachSuppression { pattern, hidden in
            out.room()
            out.text.appendJSONKey(Suppression.pattern, after: first ? "{" : ", {")
            first = false
            out.text.appendJSONString(pattern)
            out.text.appendJSONKey(Suppression.mappings)
            out.text.append(decimal: hidden.mappings)
            out.text.appendJSONKey(Suppression.bytes)
            out.text.append(unsigned: hidden.bytes)
            out.text.append("}")
        }
        out.text.append("]")

        out.text.appendJSONKey(Document.clobbers, after: ",\n ")
        out.text.append("[")
        first = true
        s.forEachEvent { e in
            out.room()
            out.text.append(first ? "\n  " : ",\n  ")
            first = false
            event(e, s, &out)
        }
        out.text.append(first ? "]" : "\n ]")

        summary(s.totals, &out.text)
        out.text.append("}\n")
    }

    static func window(_ w: ReportWindowFacts, first: Bool, _ text: inout TextBuffer) {
        typealias Window = ReportSchema.WindowField
        text.appendJSONKey(Window.name, after: first ? "{" : ", {")
        text.append(byte: 0x22)
        text.append(name: w.name)
        text.append(byte: 0x22)
        text.appendJSONKey(Window.base)
        text.appendJSONHex(w.base)
        text.appendJSONKey(Window.size)
        text.append(unsigned: w.size)
        text.appendJSONKey(Window.backing)
        text.appendJSONWord(w.backing)
        text.appendJSONKey(Window.path)
        if let path = w.path { text.appendJSONString(path) } else { text.appendJSONNull() }
        text.appendJSONKey(Window.mappings)
        text.append(decimal: w.mapped.mappings)
        text.appendJSONKey(Window.mappedBytes)
        text.append(unsigned: w.mapped.bytes)
        text.append("}")
    }

    static func statistics(_ k: ReportStatistics, _ text: inout TextBuffer) {
        typealias Statistics = ReportSchema.StatisticsField
        text.appendJSONKey(Document.statistics, after: ",\n ")
        text.appendJSONKey(Statistics.windowCalls, after: "{")
        text.append(decimal: k.windowCalls)
        text.appendJSONKey(Statistics.mmap)
        text.append(decimal: k.mmap)
        text.appendJSONKey(Statistics.munmap)
        text.append(decimal: k.munmap)
        text.appendJSONKey(Statistics.mprotect)
        text.append(decimal: k.mprotect)
        text.appendJSONKey(Statistics.mremap)
        text.append(decimal: k.mremap)
        text.appendJSONKey(Statistics.other)
        text.append(decimal: k.other)
        text.appendJSONKey(Statistics.trackedMappings)
        text.append(decimal: k.trackedMappings)
        text.appendJSONKey(Statistics.outsideCalls)
        text.append(decimal: k.outsideCalls)
        text.append("}")
    }

    static func summary(_ t: ReportTotals, _ text: inout TextBuffer) {
        typealias Summary = ReportSchema.SummaryField
        text.appendJSONKey(Document.summary, after: ",\n ")
        text.appendJSONKey(Summary.leakedMappings, after: "{")
        text.append(decimal: t.leaked.mappings)
        text.appendJSONKey(Summary.leakedBytes)
        text.append(unsigned: t.leaked.bytes)
        text.appendJSONKey(Summary.suppressedMappings)
        text.append(decimal: t.suppressed.mappings)
        text.appendJSONKey(Summary.suppressedBytes)
        text.append(unsigned: t.suppressed.bytes)
        text.appendJSONKey(Summary.inheritedMappings)
        text.append(decimal: t.inherited.mappings)
        text.appendJSONKey(Summary.inheritedBytes)
        text.append(unsigned: t.inherited.bytes)
        text.appendJSONKey(Summary.keptMappings)
        text.append(decimal: t.kept.mappings)
        text.appendJSONKey(Summary.keptBytes)
        text.append(unsigned: t.kept.bytes)
        text.appendJSONKey(Summary.clobbers)
        text.append(decimal: t.clobbers)
        text.append("}")
    }

    static func leak<S: ReportJSONSource, O: ReportOutput>(_ l: ReportLeakFacts, _ s: S, _ out: inout O) {
        typealias Leak = ReportSchema.LeakField
        out.text.appendJSONKey(Leak.address, after: "{")
        out.text.appendJSONHex(l.address)
        out.text.appendJSONKey(Leak.size)
        out.text.append(unsigned: l.size)
        out.text.appendJSONKey(Leak.protection)
        out.text.append(byte: 0x22)
        out.text.append(protection: l.protection)
        out.text.append(byte: 0x22)
        out.text.appendJSONKey(Leak.shared)
        out.text.appendJSON(l.shared)
        out.text.appendJSONKey(Leak.anonymous)
        out.text.appendJSON(l.anonymous)
        out.text.appendJSONKey(Leak.moved)
        out.text.appendJSON(l.moved)
        out.text.appendJSONKey(Leak.path)
        if l.path.count > 0 { out.text.appendJSONString(l.path) } else { out.text.appendJSONNull() }
        out.text.appendJSONKey(Leak.offset)
        out.text.append(unsigned: l.offset)
        out.text.appendJSONKey(Leak.thread)
        out.text.append(unsigned: UInt64(l.thread))
        out.text.appendJSONKey(Leak.inherited)
        out.text.appendJSON(l.inherited)
        out.text.appendJSONKey(Leak.inWindow)
        if l.inWindow, let name = l.window {
            out.text.appendJSON(true)
            out.text.appendJSONKey(Leak.window)
            out.text.append(byte: 0x22)
            out.text.append(name: name)
            out.text.append(byte: 0x22)
        } else {
            out.text.appendJSON(false)
            out.text.appendJSONKey(Leak.window)
            out.text.appendJSONNull()
        }
        out.text.appendJSONKey(Leak.stackId)
        out.text.append(unsigned: UInt64(l.stack))
        out.text.appendJSONKey(Leak.stack, after: ",\n   ")
        stack(l.stack, s, &out)
        out.text.append("}")
    }

    static func event<S: ReportJSONSource, O: ReportOutput>(_ e: ReportEventFacts, _ s: S, _ out: inout O) {
        typealias Clobber = ReportSchema.ClobberField
        out.text.appendJSONKey(Clobber.kind, after: "{")
        out.text.appendJSONWord(e.kind)
        out.text.appendJSONKey(Clobber.call)
        out.text.append(byte: 0x22)
        out.text.append(e.call)
        out.text.append(byte: 0x22)
        out.text.appendJSONKey(Clobber.address)
        out.text.appendJSONHex(e.address)
        out.text.appendJSONKey(Clobber.size)
        out.text.append(unsigned: e.size)
        out.text.appendJSONKey(Clobber.action)
        out.text.appendJSONWord(e.action)
        out.text.appendJSONKey(Clobber.victim)
        if e.victim.count > 0 { out.text.appendJSONString(e.victim) } else { out.text.appendJSONNull() }
        out.text.appendJSONKey(Clobber.thread)
        out.text.append(unsigned: UInt64(e.thread))
        out.text.appendJSONKey(Clobber.stack, after: ",\n   ")
        stack(e.stack, s, &out)
        out.text.append("}")
    }

    /// `[{"address": ..., "module": ..., ...}, ...]`.
    static func stack<S: ReportJSONSource, O: ReportOutput>(_ id: UInt32, _ s: S, _ out: inout O) {
        typealias Frame = ReportSchema.FrameField
        out.text.append("[")
        var first = true
        s.forEachFrame(of: id) { f in
            out.room()
            out.text.appendJSONKey(Frame.address, after: first ? "{" : ", {")
            first = false
            out.text.appendJSONHex(f.address)
            out.text.appendJSONKey(Frame.module)
            if f.hasModule { out.text.appendJSONString(f.module) } else { out.text.appendJSONNull() }
            out.text.appendJSONKey(Frame.moduleOffset)
            out.text.append(unsigned: f.moduleOffset)
            if f.buildId.count > 0 {
                out.text.appendJSONKey(Frame.buildId)
                out.text.appendJSONString(f.buildId)
            }
            out.text.appendJSONKey(Frame.symbol)
            if f.hasSymbol {
                out.text.appendJSONString(f.readable)
                out.text.appendJSONKey(Frame.mangled)
                out.text.appendJSONString(f.symbol.slice(0, Swift.min(f.symbol.count, ReportSchema.mangledLimit)))
            } else {
                out.text.appendJSONNull()
            }
            out.text.appendJSONKey(Frame.offset)
            out.text.append(unsigned: f.hasSymbol ? f.symbolOffset : f.moduleOffset)
            out.text.append("}")
        }
        out.text.append("]")
    }
}

extension TextBuffer {
    /// `"key": ` after separator (`, ` between members, `{` first).
    public mutating func appendJSONKey<F: ReportSchemaField>(_ field: F, after separator: StaticString = ", ") {
        append(separator)
        append(byte: 0x22)
        append(field.key)
        append("\": ")
    }

    /// A schema word as a JSON string (the words need no escaping).
    public mutating func appendJSONWord<W: NamedValue>(_ word: W) {
        append(byte: 0x22)
        append(word.name)
        append(byte: 0x22)
    }

    public mutating func appendJSON(_ value: Bool) {
        append(value ? "true" : "false")
    }

    public mutating func appendJSONNull() {
        append("null")
    }
}
