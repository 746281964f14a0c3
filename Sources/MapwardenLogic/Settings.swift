/// What to do when the window cannot be reserved.
public enum ReserveFailurePolicy: Equatable, CaseIterable {
    /// Print why and exit before `main` with `ExitStatus.reservationFailed`.
    case abort
    /// Print why and run the program without a window.
    case warn
}

/// How much mapwarden prints.
public enum LogLevel: Int, Comparable, CaseIterable {
    /// Fatal errors only.
    case quiet = 0
    /// Also warnings (the default).
    case info = 1
    /// Also what start-up did and every call that touched a window.
    case debug = 2

    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Documented exit statuses (from sysexits.h) for failures before `main`.
public enum ExitStatus {
    /// The configuration is invalid (EX_CONFIG).
    public static let badConfig: Int32 = 78
    /// The window could not be reserved under `MAPWARDEN_ON_RESERVE_FAILURE=abort` (EX_OSERR).
    public static let reservationFailed: Int32 = 71
}

/// What the leak report covers (MAPWARDEN_TRACK).
public enum TrackScope: Equatable, CaseIterable {
    /// Mappings the program made inside the window.
    case window
    /// Also those it made outside through the interposed calls.
    case all
}

/// How the report is written (MAPWARDEN_REPORT_FORMAT).
public enum ReportFormat: Equatable, CaseIterable {
    case text
    case json
}

/// What a MAP_FIXED over memory the program did not map itself gets
/// (MAPWARDEN_CLOBBER).
public enum ClobberPolicy: Equatable, CaseIterable {
    /// Nothing is checked (the default, and free).
    case allow
    /// The call goes ahead; it is reported with its stack.
    case report
    /// The call fails with EEXIST; it is reported with its stack.
    case deny
}

/// What a SIGSEGV or SIGBUS in a window gets (MAPWARDEN_FAULTS).
public enum FaultsPolicy: Equatable, CaseIterable {
    /// When it would kill the process: an explanation on standard error
    /// and the report, then the same death (see docs/faults.md).
    case explain
    /// Nothing: no handler is installed.
    case off
}

/// What happens to mmap-family calls made without libc's symbols (inline
/// `syscall` instructions) whose range meets a window
/// (MAPWARDEN_RAW_SYSCALLS; docs/raw-syscalls.md).
public enum RawSyscallsPolicy: Equatable, CaseIterable {
    /// Nothing: such a call goes to the kernel unseen.
    case off
    /// A seccomp filter traps them (SIGSYS) and the engine serves them as
    /// the libc hooks do.
    case trap
}

/// Every key mapwarden understands.
public enum SettingKey: CaseIterable {
    case config
    case window
    case onReserveFailure
    case log
    case track
    case backtraceDepth
    case report
    case reportFormat
    case leakExitCode
    case suppressions
    case clobber
    case children
    case libunwind
    case snapshotSignal
    case symbolizer
    case faults
    case rawSyscalls

    public var name: StaticString {
        switch self {
        case .config: return "MAPWARDEN_CONFIG"
        case .window: return "MAPWARDEN_WINDOW"
        case .onReserveFailure: return "MAPWARDEN_ON_RESERVE_FAILURE"
        case .log: return "MAPWARDEN_LOG"
        case .track: return "MAPWARDEN_TRACK"
        case .backtraceDepth: return "MAPWARDEN_BACKTRACE_DEPTH"
        case .report: return "MAPWARDEN_REPORT"
        case .reportFormat: return "MAPWARDEN_REPORT_FORMAT"
        case .leakExitCode: return "MAPWARDEN_LEAK_EXITCODE"
        case .suppressions: return "MAPWARDEN_SUPPRESSIONS"
        case .clobber: return "MAPWARDEN_CLOBBER"
        case .children: return "MAPWARDEN_CHILDREN"
        case .libunwind: return "MAPWARDEN_LIBUNWIND"
        case .snapshotSignal: return "MAPWARDEN_SNAPSHOT_SIGNAL"
        case .symbolizer: return "MAPWARDEN_SYMBOLIZER"
        case .faults: return "MAPWARDEN_FAULTS"
        case .rawSyscalls: return "MAPWARDEN_RAW_SYSCALLS"
        }
    }

    public static func named(_ key: Bytes) -> SettingKey? {
        for k in allCases where key.equals(k.name) { return k }
        return nil
    }
}

/// The effective configuration. Built by applying the config file's entries,
/// then the environment's, so that the environment wins.
public struct Settings: Equatable {
    /// The windows: the default one first (named "default"), then the
    /// MAPWARDEN_WINDOW_<NAME> ones.
    public var windows: WindowTable
    /// The default window's range.
    public var window: Window {
        get { windows[0].window }
        set { windows[0].window = newValue }
    }
    public var onReserveFailure: ReserveFailurePolicy = .abort
    public var log: LogLevel = .info
    public var track: TrackScope = .window
    /// Return addresses captured per mapping; 0 turns capture off.
    public var backtraceDepth = 32
    /// Where the report goes: nil for standard error, an empty value for
    /// none, else a path template (%p, %e). Points into the text it was
    /// parsed from: copy it before that memory goes.
    public var report: Bytes? = nil
    /// Whether MAPWARDEN_REPORT was given at all.
    public var reportRequested = false
    public var reportFormat: ReportFormat = .text
    /// The exit status when leaks remain at exit; 0 leaves it alone.
    public var leakExitCode: Int32 = 0
    /// The suppressions file's path, if any (points into the parsed text).
    public var suppressions: Bytes? = nil
    public var clobber: ClobberPolicy = .allow
    /// Whether programs this one execs run under mapwarden too.
    public var followChildren = true
    /// The libunwind to load (points into the parsed text).
    public var libunwind: Bytes? = nil
    /// The program that names frames by file and line in the text report at
    /// exit: nil for the `mapwarden` command installed beside the library,
    /// empty for none, else its path (points into the parsed text).
    public var symbolizer: Bytes? = nil
    /// The signal that makes the process write a snapshot of its live
    /// mappings (0: none).
    public var snapshotSignal: Int32 = 0
    public var faults: FaultsPolicy = .explain
    public var rawSyscalls: RawSyscallsPolicy = .off

    /// The largest MAPWARDEN_BACKTRACE_DEPTH.
    public static let maximumBacktraceDepth = 128

    /// The longest path the kernel takes: PATH_MAX (4096) less its NUL.
    /// Longer paths in the configuration are errors (they could never be
    /// opened), also once made absolute at start-up.
    public static let maximumPathLength = 4095

    static func checkPath(_ path: Bytes, key: Bytes, value: Bytes, origin: ConfigError.Origin) throws(ConfigError) {
        if path.count > maximumPathLength {
            throw ConfigError(.pathTooLong(maximum: UInt64(maximumPathLength)), origin: origin, key: key, value: value)
        }
    }

    public let space: AddressSpace

    public init(space: AddressSpace) {
        self.space = space
        var table = WindowTable()
        // Without a default (validate() says so unless MAPWARDEN_WINDOW is
        // set) the entry keeps its place, empty, and is never reserved.
        _ = table.set(WindowSpec(name: .defaultWindow, window: space.defaultWindow ?? Window(base: 0, size: 0), key: Bytes(SettingKey.window.name),
                                 value: .empty, origin: .environment))
        self.windows = table
    }

    /// The prefix of a named window's key.
    public static let namedWindowPrefix: StaticString = "MAPWARDEN_WINDOW_"

    /// Applies one assignment, or explains why it is wrong.
    public mutating func apply(key: Bytes, value: Bytes, origin: ConfigError.Origin) throws(ConfigError) {
        guard let k = SettingKey.named(key) else {
            if key.hasPrefix(Settings.namedWindowPrefix) {
                return try applyNamedWindow(key: key, value: value, origin: origin)
            }
            throw ConfigError(.unknownKey, origin: origin, key: key, value: value)
        }
        switch k {
        case .config:
            if origin != .environment {
                throw ConfigError(.environmentOnly, origin: origin, key: key, value: value)
            }
        case .window:
            do {
                windows[0] = try Settings.parseWindowSpec(value, name: .defaultWindow, key: key, origin: origin, space: space)
            } catch {
                throw ConfigError(error, origin: origin, key: key, value: value)
            }
        case .onReserveFailure:
            onReserveFailure = try Settings.word(value, key: key, origin: origin)
        case .log:
            log = try Settings.word(value, key: key, origin: origin)
        case .track:
            track = try Settings.word(value, key: key, origin: origin)
        case .backtraceDepth:
            guard let n = Settings.parseCount(value, maximum: UInt64(Settings.maximumBacktraceDepth)) else {
                throw ConfigError(.notACount(maximum: UInt64(Settings.maximumBacktraceDepth)),
                                  origin: origin, key: key, value: value)
            }
            backtraceDepth = Int(n)
        case .report:
            let v = value.trimmingSpaces()
            reportRequested = true
            if v.equals("stderr") {
                report = nil
            } else if v.equals("none") {
                report = Bytes.empty
            } else if v.count == 0 {
                throw ConfigError(.notOneOf("stderr, none, or a file path (%p: pid, %e: executable name)"),
                                  origin: origin, key: key, value: value)
            } else if !ReportPath.validate(v) {
                throw ConfigError(.reportPathBadPercent, origin: origin, key: key, value: value)
            } else if ReportPath.minimumLength(v) > Settings.maximumPathLength {
                throw ConfigError(.pathTooLong(maximum: UInt64(Settings.maximumPathLength)), origin: origin, key: key, value: value)
            } else {
                report = v
            }
        case .reportFormat:
            reportFormat = try Settings.word(value, key: key, origin: origin)
        case .leakExitCode:
            guard let n = Settings.parseCount(value, maximum: 255) else {
                throw ConfigError(.notACount(maximum: 255), origin: origin, key: key, value: value)
            }
            leakExitCode = Int32(n)
        case .suppressions:
            let v = value.trimmingSpaces()
            try Settings.checkPath(v, key: key, value: value, origin: origin)
            suppressions = v.count == 0 ? nil : v
        case .clobber:
            clobber = try Settings.word(value, key: key, origin: origin)
        case .children:
            if value.equals("follow") {
                followChildren = true
            } else if value.equals("stop") {
                followChildren = false
            } else {
                throw ConfigError(.notOneOf("follow, stop"), origin: origin, key: key, value: value)
            }
        case .libunwind:
            let v = value.trimmingSpaces()
            try Settings.checkPath(v, key: key, value: value, origin: origin)
            libunwind = v.count == 0 ? nil : v
        case .symbolizer:
            let v = value.trimmingSpaces()
            try Settings.checkPath(v, key: key, value: value, origin: origin)
            symbolizer = v.count == 0 || v.equals("none") ? Bytes.empty : v
        case .snapshotSignal:
            guard let n = Settings.parseSnapshotSignal(value) else {
                throw ConfigError(.notOneOf("SIGUSR1, SIGUSR2, SIGRTMIN+N (N from 0 to 30), their numbers, or off"),
                                  origin: origin, key: key, value: value)
            }
            snapshotSignal = n
        case .faults:
            faults = try Settings.word(value, key: key, origin: origin)
        case .rawSyscalls:
            rawSyscalls = try Settings.word(value, key: key, origin: origin)
        }
    }

    /// Linux's signal numbers for the snapshot signal (the same on x86-64
    /// and aarch64); glibc's SIGRTMIN (two real-time signals are its own).
    static let sigusr1: Int32 = 10, sigusr2: Int32 = 12, sigrtmin: Int32 = 34, sigrtmax: Int32 = 64

    /// MAPWARDEN_SNAPSHOT_SIGNAL: a signal no program relies on by
    /// default, by name (with or without SIG) or number; off or empty for
    /// none. Nil for anything else (SIGSEGV, SIGKILL, ...).
    public static func parseSnapshotSignal(_ value: Bytes) -> Int32? {
        var v = value.trimmingSpaces()
        if v.count == 0 || v.equals("off") { return 0 }
        if let n = parseCount(v, maximum: UInt64(sigrtmax)) {
            let s = Int32(n)
            return s == sigusr1 || s == sigusr2 || (s >= sigrtmin && s <= sigrtmax) ? s : nil
        }
        if v.hasPrefix("SIG") { v = v.dropFirst(3) }
        if v.equals("USR1") { return sigusr1 }
        if v.equals("USR2") { return sigusr2 }
        guard v.hasPrefix("RTMIN") else { return nil }
        let rest = v.dropFirst(5)
        if rest.count == 0 { return sigrtmin }
        guard rest[0] == 0x2B, let k = parseCount(rest.dropFirst(1), maximum: UInt64(sigrtmax - sigrtmin)) else { return nil }
        return sigrtmin + Int32(k)
    }

    /// One of a setting's words (SettingWords.swift), or the problem listing them.
    static func word<W: SettingWord>(_ value: Bytes, key: Bytes, origin: ConfigError.Origin) throws(ConfigError) -> W {
        guard let w = W(named: value) else {
            throw ConfigError(.notOneOf(W.choices), origin: origin, key: key, value: value)
        }
        return w
    }

    /// A decimal count from 0 to maximum, or nil.
    static func parseCount(_ text: Bytes, maximum: UInt64) -> UInt64? {
        let t = text.trimmingSpaces()
        guard t.count > 0, t.count <= 20 else { return nil }
        var n: UInt64 = 0
        for i in 0..<t.count {
            let c = t[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            n = n * 10 + UInt64(c - 0x30)
            if n > maximum { return nil }
        }
        return n
    }

    /// MAPWARDEN_WINDOW_<NAME>=BASE:SIZE[:OPTIONS], or an empty value,
    /// which removes the window so named.
    mutating func applyNamedWindow(key: Bytes, value: Bytes, origin: ConfigError.Origin) throws(ConfigError) {
        let suffix = key.dropFirst(Bytes(Settings.namedWindowPrefix).count)
        guard let name = WindowName(validating: suffix) else {
            throw ConfigError(.windowBadName, origin: origin, key: key, value: value)
        }
        if name == .defaultWindow { throw ConfigError(.windowNamedDefault, origin: origin, key: key, value: value) }
        if value.trimmingSpaces().count == 0 {
            windows.remove(name)
            return
        }
        let spec: WindowSpec
        do {
            spec = try Settings.parseWindowSpec(value, name: name, key: key, origin: origin, space: space)
        } catch {
            throw ConfigError(error, origin: origin, key: key, value: value)
        }
        if !windows.set(spec) {
            throw ConfigError(.tooManyWindows(maximum: UInt64(WindowTable.capacity)), origin: origin, key: key, value: value)
        }
    }

    /// Checks what only the whole configuration shows: a default window
    /// (configured, or one that fits this address space), no more than
    /// WindowTable.capacity windows, no two overlapping. Run after every
    /// entry is applied.
    public func validate() throws(ConfigError) {
        if windows[0].value.count == 0 && space.defaultWindow == nil {
            throw ConfigError(.noDefaultWindow(userEnd: space.userEnd), origin: .environment,
                              key: Bytes(SettingKey.window.name), value: .empty)
        }
        if windows.count > WindowTable.capacity {
            let last = windows[windows.count - 1]
            throw ConfigError(.tooManyWindows(maximum: UInt64(WindowTable.capacity)), origin: last.origin,
                              key: last.key, value: last.value)
        }
        if let pair = windows.firstOverlap() {
            throw ConfigError(.windowsOverlap(name: pair.earlier.name, key: pair.earlier.key, window: pair.earlier.window),
                              origin: pair.later.origin, key: pair.later.key, value: pair.later.value)
        }
    }

    /// Parses `BASE:SIZE[:OPTIONS]` for the window called name.
    public static func parseWindowSpec(_ text: Bytes, name: WindowName, key: Bytes, origin: ConfigError.Origin,
                                       space: AddressSpace) throws(ConfigError.Problem) -> WindowSpec {
        var range = text
        var options: Bytes? = nil
        if let first = text.firstIndex(of: 0x3A), let second = text.firstIndex(of: 0x3A, from: first + 1) {
            range = text.slice(0, second)
            options = text.dropFirst(second + 1)
        }
        var spec = WindowSpec(name: name, window: try parseWindow(range, space: space), key: key, value: text, origin: origin)
        if let options { try parseOptions(options, into: &spec) }
        return spec
    }

    /// OPTIONS: comma-separated `private`, `shared`, `shared=PATH`, `persist=PATH`.
    static func parseOptions(_ text: Bytes, into spec: inout WindowSpec) throws(ConfigError.Problem) {
        var rest = text
        var chosen = false
        while true {
            let comma = rest.firstIndex(of: 0x2C)
            let option = (comma.map { rest.slice(0, $0) } ?? rest).trimmingSpaces()
            let equals = option.firstIndex(of: 0x3D)
            let word = (equals.map { option.slice(0, $0) } ?? option).trimmingSpaces()
            let path = equals.map { option.dropFirst($0 + 1).trimmingSpaces() }
            let backing: Backing
            if word.equals("private") && path == nil {
                backing = .private
            } else if word.equals("shared") {
                backing = .shared
            } else if word.equals("persist") {
                backing = .persistent
            } else {
                throw .windowUnknownOption(option)
            }
            if let path, path.count == 0 { throw .windowOptionNeedsPath(option) }
            if let path, path.count > maximumPathLength { throw .pathTooLong(maximum: UInt64(maximumPathLength)) }
            if backing == .persistent && path == nil { throw .windowOptionNeedsPath(option) }
            if chosen { throw .windowConflictingOptions }
            chosen = true
            spec.backing = backing
            spec.path = path ?? .empty
            guard let comma else { break }
            rest = rest.dropFirst(comma + 1)
        }
    }

    /// Parses and validates `BASE:SIZE`.
    public static func parseWindow(_ text: Bytes, space: AddressSpace) throws(ConfigError.Problem) -> Window {
        guard let colon = text.firstIndex(of: 0x3A) else { throw .windowMissingColon }
        guard let base = Numbers.parseHex(text.slice(0, colon).trimmingSpaces()) else { throw .windowBadBase }
        guard let size = Numbers.parseSize(text.dropFirst(colon + 1).trimmingSpaces()) else { throw .windowBadSize }
        if !space.isPageAligned(base) { throw .windowBaseUnaligned(pageSize: space.pageSize) }
        if size == 0 { throw .windowSizeZero }
        if !space.isPageAligned(size) { throw .windowSizeUnaligned(pageSize: space.pageSize) }
        if base == 0 { throw .windowBaseZero }
        if base >= space.userEnd || size > space.userEnd - base {
            throw .windowBeyondUserSpace(userEnd: space.userEnd)
        }
        return Window(base: base, size: size)
    }
}
