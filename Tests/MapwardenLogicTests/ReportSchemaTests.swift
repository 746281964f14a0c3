import Foundation
import Testing
@testable import MapwardenLogic

/// A process at exit, as the engine would gather it: every kind of leak,
/// window, frame and event the report has words for.
final class SampleReport: ReportJSONSource {
    private var kept: [UnsafeMutableBufferPointer<UInt8>] = []
    deinit { kept.forEach { $0.deallocate() } }

    func b(_ s: String) -> Bytes {
        let p = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(s.utf8.count, 1))
        _ = p.initialize(from: s.utf8)
        kept.append(p)
        return Bytes(p.baseAddress, count: s.utf8.count)
    }

    func name(_ s: String) -> WindowName { WindowName(validating: b(s))! }

    var stacksMissing: String? = nil
    var depth = 32

    var header: ReportHeader {
        var h = ReportHeader()
        h.pid = 4242
        h.parentPID = 4200
        h.forked = true
        h.exitTime = 1_795_311_825
        h.endedBy = .quickExit
        h.track = .all
        h.backtraceDepth = depth
        h.clobber = .deny
        h.leakExitCode = 23
        h.stacksMissing = stacksMissing.map(b)
        h.uniqueStacks = 3
        h.droppedStacks = 1
        return h
    }

    func withExecutable(_ body: (Bytes) -> Void) { body(b("/tmp/t/le\"aky")) }

    var windowCount: Int { 2 }

    func window(_ i: Int) -> ReportWindowFacts {
        i == 0
            ? ReportWindowFacts(name: .defaultWindow, base: 0x4000_0000_0000, size: 1 << 40, backing: .private,
                                path: nil, mapped: ReportCount(mappings: 3, bytes: 20480))
            : ReportWindowFacts(name: name("ipc"), base: 0x5000_0000_0000, size: 1 << 30, backing: .persistent,
                                path: b("/var/tmp/ipc.dat"), mapped: ReportCount(mappings: 1, bytes: 4096))
    }

    var statistics: ReportStatistics {
        var s = ReportStatistics()
        (s.mmap, s.munmap, s.mprotect, s.mremap, s.other) = (4, 1, 2, 3, 5)
        (s.trackedMappings, s.outsideCalls) = (6, 7)
        return s
    }

    lazy var leaks: [ReportLeakFacts] = [
        ReportLeakFacts(address: 0x4000_0001_0000, size: 4096, protection: 3, kind: MappingKind.anonymous, path: .empty,
                        offset: 0, thread: 4242, inherited: false, inWindow: true, window: .defaultWindow, stack: 1),
        ReportLeakFacts(address: 0x4000_0002_0000, size: 8192, protection: 1, kind: MappingKind.shared, path: b("/etc/passwd"),
                        offset: 0x2000, thread: 0, inherited: true, inWindow: true, window: name("ipc"), stack: 2),
        ReportLeakFacts(address: 0x7F00_0000_0000, size: 4096, protection: -1, kind: MappingKind.moved, path: .empty,
                        offset: 0, thread: 7, inherited: false, inWindow: false, window: nil, stack: 0),
    ]

    func forEachLeak(_ body: (ReportLeakFacts) -> Void) { leaks.forEach(body) }

    func forEachSuppression(_ body: (Bytes, ReportCount) -> Void) {
        body(b("leak:known_leak"), ReportCount(mappings: 2, bytes: 8192))
    }

    lazy var events: [ReportEventFacts] = [
        ReportEventFacts(kind: .clobber, denied: true, call: "mmap", address: 0x7F10_0000_0000, size: 4096,
                         victim: b("[heap]"), thread: 9, stack: 1),
        ReportEventFacts(kind: .freeWindowCall, denied: false, call: "mprotect", address: 0x4000_0060_0000, size: 4096,
                         victim: .empty, thread: 0, stack: 3),
        ReportEventFacts(kind: .unmappedWindowMunmap, denied: false, call: "munmap", address: 0x4000_0050_0000,
                         size: 8192, victim: .empty, thread: 9, stack: 0),
    ]

    func forEachEvent(_ body: (ReportEventFacts) -> Void) { events.forEach(body) }

    var totals: ReportTotals {
        var t = ReportTotals()
        t.leaked = ReportCount(mappings: 2, bytes: 8192)
        t.suppressed = ReportCount(mappings: 2, bytes: 8192)
        t.inherited = ReportCount(mappings: 1, bytes: 8192)
        t.kept = ReportCount(mappings: 1, bytes: 4096)
        t.clobbers = 3
        return t
    }

    /// Stack 1: a symbol with its module, a module only, nothing; stack 2:
    /// a C++ name (readable differs from mangled); 3: one frame; others: none.
    func forEachFrame(of stack: UInt32, _ body: (ReportFrameFacts) -> Void) {
        switch stack {
        case 1:
            var first = ReportFrameFacts(address: 0x55B1_A56F_F1CC, module: b("/tmp/t/leaky"), moduleOffset: 0x11CC,
                                         symbol: b("leak_two"), readable: b("leak_two"), symbolOffset: 0x40)
            first.buildId = b("b4efadbe626f6cd07dcbbdcd6bc9db2e4bdc93f8")
            body(first)
            body(ReportFrameFacts(address: 0x7FA7_13FE_0305, module: b("/lib/libc.so.6"), moduleOffset: 0x27305,
                                  symbol: .empty, readable: .empty, symbolOffset: 0))
            body(ReportFrameFacts(address: 0x1234, module: .empty, moduleOffset: 0, symbol: .empty, readable: .empty,
                                  symbolOffset: 0))
        case 2:
            body(ReportFrameFacts(address: 0x55B1_A56F_F200, module: b("/tmp/t/leaky"), moduleOffset: 0x1200,
                                  symbol: b("_ZN1a1bEv"), readable: b("a::b()"), symbolOffset: 0x8))
        case 3:
            body(ReportFrameFacts(address: 0x55B1_A56F_F300, module: b("/tmp/t/leaky"), moduleOffset: 0x1300,
                                  symbol: b("misuse"), readable: b("misuse"), symbolOffset: 0x18))
        default:
            break
        }
    }
}

/// A big buffer; `room()` counts the calls (the engine writes out there).
struct BufferOutput: ReportOutput {
    var text: TextBuffer
    var rooms = 0
    mutating func room() { rooms += 1 }
}

/// The JSON ReportJSON writes for a source.
func writeJSON(_ source: SampleReport) -> String {
    let capacity = 1 << 20
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    defer { p.deallocate() }
    var out = BufferOutput(text: TextBuffer(p, capacity: capacity))
    ReportJSON.write(source, to: &out)
    #expect(out.rooms > 0)
    return string(out.text.bytes)
}

/// The keys of a JSON object as the reader's vocabulary (the schema enum as
/// CodingKeys) sees them: `allKeys` has only the keys it knows.
struct KeysOf<F: ReportSchemaField & CodingKey>: Decodable {
    var known: [String]

    init(from decoder: any Decoder) throws {
        known = try decoder.container(keyedBy: F.self).allKeys.map(\.stringValue)
    }
}

func keys<F: ReportSchemaField>(_: F.Type) -> [String] { F.allCases.map { $0.key.description } }

/// Decodes `json` (an object's text) as the reader would and checks that
/// it has exactly the schema's keys for that object, all known.
func expectKeys<F: ReportSchemaField & CodingKey>(_ object: Any, _ type: F.Type, optional: Set<String> = [],
                                                  sourceLocation: SourceLocation = #_sourceLocation) throws {
    let data = try JSONSerialization.data(withJSONObject: object)
    let written = Set((object as! [String: Any]).keys)
    let read = Set(try JSONDecoder().decode(KeysOf<F>.self, from: data).known)
    #expect(read == written, "a key the reader does not know", sourceLocation: sourceLocation)
    #expect(written.union(optional) == Set(keys(type)), "\(F.self)", sourceLocation: sourceLocation)
}

@Suite struct ReportSchemaTests {
    /// What the writer's vocabulary produces, the reader's vocabulary reads:
    /// every object of a full report has exactly its schema enum's keys, and
    /// a JSONDecoder keyed by those enums (as `mapwarden report` is) knows each.
    @Test func writtenReportReadsBackWithTheSchemasKeys() throws {
        let json = writeJSON(SampleReport())
        let top = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(json.hasSuffix("}\n"))
        try expectKeys(top, ReportSchema.DocumentField.self)
        try expectKeys(top["settings"]!, ReportSchema.SettingsField.self)
        try expectKeys(top["stacks"]!, ReportSchema.StacksField.self)
        try expectKeys(top["statistics"]!, ReportSchema.StatisticsField.self)
        try expectKeys(top["summary"]!, ReportSchema.SummaryField.self)
        for w in top["windows"] as! [Any] { try expectKeys(w, ReportSchema.WindowField.self) }
        for s in top["suppressed"] as! [Any] { try expectKeys(s, ReportSchema.SuppressionField.self) }
        let leaks = top["leaks"] as! [[String: Any]], clobbers = top["clobbers"] as! [[String: Any]]
        #expect(leaks.count == 3 && clobbers.count == 3)
        for l in leaks { try expectKeys(l, ReportSchema.LeakField.self) }
        for c in clobbers { try expectKeys(c, ReportSchema.ClobberField.self) }
        // A frame without a symbol has no mangled name, one in a module
        // without a build-id note no build_id.
        let frames = (leaks + clobbers).flatMap({ $0["stack"] as! [[String: Any]] })
        for f in frames {
            try expectKeys(f, ReportSchema.FrameField.self, optional: ["mangled", "build_id"])
        }
        #expect(Set(frames.compactMap { $0["build_id"] as? String }) == ["b4efadbe626f6cd07dcbbdcd6bc9db2e4bdc93f8"])
    }

    /// The values, through the same keys, with the schema's words.
    @Test func writtenValuesReadBack() throws {
        let json = writeJSON(SampleReport())
        let top = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        func at(_ object: Any?, _ key: some ReportSchemaField) -> Any? {
            (object as? [String: Any])?[key.key.description]
        }
        typealias D = ReportSchema.DocumentField
        #expect(at(top, D.schema) as? String == ReportSchema.name.description)
        #expect(at(top, D.version) as? Int == ReportSchema.version)
        #expect(at(top, D.pid) as? Int == 4242)
        #expect(at(top, D.parentPid) as? Int == 4200)
        #expect(at(top, D.forked) as? Bool == true)
        #expect(at(top, D.executable) as? String == "/tmp/t/le\"aky")
        #expect(at(top, D.exitTime) as? String == "2026-11-22T01:43:45Z")
        #expect(at(top, D.exitTimeUnix) as? Int == 1_795_311_825)
        #expect(at(top, D.endedBy) as? String == "quick_exit")
        #expect(ReportSchema.EndedBy(word: at(top, D.endedBy) as! String) == .quickExit)

        let settings = at(top, D.settings)
        #expect(TrackScope(word: at(settings, ReportSchema.SettingsField.track) as! String) == .all)
        #expect(ClobberPolicy(word: at(settings, ReportSchema.SettingsField.clobber) as! String) == .deny)
        #expect(at(settings, ReportSchema.SettingsField.backtraceDepth) as? Int == 32)
        #expect(at(settings, ReportSchema.SettingsField.leakExitcode) as? Int == 23)

        let stacks = at(top, D.stacks)
        #expect(at(stacks, ReportSchema.StacksField.available) as? Bool == true)
        #expect(at(stacks, ReportSchema.StacksField.reason) is NSNull)
        #expect(at(stacks, ReportSchema.StacksField.unique) as? Int == 3)
        #expect(at(stacks, ReportSchema.StacksField.dropped) as? Int == 1)

        let windows = at(top, D.windows) as! [Any]
        typealias W = ReportSchema.WindowField
        #expect(at(windows[0], W.name) as? String == "default")
        #expect(at(windows[0], W.base) as? String == "0x400000000000")
        #expect(Backing(word: at(windows[0], W.backing) as! String) == .private)
        #expect(at(windows[0], W.path) is NSNull)
        #expect(Backing(word: at(windows[1], W.backing) as! String) == .persistent)
        #expect(at(windows[1], W.path) as? String == "/var/tmp/ipc.dat")
        #expect(at(windows[1], W.mappedBytes) as? Int == 4096)

        let stats = at(top, D.statistics)
        #expect(at(stats, ReportSchema.StatisticsField.windowCalls) as? Int == 15)
        #expect(at(stats, ReportSchema.StatisticsField.trackedMappings) as? Int == 6)
        #expect(at(stats, ReportSchema.StatisticsField.outsideCalls) as? Int == 7)

        typealias L = ReportSchema.LeakField
        let leaks = at(top, D.leaks) as! [Any]
        #expect(at(leaks[0], L.address) as? String == "0x400000010000")
        #expect(at(leaks[0], L.protection) as? String == "rw-")
        #expect(at(leaks[0], L.anonymous) as? Bool == true)
        #expect(at(leaks[0], L.path) is NSNull)
        #expect(at(leaks[0], L.inWindow) as? Bool == true)
        #expect(at(leaks[0], L.window) as? String == "default")
        #expect(at(leaks[0], L.stackId) as? Int == 1)
        #expect(at(leaks[1], L.shared) as? Bool == true)
        #expect(at(leaks[1], L.path) as? String == "/etc/passwd")
        #expect(at(leaks[1], L.offset) as? Int == 0x2000)
        #expect(at(leaks[1], L.inherited) as? Bool == true)
        #expect(at(leaks[1], L.window) as? String == "ipc")
        #expect(at(leaks[2], L.protection) as? String == "?")
        #expect(at(leaks[2], L.moved) as? Bool == true)
        #expect(at(leaks[2], L.inWindow) as? Bool == false)
        #expect(at(leaks[2], L.window) is NSNull)

        typealias F = ReportSchema.FrameField
        let frames = at(leaks[0], L.stack) as! [Any]
        #expect(frames.count == 3)
        #expect(at(frames[0], F.symbol) as? String == "leak_two")
        #expect(at(frames[0], F.offset) as? Int == 0x40)
        #expect(at(frames[0], F.moduleOffset) as? Int == 0x11CC)
        #expect(at(frames[1], F.symbol) is NSNull)
        #expect(at(frames[1], F.offset) as? Int == 0x27305) // from the module without a symbol
        #expect(at(frames[2], F.module) is NSNull)
        let cxx = (at(leaks[1], L.stack) as! [Any])[0]
        #expect(at(cxx, F.symbol) as? String == "a::b()")
        #expect(at(cxx, F.mangled) as? String == "_ZN1a1bEv")
        #expect((at(leaks[2], L.stack) as! [Any]).isEmpty)

        typealias C = ReportSchema.ClobberField
        let clobbers = at(top, D.clobbers) as! [Any]
        #expect(clobbers.map { ReportSchema.EventKind(word: at($0, C.kind) as! String) }
                == [.clobber, .freeWindowCall, .unmappedWindowMunmap])
        #expect(clobbers.map { ReportSchema.EventAction(word: at($0, C.action) as! String) } == [.denied, .reported, .reported])
        #expect(at(clobbers[0], C.call) as? String == "mmap")
        #expect(at(clobbers[0], C.victim) as? String == "[heap]")
        #expect(at(clobbers[1], C.victim) is NSNull)

        let suppressed = (at(top, D.suppressed) as! [Any])[0]
        #expect(at(suppressed, ReportSchema.SuppressionField.pattern) as? String == "leak:known_leak")
        #expect(at(suppressed, ReportSchema.SuppressionField.bytes) as? Int == 8192)

        typealias S = ReportSchema.SummaryField
        let summary = at(top, D.summary)
        #expect(at(summary, S.leakedMappings) as? Int == 2)
        #expect(at(summary, S.inheritedBytes) as? Int == 8192)
        #expect(at(summary, S.keptMappings) as? Int == 1)
        #expect(at(summary, S.clobbers) as? Int == 3)
    }

    /// Why there are no stacks: the capture's reason, or the depth of 0.
    @Test func stacksReason() throws {
        let missing = SampleReport()
        missing.stacksMissing = "libunwind.so.8 not found"
        let zero = SampleReport()
        zero.depth = 0
        for (source, reason) in [(missing, "libunwind.so.8 not found"), (zero, ReportSchema.depthZeroReason.description)] {
            let top = try JSONSerialization.jsonObject(with: Data(writeJSON(source).utf8)) as! [String: Any]
            let stacks = top["stacks"] as! [String: Any]
            #expect(stacks["available"] as? Bool == false)
            #expect(stacks["reason"] as? String == reason)
        }
    }

    /// Keys are snake_case and unique within each object; the merged
    /// report's own keys do not collide with those of the report object
    /// they are written into.
    @Test func keysAreUniqueAndTheMergedOnesDoNotCollide() {
        let objects: [[String]] = [
            keys(ReportSchema.DocumentField.self), keys(ReportSchema.SettingsField.self),
            keys(ReportSchema.StacksField.self), keys(ReportSchema.WindowField.self),
            keys(ReportSchema.StatisticsField.self), keys(ReportSchema.LeakField.self),
            keys(ReportSchema.FrameField.self), keys(ReportSchema.SuppressionField.self),
            keys(ReportSchema.ClobberField.self), keys(ReportSchema.SummaryField.self),
            keys(MergedReportSchema.DocumentField.self), keys(MergedReportSchema.ReportField.self),
            keys(MergedReportSchema.GroupField.self), keys(MergedReportSchema.ClobberField.self),
        ]
        for k in objects {
            #expect(Set(k).count == k.count, "\(k)")
            for key in k { #expect(key.allSatisfy { $0 == "_" || ("a"..."z").contains($0) }, "\(key)") }
        }
        #expect(Set(keys(MergedReportSchema.PlacedLeakField.self)).isDisjoint(with: keys(ReportSchema.LeakField.self)))
        #expect(Set(keys(MergedReportSchema.WindowField.self)).isDisjoint(with: keys(ReportSchema.WindowField.self)))
        #expect(Set(keys(MergedReportSchema.SummaryField.self)).isDisjoint(with: keys(ReportSchema.SummaryField.self)))
    }

    /// Each word names its value and back; a setting's problem lists its words.
    @Test func wordsRoundTrip() {
        func check<W: NamedValue & Equatable>(_: W.Type) {
            for w in W.allCases {
                #expect(withBytes(w.name.description) { W(named: $0) } == w)
                #expect(W(word: w.word) == w)
            }
            #expect(withBytes("nonsense") { W(named: $0) } == nil)
        }
        check(ReportSchema.EndedBy.self)
        check(ReportSchema.EventKind.self)
        check(ReportSchema.EventAction.self)
        check(Backing.self)
        check(TrackScope.self)
        check(ClobberPolicy.self)
        check(ReportFormat.self)
        check(LogLevel.self)
        check(ReserveFailurePolicy.self)
        check(FaultsPolicy.self)
        check(RawSyscallsPolicy.self)
        func choices<W: SettingWord>(_: W.Type) {
            #expect(W.choices.description == W.allCases.map(\.word).joined(separator: ", "))
        }
        choices(TrackScope.self)
        choices(ClobberPolicy.self)
        choices(ReportFormat.self)
        choices(LogLevel.self)
        choices(ReserveFailurePolicy.self)
        choices(FaultsPolicy.self)
        choices(RawSyscallsPolicy.self)
    }

    /// The setting words are what Settings.apply takes.
    @Test func settingsTakeTheWords() {
        var s = Settings(space: .x86_64)
        for w in ClobberPolicy.allCases {
            #expect(apply(&s, "MAPWARDEN_CLOBBER", w.word) == nil)
            #expect(s.clobber == w)
        }
        for w in LogLevel.allCases {
            #expect(apply(&s, "MAPWARDEN_LOG", w.word) == nil)
            #expect(s.log == w)
        }
        #expect(apply(&s, "MAPWARDEN_TRACK", "everything")?.problem == .notOneOf(TrackScope.choices))
    }
}

/// docs/leak-reports.md and docs/command.md describe the schema: their
/// tables must list exactly the schema's keys and words, in order.
@Suite struct ReportSchemaDocsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func page(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent("docs/" + name), encoding: .utf8)
    }

    /// The rows `| FIRST | SECOND |` of the tables that follow the heading
    /// `| head | ... |`, as first cell → the `backticked` words of the second.
    static func table(_ text: String, head: String) -> [String: [String]] {
        var rows: [String: [String]] = [:]
        var inside = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("| \(head) |") { inside = true; continue }
            guard inside else { continue }
            guard line.hasPrefix("|") else { inside = false; continue }
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 2, !cells[0].hasPrefix("---") else { continue }
            rows[cells[0]] = cells[1].split(separator: "`", omittingEmptySubsequences: false)
                .enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        }
        return rows
    }

    static func words<W: NamedValue>(_: W.Type) -> [String] { W.allCases.map(\.word) }

    @Test func leakReportsPageListsTheSchema() throws {
        let text = try Self.page("leak-reports.md")
        #expect(text.contains("## The JSON report (schema `\(ReportSchema.name)`, version \(ReportSchema.version))"))
        let objects = Self.table(text, head: "Object")
        let expected: [String: [String]] = [
            "the report": keys(ReportSchema.DocumentField.self),
            "`settings`": keys(ReportSchema.SettingsField.self),
            "`stacks`": keys(ReportSchema.StacksField.self),
            "`windows[]`": keys(ReportSchema.WindowField.self),
            "`statistics`": keys(ReportSchema.StatisticsField.self),
            "`leaks[]`": keys(ReportSchema.LeakField.self),
            "`leaks[].stack[]`, `clobbers[].stack[]`": keys(ReportSchema.FrameField.self),
            "`suppressed[]`": keys(ReportSchema.SuppressionField.self),
            "`clobbers[]`": keys(ReportSchema.ClobberField.self),
            "`summary`": keys(ReportSchema.SummaryField.self),
        ]
        #expect(objects == expected)
        let values = Self.table(text, head: "Value")
        #expect(values == [
            "`ended_by`": Self.words(ReportSchema.EndedBy.self),
            "`settings.track`": Self.words(TrackScope.self),
            "`settings.clobber`": Self.words(ClobberPolicy.self),
            "`windows[].backing`": Self.words(Backing.self),
            "`clobbers[].kind`": Self.words(ReportSchema.EventKind.self),
            "`clobbers[].action`": Self.words(ReportSchema.EventAction.self),
        ])

        // The example: each key it uses is the schema's, and it uses every key.
        let start = try #require(text.range(of: "```json\n"))
        let end = try #require(text.range(of: "```", range: start.upperBound..<text.endIndex))
        let example = text[start.upperBound..<end.lowerBound]
        let used = Set(example.matches(of: /"([a-z_]+)":/).map { String($0.1) })
        let all = Set(expected.values.joined())
        #expect(used == all, "in the example only: \(used.subtracting(all)); missing: \(all.subtracting(used))")
    }

    @Test func commandPageListsTheMergedSchema() throws {
        let text = try Self.page("command.md")
        #expect(text.contains("`\(MergedReportSchema.name)` version \(MergedReportSchema.version)"))
        #expect(Self.table(text, head: "Object") == [
            "the merged report": keys(MergedReportSchema.DocumentField.self),
            "`reports[]`": keys(MergedReportSchema.ReportField.self),
            "`windows[]`": keys(MergedReportSchema.WindowField.self),
            "`groups[]`": keys(MergedReportSchema.GroupField.self),
            "`groups[].leaks[]`": keys(MergedReportSchema.PlacedLeakField.self),
            "`clobbers[]`": keys(MergedReportSchema.ClobberField.self),
            "`summary`": keys(MergedReportSchema.SummaryField.self),
        ])
    }
}
