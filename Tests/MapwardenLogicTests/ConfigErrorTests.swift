import Testing
@testable import MapwardenLogic

/// The one-line message for an error, as the engine prints it.
func describe(_ problem: ConfigError.Problem, _ origin: ConfigError.Origin,
              key: String, value: String, file: String = "/etc/mapwarden.env") -> String {
    withBytes(key, value) { k, v in
        withBytes(file) { f in
            render { ConfigError(problem, origin: origin, key: k, value: v).describe(into: &$0, fileName: f) }
        }
    }
}

/// Reads a config file and applies it; returns the message for every problem.
func messages(forFile text: String, named file: String = "app.env") -> [String] {
    var s = Settings(space: .x86_64)
    var out: [String] = []
    withBytes(text, file) { bytes, name in
        var reader = EnvFileReader(bytes)
        for _ in 0..<100 {
            do throws(ConfigError) {
                guard let e = try reader.next() else { return }
                do throws(ConfigError) {
                    try s.apply(key: e.key, value: e.value, origin: .file(line: e.line))
                } catch {
                    out.append(render { error.describe(into: &$0, fileName: name) })
                }
            } catch {
                out.append(render { error.describe(into: &$0, fileName: name) })
            }
        }
    }
    return out
}

@Suite struct ConfigErrorTests {
    @Test func windowProblemFromFile() {
        #expect(describe(.windowBaseUnaligned(pageSize: 4096), .file(line: 3),
                         key: "MAPWARDEN_WINDOW", value: "0x400000000001:1T")
                == #"mapwarden: /etc/mapwarden.env:3: MAPWARDEN_WINDOW="0x400000000001:1T": the base is not page-aligned (page size 4096)"#)
    }

    @Test func windowProblemFromEnvironment() {
        #expect(describe(.windowBeyondUserSpace(userEnd: 0x7FFF_FFFF_F000), .environment,
                         key: "MAPWARDEN_WINDOW", value: "0x800000000000:1T")
                == #"mapwarden: environment: MAPWARDEN_WINDOW="0x800000000000:1T": the window does not fit in user space, which ends at 0x7ffffffff000"#)
        #expect(describe(.windowSizeZero, .environment, key: "MAPWARDEN_WINDOW", value: "0x400000000000:0")
                == #"mapwarden: environment: MAPWARDEN_WINDOW="0x400000000000:0": the size is zero"#)
        #expect(describe(.windowSizeUnaligned(pageSize: 4096), .environment, key: "MAPWARDEN_WINDOW", value: "0x400000000000:100")
                == #"mapwarden: environment: MAPWARDEN_WINDOW="0x400000000000:100": the size is not a multiple of the page size (4096)"#)
        #expect(describe(.windowBaseZero, .environment, key: "MAPWARDEN_WINDOW", value: "0:1T")
                == #"mapwarden: environment: MAPWARDEN_WINDOW="0:1T": the base is zero (the kernel never maps page 0)"#)
        #expect(describe(.windowMissingColon, .environment, key: "MAPWARDEN_WINDOW", value: "1T")
                == #"mapwarden: environment: MAPWARDEN_WINDOW="1T": expected BASE:SIZE, e.g. 0x400000000000:1T"#)
    }

    @Test func notOneOf() {
        #expect(describe(.notOneOf("quiet, info, debug"), .environment, key: "MAPWARDEN_LOG", value: "loud")
                == #"mapwarden: environment: MAPWARDEN_LOG="loud": expected one of: quiet, info, debug"#)
    }

    @Test func countsNameTheirRange() {
        #expect(describe(.notACount(maximum: 255), .environment, key: "MAPWARDEN_LEAK_EXITCODE", value: "300")
                == #"mapwarden: environment: MAPWARDEN_LEAK_EXITCODE="300": expected a whole number from 0 to 255"#)
    }

    @Test func unknownKeyListsTheKnownOnes() {
        #expect(describe(.unknownKey, .file(line: 12), key: "MAPWARDEN_WINDOWS", value: "x", file: "cfg")
                == #"mapwarden: cfg:12: MAPWARDEN_WINDOWS="x": unknown key (known: MAPWARDEN_CONFIG, MAPWARDEN_WINDOW, MAPWARDEN_WINDOW_<NAME>, MAPWARDEN_ON_RESERVE_FAILURE, MAPWARDEN_LOG, MAPWARDEN_TRACK, MAPWARDEN_BACKTRACE_DEPTH, MAPWARDEN_REPORT, MAPWARDEN_REPORT_FORMAT, MAPWARDEN_LEAK_EXITCODE, MAPWARDEN_SUPPRESSIONS, MAPWARDEN_CLOBBER, MAPWARDEN_CHILDREN, MAPWARDEN_LIBUNWIND, MAPWARDEN_SNAPSHOT_SIGNAL, MAPWARDEN_SYMBOLIZER, MAPWARDEN_FAULTS, MAPWARDEN_RAW_SYSCALLS)"#)
    }

    @Test func syntaxErrorsQuoteTheLine() {
        #expect(describe(.missingEquals, .file(line: 2), key: "", value: "oops", file: "f.env")
                == #"mapwarden: f.env:2: syntax error in "oops": expected KEY=VALUE"#)
        #expect(describe(.invalidKey, .file(line: 1), key: "1A", value: "1A=x", file: "f.env")
                == #"mapwarden: f.env:1: syntax error in "1A=x": the key "1A" is not a valid name (letters, digits and _, not starting with a digit)"#)
        #expect(describe(.unterminatedQuote, .file(line: 40), key: "A", value: "'abc", file: "f.env")
                == #"mapwarden: f.env:40: syntax error in "'abc": the quote is never closed"#)
        #expect(describe(.textAfterQuote, .file(line: 5), key: "A", value: "\"a\" b", file: "f.env")
                == #"mapwarden: f.env:5: syntax error in "\"a\" b": unexpected text after the closing quote"#)
    }

    @Test func valuesAreEscaped() {
        #expect(describe(.windowBadBase, .environment, key: "MAPWARDEN_WINDOW", value: "a\"b\\c\n\u{1b}:1T")
                == #"mapwarden: environment: MAPWARDEN_WINDOW="a\"b\\c\n\x1b:1T": the base is not a hex address (expected BASE:SIZE, e.g. 0x400000000000:1T)"#)
    }

    @Test func environmentOnly() {
        #expect(describe(.environmentOnly, .file(line: 1), key: "MAPWARDEN_CONFIG", value: "other.env", file: "a.env")
                == #"mapwarden: a.env:1: MAPWARDEN_CONFIG="other.env": this key is read from the environment only, not from a config file"#)
    }

    /// From file text to printed lines: every message names mapwarden, the
    /// file and line, the key, the quoted value and the reason.
    @Test func endToEndFromAFile() {
        let text = """
        # a config with problems
        MAPWARDEN_WINDOW=0x400000000000:1Q
        MAPWARDEN_LOG = loud   # comment
        oops

        MAPWARDEN_CONFIG=/x
        MAPWARDEN_ON_RESERVE_FAILURE='warn'
        MAPWARDEN_WINDOW="0x400000000000:0"
        """
        #expect(messages(forFile: text) == [
            #"mapwarden: app.env:2: MAPWARDEN_WINDOW="0x400000000000:1Q": the size is not a byte count (expected a number with an optional K, M, G or T suffix)"#,
            #"mapwarden: app.env:3: MAPWARDEN_LOG="loud": expected one of: quiet, info, debug"#,
            #"mapwarden: app.env:4: syntax error in "oops": expected KEY=VALUE"#,
            #"mapwarden: app.env:6: MAPWARDEN_CONFIG="/x": this key is read from the environment only, not from a config file"#,
            #"mapwarden: app.env:8: MAPWARDEN_WINDOW="0x400000000000:0": the size is zero"#,
        ])
        #expect(messages(forFile: "MAPWARDEN_WINDOW=0x400000000000:1T\n") == [])
    }
}

/// Applies a config file and then environment entries, then validates:
/// every message, as the engine prints them.
func messages(forFile text: String, thenEnvironment env: [(String, String)], named file: String = "app.env") -> [String] {
    var s = Settings(space: .x86_64)
    let keep = KeptBytes()
    var out: [String] = []
    let name = keep(file)
    var reader = EnvFileReader(keep(text))
    for _ in 0..<100 {
        do throws(ConfigError) {
            guard let e = try reader.next() else { break }
            do throws(ConfigError) {
                try s.apply(key: e.key, value: e.value, origin: .file(line: e.line))
            } catch {
                out.append(render { error.describe(into: &$0, fileName: name) })
            }
        } catch {
            out.append(render { error.describe(into: &$0, fileName: name) })
        }
    }
    for (k, v) in env {
        do throws(ConfigError) {
            try s.apply(key: keep(k), value: keep(v), origin: .environment)
        } catch {
            out.append(render { error.describe(into: &$0, fileName: name) })
        }
    }
    do throws(ConfigError) {
        try s.validate()
    } catch {
        out.append(render { error.describe(into: &$0, fileName: name) })
    }
    return out
}

@Suite struct NamedWindowConfigErrorTests {
    @Test func badName() {
        #expect(describe(.windowBadName, .environment, key: "MAPWARDEN_WINDOW_A-B", value: "0x500000000000:1G")
                == #"mapwarden: environment: MAPWARDEN_WINDOW_A-B="0x500000000000:1G": the window name after MAPWARDEN_WINDOW_ must be 1 to 31 letters, digits or _"#)
    }

    @Test func namedDefault() {
        #expect(describe(.windowNamedDefault, .file(line: 2), key: "MAPWARDEN_WINDOW_DEFAULT", value: "0x500000000000:1G", file: "w.env")
                == #"mapwarden: w.env:2: MAPWARDEN_WINDOW_DEFAULT="0x500000000000:1G": the default window is set with MAPWARDEN_WINDOW"#)
    }

    @Test func tooMany() {
        #expect(describe(.tooManyWindows(maximum: 8), .environment, key: "MAPWARDEN_WINDOW_W8", value: "0x600000000000:1G")
                == #"mapwarden: environment: MAPWARDEN_WINDOW_W8="0x600000000000:1G": too many windows: at most 8, the default one included"#)
    }

    @Test func unknownOptionListsTheKnownOnes() {
        #expect(describe(.windowUnknownOption(Bytes("tmpfs")), .environment, key: "MAPWARDEN_WINDOW_IPC",
                         value: "0x500000000000:1G:tmpfs")
                == #"mapwarden: environment: MAPWARDEN_WINDOW_IPC="0x500000000000:1G:tmpfs": unknown window option "tmpfs" (known: private, shared, shared=PATH, persist=PATH)"#)
    }

    @Test func optionNeedsPath() {
        #expect(describe(.windowOptionNeedsPath(Bytes("persist")), .environment, key: "MAPWARDEN_WINDOW_HEAP",
                         value: "0x500000000000:1G:persist")
                == #"mapwarden: environment: MAPWARDEN_WINDOW_HEAP="0x500000000000:1G:persist": the option "persist" needs a path (shared=PATH, persist=PATH)"#)
        #expect(describe(.windowOptionNeedsPath(Bytes("shared=")), .environment, key: "MAPWARDEN_WINDOW",
                         value: "0x400000000000:1T:shared=")
                == #"mapwarden: environment: MAPWARDEN_WINDOW="0x400000000000:1T:shared=": the option "shared=" needs a path (shared=PATH, persist=PATH)"#)
    }

    @Test func conflictingOptions() {
        #expect(describe(.windowConflictingOptions, .environment, key: "MAPWARDEN_WINDOW_IPC",
                         value: "0x500000000000:1G:shared,persist=/x")
                == #"mapwarden: environment: MAPWARDEN_WINDOW_IPC="0x500000000000:1G:shared,persist=/x": more than one of private, shared, persist"#)
    }

    /// The later window's entry, then the earlier one's name, key and range.
    /// (The spec's example ends "0x410000000000)"; append(window:) adds the size.)
    @Test func overlapNamesBothWindows() {
        let overlap = ConfigError.Problem.windowsOverlap(name: .defaultWindow, key: Bytes("MAPWARDEN_WINDOW"),
                                                         window: Window(base: 0x4000_0000_0000, size: 1 << 40))
        #expect(describe(overlap, .environment, key: "MAPWARDEN_WINDOW_IPC", value: "0x400000000000:1G")
                == #"mapwarden: environment: MAPWARDEN_WINDOW_IPC="0x400000000000:1G": overlaps the window "default" (MAPWARDEN_WINDOW, 0x400000000000-0x410000000000 (1T))"#)
    }

    @Test func endToEndNamedWindowsFromFileAndEnvironment() {
        let file = """
        MAPWARDEN_WINDOW_HEAP=0x500000000000:4G:persist=/var/tmp/heap.mw
        MAPWARDEN_WINDOW_DEFAULT=0x600000000000:1G
        MAPWARDEN_WINDOW_BAD-NAME=0x600000000000:1G
        MAPWARDEN_WINDOW_IPC=0x600000000000:1G:shared=ipc,private
        MAPWARDEN_WINDOW_LOG=0x500080000000:1G
        """
        #expect(messages(forFile: file, thenEnvironment: []) == [
            #"mapwarden: app.env:2: MAPWARDEN_WINDOW_DEFAULT="0x600000000000:1G": the default window is set with MAPWARDEN_WINDOW"#,
            #"mapwarden: app.env:3: syntax error in "MAPWARDEN_WINDOW_BAD-NAME=0x600000000000:1G": the key "MAPWARDEN_WINDOW_BAD-NAME" is not a valid name (letters, digits and _, not starting with a digit)"#,
            #"mapwarden: app.env:4: MAPWARDEN_WINDOW_IPC="0x600000000000:1G:shared=ipc,private": more than one of private, shared, persist"#,
            #"mapwarden: app.env:5: MAPWARDEN_WINDOW_LOG="0x500080000000:1G": overlaps the window "heap" (MAPWARDEN_WINDOW_HEAP, 0x500000000000-0x500100000000 (4G))"#,
        ])
        // The environment switches the overlapping window off.
        let ok = "MAPWARDEN_WINDOW_HEAP=0x500000000000:4G:persist=/var/tmp/heap.mw\nMAPWARDEN_WINDOW_LOG=0x500080000000:1G\n"
        #expect(messages(forFile: ok, thenEnvironment: [("MAPWARDEN_WINDOW_LOG", "")]) == [])
        // The environment adds one that overlaps the default: the spec's example.
        #expect(messages(forFile: "", thenEnvironment: [("MAPWARDEN_WINDOW_IPC", "0x400000000000:1G")]) == [
            #"mapwarden: environment: MAPWARDEN_WINDOW_IPC="0x400000000000:1G": overlaps the window "default" (MAPWARDEN_WINDOW, 0x400000000000-0x410000000000 (1T))"#,
        ])
    }
}
