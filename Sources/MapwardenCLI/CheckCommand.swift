import ArgumentParser
import Foundation
import MapwardenLogic

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a configuration and whether its window can be reserved, and explain why not.",
        discussion: """
            Reads the configuration as the library does (the config file, then the \
            MAPWARDEN_* environment, then --window) and lists every problem with its \
            file and line. Then it starts a fresh process with the library preloaded \
            (MAPWARDEN_ON_RESERVE_FAILURE=abort, MAPWARDEN_LOG=debug) and reports \
            whether the window was reserved, and if not, the library's explanation \
            (the mappings in the way, or the RLIMIT_AS that refused it).

            It also places the window among the typical layout: what a fresh process \
            has mapped (executable, heap, libraries, stack), the ranges ASLR uses, and \
            fixed users such as the JVM heap and CDS archive, Go arenas, and the \
            ASan, TSan and MSan shadows; and it shows RLIMIT_AS, vm.max_map_count and \
            vm.overcommit_memory when they matter. When the window is in the way of \
            something, it suggests another one.

            Exit status: 0 when the window can be had; 78 when the configuration is \
            invalid; 71 when the window cannot be reserved (the library's own statuses).

            EXAMPLES:
              mapwarden check
              mapwarden check --config /usr/local/share/mapwarden/emulator.env
              mapwarden check --window 0x566000000000:64G
            """
    )

    @Option(name: .long, help: ArgumentHelp("The config file to check (default: $MAPWARDEN_CONFIG, if set).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("The window to check, e.g. 0x400000000000:1T (beats the config file and the environment).", valueName: "base:size"))
    var window: String?

    @Option(name: .long, help: ArgumentHelp("The library to try the reservation with (default: as for run).", valueName: "path"))
    var library: String?

    @Flag(name: .long, help: "Also list the regions the window does not overlap.")
    var verbose = false

    func run() throws {
        let inherited = ProcessInfo.processInfo.environment
        let env = inherited.filter { $0.key.hasPrefix("MAPWARDEN_") }
        let configPath = config.map(Paths.absolute) ?? env["MAPWARDEN_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
        var overrides: [String: String] = [:]
        if let window { overrides["MAPWARDEN_WINDOW"] = window }
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
        print("Configuration: valid")
        print("  window: \(Fmt.hex(cfg.window.base))-\(Fmt.hex(cfg.window.end)) (\(Fmt.bytes(cfg.window.size))), from \(cfg.windowOrigin)")

        // 2. The reservation, tried for real in a fresh process.
        let lib: String
        switch Library.locate(explicit: library) {
        case .success(let p): lib = p
        case .failure(let message):
            Out.note(message.text)
            throw ExitCode(72)
        }
        var tryEnv = inherited
        if let configPath { tryEnv["MAPWARDEN_CONFIG"] = configPath }
        if let window { tryEnv["MAPWARDEN_WINDOW"] = window }
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
        let w = cfg.window
        let reservedLine = attempt.maps.first { $0.start == w.base && $0.end == w.end && $0.perms.hasPrefix("---") }

        print("")
        var status: Int32 = 0
        let libraryLines = attempt.stderr.split(separator: "\n").map(String.init)
        switch attempt.outcome {
        case .exited(0) where reservedLine != nil:
            print("Reservation: OK (a fresh process with \(Paths.display(lib)) preloaded holds the window)")
        case .exited(0):
            print("Reservation: the library did not reserve the window in a fresh process (it was not active there).")
            status = ExitStatus.reservationFailed
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
        for line in libraryLines.prefix(40) { print("  | " + line) }
        if libraryLines.count > 40 { print("  | ... (\(libraryLines.count - 40) more lines)") }
        if status == ExitStatus.badConfig {
            print("")
            print("Result: the configuration is invalid (exit status \(status)).")
            throw ExitCode(status)
        }

        // 3. Where the window sits.
        let exe = Paths.executable() ?? ""
        let layout = Layout(space: cfg.space, maps: maps, executable: exe)
        let conflicts = maps.filter { $0.start < w.end && $0.end > w.base }
        print("")
        print("Layout (\(archName), user space ends at \(Fmt.hex(cfg.space.userEnd)); \"this run\" rows come from a fresh process, ASLR moves them on each run):")
        let rows = layout.regions.filter { verbose || $0.overlaps(w) || $0.kind == .occupied }
        var printedWindow = false
        func windowRow() {
            print("  " + Fmt.padRight(Fmt.hex(w.base), 16) + " " + Fmt.padRight(Fmt.hex(w.end), 16) + " "
                  + Fmt.pad(Fmt.bytes(w.size), 9) + "  >>> THE WINDOW <<<")
            printedWindow = true
        }
        print("  " + Fmt.padRight("start", 16) + " " + Fmt.padRight("end", 16) + " " + Fmt.pad("size", 9) + "  what")
        for r in rows {
            if !printedWindow && r.start >= w.base { windowRow() }
            let mark = r.overlaps(w) ? "  ** overlaps the window" : ""
            print("  " + Fmt.padRight(Fmt.hex(r.start), 16) + " " + Fmt.padRight(Fmt.hex(r.end), 16) + " "
                  + Fmt.pad(Fmt.bytes(r.end - r.start), 9) + "  " + r.what + mark)
        }
        if !printedWindow { windowRow() }
        if !verbose { print("  (--verbose lists the other known users too)") }

        let overlaps = layout.overlapping(w)
        if !conflicts.isEmpty {
            print("")
            print("Mapped over the window in a fresh process (without mapwarden):")
            for m in conflicts.prefix(20) { print("  " + m.line) }
        }
        if !overlaps.isEmpty {
            print("")
            print("What the window's place means:")
            for r in overlaps {
                print("  - \(r.what) [\(Fmt.hex(r.start))-\(Fmt.hex(r.end))]: \(r.ifOverlapping)")
            }
        }
        for fact in layout.facts { print("  note: " + fact) }

        // 4. Limits.
        let processSize = maps.reduce(UInt64(0)) { $0 + ($1.end - $1.start) }
        let limits = SystemLimits(window: w, processSize: processSize)
        print("")
        print("Limits:")
        for l in limits.lines { print("  " + l.text) }

        let risky = overlaps.contains { $0.kind == .random || $0.kind == .occupied }
        if status != 0 || risky {
            if let s = layout.suggestion(size: min(w.size, 1 << 40), avoiding: maps + attempt.maps.filter { !($0.start == w.base && $0.end == w.end) }) {
                print("")
                print("Suggestion: --window \(Fmt.hex(s.base)):\(sizeText(s.size))  (MAPWARDEN_WINDOW=\(Fmt.hex(s.base)):\(sizeText(s.size))) overlaps nothing above but the programs that adapt")
            }
        }

        print("")
        if status == 0 {
            if risky {
                print("Result: the window can be reserved in this process, but ASLR puts other things there on some runs (see above).")
            } else if overlaps.contains(where: { $0.kind == .breaks }) {
                print("Result: the window can be reserved (programs built with the tools marked above need another one).")
            } else {
                print("Result: the window can be reserved.")
            }
        } else {
            print("Result: the window cannot be reserved (exit status \(status)).")
            throw ExitCode(status)
        }
    }

    var archName: String {
        #if arch(x86_64)
        return "x86-64"
        #else
        return "aarch64"
        #endif
    }

    /// A size as MAPWARDEN_WINDOW takes it: 1T, 64G, 4096.
    func sizeText(_ v: UInt64) -> String {
        let units: [(UInt64, String)] = [(1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")]
        for (u, s) in units where v % u == 0 { return "\(v / u)\(s)" }
        return "\(v)"
    }
}
