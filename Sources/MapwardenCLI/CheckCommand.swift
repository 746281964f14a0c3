import ArgumentParser
import Foundation
import MapwardenLogic

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a configuration and whether its windows can be reserved, and explain why not.",
        discussion: """
            Reads the configuration as the library does (the config file, then the \
            MAPWARDEN_* environment, then --window and --named-window) and lists every \
            problem with its file and line, overlapping windows included. It lists \
            every window: the default one and the named ones (MAPWARDEN_WINDOW_<NAME>), \
            with its range, backing and, for a shared or persistent window, its file.

            A shared or persistent window's file is only read: check says whether it \
            exists, whether the library could open or create it, and whether its \
            header fits the window (magic, version, page size, base, size) and was \
            closed cleanly. It never creates or changes the file.

            Then it starts a fresh process with the library preloaded \
            (MAPWARDEN_ON_RESERVE_FAILURE=abort, MAPWARDEN_LOG=debug) and reports, \
            window by window, whether it was reserved, and if not, the library's \
            explanation (the mappings in the way, or the RLIMIT_AS that refused it). \
            Shared and persistent windows are tried there as private ones: the \
            reservation is the same, and their files stay untouched.

            It also places the windows among the typical layout: what a fresh process \
            has mapped (executable, heap, libraries, stack), the ranges ASLR uses, and \
            fixed users such as the JVM heap and CDS archive, Go arenas, and the \
            ASan, TSan and MSan shadows; and it shows RLIMIT_AS, vm.max_map_count and \
            vm.overcommit_memory when they matter. When a window is in the way of \
            something, it suggests another place for it.

            Exit status: 0 when every window can be had; 78 when the configuration is \
            invalid; 71 when a window cannot be reserved or its file would be refused \
            (the library's own statuses).

            EXAMPLES:
              mapwarden check
              mapwarden check --config /usr/local/share/mapwarden/emulator.env
              mapwarden check --window 0x566000000000:64G
              mapwarden check --named-window ipc=0x500000000000:1G:shared
            """
    )

    @Option(name: .long, help: ArgumentHelp("The config file to check (default: $MAPWARDEN_CONFIG, if set).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The default window to check, e.g. 0x400000000000:1T (beats the config file and the environment).", valueName: "base:size"))
    var window: String?

    @Option(name: .customLong("named-window"), help: ArgumentHelp(
        "A named window to check, e.g. ipc=0x500000000000:1G:shared (MAPWARDEN_WINDOW_<NAME>; repeatable; NAME= removes one).",
        valueName: "name=base:size[:options]"))
    var namedWindows: [String] = []

    @Option(name: .long, help: ArgumentHelp("The library to try the reservation with (default: as for run).", valueName: "path"))
    var library: String?

    @Flag(name: .long, help: "Also list the regions the windows do not overlap.")
    var verbose = false

    func validate() throws {
        // The values themselves are judged with the configuration (status 78).
        for text in namedWindows where ConfigCheck.splitNamedWindow(text) == nil {
            throw ValidationError("--named-window \(text): expected NAME=BASE:SIZE[:OPTIONS], e.g. ipc=0x500000000000:1G:shared")
        }
    }

    /// The MAPWARDEN_* values the options set.
    var overrides: [String: String] {
        var o: [String: String] = [:]
        if let window { o["MAPWARDEN_WINDOW"] = window }
        for text in namedWindows {
            if let kv = ConfigCheck.splitNamedWindow(text) { o[kv.key] = kv.value }
        }
        return o
    }

    func run() throws {
        let inherited = ProcessInfo.processInfo.environment
        let env = inherited.filter { $0.key.hasPrefix("MAPWARDEN_") }
        let configPath = config.map(Paths.absolute) ?? env["MAPWARDEN_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        let overrides = self.overrides
        let cfg = ConfigCheck(configPath: configPath, environment: env, overrides: overrides)

        print("mapwarden check")
        if let configPath { print("  config file: \(Paths.display(configPath))") } else { print("  config file: none") }
        let envShown = env.keys.filter { $0 != "MAPWARDEN_CONFIG" }.sorted()
        if !envShown.isEmpty { print("  environment: " + envShown.map { "\($0)=\(env[$0]!)" }.joined(separator: " ")) }

        // 1. The configuration.
        print("")
        if !cfg.isValid {
            print("Configuration: \(Fmt.count(cfg.problems.count, "problem")):")
            for p in cfg.problems { print("  " + p) }
            print("")
            print("Result: the configuration is invalid; the library would exit with status \(ExitStatus.badConfig) before main.")
            throw ExitCode(ExitStatus.badConfig)
        }
        let windows = cfg.windows.sorted { $0.window.base < $1.window.base }
        let subject = windows.count == 1 ? "the window" : "the \(windows.count) windows"
        print("Configuration: valid, \(Fmt.count(windows.count, "window"))")
        for w in windows {
            var line = "  \(w.title): \(Fmt.hex(w.window.base))-\(Fmt.hex(w.window.end)) (\(Fmt.bytes(w.window.size))), \(w.backingText)"
            if let path = w.path { line += " (\(path))" }
            print(line + ", from \(w.origin)")
        }

        // 2. The files of shared and persistent windows, read only.
        let files = windows.filter { $0.backing != .private }.map { BackingCheck($0, pageSize: cfg.space.pageSize) }
        var status: Int32 = 0
        if !files.isEmpty {
            print("")
            print("Backing files (read here; check neither creates nor changes them):")
            for f in files { print("  " + f.line) }
            if files.contains(where: { $0.problem != nil }) { status = ExitStatus.reservationFailed }
        }

        // 3. The reservation, tried for real in a fresh process. Shared and
        // persistent windows are tried as private ones: the reservation is
        // the same (anonymous, PROT_NONE), and their files stay untouched.
        let lib: String
        switch Library.locate(explicit: library) {
        case .success(let p): lib = p
        case .failure(let message):
            Out.note(message.text)
            throw ExitCode(72)
        }
        var tryOverrides = overrides
        for w in windows where w.backing != .private { tryOverrides[w.key] = w.privateValue }
        var tryEnv = ConfigCheck.merged(inherited, tryOverrides)
        if let configPath { tryEnv["MAPWARDEN_CONFIG"] = configPath }
        tryEnv["MAPWARDEN_ON_RESERVE_FAILURE"] = "abort"
        tryEnv["MAPWARDEN_LOG"] = "debug"
        tryEnv["MAPWARDEN_REPORT"] = "none"
        tryEnv["LD_PRELOAD"] = Library.preloadValue(library: lib, existing: inherited["LD_PRELOAD"])
        var plainEnv = inherited
        plainEnv.removeValue(forKey: "LD_PRELOAD")

        let attempt: ProbeRun
        switch ProbeRun.run(environment: tryEnv) {
        case .success(let r): attempt = r
        case .failure(let message):
            Out.note(message.text)
            throw ExitCode(71)
        }
        let plain = (try? ProbeRun.run(environment: plainEnv).get())
        let maps = plain?.maps ?? []

        print("")
        var reservedAll = false
        let libraryLines = attempt.stderr.split(separator: "\n").map(String.init)
        let failedWindow = CheckCommand.failedWindow(libraryLines, windows)
        switch attempt.outcome {
        case .exited(0):
            let missing = windows.filter { !CheckCommand.reserved($0, in: attempt.maps) }
            if missing.isEmpty {
                reservedAll = true
                print("Reservation: OK (a fresh process with \(Paths.display(lib)) preloaded holds \(windows.count == 1 ? "the window" : "every window"))")
            } else {
                print("Reservation: the library did not reserve \(missing.map(\.title).joined(separator: ", ")) in a fresh process (it was not active there).")
                status = ExitStatus.reservationFailed
            }
        case .exited(ExitStatus.badConfig):
            print("Reservation: not tried; the library found the configuration invalid:")
            status = ExitStatus.badConfig
        case .exited(ExitStatus.reservationFailed):
            print("Reservation: FAILED; the library says:")
            status = ExitStatus.reservationFailed
        default:
            print("Reservation: the fresh process \(attempt.outcome.description); the library says:")
            status = ExitStatus.reservationFailed
        }
        for w in windows {
            var verdict: String
            if reservedAll || (attempt.outcome == .exited(0) && CheckCommand.reserved(w, in: attempt.maps)) {
                verdict = "reserved"
            } else if let failed = failedWindow {
                verdict = w.name == failed.name ? "FAILED"
                    : w.window.base < failed.window.base ? "reserved (and released when the library gave up)"
                    : "not tried (the library stops at the first window it cannot reserve)"
            } else if attempt.outcome == .exited(0) {
                verdict = "NOT reserved"
            } else {
                verdict = "not known"
            }
            if w.backing != .private && verdict == "reserved" { verdict += " (tried as private; the file is checked above)" }
            print("  \(w.title) \(Fmt.hex(w.window.base))-\(Fmt.hex(w.window.end)): \(verdict)")
        }
        let shownLines = reservedAll ? [] : libraryLines
        for line in shownLines.prefix(40) { print("  | " + line) }
        if shownLines.count > 40 { print("  | ... (\(shownLines.count - 40) more lines)") }
        if status == ExitStatus.badConfig {
            print("")
            print("Result: the configuration is invalid (exit status \(status)).")
            throw ExitCode(status)
        }

        // 4. Where the windows sit.
        let exe = Paths.executable() ?? ""
        let layout = Layout(space: cfg.space, maps: maps, executable: exe)
        print("")
        print("Layout (\(archName), user space ends at \(Fmt.hex(cfg.space.userEnd)); \"this run\" rows come from a fresh process, ASLR moves them on each run):")
        let rows = layout.regions.filter { r in verbose || r.kind == .occupied || windows.contains { r.overlaps($0.window) } }
        var printed = 0
        func windowRow(_ w: ConfigCheck.WindowInfo) {
            print("  " + Fmt.padRight(Fmt.hex(w.window.base), 16) + " " + Fmt.padRight(Fmt.hex(w.window.end), 16) + " "
                  + Fmt.pad(Fmt.bytes(w.window.size), 9) + "  >>> WINDOW \(w.name) <<<")
        }
        print("  " + Fmt.padRight("start", 16) + " " + Fmt.padRight("end", 16) + " " + Fmt.pad("size", 9) + "  what")
        for r in rows {
            while printed < windows.count && r.start >= windows[printed].window.base {
                windowRow(windows[printed])
                printed += 1
            }
            let hit = windows.filter { r.overlaps($0.window) }.map { "\"\($0.name)\"" }
            let mark = hit.isEmpty ? "" : "  ** overlaps the window\(hit.count == 1 ? "" : "s") " + hit.joined(separator: ", ")
            print("  " + Fmt.padRight(Fmt.hex(r.start), 16) + " " + Fmt.padRight(Fmt.hex(r.end), 16) + " "
                  + Fmt.pad(Fmt.bytes(r.end - r.start), 9) + "  " + r.what + mark)
        }
        while printed < windows.count { windowRow(windows[printed]); printed += 1 }
        if !verbose { print("  (--verbose lists the other known users too)") }

        var risky: [ConfigCheck.WindowInfo] = []
        for w in windows {
            let conflicts = maps.filter { $0.start < w.window.end && $0.end > w.window.base }
            let overlaps = layout.overlapping(w.window)
            if !conflicts.isEmpty {
                print("")
                print("Mapped over \(w.title) in a fresh process (without mapwarden):")
                for m in conflicts.prefix(20) { print("  " + m.line) }
            }
            if !overlaps.isEmpty {
                print("")
                print("What the place of \(w.title) means:")
                for r in overlaps {
                    print("  - \(r.what) [\(Fmt.hex(r.start))-\(Fmt.hex(r.end))]: \(r.ifOverlapping)")
                }
            }
            if overlaps.contains(where: { $0.kind == .random || $0.kind == .occupied }) { risky.append(w) }
        }
        for fact in layout.facts { print("  note: " + fact) }

        // 5. Limits.
        let processSize = maps.reduce(UInt64(0)) { $0 + ($1.end - $1.start) }
        let limits = SystemLimits(windows: windows.map(\.window), processSize: processSize)
        print("")
        print("Limits:")
        for l in limits.lines { print("  " + l.text) }

        // 5b. Trapping raw system calls (MAPWARDEN_RAW_SYSCALLS=trap).
        let raw = RawSyscallsCheck.probe(enabled: cfg.values["MAPWARDEN_RAW_SYSCALLS"]?.value == "trap")
        print("")
        print("Raw system calls (MAPWARDEN_RAW_SYSCALLS=trap):")
        for l in raw.lines { print("  " + l) }

        // 6. Other places for the windows in trouble.
        var troubled = risky
        if let f = failedWindow {
            if !troubled.contains(where: { $0.name == f.name }) { troubled.append(f) }
        } else if attempt.outcome == .exited(0) && !reservedAll {
            for w in windows where !CheckCommand.reserved(w, in: attempt.maps) && !troubled.contains(where: { $0.name == w.name }) {
                troubled.append(w)
            }
        }
        var suggestions: [String] = []
        for w in troubled {
            // Away from what is mapped, what the probe mapped, and the other windows.
            let others = windows.filter { $0.name != w.name }.map {
                MapsEntry(start: $0.window.base, end: $0.window.end, perms: "---p", path: "")
            }
            let avoid = maps + attempt.maps.filter { m in !windows.contains { m.start >= $0.window.base && m.end <= $0.window.end } } + others
            guard let s = layout.suggestion(size: min(w.window.size, 1 << 40), avoiding: avoid) else { continue }
            let spec = "\(Fmt.hex(s.base)):\(Fmt.sizeSpec(s.size))" + w.optionsSuffix
            if w.isDefault {
                suggestions.append("--window \(spec)  (MAPWARDEN_WINDOW=\(spec))")
            } else {
                suggestions.append("--named-window \(w.name)=\(spec)  (\(w.key)=\(spec))")
            }
        }
        if !suggestions.isEmpty {
            print("")
            let tail = " overlap\(suggestions.count == 1 ? "s" : "") nothing above but the programs that adapt"
            if suggestions.count == 1 {
                print("Suggestion: " + suggestions[0] + tail)
            } else {
                print("Suggestions (each" + tail + "):")
                for s in suggestions { print("  " + s) }
            }
        }

        print("")
        if let bad = files.first(where: { $0.problem != nil }) {
            print("Result: \(bad.window.title) cannot be used: its file is refused (the library would exit with status \(ExitStatus.reservationFailed) before main).")
            throw ExitCode(ExitStatus.reservationFailed)
        }
        if status == 0 {
            if !risky.isEmpty {
                print("Result: \(subject) can be reserved in this process, but ASLR puts other things where \(risky.map(\.title).joined(separator: ", ")) \(risky.count == 1 ? "is" : "are") on some runs (see above).")
            } else if windows.contains(where: { layout.overlapping($0.window).contains { $0.kind == .breaks } }) {
                print("Result: \(subject) can be reserved (programs built with the tools marked above need another place).")
            } else {
                print("Result: \(subject) can be reserved.")
            }
        } else {
            let who = failedWindow.map { windows.count == 1 ? "the window" : $0.title } ?? subject
            print("Result: \(who) cannot be reserved (exit status \(status)).")
            throw ExitCode(status)
        }
    }

    /// Whether a fresh process's maps show the window reserved: covered from
    /// end to end by the reservation (---p) and, in a shared or persistent
    /// window, mappings of its file.
    static func reserved(_ w: ConfigCheck.WindowInfo, in maps: [MapsEntry]) -> Bool {
        let inside = maps.filter { $0.start < w.window.end && $0.end > w.window.base }.sorted { $0.start < $1.start }
        var at = w.window.base
        for m in inside {
            guard m.start == at, m.end <= w.window.end else { return false }
            guard m.perms.hasPrefix("---") || (w.path != nil && m.path == w.path) else { return false }
            at = m.end
        }
        return at == w.window.end
    }

    /// The window the library says it cannot reserve
    /// (`mapwarden: cannot reserve the window "ipc" 0x...`).
    static func failedWindow(_ lines: [String], _ windows: [ConfigCheck.WindowInfo]) -> ConfigCheck.WindowInfo? {
        let marker = "cannot reserve the window "
        for line in lines {
            guard let r = line.range(of: marker) else { continue }
            let rest = line[r.upperBound...]
            if rest.hasPrefix("\"") {
                if let w = windows.first(where: { rest.hasPrefix("\"\($0.name)\" ") }) { return w }
            } else if let w = windows.first(where: { $0.isDefault }) {
                return w
            }
        }
        return nil
    }

    var archName: String {
        #if arch(x86_64)
        return "x86-64"
        #else
        return "aarch64"
        #endif
    }
}
