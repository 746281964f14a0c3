/// The words of the settings that take one of a few (MAPWARDEN_CLOBBER=deny),
/// defined once: Settings.apply reads them, the report writes them
/// (`"clobber": "deny"`), and the `mapwarden` command's options take them.

/// A setting's value that is one of a few words.
public protocol SettingWord: NamedValue {
    /// The words, as a problem lists them: `allow, report, deny` (the
    /// names in case order, joined by ", "; a unit test checks it).
    static var choices: StaticString { get }
}

extension ReserveFailurePolicy: SettingWord {
    public var name: StaticString {
        switch self {
        case .abort: "abort"
        case .warn: "warn"
        }
    }
    public static let choices: StaticString = "abort, warn"
}

extension LogLevel: SettingWord {
    public var name: StaticString {
        switch self {
        case .quiet: "quiet"
        case .info: "info"
        case .debug: "debug"
        }
    }
    public static let choices: StaticString = "quiet, info, debug"
}

extension TrackScope: SettingWord {
    public var name: StaticString {
        switch self {
        case .window: "window"
        case .all: "all"
        }
    }
    public static let choices: StaticString = "window, all"
}

extension ReportFormat: SettingWord {
    public var name: StaticString {
        switch self {
        case .text: "text"
        case .json: "json"
        }
    }
    public static let choices: StaticString = "text, json"
}

extension ClobberPolicy: SettingWord {
    public var name: StaticString {
        switch self {
        case .allow: "allow"
        case .report: "report"
        case .deny: "deny"
        }
    }
    public static let choices: StaticString = "allow, report, deny"
}

extension FaultsPolicy: SettingWord {
    public var name: StaticString {
        switch self {
        case .explain: "explain"
        case .off: "off"
        }
    }
    public static let choices: StaticString = "explain, off"
}

extension RawSyscallsPolicy: SettingWord {
    public var name: StaticString {
        switch self {
        case .off: "off"
        case .trap: "trap"
        }
    }
    public static let choices: StaticString = "off, trap"
}
