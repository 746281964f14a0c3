/// What is wrong with a piece of configuration, with enough context to say
/// so in one line: where it came from, the key, the value, and why.
public struct ConfigError: Error, Equatable {
    public enum Problem: Error, Equatable {
        // Syntax of the environment file.
        case missingEquals
        case invalidKey
        case unterminatedQuote
        case textAfterQuote
        // Keys.
        case unknownKey
        case environmentOnly
        // MAPWARDEN_WINDOW.
        case windowMissingColon
        case windowBadBase
        case windowBadSize
        case windowBaseUnaligned(pageSize: UInt64)
        case windowSizeZero
        case windowBaseZero
        case windowSizeUnaligned(pageSize: UInt64)
        case windowBeyondUserSpace(userEnd: UInt64)
        /// MAPWARDEN_WINDOW is not set and no default window fits user
        /// space, which ends at userEnd (DefaultWindow.choose).
        case noDefaultWindow(userEnd: UInt64)
        // MAPWARDEN_WINDOW_<NAME> and window options.
        case windowBadName
        case windowNamedDefault
        case tooManyWindows(maximum: UInt64)
        case windowUnknownOption(Bytes)
        case windowOptionNeedsPath(Bytes)
        case windowConflictingOptions
        /// This window overlaps an earlier one: its name, key and range.
        case windowsOverlap(name: WindowName, key: Bytes, window: Window)
        // Keys that take one of a few words.
        case notOneOf(StaticString)
        // Keys that take a count from 0 to a maximum.
        case notACount(maximum: UInt64)
        // A line of the MAPWARDEN_SUPPRESSIONS file (the value is the line).
        case suppressionMissingColon
        case suppressionNotLeak
        case suppressionEmptyPattern
        // MAPWARDEN_REPORT: a % other than %p, %e or %%.
        case reportPathBadPercent
        // A path (MAPWARDEN_REPORT, _SUPPRESSIONS, _LIBUNWIND, a window's
        // file) longer than the kernel takes (PATH_MAX, less its NUL).
        case pathTooLong(maximum: UInt64)

        public static func == (a: Problem, b: Problem) -> Bool {
            switch (a, b) {
            case (.missingEquals, .missingEquals), (.invalidKey, .invalidKey),
                 (.unterminatedQuote, .unterminatedQuote), (.textAfterQuote, .textAfterQuote),
                 (.unknownKey, .unknownKey), (.environmentOnly, .environmentOnly),
                 (.windowMissingColon, .windowMissingColon), (.windowBadBase, .windowBadBase),
                 (.windowBadSize, .windowBadSize), (.windowSizeZero, .windowSizeZero),
                 (.windowBaseZero, .windowBaseZero),
                 (.suppressionMissingColon, .suppressionMissingColon),
                 (.suppressionNotLeak, .suppressionNotLeak),
                 (.suppressionEmptyPattern, .suppressionEmptyPattern),
                 (.reportPathBadPercent, .reportPathBadPercent),
                 (.windowBadName, .windowBadName), (.windowNamedDefault, .windowNamedDefault),
                 (.windowConflictingOptions, .windowConflictingOptions):
                return true
            case let (.windowUnknownOption(x), .windowUnknownOption(y)),
                 let (.windowOptionNeedsPath(x), .windowOptionNeedsPath(y)):
                return x == y
            case let (.windowsOverlap(n1, k1, w1), .windowsOverlap(n2, k2, w2)):
                return n1 == n2 && k1 == k2 && w1 == w2
            case let (.windowBaseUnaligned(x), .windowBaseUnaligned(y)),
                 let (.windowSizeUnaligned(x), .windowSizeUnaligned(y)),
                 let (.windowBeyondUserSpace(x), .windowBeyondUserSpace(y)),
                 let (.noDefaultWindow(x), .noDefaultWindow(y)),
                 let (.notACount(x), .notACount(y)),
                 let (.tooManyWindows(x), .tooManyWindows(y)),
                 let (.pathTooLong(x), .pathTooLong(y)):
                return x == y
            case let (.notOneOf(x), .notOneOf(y)):
                return x.utf8Start == y.utf8Start
            default:
                return false
            }
        }
    }

    public enum Origin: Equatable, Sendable {
        case file(line: Int)
        case environment
    }

    public var problem: Problem
    public var origin: Origin
    public var key: Bytes
    public var value: Bytes

    public init(_ problem: Problem, origin: Origin, key: Bytes, value: Bytes) {
        self.problem = problem
        self.origin = origin
        self.key = key
        self.value = value
    }

    /// Writes `mapwarden: FILE:LINE: KEY="VALUE": why` (no newline).
    public func describe(into out: inout TextBuffer, fileName: Bytes) {
        out.append("mapwarden: ")
        // Nothing was set: there is no entry to point at.
        if case .noDefaultWindow(let userEnd) = problem {
            out.append("MAPWARDEN_WINDOW is not set and no default window fits this address space (user space ends at ")
            out.append(hex: userEnd)
            out.append("): set MAPWARDEN_WINDOW=BASE:SIZE")
            return
        }
        switch origin {
        case .file(let line):
            out.append(fileName, limit: TextBuffer.quotedLimit)
            out.append(byte: 0x3A)
            out.append(decimal: line)
            out.append(": ")
        case .environment:
            out.append("environment: ")
        }
        switch problem {
        case .missingEquals, .invalidKey, .unterminatedQuote, .textAfterQuote:
            out.append("syntax error in ")
            out.appendQuoted(value)
            out.append(": ")
        case .suppressionMissingColon, .suppressionNotLeak, .suppressionEmptyPattern:
            out.append("bad suppression ")
            out.appendQuoted(value)
            out.append(": ")
        default:
            out.append(key, limit: TextBuffer.quotedLimit)
            out.append(byte: 0x3D)
            out.appendQuoted(value)
            out.append(": ")
        }
        switch problem {
        case .missingEquals:
            out.append("expected KEY=VALUE")
        case .invalidKey:
            out.append("the key ")
            out.appendQuoted(key)
            out.append(" is not a valid name (letters, digits and _, not starting with a digit)")
        case .unterminatedQuote:
            out.append("the quote is never closed")
        case .textAfterQuote:
            out.append("unexpected text after the closing quote")
        case .unknownKey:
            out.append("unknown key (known: ")
            var first = true
            for k in SettingKey.allCases {
                if !first { out.append(", ") }
                first = false
                out.append(k.name)
                if k == .window { out.append(", MAPWARDEN_WINDOW_<NAME>") }
            }
            out.append(")")
        case .environmentOnly:
            out.append("this key is read from the environment only, not from a config file")
        case .windowMissingColon:
            out.append("expected BASE:SIZE, e.g. 0x400000000000:1T")
        case .windowBadBase:
            out.append("the base is not a hex address (expected BASE:SIZE, e.g. 0x400000000000:1T)")
        case .windowBadSize:
            out.append("the size is not a byte count (expected a number with an optional K, M, G or T suffix)")
        case .windowBaseUnaligned(let page):
            out.append("the base is not page-aligned (page size ")
            out.append(unsigned: page)
            out.append(")")
        case .windowSizeZero:
            out.append("the size is zero")
        case .windowBaseZero:
            out.append("the base is zero (the kernel never maps page 0)")
        case .windowSizeUnaligned(let page):
            out.append("the size is not a multiple of the page size (")
            out.append(unsigned: page)
            out.append(")")
        case .windowBeyondUserSpace(let userEnd):
            out.append("the window does not fit in user space, which ends at ")
            out.append(hex: userEnd)
        case .noDefaultWindow:
            break // said above
        case .windowBadName:
            out.append("the window name after MAPWARDEN_WINDOW_ must be 1 to 31 letters, digits or _")
        case .windowNamedDefault:
            out.append("the default window is set with MAPWARDEN_WINDOW")
        case .tooManyWindows(let maximum):
            out.append("too many windows: at most ")
            out.append(unsigned: maximum)
            out.append(", the default one included")
        case .windowUnknownOption(let option):
            out.append("unknown window option ")
            out.appendQuoted(option)
            out.append(" (known: private, shared, shared=PATH, persist=PATH)")
        case .windowOptionNeedsPath(let option):
            out.append("the option ")
            out.appendQuoted(option)
            out.append(" needs a path (shared=PATH, persist=PATH)")
        case .windowConflictingOptions:
            out.append("more than one of private, shared, persist")
        case .windowsOverlap(let name, let otherKey, let window):
            out.append("overlaps the window \"")
            out.append(name: name)
            out.append("\" (")
            out.append(otherKey)
            out.append(", ")
            out.append(window: window)
            out.append(")")
        case .notOneOf(let choices):
            out.append("expected one of: ")
            out.append(choices)
        case .notACount(let maximum):
            out.append("expected a whole number from 0 to ")
            out.append(unsigned: maximum)
        case .suppressionMissingColon:
            out.append("expected leak:PATTERN")
        case .suppressionNotLeak:
            out.append("only leak: suppressions are supported (expected leak:PATTERN)")
        case .suppressionEmptyPattern:
            out.append("the pattern is empty (expected leak:PATTERN)")
        case .reportPathBadPercent:
            out.append("unknown % sequence; use %p (pid), %e (executable name) or %%")
        case .pathTooLong(let maximum):
            out.append("the path is longer than ")
            out.append(unsigned: maximum)
            out.append(" bytes (PATH_MAX), more than the kernel takes")
        }
    }
}
