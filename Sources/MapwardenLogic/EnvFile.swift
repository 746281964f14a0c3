/// One `KEY=VALUE` assignment read from an environment file.
public struct EnvEntry: Equatable {
    public var key: Bytes
    public var value: Bytes
    public var line: Int
}

/// Reads an environment file: `KEY=VALUE` lines, `#` comments, blank
/// lines, an optional `export ` prefix, and values in single or double
/// quotes (taken literally; no escapes). An unquoted value ends at ` #`.
public struct EnvFileReader {
    let text: Bytes
    var position = 0
    var lineNumber = 0

    public init(_ text: Bytes) { self.text = text }

    /// The next assignment, nil at the end, or a syntax error naming the line.
    public mutating func next() throws(ConfigError) -> EnvEntry? {
        while position < text.count {
            let lineEnd = text.firstIndex(of: 0x0A, from: position) ?? text.count
            let line = text.slice(position, lineEnd).trimmingSpaces()
            position = lineEnd + 1
            lineNumber += 1
            if line.isEmpty || line[0] == 0x23 { continue } // '#'
            return try parse(line)
        }
        return nil
    }

    func parse(_ full: Bytes) throws(ConfigError) -> EnvEntry {
        var line = full
        if line.hasPrefix("export") && line.count > 6 && Bytes.isSpace(line[6]) {
            line = line.dropFirst(7).trimmingSpaces()
        }
        guard let eq = line.firstIndex(of: 0x3D) else { // '='
            throw ConfigError(.missingEquals, origin: .file(line: lineNumber), key: .empty, value: full)
        }
        let key = line.slice(0, eq).trimmingSpaces()
        guard EnvFileReader.isValidKey(key) else {
            throw ConfigError(.invalidKey, origin: .file(line: lineNumber), key: key, value: full)
        }
        let afterEquals = line.dropFirst(eq + 1)
        let rest = afterEquals.trimmingSpaces()
        let value: Bytes
        if !rest.isEmpty && (rest[0] == 0x22 || rest[0] == 0x27) { // '"' or '\''
            guard let close = rest.firstIndex(of: rest[0], from: 1) else {
                throw ConfigError(.unterminatedQuote, origin: .file(line: lineNumber), key: key, value: rest)
            }
            let after = rest.dropFirst(close + 1).trimmingSpaces()
            if !after.isEmpty && after[0] != 0x23 {
                throw ConfigError(.textAfterQuote, origin: .file(line: lineNumber), key: key, value: rest)
            }
            value = rest.slice(1, close)
        } else {
            // An unquoted value ends at a '#' that follows white space
            // (`A= # note` is empty; `A=#x` is "#x").
            var end = afterEquals.count
            var i = 1
            while i < afterEquals.count {
                if afterEquals[i] == 0x23 && Bytes.isSpace(afterEquals[i - 1]) { end = i; break }
                i += 1
            }
            value = afterEquals.slice(0, end).trimmingSpaces()
        }
        return EnvEntry(key: key, value: value, line: lineNumber)
    }

    public static func isValidKey(_ key: Bytes) -> Bool {
        if key.isEmpty { return false }
        for i in 0..<key.count {
            let c = key[i]
            let letter = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A
            let digit = c >= 0x30 && c <= 0x39
            if !(letter || c == 0x5F || (digit && i > 0)) { return false }
        }
        return true
    }
}
