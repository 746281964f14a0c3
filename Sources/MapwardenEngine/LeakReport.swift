import CShim
import MapwardenLogic

/// One mapping still there at exit.
struct Leak {
    var start: UInt64
    var end: UInt64
    var offset: UInt64
    var prot: Int32
    var kind: UInt32
    var stack: UInt32
    var thread: UInt32
    var inherited: Bool
    var inWindow: Bool
    /// Index of the suppression that matched its stack, or -1.
    var suppressedBy: Int32 = -1
    /// The mapped file's path, as a slice of the /proc/self/maps text.
    var pathStart: Int32 = 0
    var pathCount: Int32 = 0

    var size: UInt64 { end - start }
}

/// Leaks with the same stack (and inherited or not), for the text report.
struct LeakGroup {
    var first: Int   // in the report's `order`
    var count: Int
    var bytes: UInt64
}

/// The report written at normal exit: every mapping the program made and
/// never unmapped, with the stack that made it.
///
/// The registry is read under the lock into scratch memory, then the lock is
/// released before any name is looked up (dladdr takes the loader's lock).
/// All memory used here is mapped with raw system calls and unmapped after.
struct LeakReport {
    var leaks: UnsafeMutablePointer<Leak>
    var count = 0
    /// Leaks ordered by (inherited, suppressed, stack, address): groups are runs.
    var order: UnsafeMutablePointer<Int32>
    var groups: UnsafeMutablePointer<LeakGroup>
    var groupCount = 0
    /// Uses of each suppression: mappings and bytes.
    var suppressionUses: UnsafeMutablePointer<(Int, UInt64)>
    /// /proc/self/maps at exit (in the report arena).
    var maps: Bytes = .empty
    /// Bytes of the report arena in use.
    var used: UInt64

    // Totals.
    var leaked = (mappings: 0, bytes: UInt64(0))
    var suppressed = (mappings: 0, bytes: UInt64(0))
    var inherited = (mappings: 0, bytes: UInt64(0))
    var windowUse = (mappings: 0, bytes: UInt64(0))
    /// Mappings left in shared and persistent windows: kept, not leaked
    /// (their pages live on in the window's file), so not listed.
    var kept = (mappings: 0, bytes: UInt64(0))
    /// What each window (index as in Windows) still has mapped at exit.
    var perWindow = PerWindow()

    struct PerWindow {
        var mappings: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
        var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

        mutating func add(_ i: Int, _ size: UInt64) {
            withUnsafeMutableBytes(of: &mappings) { $0.baseAddress!.assumingMemoryBound(to: Int.self)[i] += 1 }
            withUnsafeMutableBytes(of: &bytes) { $0.baseAddress!.assumingMemoryBound(to: UInt64.self)[i] += size }
        }

        func count(_ i: Int) -> Int { withUnsafeBytes(of: mappings) { $0.load(fromByteOffset: i * 8, as: Int.self) } }
        func size(_ i: Int) -> UInt64 { withUnsafeBytes(of: bytes) { $0.load(fromByteOffset: i * 8, as: UInt64.self) } }
    }

    static let suppressionLimit = 4096

    /// At exit: writes the report; returns the status to exit with, or 0.
    static func writeAtExit(endedBy: Int32) -> Int32 {
        guard let state = engine else { return 0 }
        // exit() from a signal handler that interrupted the engine: the
        // registry is mid-change; say nothing rather than something wrong.
        if mw_owns_lock() != 0 { return 0 }
        mw_lock()
        // Nothing mapped, nothing seen, no report asked for: the quiet case
        // below, known before the report is built (most processes end so).
        if !config.report.requested && state.pointee.registry.count == 0 && state.pointee.events.total == 0
            && (state.pointee.outside?.registry.count ?? 0) == 0 && mw_deferred_count() == 0 {
            mw_unlock()
            return 0
        }
        guard var report = LeakReport(&state.pointee) else {
            // No memory for the report: still say so, and still apply the
            // exit code to what the registry holds.
            var own = 0
            let generation = state.pointee.generation
            state.pointee.registry.forEach { if $0.origin.generation == generation { own += 1 } }
            let code = own > 0 ? config.report.leakExitCode : 0
            mw_unlock()
            Output.line { out in
                out.append("mapwarden: no memory for the leak report (ENOMEM); ")
                out.append(decimal: own)
                out.append(" mappings made in the window are still mapped")
            }
            return code
        }
        var settings = config.report
        settings.endedBy = endedBy
        // An immediate end (_exit...) may come from a signal handler that
        // interrupted malloc: nothing that allocates (demanglers, the
        // symbolizer process).
        settings.demangles = endedBy == Int32(MW_END_EXIT.rawValue)
        if config.backtraceDepth > 0, let why = mw_backtrace_error() { settings.stacksMissing = why }
        let events = state.pointee.events
        if mw_deferred_count() != 0 { _ = Deferral.apply(&state.pointee) }
        mw_unlock()
        report.complete(settings)

        // Unless a report was asked for, a clean run prints nothing (as
        // LeakSanitizer): programs that exec helpers stay quiet.
        let quiet = !settings.requested && report.leaked.mappings == 0 && events.total == 0
        if case .none = settings.destination { return report.status(settings) }
        if quiet { return report.status(settings) }
        report.output(settings, &state.pointee, events: events)
        return report.status(settings)
    }

    /// Once the registry is copied (and the lock released): the file
    /// mappings' paths, the suppressions, the groups.
    mutating func complete(_ settings: ReportSettings) {
        findPaths()
        applySuppressions(settings)
        group()
    }

    func status(_ settings: ReportSettings) -> Int32 {
        leaked.mappings > 0 ? settings.leakExitCode : 0
    }

    /// Copies what the registries hold (the lock is held).
    init?(_ state: inout EngineState) {
        let trackOutside = config.track == .all && state.outside != nil
        let total = state.registry.count + (trackOutside ? state.outside!.registry.count : 0)
        let suppressionBytes = LeakReport.suppressionLimit * MemoryLayout<(Int, UInt64)>.stride
        let bytes = UInt64(total * (MemoryLayout<Leak>.stride + 4 + MemoryLayout<LeakGroup>.stride) + suppressionBytes + 4096)
        // The report arena was reserved at start-up: committing more of it
        // makes no new mapping, so the report works even when the program
        // has used up vm.max_map_count.
        guard state.reportArena.commit(upTo: bytes) else { return nil }
        used = (bytes + 4095) & ~4095
        var at = state.reportArena.pointer
        suppressionUses = at.bindMemory(to: (Int, UInt64).self, capacity: LeakReport.suppressionLimit)
        at += suppressionBytes
        leaks = at.bindMemory(to: Leak.self, capacity: total)
        at += total * MemoryLayout<Leak>.stride
        groups = at.bindMemory(to: LeakGroup.self, capacity: total)
        at += total * MemoryLayout<LeakGroup>.stride
        order = at.bindMemory(to: Int32.self, capacity: total)

        let generation = state.generation
        var n = 0
        var window = (mappings: 0, bytes: UInt64(0))
        let leaks = self.leaks
        func add(_ m: Mapping, _ inWindow: Bool) {
            leaks[n] = Leak(start: m.start, end: m.end, offset: m.offset, prot: m.prot, kind: m.kind,
                            stack: m.origin.stack, thread: m.origin.thread,
                            inherited: m.origin.generation != generation, inWindow: inWindow)
            n += 1
        }
        var kept = (mappings: 0, bytes: UInt64(0))
        var perWindow = PerWindow()
        state.registry.forEach { m in
            window.mappings += 1
            window.bytes += m.size
            guard let i = config.windows.index(containing: m.start) else { return add(m, true) }
            perWindow.add(i, m.size)
            if m.kind & MappingKind.windowFile == 0 {
                add(m, true)
            } else {
                kept.mappings += 1
                kept.bytes += m.size
            }
        }
        self.kept = kept
        self.perWindow = perWindow
        if trackOutside { state.outside!.registry.forEach { add($0, false) } }
        count = n
        windowUse = window
        // Window mappings come first, outside ones after: address order.
        InPlaceSort.sort(leaks, count: n) { $0.start < $1.start }
    }

    /// Takes `bytes` more of the report arena (the report runs on one
    /// thread, after the lock is released: nothing else uses the arena).
    mutating func take(_ bytes: UInt64) -> UnsafeMutablePointer<UInt8>? {
        guard let state = engine, state.pointee.reportArena.commit(upTo: used + bytes) else { return nil }
        let p = (state.pointee.reportArena.pointer + Int(used)).assumingMemoryBound(to: UInt8.self)
        used += (bytes + 4095) & ~4095
        return p
    }

    /// Reads /proc/self/maps into the report arena, committing as it grows.
    mutating func readMaps() {
        let fd = Kernel.open(cString("/proc/self/maps"), O_RDONLY | O_CLOEXEC)
        guard !fd.failed, let state = engine else { return }
        defer { Kernel.close(Int32(fd.raw)) }
        let start = used
        let base = (state.pointee.reportArena.pointer + Int(start)).assumingMemoryBound(to: UInt8.self)
        var n: UInt64 = 0
        let step: UInt64 = 1 << 20
        while state.pointee.reportArena.commit(upTo: start + n + step) {
            let r = Kernel.read(Int32(fd.raw), base + Int(n), Int(step))
            if r.failed {
                if r.errno == EINTR { continue }
                break
            }
            if r.raw == 0 { break }
            n += UInt64(r.raw)
        }
        used = (start + n + 4095) & ~4095
        maps = Bytes(UnsafePointer(base), count: Int(n))
    }

    /// The path of each file mapping, from /proc/self/maps (both are in
    /// address order: one walk).
    mutating func findPaths() {
        // (Most reports have no file mapping: then /proc/self/maps is not read.)
        var files = false
        for i in 0..<count where leaks[i].kind & MappingKind.anonymous == 0 { files = true; break }
        if !files { return }
        readMaps()
        let text = maps
        guard text.count > 0 else { return }
        var lines = LineReader(text)
        var line = lines.next()
        for i in 0..<count where leaks[i].kind & MappingKind.anonymous == 0 {
            while let l = line, let range = MapsLine.range(l), range.end <= leaks[i].start {
                line = lines.next()
            }
            guard let l = line, let range = MapsLine.range(l), range.start <= leaks[i].start else { continue }
            if let at = MapsLine.nameStart(l), l[at] != 0x5B { // not [heap], [stack]...
                leaks[i].pathStart = Int32(l.base! - text.base! + at)
                leaks[i].pathCount = Int32(LeakReport.unescape(UnsafeMutablePointer(mutating: l.base! + at), l.count - at))
            }
        }
    }

    /// The kernel writes a newline in a path as `\012`: undo that in place
    /// (our copy of the maps text). Returns the new length.
    static func unescape(_ p: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
        var from = 0, to = 0
        while from < count {
            if p[from] == 0x5C && from + 3 < count + 0 && p[from + 1] == 0x30 && p[from + 2] == 0x31 && p[from + 3] == 0x32 {
                p[to] = 0x0A
                from += 4
            } else {
                p[to] = p[from]
                from += 1
            }
            to += 1
        }
        return to
    }

    func path(_ leak: Leak) -> Bytes {
        guard leak.pathCount > 0 else { return .empty }
        return maps.slice(Int(leak.pathStart), Int(leak.pathStart + leak.pathCount))
    }

    /// Marks the leaks whose stack a suppression matches, and counts uses.
    mutating func applySuppressions(_ settings: ReportSettings) {
        for i in 0..<LeakReport.suppressionLimit { suppressionUses[i] = (0, 0) }
        let list = settings.suppressions
        guard list.count > 0, let state = engine else { return }
        // Leaks of one stack share the answer: look each stack up once.
        var lastStack: UInt32 = 0, lastAnswer: Int32 = -1
        for i in 0..<count {
            let stack = leaks[i].stack
            if stack == 0 { continue }
            if stack != lastStack {
                lastStack = stack
                lastAnswer = LeakReport.suppression(list, stack: stack, state.pointee.depot, demangling: settings.demangles)
            }
            leaks[i].suppressedBy = lastAnswer
        }
    }

    static func suppression(_ list: SuppressionList, stack: UInt32, _ depot: StackDepot, demangling: Bool) -> Int32 {
        let (frames, depth) = depot.frames(stack)
        guard let frames else { return -1 }
        for f in 0..<depth {
            let name = FrameName(frames[f])
            if let hit = list.firstMatch(function: name.symbol, module: name.module) { return Int32(hit) }
            if !demangling { continue }
            let demangled = name.withName { list.firstMatch(function: $0, module: .empty) }
            if let demangled { return Int32(demangled) }
        }
        return -1
    }

    /// Orders the leaks into groups of one stack and adds up the totals.
    mutating func group() {
        for i in 0..<count { order[i] = Int32(i) }
        let leaks = self.leaks
        InPlaceSort.sort(order, count: count) { a, b in
            let x = leaks[Int(a)], y = leaks[Int(b)]
            if x.inherited != y.inherited { return !x.inherited }
            if x.suppressedBy != y.suppressedBy { return x.suppressedBy < y.suppressedBy }
            if x.stack != y.stack { return x.stack < y.stack }
            return x.start < y.start
        }
        var g = 0, i = 0
        while i < count {
            let first = leaks[Int(order[i])]
            var j = i, bytes: UInt64 = 0
            while j < count {
                let l = leaks[Int(order[j])]
                if l.inherited != first.inherited || l.suppressedBy != first.suppressedBy || l.stack != first.stack { break }
                bytes += l.size
                j += 1
            }
            if first.suppressedBy >= 0 {
                let s = Int(first.suppressedBy)
                if s < LeakReport.suppressionLimit {
                    suppressionUses[s].0 += j - i
                    suppressionUses[s].1 += bytes
                }
                suppressed.mappings += j - i
                suppressed.bytes += bytes
            } else if first.inherited {
                inherited.mappings += j - i
                inherited.bytes += bytes
                groups[g] = LeakGroup(first: i, count: j - i, bytes: bytes)
                g += 1
            } else {
                leaked.mappings += j - i
                leaked.bytes += bytes
                groups[g] = LeakGroup(first: i, count: j - i, bytes: bytes)
                g += 1
            }
            i = j
        }
        groupCount = g
        // Own leaks before inherited ones; largest total first.
        let order = self.order
        InPlaceSort.sort(groups, count: g) { a, b in
            let x = leaks[Int(order[a.first])].inherited, y = leaks[Int(order[b.first])].inherited
            if x != y { return !x }
            if a.bytes != b.bytes { return a.bytes > b.bytes }
            return a.first < b.first
        }
    }

    // MARK: Output

    mutating func output(_ settings: ReportSettings, _ state: inout EngineState, events: EventLog) {
        let fd = LeakReport.open(settings)
        guard fd >= 0 else { return }
        write(to: fd, settings, &state, events: events)
        if case .file = settings.destination { Kernel.close(fd) }
    }

    /// Writes the report to fd (left open).
    mutating func write(to fd: Int32, _ settings: ReportSettings, _ state: inout EngineState, events: EventLog) {
        let bufferSize: UInt64 = 1 << 20
        guard let buffer = take(bufferSize) else { return }
        var sink = ReportSink(fd: fd, buffer: buffer, capacity: Int(bufferSize))
        var context = ReportContext(settings: settings, depot: state.depot, calls: state.calls,
                                    droppedStacks: state.droppedStacks, generation: state.generation, events: events)
        context.names = ExternalNames.ask(&self, context)
        switch settings.format {
        case .text: TextReport.write(self, context, &sink)
        case .json: JSONReport.write(self, context, &sink)
        }
        sink.flush()
    }

    /// The descriptor to write to: the copy of standard error made at
    /// start-up (if it still is what it was), or the report file, created
    /// without following a symbolic link; -1 for none. A file that cannot
    /// be written is said so, naming MAPWARDEN_REPORT, and the report goes
    /// to standard error instead: it is never lost without a word (unless
    /// the process started without a standard error: then there is none).
    static func open(_ settings: ReportSettings) -> Int32 {
        switch settings.destination {
        case .none:
            return -1
        case .standardError:
            return standardError(settings)
        case .file(let template):
            let buffer = StaticBuffer.reportPath
            var path = TextBuffer(buffer.base, capacity: buffer.size - 1)
            let name = Bytes(cString: UnsafeRawPointer(template).assumingMemoryBound(to: UInt8.self))
            let expanded = Process.withExecutable { ReportPath.expand(name, pid: Process.id, executable: $0, into: &path) }
            if !expanded || path.count > Settings.maximumPathLength {
                cannotWrite(name, path: .empty) { out in
                    out.append("the path is longer than ")
                    out.append(decimal: Settings.maximumPathLength)
                    out.append(" bytes (PATH_MAX) once %p and %e are expanded")
                }
                return standardError(settings)
            }
            path.append(byte: 0)
            let cPath = UnsafeRawPointer(buffer.base).assumingMemoryBound(to: CChar.self)
            let shown = Bytes(cString: buffer.base)
            // A FIFO (or a device) is never opened: opening one to write
            // blocks until a reader comes. Looked at first, then opened
            // without blocking and looked at again.
            let type = FileFacts.type(atPath: cPath, followLinks: false).raw
            if type >= 0 && UInt32(type) != FileType.regular && UInt32(type) != UInt32(S_IFLNK) { // a symlink: ELOOP below
                cannotWrite(name, path: shown) { FileType.describeNotRegular(UInt32(type), into: &$0) }
                return standardError(settings)
            }
            let fd = Kernel.create(cPath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o644)
            if fd.failed {
                cannotWrite(name, path: shown) { out in
                    ErrnoText.describe(fd.errno, into: &out)
                    if fd.errno == ELOOP { out.append(" (the path is a symbolic link)") }
                }
                return standardError(settings)
            }
            let opened = FileFacts.type(of: Int32(fd.raw)).raw
            if opened >= 0 && UInt32(opened) != FileType.regular {
                Kernel.close(Int32(fd.raw))
                cannotWrite(name, path: shown) { FileType.describeNotRegular(UInt32(opened), into: &$0) }
                return standardError(settings)
            }
            return Int32(fd.raw)
        }
    }

    /// The copy of standard error made at start-up, if it still is the file
    /// it was (else fd 2); -1 when the process started without one.
    static func standardError(_ settings: ReportSettings) -> Int32 {
        let fd = settings.standardError
        if fd < 0 { return -1 }
        if fd != 2 && FileFacts.identity(of: fd) != settings.standardErrorIdentity { return 2 }
        return fd
    }

    /// `mapwarden: MAPWARDEN_REPORT="TEMPLATE": cannot write the report to "PATH": why; writing it to standard error`.
    static func cannotWrite(_ template: Bytes, path: Bytes, _ why: (inout TextBuffer) -> Void) {
        Output.line { out in
            out.append("mapwarden: MAPWARDEN_REPORT=")
            out.appendQuoted(template)
            out.append(": cannot write the report ")
            if path.count == 0 || path == template {
                out.append("there")
            } else {
                out.append("to ")
                out.appendQuoted(path)
            }
            out.append(": ")
            why(&out)
            out.append("; writing it to standard error")
        }
    }
}

/// What the renderers need besides the leaks.
struct ReportContext {
    let settings: ReportSettings
    let depot: StackDepot
    let calls: CallCounts
    let droppedStacks: Int
    let generation: UInt32
    let events: EventLog
    /// Names by file and line from the symbolizer process (text reports).
    var names: ExternalNames? = nil
}
