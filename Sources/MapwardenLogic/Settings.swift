/// What to do when the window cannot be reserved.
public enum ReserveFailurePolicy: Equatable {
    /// Print why and exit before `main` with `ExitStatus.reservationFailed`.
    case abort
    /// Print why and run the program without a window.
    case warn
}

/// How much mapwarden prints.
public enum LogLevel: Int, Comparable {
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

/// Every key mapwarden understands.
public enum SettingKey: CaseIterable {
    case config
    case window
    case onReserveFailure
    case log

    public var name: StaticString {
        switch self {
        case .config: return "MAPWARDEN_CONFIG"
        case .window: return "MAPWARDEN_WINDOW"
        case .onReserveFailure: return "MAPWARDEN_ON_RESERVE_FAILURE"
        case .log: return "MAPWARDEN_LOG"
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
    public var window: Window
    public var onReserveFailure: ReserveFailurePolicy = .abort
    public var log: LogLevel = .info

    public let space: AddressSpace

    public init(space: AddressSpace) {
        self.space = space
        self.window = space.defaultWindow
    }

    /// Applies one assignment, or explains why it is wrong.
    public mutating func apply(key: Bytes, value: Bytes, origin: ConfigError.Origin) throws(ConfigError) {
        guard let k = SettingKey.named(key) else {
            throw ConfigError(.unknownKey, origin: origin, key: key, value: value)
        }
        switch k {
        case .config:
            if origin != .environment {
                throw ConfigError(.environmentOnly, origin: origin, key: key, value: value)
            }
        case .window:
            do {
                window = try Settings.parseWindow(value, space: space)
            } catch {
                throw ConfigError(error, origin: origin, key: key, value: value)
            }
        case .onReserveFailure:
            if value.equals("abort") {
                onReserveFailure = .abort
            } else if value.equals("warn") {
                onReserveFailure = .warn
            } else {
                throw ConfigError(.notOneOf("abort, warn"), origin: origin, key: key, value: value)
            }
        case .log:
            if value.equals("quiet") {
                log = .quiet
            } else if value.equals("info") {
                log = .info
            } else if value.equals("debug") {
                log = .debug
            } else {
                throw ConfigError(.notOneOf("quiet, info, debug"), origin: origin, key: key, value: value)
            }
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
