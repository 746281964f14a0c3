import Testing
@testable import MapwardenLogic

/// One result of EnvFileReader.next(), copied out of the borrowed text.
enum Read: Equatable, CustomStringConvertible {
    case entry(String, String, line: Int)
    case error(SeenError)

    var description: String {
        switch self {
        case let .entry(k, v, line): return "\(line): \(k)=[\(v)]"
        case let .error(e): return "error \(e)"
        }
    }
}

/// Reads the whole file, continuing after syntax errors as the engine does.
func readEnv(_ text: String) -> [Read] {
    withBytes(text) { bytes in
        var reader = EnvFileReader(bytes)
        var out: [Read] = []
        for _ in 0..<1000 {
            do throws(ConfigError) {
                guard let e = try reader.next() else { return out }
                out.append(.entry(string(e.key), string(e.value), line: e.line))
            } catch {
                out.append(.error(SeenError(error)))
            }
        }
        Issue.record("reader did not finish")
        return out
    }
}

@Suite struct EnvFileTests {
    @Test func plainAssignment() {
        #expect(readEnv("MAPWARDEN_WINDOW=0x400000000000:1T\n")
                == [.entry("MAPWARDEN_WINDOW", "0x400000000000:1T", line: 1)])
    }

    @Test func emptyFileAndOnlyCommentsGiveNothing() {
        #expect(readEnv("") == [])
        #expect(readEnv("\n\n") == [])
        #expect(readEnv("# just a comment\n   # indented comment\n\t\n") == [])
    }

    @Test func lastLineWithoutNewline() {
        #expect(readEnv("A=1\nB=2") == [.entry("A", "1", line: 1), .entry("B", "2", line: 2)])
    }

    @Test func lineNumbersCountCommentsAndBlankLines() {
        let text = """
        # mapwarden config
        
        A=1
           # indented comment

        B=2
        #C=3
        D=4

        """
        #expect(readEnv(text) == [
            .entry("A", "1", line: 3),
            .entry("B", "2", line: 6),
            .entry("D", "4", line: 8),
        ])
    }

    @Test func crlfLineEndings() {
        #expect(readEnv("A=1\r\n\r\n# c\r\nB = two\r\n")
                == [.entry("A", "1", line: 1), .entry("B", "two", line: 4)])
    }

    @Test func exportPrefix() {
        #expect(readEnv("export A=1\nexport\tB=2\n  export   C = 3  \n") == [
            .entry("A", "1", line: 1), .entry("B", "2", line: 2), .entry("C", "3", line: 3),
        ])
        // "export" not followed by a space is part of the key.
        #expect(readEnv("exportX=1\nexport=2\n") == [
            .entry("exportX", "1", line: 1), .entry("export", "2", line: 2),
        ])
    }

    @Test func spacesAroundEquals() {
        #expect(readEnv("A = 1\nB\t=\t2\n  C=3  \nD= four five \n") == [
            .entry("A", "1", line: 1), .entry("B", "2", line: 2),
            .entry("C", "3", line: 3), .entry("D", "four five", line: 4),
        ])
    }

    @Test func emptyValues() {
        #expect(readEnv("A=\nB=''\nC=\"\"\nD=   \n") == [
            .entry("A", "", line: 1), .entry("B", "", line: 2),
            .entry("C", "", line: 3), .entry("D", "", line: 4),
        ])
    }

    @Test func singleQuotesAreLiteral() {
        #expect(readEnv(#"A='x # not a comment'"#) == [.entry("A", "x # not a comment", line: 1)])
        #expect(readEnv(#"A='$HOME \n "double" inside'"#) == [.entry("A", #"$HOME \n "double" inside"#, line: 1)])
        #expect(readEnv("A='  padded  '") == [.entry("A", "  padded  ", line: 1)])
    }

    @Test func doubleQuotesAreLiteral() {
        #expect(readEnv(#"A="x # y""#) == [.entry("A", "x # y", line: 1)])
        #expect(readEnv(#"A="it's \t ${X}""#) == [.entry("A", #"it's \t ${X}"#, line: 1)])
        #expect(readEnv(#"export A = "0x400000000000:1T"   "#) == [.entry("A", "0x400000000000:1T", line: 1)])
    }

    @Test func commentAfterClosingQuote() {
        #expect(readEnv("A='v' # comment\nB=\"w\"#c\n") == [
            .entry("A", "v", line: 1), .entry("B", "w", line: 2),
        ])
    }

    @Test func inlineCommentOnUnquotedValue() {
        #expect(readEnv("A=value # comment\nB=value\t# tab comment\n") == [
            .entry("A", "value", line: 1), .entry("B", "value", line: 2),
        ])
        // A '#' not preceded by a space is part of the value.
        #expect(readEnv("A=val#ue\nB=abc#\n") == [
            .entry("A", "val#ue", line: 1), .entry("B", "abc#", line: 2),
        ])
        // Only the first " #" counts.
        #expect(readEnv("A=x # y # z") == [.entry("A", "x", line: 1)])
    }

    /// "An unquoted value ends at ` #`": a line whose value is only a comment
    /// has an empty value (as in sh and dotenv).
    @Test func commentRightAfterEquals() {
        #expect(readEnv("A= # nothing here\n") == [.entry("A", "", line: 1)])
        #expect(readEnv("A =\t# nothing here\n") == [.entry("A", "", line: 1)])
    }

    @Test func equalsInsideValue() {
        #expect(readEnv("A=b=c\n") == [.entry("A", "b=c", line: 1)])
    }

    @Test func validAndInvalidKeys() {
        withBytes("_A1") { #expect(EnvFileReader.isValidKey($0)) }
        withBytes("abc_DEF_9") { #expect(EnvFileReader.isValidKey($0)) }
        withBytes("_") { #expect(EnvFileReader.isValidKey($0)) }
        for bad in ["", "1A", "A-B", "A.B", "A B", "Ä", "A$", "9"] {
            withBytes(bad) { #expect(!EnvFileReader.isValidKey($0), "\(bad)") }
        }
    }

    // MARK: Syntax errors

    @Test func missingEquals() {
        #expect(readEnv("A=1\n\n# c\nnot an assignment\nB=2\n") == [
            .entry("A", "1", line: 1),
            .error(SeenError(.missingEquals, .file(line: 4), key: "", value: "not an assignment")),
            .entry("B", "2", line: 5),
        ])
        #expect(readEnv("export FOO") == [
            .error(SeenError(.missingEquals, .file(line: 1), key: "", value: "export FOO")),
        ])
    }

    @Test func invalidKey() {
        #expect(readEnv("# c\n1A=x\n") == [
            .error(SeenError(.invalidKey, .file(line: 2), key: "1A", value: "1A=x")),
        ])
        #expect(readEnv("A-B = x") == [
            .error(SeenError(.invalidKey, .file(line: 1), key: "A-B", value: "A-B = x")),
        ])
        #expect(readEnv("=x") == [
            .error(SeenError(.invalidKey, .file(line: 1), key: "", value: "=x")),
        ])
        #expect(readEnv("MY KEY=x") == [
            .error(SeenError(.invalidKey, .file(line: 1), key: "MY KEY", value: "MY KEY=x")),
        ])
    }

    @Test func unterminatedQuote() {
        #expect(readEnv("A=1\nB='abc\nC=3\n") == [
            .entry("A", "1", line: 1),
            .error(SeenError(.unterminatedQuote, .file(line: 2), key: "B", value: "'abc")),
            .entry("C", "3", line: 3),
        ])
        // The other kind of quote does not close it.
        #expect(readEnv("A=\"abc'") == [
            .error(SeenError(.unterminatedQuote, .file(line: 1), key: "A", value: "\"abc'")),
        ])
        #expect(readEnv("A='") == [
            .error(SeenError(.unterminatedQuote, .file(line: 1), key: "A", value: "'")),
        ])
    }

    @Test func textAfterClosingQuote() {
        #expect(readEnv("\n\nA='abc' def\n") == [
            .error(SeenError(.textAfterQuote, .file(line: 3), key: "A", value: "'abc' def")),
        ])
        #expect(readEnv("A=\"a\"b") == [
            .error(SeenError(.textAfterQuote, .file(line: 1), key: "A", value: "\"a\"b")),
        ])
    }

    @Test func everyErrorIsReportedWithItsOwnLine() {
        let text = """
        # header
        bad line
        1X=1
        OK=yes
        Q='open

        T="x" y
        """
        #expect(readEnv(text) == [
            .error(SeenError(.missingEquals, .file(line: 2), key: "", value: "bad line")),
            .error(SeenError(.invalidKey, .file(line: 3), key: "1X", value: "1X=1")),
            .entry("OK", "yes", line: 4),
            .error(SeenError(.unterminatedQuote, .file(line: 5), key: "Q", value: "'open")),
            .error(SeenError(.textAfterQuote, .file(line: 7), key: "T", value: "\"x\" y")),
        ])
    }
}
