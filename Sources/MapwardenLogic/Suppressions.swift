/// One `leak:PATTERN` line of a suppressions file.
public struct Suppression: Equatable {
    /// The 1-based line number in the file.
    public var line: Int
    /// The pattern after `leak:`, without surrounding spaces.
    public var pattern: Bytes
    /// The whole line without surrounding spaces (`leak:PATTERN`), as the
    /// report shows it.
    public var rule: Bytes
}

/// Reads a suppressions file in LeakSanitizer syntax: `leak:PATTERN` lines,
/// `#` comments and blank lines; spaces around a line and around the pattern
/// are ignored, and so is a `\r` before the newline. A `#` after a space or
/// tab starts a comment that runs to the end of the line
/// (`leak:foo   # why`), so a pattern never holds ` #`; a `#` with no space
/// before it is part of the pattern. Any other line is an error naming its
/// line: one without a colon, another LSan type (`called_from_lib:`,
/// `malloc:`...), or `leak:` with no pattern.
public struct SuppressionReader {
    let text: Bytes
    var position = 0
    var lineNumber = 0

    public init(_ text: Bytes) { self.text = text }

    /// The next suppression, nil at the end, or the problem with the next
    /// bad line (as `.file(line:)` with the line as the value). Reading may
    /// go on after an error.
    public mutating func next() throws(ConfigError) -> Suppression? {
        while position < text.count {
            let line = nextLine()
            switch SuppressionReader.classify(line) {
            case .blank:
                continue
            case .rule(let pattern):
                return Suppression(line: lineNumber, pattern: pattern, rule: line)
            case .bad(let problem):
                throw ConfigError(problem, origin: .file(line: lineNumber), key: .empty, value: line)
            }
        }
        return nil
    }

    /// The next suppression, skipping bad lines; nil at the end.
    mutating func nextSkippingErrors() -> Suppression? {
        while position < text.count {
            let line = nextLine()
            if case .rule(let pattern) = SuppressionReader.classify(line) {
                return Suppression(line: lineNumber, pattern: pattern, rule: line)
            }
        }
        return nil
    }

    /// The next line, trimmed, without its trailing comment.
    mutating func nextLine() -> Bytes {
        let lineEnd = text.firstIndex(of: 0x0A, from: position) ?? text.count
        let line = SuppressionReader.withoutTrailingComment(text.slice(position, lineEnd).trimmingSpaces())
        position = lineEnd + 1
        lineNumber += 1
        return line
    }

    /// A trimmed line up to a `#` that follows a space or tab, trimmed
    /// again. (A `#` that starts the line is a comment line: left whole.)
    static func withoutTrailingComment(_ line: Bytes) -> Bytes {
        var i = 1
        while i < line.count {
            if line[i] == 0x23 && (line[i - 1] == 0x20 || line[i - 1] == 0x09) { // '#' after a space or tab
                return line.slice(0, i).trimmingSpaces()
            }
            i += 1
        }
        return line
    }

    enum Line {
        case blank
        case rule(pattern: Bytes)
        case bad(ConfigError.Problem)
    }

    /// What a trimmed line is.
    static func classify(_ line: Bytes) -> Line {
        if line.isEmpty || line[0] == 0x23 { return .blank } // '#'
        guard let colon = line.firstIndex(of: 0x3A) else { return .bad(.suppressionMissingColon) } // ':'
        guard colon == 4 && line.hasPrefix("leak") else { return .bad(.suppressionNotLeak) }
        let pattern = line.dropFirst(colon + 1).trimmingSpaces()
        if pattern.isEmpty { return .bad(.suppressionEmptyPattern) }
        return .rule(pattern: pattern)
    }
}

/// The suppressions of one file, over the file's bytes (not copied: they
/// must outlive the list). Nothing is allocated; each look-up walks the
/// text, so a call costs O(file size) plus the pattern matching.
public struct SuppressionList {
    public let text: Bytes
    /// How many suppressions the file has.
    public let count: Int

    /// A list with no suppressions.
    public static var none: SuppressionList { SuppressionList(valid: .empty, count: 0) }

    /// Checks the whole file; throws the first bad line.
    public init(_ text: Bytes) throws(ConfigError) {
        var reader = SuppressionReader(text)
        var n = 0
        while try reader.next() != nil { n += 1 }
        self.init(valid: text, count: n)
    }

    init(valid text: Bytes, count: Int) {
        self.text = text
        self.count = count
    }

    /// The suppression with this index (0-based, in file order).
    public func suppression(at index: Int) -> Suppression {
        precondition(0 <= index && index < count)
        var reader = SuppressionReader(text)
        var i = 0
        while let s = reader.nextSkippingErrors() {
            if i == index { return s }
            i += 1
        }
        // Only if the text changed since init (a file rewritten under a
        // shared mapping): nothing to name.
        return Suppression(line: 0, pattern: .empty, rule: .empty)
    }

    /// The pattern (after `leak:`) of the suppression with this index.
    public func pattern(at index: Int) -> Bytes { suppression(at: index).pattern }

    /// The whole rule (`leak:PATTERN`) of the suppression with this index.
    public func rule(at index: Int) -> Bytes { suppression(at: index).rule }

    /// The index of the first suppression whose pattern matches the
    /// function name or the module path of a frame; nil if none does. An
    /// empty name or path matches nothing.
    public func firstMatch(function: Bytes, module: Bytes) -> Int? {
        if count == 0 || (function.isEmpty && module.isEmpty) { return nil }
        var reader = SuppressionReader(text)
        var i = 0
        while i < count, let s = reader.nextSkippingErrors() {
            if SuppressionList.matches(pattern: s.pattern, function)
                || SuppressionList.matches(pattern: s.pattern, module) {
                return i
            }
            i += 1
        }
        return nil
    }

    /// Whether an LSan suppression pattern matches a text.
    ///
    /// As LSan's TemplateMatch documents it: `*` matches any run of bytes
    /// (including none); a leading `^` anchors the pattern at the start of
    /// the text and a trailing `$` at its end; otherwise the pattern may
    /// match anywhere (a substring). An empty text matches nothing.
    ///
    /// Where LLVM's implementation departs from that description this one
    /// follows the description: `foo$` matches `foofoo` (LLVM only tries the
    /// first `foo`), and a `^` or `$` elsewhere than first or last is an
    /// ordinary byte, so `$s4main` matches Swift mangled names and
    /// `foo$bar` matches `x::foo$bar` (LLVM ends the pattern at any `$`).
    ///
    /// Iterative, no allocation: the pieces between stars are found left to
    /// right, each at its first place after the previous one (the first
    /// place is always the best for what follows), and a piece anchored at
    /// the end is checked there.
    public static func matches(pattern: Bytes, _ text: Bytes) -> Bool {
        if text.isEmpty { return false }
        var lo = 0, hi = pattern.count
        let anchoredStart = hi > 0 && pattern[0] == 0x5E // '^'
        if anchoredStart { lo = 1 }
        let anchoredEnd = hi > lo && pattern[hi - 1] == 0x24 // '$'
        if anchoredEnd { hi -= 1 }

        guard let firstStar = index(of: 0x2A, in: pattern, lo, hi) else { // '*'
            let piece = pattern.slice(lo, hi)
            switch (anchoredStart, anchoredEnd) {
            case (true, true): return text == piece
            case (true, false): return hasPiece(piece, in: text, at: 0)
            case (false, true): return piece.count <= text.count && hasPiece(piece, in: text, at: text.count - piece.count)
            case (false, false): return find(piece, in: text, from: 0, to: text.count) != nil
            }
        }

        // The piece before the first star.
        var position: Int
        let first = pattern.slice(lo, firstStar)
        if anchoredStart {
            guard hasPiece(first, in: text, at: 0) else { return false }
            position = first.count
        } else {
            guard let at = find(first, in: text, from: 0, to: text.count) else { return false }
            position = at + first.count
        }

        // The piece after the last star, when anchored at the end.
        var limit = text.count
        var middleEnd = hi
        if anchoredEnd {
            var lastStar = hi - 1
            while pattern[lastStar] != 0x2A { lastStar -= 1 }
            let last = pattern.slice(lastStar + 1, hi)
            guard last.count <= text.count - position,
                  hasPiece(last, in: text, at: text.count - last.count) else { return false }
            limit = text.count - last.count
            middleEnd = lastStar
        }

        // The pieces in between (and the last one when not anchored).
        var start = firstStar + 1
        while start <= middleEnd {
            let end = index(of: 0x2A, in: pattern, start, middleEnd) ?? middleEnd
            let piece = pattern.slice(start, end)
            if !piece.isEmpty {
                guard let at = find(piece, in: text, from: position, to: limit) else { return false }
                position = at + piece.count
            }
            start = end + 1
        }
        return true
    }

    /// The first index of byte in b[from..<to].
    static func index(of byte: UInt8, in b: Bytes, _ from: Int, _ to: Int) -> Int? {
        var i = from
        while i < to {
            if b[i] == byte { return i }
            i += 1
        }
        return nil
    }

    /// Whether text holds piece at offset at.
    static func hasPiece(_ piece: Bytes, in text: Bytes, at: Int) -> Bool {
        if at < 0 || piece.count > text.count - at { return false }
        var i = 0
        while i < piece.count {
            if text[at + i] != piece[i] { return false }
            i += 1
        }
        return true
    }

    /// The first offset of piece lying wholly within text[from..<to].
    static func find(_ piece: Bytes, in text: Bytes, from: Int, to: Int) -> Int? {
        if piece.count > to - from { return nil }
        var at = from
        let lastStart = to - piece.count
        while at <= lastStart {
            if hasPiece(piece, in: text, at: at) { return at }
            at += 1
        }
        return nil
    }
}
