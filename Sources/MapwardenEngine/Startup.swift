import CShim
import MapwardenLogic

/// Start-up: read the configuration, reserve the window, set up the
/// registry. Runs once, before main or on the first interposed call.
enum Startup {
    /// The address space of this process.
    static func detectAddressSpace() -> AddressSpace {
        AddressSpace.detect(pageSize: UInt64(mw_page_size()), stackAddress: UInt64(mw_stack_address()))
    }

    static func run() -> Bool {
        // setuid/setgid programs: trust nothing from the environment.
        if mw_at_secure() != 0 { return false }
        // Started with fd 2 closed: there is no standard error to write to.
        if Kernel.isBadDescriptor(2) { Output.stderr = -1 }

        let space = detectAddressSpace()
        var settings = Settings(space: space)
        // The config file is read once and kept until its values are copied.
        let configPath = mw_getenv(SettingKey.config.cName)
        let file = configPath.flatMap { $0[0] != 0 ? ScratchFile(path: $0, limit: configFileLimit + 1) : nil }
        // Read once quietly to learn the policy and the log level, then, if
        // anything was wrong and it is worth saying, again aloud.
        let configErrors = readConfiguration(file, configPath, into: &settings, reporting: false)
        if configErrors > 0 && settings.saysFailures {
            var again = Settings(space: space)
            _ = readConfiguration(file, configPath, into: &again, reporting: true)
        }
        if !settings.followChildren { mw_stop_following_children() }
        // Paths from the configuration, copied: the early environment copy
        // and the file must go before the reservation (neither may sit in a
        // configured window).
        do {
            let text = StaticBuffer.startupText
            var kept = KeptText(text.base, capacity: text.size)
            // Each path must still be one the kernel takes once made
            // absolute; a problem names its key and value.
            var pathErrors = 0
            let reportPath = kept.reportPath(settings.report)
            if kept.failed, let report = settings.report {
                pathErrors += 1
                if settings.saysFailures { kept.sayFailure(key: Bytes(SettingKey.report.name), value: report) }
            }
            let suppressionsPath = kept.cString(settings.suppressions)
            if kept.failed, let value = settings.suppressions {
                pathErrors += 1
                if settings.saysFailures { kept.sayFailure(key: Bytes(SettingKey.suppressions.name), value: value) }
            }
            let libunwindPath = kept.cString(settings.libunwind)
            if kept.failed, let value = settings.libunwind {
                pathErrors += 1
                if settings.saysFailures { kept.sayFailure(key: Bytes(SettingKey.libunwind.name), value: value) }
            }
            let symbolizerPath = kept.reportPath(settings.symbolizer.flatMap { $0.count > 0 ? $0 : nil })
            if kept.failed, let value = settings.symbolizer {
                pathErrors += 1
                if settings.saysFailures { kept.sayFailure(key: Bytes(SettingKey.symbolizer.name), value: value) }
            }
            let (ranges, details, files) = windows(settings.windows, &kept, errors: &pathErrors,
                                                   saying: settings.saysFailures)
            file?.release()
            mw_release_initial_environment()
            if configErrors > 0 || pathErrors > 0 {
                return giveUp(settings, status: ExitStatus.badConfig, because: "the configuration is invalid")
            }
            return start(settings, kept, ranges, details, files, reportPath: reportPath, suppressions: suppressionsPath,
                         libunwind: libunwindPath, symbolizer: symbolizerPath)
        }
    }

    /// The windows in address order, with their names, backings and the
    /// paths of their files (kept), and their files (not open yet).
    static func windows(_ table: WindowTable, _ kept: inout KeptText, errors: inout Int,
                        saying: Bool) -> (WindowRanges, Windows.Details, WindowFiles) {
        let ranges = WindowRanges(table)
        var details = Windows.Details()
        var files = WindowFiles()
        let cwd = StaticBuffer.workingDirectory
        var haveCwd = false
        for j in 0..<table.count {
            let spec = table[j]
            guard let i = ranges.index(containing: spec.window.base) else { continue }
            var detail = Windows.Detail(name: spec.name, backing: spec.backing)
            if spec.backing != .private {
                if !haveCwd {
                    let p = UnsafeMutableRawPointer(cwd.base).assumingMemoryBound(to: CChar.self)
                    if Kernel.getcwd(p, cwd.size).raw <= 0 { cwd.base[0] = 0 }
                    haveCwd = true
                }
                let path = kept.append(maximum: Settings.maximumPathLength) {
                    BackingHeader.appendPath(of: spec, cwd: Bytes(cString: cwd.base), into: &$0)
                }
                if kept.failed {
                    errors += 1
                    if saying { kept.sayFailure(key: spec.key, value: spec.value) }
                }
                detail.path = path.map { kept.pointer($0) }
                files[i].path = detail.path
                files[i].persistent = spec.backing == .persistent
            }
            details[i] = detail
        }
        return (ranges, details, files)
    }

    /// Reserves the windows, sets up the engine's state and publishes its
    /// configuration.
    static func start(_ settings: Settings, _ kept: KeptText, _ ranges: WindowRanges, _ details: Windows.Details,
                      _ files: WindowFiles, reportPath: Int?, suppressions: Int?, libunwind: Int?,
                      symbolizer: Int?) -> Bool {
        var files = files
        var namesWork = false
        for i in 0..<ranges.count {
            guard let named = Reservation.reserve(ranges[i], name: details[i].name, space: settings.space,
                                                  explaining: settings.saysFailures)
            else {
                release(ranges, upTo: i, files)
                return giveUp(settings, status: ExitStatus.reservationFailed, because: "the window cannot be reserved")
            }
            namesWork = named
        }
        // Every file is checked before any is marked open: a start-up that
        // gives up leaves them all as they were.
        for i in 0..<ranges.count where details[i].backing != .private {
            let opened = files
            let usedBefore = { (id: UInt) -> Bool in
                for j in 0..<i where details[j].backing != .private && opened[j].identity == id { return true }
                return false
            }
            if !files[i].open(name: details[i].name, window: ranges[i], pageSize: settings.space.pageSize,
                              usedBefore: usedBefore) {
                release(ranges, upTo: ranges.count, files)
                return giveUp(settings, status: ExitStatus.reservationFailed, because: "a window's file cannot be used")
            }
        }
        for i in 0..<ranges.count where details[i].backing != .private {
            if !files[i].markOpen(name: details[i].name, log: settings.log) {
                release(ranges, upTo: ranges.count, files)
                return giveUp(settings, status: ExitStatus.reservationFailed, because: "a window's file cannot be used")
            }
        }
        let tracksOutside = settings.track == .all || settings.clobber != .allow
        guard let arenas = Arenas.create(ranges, settings, tracksOutside: tracksOutside, names: namesWork) else {
            release(ranges, upTo: ranges.count, files)
            return giveUp(settings, status: ExitStatus.reservationFailed, because: "mapwarden has no memory for its registry")
        }
        let arena = arenas.registry, depotArena = arenas.depot, reportArena = arenas.report
        var report = ReportSettings()
        // The suppressions file stays mapped for the process's life.
        if let suppressions {
            guard let list = loadSuppressions(kept.pointer(suppressions), settings) else {
                release(ranges, upTo: ranges.count, files)
                return giveUp(settings, status: ExitStatus.badConfig, because: "the configuration is invalid")
            }
            report.suppressions = list
        }
        let stateMemory = arena.pointer
        let nodes = stateMemory + Int(EngineState.nodesOffset)
        let capacity = EngineState.registryCapacity(arena)
        // The kept text stays where it is: static memory of the library.
        let text = kept.storage
        if let reportPath {
            report.destination = .file(UnsafeRawPointer(text + reportPath).assumingMemoryBound(to: CChar.self))
        } else if settings.report != nil {
            report.destination = .none
        }
        if let symbolizer {
            report.symbolizer = .path(UnsafeRawPointer(text + symbolizer).assumingMemoryBound(to: CChar.self))
        } else if settings.symbolizer != nil {
            report.symbolizer = .none
        }
        report.requested = settings.reportRequested
        report.format = settings.reportFormat
        report.leakExitCode = settings.leakExitCode
        keepStandardError(&report)
        if settings.backtraceDepth > 0 {
            let library = libunwind.map { UnsafePointer(UnsafeRawPointer(text + $0).assumingMemoryBound(to: CChar.self)) }
            // Stacks needed by calls outside the windows (the clobber guard,
            // MAPWARDEN_TRACK=all) or from the SIGSYS handler (where dlopen
            // is not safe), or no room for the loader to use later (a tight
            // RLIMIT_AS): libunwind is loaded at start-up.
            let atStart = tracksOutside || settings.rawSyscalls != .off || !arenas.unwindZone.hasLoaderRoom
            mw_backtrace_configure(library, Int32(settings.backtraceDepth), settings.log >= .info && Output.stderr >= 0 ? 1 : 0,
                                   atStart ? 1 : 0)
        }
        // The state lives in the arena's first page, the unmap history after it.
        precondition(MemoryLayout<EngineState>.stride <= Int(EngineState.historyOffset))
        let state = stateMemory.bindMemory(to: EngineState.self, capacity: 1)
        state.initialize(to: EngineState(
            arena: arena,
            registry: MappingRegistry(storage: nodes, capacity: capacity),
            depotArena: depotArena, depot: StackDepot(storage: depotArena.pointer, capacity: Int(depotArena.committed)),
            files: files, outside: arenas.outside, unwindZone: arenas.unwindZone,
            events: settings.clobber != .allow ? EventLog.create() : EventLog(), reportArena: reportArena,
            history: UnmapHistory(storage: stateMemory + Int(EngineState.historyOffset))))
        engine = state
        // Probe's page: the registry arena's last, never committed.
        EngineConfig.publish(EngineConfig(settings, windows: ranges, details: details, namesWork: namesWork,
                                          probePage: arena.base + arena.size - settings.space.pageSize, report: report))
        if settings.log >= .debug {
            for i in 0..<ranges.count {
                Output.line { out in
                    out.append("mapwarden: window ")
                    if details[i].name != .defaultWindow {
                        out.append("\"")
                        out.append(name: details[i].name)
                        out.append("\" ")
                    }
                    out.append(window: ranges[i])
                    out.append(" reserved")
                    if let path = details[i].path {
                        out.append(details[i].backing == .shared ? ", shared through " : ", kept in ")
                        out.append(Bytes(cString: UnsafeRawPointer(path).assumingMemoryBound(to: UInt8.self)))
                    }
                }
            }
        }
        return true
    }

    /// Undoes the reservations of windows 0..<n and closes their files.
    static func release(_ ranges: WindowRanges, upTo n: Int, _ files: WindowFiles) {
        for i in 0..<n {
            _ = Kernel.munmap(ranges[i].base, ranges[i].size)
            var file = files[i]
            file.closeAll()
        }
    }

    /// A copy of standard error for the report, numbered high so that the
    /// program's own descriptors keep the numbers it expects.
    static func keepStandardError(_ report: inout ReportSettings) {
        if Output.stderr < 0 {
            report.standardError = -1
            return
        }
        let fd = Descriptors.high(2, keepOriginal: true)
        if fd != 2 {
            report.standardError = Int32(fd)
            report.standardErrorIdentity = FileFacts.identity(of: Int32(fd))
        }
    }

    /// Reads and checks MAPWARDEN_SUPPRESSIONS; nil (having said why) when
    /// it cannot be read or has a bad line.
    static func loadSuppressions(_ path: UnsafePointer<CChar>, _ settings: Settings) -> SuppressionList? {
        let name = Bytes(cString: UnsafeRawPointer(path).assumingMemoryBound(to: UInt8.self))
        let file = ScratchFile(path: path, limit: configFileLimit + 1)
        if !readable(file) {
            sayUnreadable(file, key: SettingKey.suppressions, name: name, what: "the suppressions file")
            file.release()
            return nil
        }
        do {
            return try SuppressionList(file.bytes)
        } catch {
            report(error, file: name)
            file.release()
            return nil
        }
    }

    /// The config file, then the environment (which wins), in the order
    /// MapwardenLogic's Settings.read keeps for the library and the command.
    /// Returns how many problems there were, printing each when `reporting`.
    static func readConfiguration(_ file: ScratchFile?, _ configPath: UnsafePointer<CChar>?,
                                  into settings: inout Settings, reporting: Bool) -> Int {
        let name = configPath.map { Bytes(cString: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self)) } ?? .empty
        var text = ConfigFile.none
        if let file, configPath != nil {
            if readable(file) {
                text = .text(file.bytes)
            } else {
                if reporting { sayUnreadable(file, key: SettingKey.config, name: name, what: "the config file") }
                text = .unreadable
            }
        }
        return settings.read(file: text, environment: StartupEnvironment()) { error in
            if reporting { report(error, file: name) }
        }
    }

    static let configFileLimit: UInt64 = 1 << 20

    /// Whether a file named by the configuration was read whole.
    static func readable(_ file: ScratchFile) -> Bool {
        file.buffer != nil && file.errno == 0 && UInt64(file.count) <= configFileLimit
    }

    /// `mapwarden: KEY="name": cannot read WHAT: why`.
    static func sayUnreadable(_ file: ScratchFile, key: SettingKey, name: Bytes, what: StaticString) {
        Output.line { out in
            out.append("mapwarden: ")
            out.append(key.name)
            out.append("=")
            out.appendQuoted(name)
            out.append(": cannot read ")
            out.append(what)
            out.append(": ")
            if file.notRegular != 0 {
                FileType.describeNotRegular(file.notRegular, into: &out)
            } else if file.errno == EFBIG || (file.buffer != nil && file.errno == 0) {
                out.append("it is larger than 1 MiB")
            } else {
                ErrnoText.describe(file.errno, into: &out)
            }
        }
    }

    static func report(_ error: ConfigError, file: Bytes) {
        Output.line { error.describe(into: &$0, fileName: file) }
    }

    /// Under `abort`, exits with status; under `warn`, runs without a window.
    static func giveUp(_ settings: Settings, status: Int32, because reason: StaticString) -> Bool {
        if settings.onReserveFailure == .abort {
            Output.line { out in
                out.append("mapwarden: ")
                out.append(reason)
                out.append("; exiting with status ")
                out.append(decimal: Int(status))
                out.append(" (MAPWARDEN_ON_RESERVE_FAILURE=abort)")
            }
            Kernel.exit(status)
        }
        if settings.saysFailures {
            Output.line { out in
                out.append("mapwarden: ")
                out.append(reason)
                out.append("; the program runs without a window (MAPWARDEN_ON_RESERVE_FAILURE=warn)")
            }
        }
        return false
    }
}

extension Settings {
    /// Whether a failure is worth printing: always when it is fatal (abort),
    /// otherwise unless MAPWARDEN_LOG=quiet.
    var saysFailures: Bool { onReserveFailure == .abort || log >= .info }
}

extension SettingKey {
    var cName: UnsafePointer<CChar> { cString(name) }
}

/// The environment at start-up (its early copy before libc has one).
struct StartupEnvironment: ConfigEnvironment {
    func value(of key: SettingKey) -> Bytes? {
        mw_getenv(key.cName).map { Bytes(cString: UnsafeRawPointer($0).assumingMemoryBound(to: UInt8.self)) }
    }

    func forEachEntry(_ body: (Bytes, Bytes) -> Void) {
        var cursor: UInt = 0
        while let entry = mw_env_entry(&cursor) {
            let text = Bytes(cString: UnsafeRawPointer(entry).assumingMemoryBound(to: UInt8.self))
            guard let equals = text.firstIndex(of: 0x3D) else { continue }
            body(text.slice(0, equals), text.dropFirst(equals + 1))
        }
    }
}

/// Text from the configuration that must outlive it (paths), copied into
/// a buffer as NUL-terminated strings named by their offsets. The buffer
/// (MW_STARTUP_TEXT_SIZE) holds every path at its longest: the report's
/// template (whose directory's % signs are doubled) and PATH_MAX for each
/// other path.
struct KeptText {
    let storage: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0
    /// Set by the last copy that failed: the path was too long once made
    /// absolute (`tooLong`), or the buffer was full.
    var failed = false
    var tooLong = false

    init(_ storage: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.storage = storage
        self.capacity = capacity
    }

    func pointer(_ offset: Int) -> UnsafePointer<CChar> {
        UnsafeRawPointer(storage + offset).assumingMemoryBound(to: CChar.self)
    }

    /// Copies b (if any) as a C string; its offset.
    mutating func cString(_ b: Bytes?) -> Int? {
        failed = false
        guard let b else { return nil }
        return append(maximum: Settings.maximumPathLength) { $0.append(b) }
    }

    /// The report path template, made absolute against the current
    /// directory (the program may change directory before it exits).
    mutating func reportPath(_ b: Bytes?) -> Int? {
        failed = false
        guard let b, b.count > 0 else { return nil }
        let at: Int?
        if b[0] == 0x2F {
            at = append { $0.append(b) }
        } else {
            at = appendAbsoluteReportPath(b)
        }
        // Its shortest expansion must fit in PATH_MAX; a longer one is
        // caught when the report is written.
        if let at {
            if ReportPath.minimumLength(Bytes(cString: storage + at)) > Settings.maximumPathLength {
                (failed, tooLong) = (true, true)
                return nil
            }
        }
        return at
    }

    private mutating func appendAbsoluteReportPath(_ b: Bytes) -> Int? {
        append { out in
            let cwd = StaticBuffer.workingDirectory
            if Kernel.getcwd(UnsafeMutableRawPointer(cwd.base).assumingMemoryBound(to: CChar.self), cwd.size).raw > 0 {
                // The directory's own % signs are not template sequences.
                let dir = Bytes(cString: cwd.base)
                for i in 0..<dir.count {
                    out.append(byte: dir[i])
                    if dir[i] == 0x25 { out.append(byte: 0x25) }
                }
                out.append("/")
            }
            // %% stays %% here; the template is expanded at exit.
            out.append(b)
        }
    }

    /// Copies what build writes as a C string; its offset, or nil (and
    /// `failed`) when it is longer than `maximum` bytes or the buffer is full.
    mutating func append(maximum: Int = Int.max, _ build: (inout TextBuffer) -> Void) -> Int? {
        (failed, tooLong) = (false, false)
        let start = count
        let room = capacity - start
        let bounded = maximum < room // else the buffer's end is the bound
        let limit = bounded ? maximum + 1 : room
        var t = TextBuffer(storage + start, capacity: limit)
        build(&t)
        guard t.count < limit else {
            (failed, tooLong) = (true, bounded)
            return nil
        }
        storage[start + t.count] = 0
        count = start + t.count + 1
        return start
    }

    /// Says why the copy of key's value failed, naming both.
    func sayFailure(key: Bytes, value: Bytes) {
        Output.line { out in
            out.append("mapwarden: ")
            out.append(key)
            out.append("=")
            out.appendQuoted(value)
            out.append(": ")
            if tooLong {
                out.append("the path is longer than ")
                out.append(decimal: Settings.maximumPathLength)
                out.append(" bytes (PATH_MAX) once made absolute, more than the kernel takes")
            } else {
                out.append("the paths in the configuration are too long together")
            }
        }
    }
}
