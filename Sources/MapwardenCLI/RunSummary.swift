#if canImport(Glibc)
import Glibc
#endif
import MapwardenLogic

/// Finding the reports a run wrote: the files that match the report pattern
/// (%p any pid, %e any name) and were written since the run started.
enum ReportFinder {
    /// The clock the kernel stamps files with.
    static func now() -> timespec {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &t)
        return t
    }

    /// Does `name` match `pattern` (a file name with %p, %e, %%)?
    static func matches(_ name: Substring, _ pattern: Substring) -> Bool {
        guard let c = pattern.first else { return name.isEmpty }
        if c == "%", pattern.count >= 2 {
            let spec = pattern[pattern.index(after: pattern.startIndex)]
            let rest = pattern.dropFirst(2)
            switch spec {
            case "%":
                return name.first == "%" && matches(name.dropFirst(), rest)
            case "p", "e":
                var i = name.startIndex
                while i < name.endIndex {
                    let ch = name[i]
                    if spec == "p" && !ch.isASCII { return false }
                    if spec == "p" && !("0"..."9").contains(ch) { break }
                    i = name.index(after: i)
                    if matches(name[i...], rest) { return true }
                }
                return false
            default:
                break
            }
        }
        return name.first == c && matches(name.dropFirst(), pattern.dropFirst())
    }

    /// The reports matching `pattern` written at or after `since`, oldest first.
    static func find(pattern: String, since: timespec) -> [String] {
        let dir = Paths.directory(of: pattern)
        let base = Paths.basename(pattern)
        if dir.contains("%") { return [] }
        if !base.contains("%") {
            return written(pattern, since: since) != nil ? [pattern] : []
        }
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var found: [(String, timespec)] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            guard matches(Substring(name), Substring(base)) else { continue }
            let path = dir == "/" ? "/" + name : dir + "/" + name
            if let t = written(path, since: since) { found.append((path, t)) }
        }
        return found.sorted { ($0.1.tv_sec, $0.1.tv_nsec, $0.0) < ($1.1.tv_sec, $1.1.tv_nsec, $1.0) }.map { $0.0 }
    }

    /// The file's modification time when it is a regular file written since `since`.
    static func written(_ path: String, since: timespec) -> timespec? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let m = st.st_mtim
        if (m.tv_sec, m.tv_nsec) < (since.tv_sec, since.tv_nsec) { return nil }
        return m
    }

    /// The pattern as a shell glob (for the next command when there are many).
    static func glob(_ pattern: String) -> String {
        pattern.replacingOccurrences(of: "%%", with: "\u{1}")
            .replacingOccurrences(of: "%p", with: "*").replacingOccurrences(of: "%e", with: "*")
            .replacingOccurrences(of: "\u{1}", with: "%")
    }
}

/// What `run` prints when the program has ended, as heaptrack's wrapper
/// does: where the reports are, one line of totals, the next command.
struct RunSummary {
    var plan: RunPlan
    var program: String
    var pid: pid_t
    var outcome: Launch.Outcome
    var since: timespec

    /// What a report path names when it is there but not a regular file
    /// (the library refuses such a file), else nil.
    static func notRegular(_ path: String) -> String? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return Paths.refusal(st, limit: Int.max).map { $0.description }
    }

    func print() {
        let name = Paths.basename(program)
        Out.note("\(name) (pid \(pid)) \(outcome.description)")
        switch plan.report {
        case "none":
            return
        case "stderr":
            return // the library printed it above
        default:
            break
        }
        var files = ReportFinder.find(pattern: plan.report, since: since)
        // The program's own report first, then its children's in the order they ended.
        if let i = files.firstIndex(where: { ReportFinder.matches(Substring(Paths.basename($0)), Substring(Paths.basename(plan.report).replacingOccurrences(of: "%p", with: "\(pid)"))) }) {
            files.insert(files.remove(at: i), at: 0)
        }
        if files.isEmpty {
            if outcome == .exited(71) || outcome == .exited(78) {
                Out.note("no report was written; if the library stopped the program before main (its messages above), `mapwarden check` with the same --config/--window explains why")
            } else if case .signaled = outcome {
                Out.note("no report was written: reports are written when a program exits, not when a signal kills it")
            } else if let refused = RunSummary.notRegular(plan.report) {
                Out.note("no report was written to \(plan.report): \(refused); the library wrote it to standard error")
            } else {
                Out.note("no report was written to \(plan.report) (was the library active? statically linked and setuid programs run without it; so does a program that ends with _exit)")
            }
            return
        }
        var leaked = 0, bytes: UInt64 = 0, clobbers = 0, read = 0, suppressed = 0, kept = 0
        var pids: [Int] = []
        for file in files {
            guard let s = Totals.read(file, format: plan.format) else { continue }
            read += 1
            leaked += s.leaked
            bytes += s.bytes
            clobbers += s.clobbers
            suppressed += s.suppressed
            kept += s.kept
            if let p = s.pid { pids.append(p) }
        }
        let shown = files.map(Paths.display)
        var line = leaked == 0 ? "no leaks" : "\(Fmt.count(leaked, "leaked mapping")) (\(Fmt.bytes(bytes)))"
        line += ", \(Fmt.count(clobbers, "clobber"))"
        if suppressed > 0 { line += ", \(suppressed) suppressed" }
        if kept > 0 { line += ", \(kept) kept in shared or persistent windows" }
        if files.count == 1 {
            Out.note("\(line); report: \(shown[0])")
        } else {
            Out.note("\(line) in \(files.count) reports (pids \(pids.map(String.init).joined(separator: ", ")))")
            for f in shown.prefix(8) { Out.note("  \(f)") }
            if shown.count > 8 { Out.note("  ... and \(shown.count - 8) more") }
        }
        if read < files.count {
            Out.note("\(files.count - read) of the reports could not be read")
        }
        guard plan.format == ReportFormat.json.word else {
            Out.note("next: less \(shown.count == 1 ? shown[0] : Paths.display(ReportFinder.glob(plan.report)))")
            return
        }
        let args = shown.count <= 4 ? shown.joined(separator: " ") : Paths.display(ReportFinder.glob(plan.report))
        if leaked > 0 { RunSummary.largest(files) }
        if leaked > 0 || clobbers > 0 {
            Out.note("next: mapwarden report \(args)    (add --svg window.svg for a picture)")
        } else {
            Out.note("details: mapwarden report \(args)")
        }
    }
}

extension RunSummary {
    /// The largest leak's stack, its first frames named by file and line:
    /// `largest: 4194304 bytes in 1 mapping, allocated from:` and up to four
    /// frames (the report has them all).
    static func largest(_ files: [String]) {
        let sources = files.compactMap { f in (try? LeakReport.load(f)).map { MergedReport.Source(file: f, report: $0) } }
        guard let g = MergedReport(sources).groups.first(where: { !$0.inherited }), !g.stack.isEmpty else { return }
        Out.note("largest: \(g.bytes) bytes in \(Fmt.count(g.leaks.count, "mapping")), allocated from:")
        for line in g.stack.lines(indent: "    ", Symbolizer()).prefix(4) { Out.err(line + "\n") }
    }
}

/// The totals of one report file.
struct Totals {
    var pid: Int?
    var leaked = 0
    var bytes: UInt64 = 0
    var clobbers = 0
    var suppressed = 0
    /// Left in shared or persistent windows: kept in their files, not leaks.
    var kept = 0

    static func read(_ path: String, format: String) -> Totals? {
        if format == ReportFormat.json.word || path.hasSuffix(".json") {
            guard let r = try? LeakReport.load(path) else { return nil }
            let s = r.effectiveSummary
            return Totals(pid: r.pid, leaked: s.leakedMappings, bytes: s.leakedBytes,
                          clobbers: s.clobbers ?? 0, suppressed: s.suppressedMappings ?? 0, kept: s.keptMappings ?? 0)
        }
        guard let text = Paths.readText(path) else { return nil }
        return fromText(text)
    }

    /// From the text format's last lines: `mapwarden: no leaks (pid N, ...)` or
    /// `SUMMARY: mapwarden: B bytes leaked in M mappings; S suppressed (...); ...; C clobbers.`
    static func fromText(_ text: String) -> Totals? {
        var t = Totals()
        for line in text.split(separator: "\n") {
            if line.hasPrefix(LeakText.noLeaksStart.description) {
                t.pid = numbers(line).first.map { Int($0) }
                return t
            }
            if line.hasPrefix("==") , let end = line.dropFirst(2).firstIndex(of: "=") {
                t.pid = Int(line[line.index(line.startIndex, offsetBy: 2)..<end])
            }
            if line.hasPrefix(LeakText.summaryStart.description) {
                let n = numbers(line)
                if n.count >= 2 { t.bytes = n[0]; t.leaked = Int(n[1]) }
                if n.count >= 3 { t.suppressed = Int(n[2]) }
                // "...; C clobbers[; K kept in shared or persistent windows (B bytes, not leaks)]."
                for part in line.split(separator: ";") {
                    if part.contains("clobber"), let c = numbers(part).first { t.clobbers = Int(c) }
                    if part.contains(" kept in "), let k = numbers(part).first { t.kept = Int(k) }
                }
                return t
            }
        }
        return nil
    }

    static func numbers(_ line: Substring) -> [UInt64] {
        var out: [UInt64] = []
        var current: UInt64? = nil
        for ch in line {
            if let d = ch.wholeNumberValue, ch.isASCII {
                current = (current ?? 0) &* 10 &+ UInt64(d)
            } else if let c = current {
                out.append(c)
                current = nil
            }
        }
        if let c = current { out.append(c) }
        return out
    }
}
