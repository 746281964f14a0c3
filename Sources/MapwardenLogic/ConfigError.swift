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
                 (.reportPathBadPercent, .reportPathBadPercent):
                return true
            case let (.windowBaseUnaligned(x), .windowBaseUnaligned(y)),
                 let (.windowSizeUnaligned(x), .windowSizeUnaligned(y)),
                 let (.windowBeyondUserSpace(x), .windowBeyondUserSpace(y)),
                 let (.notACount(x), .notACount(y)):
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
        switch origin {
        case .file(let line):
            out.append(fileName)
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
            out.append(key)
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
        }
    }
}
