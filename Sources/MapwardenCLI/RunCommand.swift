import ArgumentParser
import Foundation
import MapwardenLogic

// The options that take one of a setting's words take MapwardenLogic's own
// values (SettingWords.swift), so that they are the words the library reads.
extension ReportFormat: ExpressibleByArgument {}
extension TrackScope: ExpressibleByArgument {}
extension ClobberPolicy: ExpressibleByArgument {}
extension ReserveFailurePolicy: ExpressibleByArgument {}
extension LogLevel: ExpressibleByArgument {
    // Its Int raw values are not what the option takes: its words are.
    public init?(argument: String) { self.init(word: argument) }
    public var defaultValueDescription: String { word }
    public static var allValueStrings: [String] { allCases.map(\.word) }
    public static var allValueDescriptions: [String: String] { [:] }
    public static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}

extension ExpressibleByArgument where Self: SettingWord {
    public init?(argument: String) { self.init(word: argument) }
    public var defaultValueDescription: String { word }
    public static var allValueStrings: [String] { allCases.map(\.word) }
    public static var defaultCompletionKind: CompletionKind { .list(allValueStrings) }
}

extension SettingKey {
    /// The key as a String (MAPWARDEN_TRACK).
    var word: String { name.description }
}

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a program with mapwarden preloaded.",
        usage: "mapwarden run [<options>] [--] <program> [<args> ...]",
        discussion: """
            Runs PROGRAM with libmapwarden.so preloaded (ahead of any LD_PRELOAD already \
            set), waits for it, and exits as it did: with its exit status, or killed by \
            the same signal. SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH \
            and SIGCONT sent to mapwarden are passed on to the program (the terminal's \
            own signals already reach it, and are not sent twice).

            Each option sets the MAPWARDEN_* variable named in its help, so explicit \
            options win over the environment and over the config file. Programs the \
            program starts inherit the library and their own reports (%p), unless \
            --no-follow-children.

            Unless a report destination is chosen (--report, MAPWARDEN_REPORT in the \
            environment or the config file), every process writes a JSON report \
            mapwarden.<program>.<pid>.json in the current directory. When the program \
            has ended, mapwarden prints where the reports are, one line with the leaks, \
            bytes and clobbers, and the command that shows them.

            Exit status: the program's; 127 when PROGRAM is not found, 126 when it \
            cannot be executed, 72 when libmapwarden.so cannot be found. Before main, \
            the library itself exits with 78 for an invalid configuration and 71 when \
            the window cannot be reserved (see mapwarden check).

            EXAMPLES:
              mapwarden run -- ./emulator rom.bin
              mapwarden run --window 0x1000000000:64G -- ./program --its-own-flag
              mapwarden run --named-window ipc=0x500000000000:1G:shared -- ./server
              mapwarden run --report stderr --format text -- ./program
              mapwarden run --leak-exitcode 23 --suppressions known.supp -- make check
              mapwarden run --clobber deny --track all -- ./program
            """
    )

    @Option(name: .long, help: ArgumentHelp("Read settings from this config file (MAPWARDEN_CONFIG).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp(
        "The default window: hex base and size, and options, e.g. 0x400000000000:1T (MAPWARDEN_WINDOW).",
        valueName: "base:size[:options]"))
    var window: String?

    @Option(name: .customLong("named-window"), help: ArgumentHelp("""
        A named window, e.g. ipc=0x500000000000:1G:shared (MAPWARDEN_WINDOW_<NAME>). OPTIONS: private \
        (the default), shared, shared=PATH, persist=PATH. Repeatable; NAME= removes a window the \
        config file or the environment declares.
        """, valueName: "name=base:size[:options]"))
    var namedWindows: [String] = []

    @Option(name: .long, help: ArgumentHelp("""
        Where reports go: stderr, none, or a file name where %p is the pid, %e the program's \
        name, %% a % (MAPWARDEN_REPORT). Default: mapwarden.%e.%p.json in the current directory.
        """, valueName: "stderr|none|path"))
    var report: String?

    @Option(name: .long, help: ArgumentHelp("""
        Report format (MAPWARDEN_REPORT_FORMAT). Default: json for report files named *.json \
        and for the default report, text otherwise.
        """, valueName: "text|json"))
    var format: ReportFormat?

    @Option(name: .long, help: ArgumentHelp("Track mappings in the window only, or all mappings (MAPWARDEN_TRACK). Default: window.", valueName: "window|all"))
    var track: TrackScope?

    @Option(name: .customLong("leak-exitcode"), help: ArgumentHelp(
        "With leaks (not counting suppressed or inherited ones) the program exits with this status, 0-255 (MAPWARDEN_LEAK_EXITCODE). Default: 0, the status is left alone.",
        valueName: "n"))
    var leakExitcode: Int?

    @Option(name: .customLong("snapshot-signal"), help: ArgumentHelp(
        "A signal that makes the program write a snapshot of its live mappings (MAPWARDEN_SNAPSHOT_SIGNAL; see mapwarden snapshot). Default: none.",
        valueName: "SIGUSR2"))
    var snapshotSignal: String?

    @Option(name: .long, help: ArgumentHelp(
        "Suppressions file, LSan syntax: leak:PATTERN lines (MAPWARDEN_SUPPRESSIONS).", valueName: "file"))
    var suppressions: String?

    @Option(name: .customLong("backtrace-depth"), help: ArgumentHelp(
        "Frames recorded per stack, 0-256; 0 records no stacks (MAPWARDEN_BACKTRACE_DEPTH). Default: 32.", valueName: "n"))
    var backtraceDepth: Int?

    @Option(name: .long, help: ArgumentHelp(
        "MAP_FIXED over memory the program did not map (libraries, heap, stacks): allow it, report it, or deny it with EEXIST (MAPWARDEN_CLOBBER). Default: allow.", valueName: "allow|report|deny"))
    var clobber: ClobberPolicy?

    @Option(name: .long, help: ArgumentHelp("What the library prints (MAPWARDEN_LOG). Default: info.", valueName: "quiet|info|debug"))
    var log: LogLevel?

    @Option(name: .customLong("on-reserve-failure"), help: ArgumentHelp(
        "When the window cannot be reserved: exit with 71 before main, or warn and run without a window (MAPWARDEN_ON_RESERVE_FAILURE). Default: abort.", valueName: "abort|warn"))
    var onReserveFailure: ReserveFailurePolicy?

    @Flag(name: .customLong("no-follow-children"), help: ArgumentHelp(
        "Only the program itself runs with mapwarden: the library leaves LD_PRELOAD before the programs it executes (MAPWARDEN_CHILDREN=stop)."))
    var noFollowChildren = false

    @Option(name: .long, help: ArgumentHelp(
        "The library to preload. Default: libmapwarden.so next to this executable, else ../lib/libmapwarden.so from it.",
        valueName: "path"))
    var library: String?

    @Flag(name: [.short, .long], help: "Print nothing after the program ends (the library's own messages still appear).")
    var quiet = false

    @Argument(parsing: .captureForPassthrough, help: ArgumentHelp(
        "The program to run and its arguments (put -- before them when they start with a dash).", valueName: "program"))
    var command: [String] = []

    var programArguments: [String] {
        command.first == "--" ? Array(command.dropFirst()) : command
    }

    func validate() throws {
        if let first = command.first, first == "--help" || first == "-h" {
            throw CleanExit.helpRequest(RunCommand.self)
        }
        if programArguments.isEmpty {
            throw ValidationError("Missing the program to run: mapwarden run [OPTIONS] -- PROGRAM [ARGS...]")
        }
        if let window, case .failure(let message) = ConfigCheck.parseWindow(window) {
            throw ValidationError("--window: " + message.text.replacingOccurrences(of: "mapwarden: environment: ", with: ""))
        }
        var windowOverrides: [String: String] = [:]
        if let window { windowOverrides["MAPWARDEN_WINDOW"] = window }
        for text in namedWindows {
            switch ConfigCheck.parseNamedWindow(text) {
            case .failure(let message):
                throw ValidationError("--named-window " + message.text.replacingOccurrences(of: "mapwarden: environment: ", with: ""))
            case .success(let kv):
                windowOverrides[kv.key] = kv.value
            }
        }
        if !namedWindows.isEmpty {
            // The windows the options set must not overlap the others (the
            // config file's and the environment's included); the library
            // reports the rest of the configuration itself.
            let inherited = ProcessInfo.processInfo.environment
            let env = inherited.filter { $0.key.hasPrefix("MAPWARDEN_") }
            let configPath = config.map(Paths.absolute) ?? env["MAPWARDEN_CONFIG"].flatMap { $0.isEmpty ? nil : $0 }
            let check = ConfigCheck(configPath: configPath, environment: env, overrides: windowOverrides)
            if let p = check.problems.first(where: { $0.hasSuffix(" (from the command line)") }) {
                throw ValidationError(p.replacingOccurrences(of: "mapwarden: environment: ", with: ""))
            }
        }
        if let n = leakExitcode, !(0...255).contains(n) {
            throw ValidationError("--leak-exitcode \(n): expected 0 to 255")
        }
        if let n = backtraceDepth, !(0...256).contains(n) {
            throw ValidationError("--backtrace-depth \(n): expected 0 to 256")
        }
    }

    func run() throws {
        Launch.takeSignals()
        let library: String
        switch Library.locate(explicit: self.library) {
        case .success(let path): library = path
        case .failure(let message):
            Out.note(message.text)
            throw ExitCode(72)
        }
        let plan = RunPlan(options: self, environment: ProcessInfo.processInfo.environment, library: library)
        let start = ReportFinder.now()
        let pid: pid_t
        do {
            pid = try Launch.spawn(programArguments, environment: plan.environmentList)
        } catch {
            Out.note(error.message)
            throw ExitCode(error.status)
        }
        let outcome = Launch.waitForwarding(pid)
        if !quiet {
            RunSummary(plan: plan, program: programArguments[0], pid: pid, outcome: outcome, since: start).print()
        }
        Launch.endLike(outcome)
    }
}

/// The environment a run gives the program, and where its reports go.
struct RunPlan {
    var environment: [String: String]
    /// The report destination in force: "stderr", "none" or an absolute file pattern.
    var report: String
    /// The format's word ("text" or "json"; as the environment gives it).
    var format: String

    init(options o: RunCommand, environment inherited: [String: String], library: String) {
        var env = inherited
        func set(_ key: String, _ value: String?) { if let value { env[key] = value } }

        let configPath = o.config.map(Paths.absolute) ?? inherited[SettingKey.config.word].flatMap { $0.isEmpty ? nil : $0 }
        set(SettingKey.config.word, o.config.map(Paths.absolute))
        set(SettingKey.window.word, o.window)
        // MAPWARDEN_WINDOW_<NAME>: the option replaces the environment's
        // entries for the same window, whatever their case.
        var named: [String: String] = [:]
        for text in o.namedWindows {
            if case .success(let kv) = ConfigCheck.parseNamedWindow(text) { named[kv.key] = kv.value }
        }
        env = ConfigCheck.merged(env, named)
        set(SettingKey.track.word, o.track?.word)
        set(SettingKey.leakExitCode.word, o.leakExitcode.map(String.init))
        set(SettingKey.snapshotSignal.word, o.snapshotSignal)
        set(SettingKey.suppressions.word, o.suppressions.map(Paths.absolute))
        set(SettingKey.backtraceDepth.word, o.backtraceDepth.map(String.init))
        set(SettingKey.clobber.word, o.clobber?.word)
        set(SettingKey.log.word, o.log?.word)
        set(SettingKey.onReserveFailure.word, o.onReserveFailure?.word)
        if o.noFollowChildren { env["MAPWARDEN_CHILDREN"] = "stop" }

        // The report: the option, else the environment, else the config file,
        // else our default (JSON files in the current directory).
        func fromFile(_ key: String) -> String? { configPath.flatMap { ConfigCheck.fileValue(key, inFile: $0) } }
        let reportKey = SettingKey.report.word, formatKey = SettingKey.reportFormat.word
        let chosenFormat = o.format?.word ?? inherited[formatKey] ?? fromFile(formatKey)
        var report = o.report ?? inherited[reportKey] ?? fromFile(reportKey)
        var format = chosenFormat
        if report == nil {
            let ext = chosenFormat == ReportFormat.text.word ? "txt" : "json"
            report = Paths.currentDirectory() + "/mapwarden.%e.%p." + ext
            if format == nil { format = ReportFormat.json.word }
        } else if let r = report, r != "stderr", r != "none" {
            report = Paths.absolute(r)
            if format == nil && r.hasSuffix(".json") { format = ReportFormat.json.word }
        }
        if report != inherited[reportKey] || o.report != nil { env[reportKey] = report }
        if let format, format != inherited[formatKey] || o.format != nil {
            env[formatKey] = format
        }
        env["LD_PRELOAD"] = Library.preloadValue(library: library, existing: inherited["LD_PRELOAD"])
        self.environment = env
        self.report = report ?? "stderr"
        self.format = format ?? ReportFormat.text.word
    }

    var environmentList: [String] { environment.map { "\($0.key)=\($0.value)" }.sorted() }
}
