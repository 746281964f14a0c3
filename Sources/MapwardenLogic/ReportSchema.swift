/// The vocabulary of the leak report, defined once: the JSON keys of every
/// object, the words its values take, the schema's name and version. The
/// library's writer (ReportJSON, LeakText, used by the engine) and the
/// `mapwarden` command's reader and renderers use these and nothing else;
/// docs/leak-reports.md lists the same fields (a unit test compares them).
///
/// Each object's keys are an enum whose cases are named as the command's
/// model names its properties (`parentPid` for `parent_pid`): outside the
/// library (`!hasFeature(Embedded)`) each such enum is a `CodingKey`, so a
/// `Codable` type says `typealias CodingKeys = ReportSchema.LeakField` and
/// the compiler checks that it has a property for every key. In the library
/// the keys are `StaticString`s, written without allocating.

/// The keys of one JSON object of a report, in the order they are written.
public protocol ReportSchemaField: CaseIterable {
    /// The key as written.
    var key: StaticString { get }
}

/// A value that is one of a few words, in a report or in the configuration
/// (`"clobber": "deny"`, MAPWARDEN_CLOBBER=deny).
public protocol NamedValue: CaseIterable {
    /// The word.
    var name: StaticString { get }
}

extension NamedValue {
    /// The value a word names, nil for any other text.
    public init?(named text: Bytes) {
        for value in Self.allCases where text.equals(value.name) {
            self = value
            return
        }
        return nil
    }
}

/// The JSON report: schema `mapwarden-report`, version 1 (one object, then a
/// newline). Fields may be added; a change of meaning bumps the version.
public enum ReportSchema {
    public static let name: StaticString = "mapwarden-report"
    public static let version = 1

    /// The document's own keys.
    public enum DocumentField: ReportSchemaField {
        case schema, version, pid, parentPid, forked, executable, exitTime, exitTimeUnix, endedBy
        case settings, stacks, windows, statistics, leaks, suppressed, clobbers, summary

        public var key: StaticString {
            switch self {
            case .schema: "schema"
            case .version: "version"
            case .pid: "pid"
            case .parentPid: "parent_pid"
            case .forked: "forked"
            case .executable: "executable"
            case .exitTime: "exit_time"
            case .exitTimeUnix: "exit_time_unix"
            case .endedBy: "ended_by"
            case .settings: "settings"
            case .stacks: "stacks"
            case .windows: "windows"
            case .statistics: "statistics"
            case .leaks: "leaks"
            case .suppressed: "suppressed"
            case .clobbers: "clobbers"
            case .summary: "summary"
            }
        }
    }

    /// `settings`: the configuration the report was made under.
    public enum SettingsField: ReportSchemaField {
        case track, backtraceDepth, clobber, leakExitcode

        public var key: StaticString {
            switch self {
            case .track: "track"
            case .backtraceDepth: "backtrace_depth"
            case .clobber: "clobber"
            case .leakExitcode: "leak_exitcode"
            }
        }
    }

    /// `stacks`: whether stacks were captured, and how many.
    public enum StacksField: ReportSchemaField {
        case available, reason, unique, dropped

        public var key: StaticString {
            switch self {
            case .available: "available"
            case .reason: "reason"
            case .unique: "unique"
            case .dropped: "dropped"
            }
        }
    }

    /// `windows[]`: one window of the process, in address order.
    public enum WindowField: ReportSchemaField {
        case name, base, size, backing, path, mappings, mappedBytes

        public var key: StaticString {
            switch self {
            case .name: "name"
            case .base: "base"
            case .size: "size"
            case .backing: "backing"
            case .path: "path"
            case .mappings: "mappings"
            case .mappedBytes: "mapped_bytes"
            }
        }
    }

    /// `statistics`: the calls that touched a window.
    public enum StatisticsField: ReportSchemaField {
        case windowCalls, mmap, munmap, mprotect, mremap, other, trackedMappings, outsideCalls

        public var key: StaticString {
            switch self {
            case .windowCalls: "window_calls"
            case .mmap: "mmap"
            case .munmap: "munmap"
            case .mprotect: "mprotect"
            case .mremap: "mremap"
            case .other: "other"
            case .trackedMappings: "tracked_mappings"
            case .outsideCalls: "outside_calls"
            }
        }
    }

    /// `leaks[]`: one mapping still there at exit.
    public enum LeakField: ReportSchemaField {
        case address, size, protection, shared, anonymous, moved, path, offset, thread, inherited
        case inWindow, window, stackId, stack

        public var key: StaticString {
            switch self {
            case .address: "address"
            case .size: "size"
            case .protection: "protection"
            case .shared: "shared"
            case .anonymous: "anonymous"
            case .moved: "moved"
            case .path: "path"
            case .offset: "offset"
            case .thread: "thread"
            case .inherited: "inherited"
            case .inWindow: "in_window"
            case .window: "window"
            case .stackId: "stack_id"
            case .stack: "stack"
            }
        }
    }

    /// `stack[]` of a leak or a clobber: one frame, innermost first.
    public enum FrameField: ReportSchemaField {
        case address, module, moduleOffset, buildId, symbol, mangled, offset

        public var key: StaticString {
            switch self {
            case .address: "address"
            case .module: "module"
            case .moduleOffset: "module_offset"
            case .buildId: "build_id"
            case .symbol: "symbol"
            case .mangled: "mangled"
            case .offset: "offset"
            }
        }
    }

    /// `suppressed[]`: a suppression that matched, and what it hid.
    public enum SuppressionField: ReportSchemaField {
        case pattern, mappings, bytes

        public var key: StaticString {
            switch self {
            case .pattern: "pattern"
            case .mappings: "mappings"
            case .bytes: "bytes"
            }
        }
    }

    /// `clobbers[]`: one clobber or misuse the guard saw.
    public enum ClobberField: ReportSchemaField {
        case kind, call, address, size, action, victim, thread, stack

        public var key: StaticString {
            switch self {
            case .kind: "kind"
            case .call: "call"
            case .address: "address"
            case .size: "size"
            case .action: "action"
            case .victim: "victim"
            case .thread: "thread"
            case .stack: "stack"
            }
        }
    }

    /// `summary`: the totals.
    public enum SummaryField: ReportSchemaField {
        case leakedMappings, leakedBytes, suppressedMappings, suppressedBytes
        case inheritedMappings, inheritedBytes, keptMappings, keptBytes, clobbers

        public var key: StaticString {
            switch self {
            case .leakedMappings: "leaked_mappings"
            case .leakedBytes: "leaked_bytes"
            case .suppressedMappings: "suppressed_mappings"
            case .suppressedBytes: "suppressed_bytes"
            case .inheritedMappings: "inherited_mappings"
            case .inheritedBytes: "inherited_bytes"
            case .keptMappings: "kept_mappings"
            case .keptBytes: "kept_bytes"
            case .clobbers: "clobbers"
            }
        }
    }

    // MARK: Values

    /// `ended_by`: how the process ended (the text header's `at exit of`).
    public enum EndedBy: UInt8, NamedValue {
        /// exit(), or a return from main.
        case exit
        case _exit
        case _Exit
        case quickExit
        /// syscall(SYS_exit_group), as QEMU's user-mode emulator ends.
        case exitGroup
        /// Not an end: a snapshot of the live mappings of a running process
        /// (mapwarden_report_now, MAPWARDEN_SNAPSHOT_SIGNAL).
        case snapshot
        /// A SIGSEGV or SIGBUS that kills the process (MAPWARDEN_FAULTS=explain):
        /// written from the signal handler, before the process dies.
        case crash

        public var name: StaticString {
            switch self {
            case .exit: "exit"
            case ._exit: "_exit"
            case ._Exit: "_Exit"
            case .quickExit: "quick_exit"
            case .exitGroup: "exit_group"
            case .snapshot: "snapshot"
            case .crash: "crash"
            }
        }
    }

    /// `clobbers[].kind`: what the guard saw.
    public enum EventKind: UInt8, NamedValue {
        /// A MAP_FIXED outside the window over memory the program did not map.
        case clobber = 0
        /// A call refused on free window pages (ENOMEM).
        case freeWindowCall = 1
        /// munmap of window pages that were never mapped.
        case unmappedWindowMunmap = 2

        public var name: StaticString {
            switch self {
            case .clobber: "clobber"
            case .freeWindowCall: "free-window-call"
            case .unmappedWindowMunmap: "unmapped-window-munmap"
            }
        }

        /// How the text report and the message at the time begin its line.
        public var title: StaticString {
            switch self {
            case .clobber: "clobber: "
            case .freeWindowCall: "call on free window pages: "
            case .unmappedWindowMunmap: "munmap of window pages never mapped: "
            }
        }
    }

    /// `clobbers[].action`: what became of the call.
    public enum EventAction: NamedValue {
        /// MAPWARDEN_CLOBBER=deny: it failed with EEXIST.
        case denied
        /// It went ahead.
        case reported

        public var name: StaticString {
            switch self {
            case .denied: "denied"
            case .reported: "reported"
            }
        }
    }

    /// `stacks.reason` when MAPWARDEN_BACKTRACE_DEPTH=0 turned capture off.
    public static let depthZeroReason: StaticString = "MAPWARDEN_BACKTRACE_DEPTH=0"
    /// A mangled symbol is cut to this many bytes.
    public static let mangledLimit = 8192
}

/// `windows[].backing`.
extension Backing: NamedValue {
    public var name: StaticString {
        switch self {
        case .private: "private"
        case .shared: "shared"
        case .persistent: "persistent"
        }
    }
}

/// The merged report `mapwarden report --format json` writes: schema
/// `mapwarden-merged-report`, version 1. Its objects reuse the report's
/// (a leak is a report leak with its `pid`; a window a report window with
/// what was summed over the reports); these are the keys it adds.
public enum MergedReportSchema {
    public static let name: StaticString = "mapwarden-merged-report"
    public static let version = 1

    public enum DocumentField: ReportSchemaField {
        case schema, version, reports, windows, groups, groupsNotShown, suppressed, clobbers, summary

        public var key: StaticString {
            switch self {
            case .schema: "schema"
            case .version: "version"
            case .reports: "reports"
            case .windows: "windows"
            case .groups: "groups"
            case .groupsNotShown: "groups_not_shown"
            case .suppressed: "suppressed"
            case .clobbers: "clobbers"
            case .summary: "summary"
            }
        }
    }

    /// `reports[]`: one report read.
    public enum ReportField: ReportSchemaField {
        case file, pid, parentPid, forked, executable, exitTime, summary

        public var key: StaticString {
            switch self {
            case .file: "file"
            case .pid: "pid"
            case .parentPid: "parent_pid"
            case .forked: "forked"
            case .executable: "executable"
            case .exitTime: "exit_time"
            case .summary: "summary"
            }
        }
    }

    /// `windows[]`: a report window's fields, and these.
    public enum WindowField: ReportSchemaField {
        case reports, leakedMappings, leakedBytes

        public var key: StaticString {
            switch self {
            case .reports: "reports"
            case .leakedMappings: "leaked_mappings"
            case .leakedBytes: "leaked_bytes"
            }
        }
    }

    /// `groups[]`: leaks with one stack, from every report.
    public enum GroupField: ReportSchemaField {
        case inherited, mappings, bytes, pids, stack, leaks

        public var key: StaticString {
            switch self {
            case .inherited: "inherited"
            case .mappings: "mappings"
            case .bytes: "bytes"
            case .pids: "pids"
            case .stack: "stack"
            case .leaks: "leaks"
            }
        }
    }

    /// `groups[].leaks[]`: a report leak's fields, and its process.
    public enum PlacedLeakField: ReportSchemaField {
        case pid

        public var key: StaticString { "pid" }
    }

    /// `clobbers[]`: alike events of every report.
    public enum ClobberField: ReportSchemaField {
        case count, pids, event

        public var key: StaticString {
            switch self {
            case .count: "count"
            case .pids: "pids"
            case .event: "event"
            }
        }
    }

    /// `summary`: a report summary's fields (all of them), and this.
    public enum SummaryField: ReportSchemaField {
        case reports

        public var key: StaticString { "reports" }
    }
}

#if !hasFeature(Embedded)
// Outside the library (the command, the unit tests) the keys are CodingKeys.
extension CodingKey where Self: ReportSchemaField {
    public var stringValue: String { key.description }
    public init?(stringValue: String) {
        guard let field = Self.allCases.first(where: { $0.key.description == stringValue }) else { return nil }
        self = field
    }
    public var intValue: Int? { nil }
    public init?(intValue: Int) { nil }
}

extension ReportSchema.DocumentField: CodingKey {}
extension ReportSchema.SettingsField: CodingKey {}
extension ReportSchema.StacksField: CodingKey {}
extension ReportSchema.WindowField: CodingKey {}
extension ReportSchema.StatisticsField: CodingKey {}
extension ReportSchema.LeakField: CodingKey {}
extension ReportSchema.FrameField: CodingKey {}
extension ReportSchema.SuppressionField: CodingKey {}
extension ReportSchema.ClobberField: CodingKey {}
extension ReportSchema.SummaryField: CodingKey {}
extension MergedReportSchema.DocumentField: CodingKey {}
extension MergedReportSchema.ReportField: CodingKey {}
extension MergedReportSchema.WindowField: CodingKey {}
extension MergedReportSchema.GroupField: CodingKey {}
extension MergedReportSchema.PlacedLeakField: CodingKey {}
extension MergedReportSchema.ClobberField: CodingKey {}
extension MergedReportSchema.SummaryField: CodingKey {}

extension NamedValue {
    /// The word as a String.
    public var word: String { name.description }
    /// The value a word names.
    public init?(word: String) {
        guard let value = Self.allCases.first(where: { $0.name.description == word }) else { return nil }
        self = value
    }
}
#endif
