import Testing
@testable import MapwardenLogic

/// Paths longer than the kernel takes are configuration errors that name
/// the key and the start of the value; long values are echoed cut, with
/// their length, so that a message stays one readable line.
@Suite struct PathLimitTests {
    let maximum = Settings.maximumPathLength // 4095: PATH_MAX less the NUL

    func path(_ n: Int, _ letter: Character = "a") -> String { "/" + String(repeating: letter, count: n - 1) }

    @Test func pathKeysLongerThanPathMaxAreErrors() {
        for key in ["MAPWARDEN_REPORT", "MAPWARDEN_SUPPRESSIONS", "MAPWARDEN_LIBUNWIND"] {
            var s = Settings(space: .x86_64)
            #expect(apply(&s, key, path(maximum)) == nil, "\(key) of \(maximum) bytes")
            for n in [maximum + 1, 4200, 9000, 17000] {
                var t = Settings(space: .x86_64)
                #expect(apply(&t, key, path(n), .file(line: 3))
                        == SeenError(.pathTooLong(maximum: 4095), .file(line: 3), key: key, value: path(n)), "\(key) of \(n) bytes")
            }
        }
    }

    @Test func reportTemplateCountsItsShortestExpansion() {
        var s = Settings(space: .x86_64)
        // %% is one byte and %p, %e at least one each: 4095 once expanded.
        #expect(apply(&s, "MAPWARDEN_REPORT", path(maximum - 2) + "%%%p") == nil)
        #expect(apply(&s, "MAPWARDEN_REPORT", path(maximum - 1) + "%%%p")?.problem == .pathTooLong(maximum: 4095))
        #expect(withBytes("/r.%p.%e.%%.txt") { ReportPath.minimumLength($0) } == 12)
        #expect(withBytes("") { ReportPath.minimumLength($0) } == 0)
        #expect(withBytes("%") { ReportPath.minimumLength($0) } == 1)
    }

    @Test func windowFilePathsLongerThanPathMaxAreErrors() {
        var s = Settings(space: .x86_64)
        let ok = "0x500000000000:1G:persist=" + path(maximum)
        #expect(apply(&s, "MAPWARDEN_WINDOW_HEAP", ok) == nil)
        for option in ["persist=", "shared="] {
            let value = "0x500000000000:1G:" + option + path(maximum + 1)
            var t = Settings(space: .x86_64)
            #expect(apply(&t, "MAPWARDEN_WINDOW_HEAP", value)
                    == SeenError(.pathTooLong(maximum: 4095), .environment, key: "MAPWARDEN_WINDOW_HEAP", value: value))
        }
    }

    @Test func theMessageNamesKeyAndStartOfValue() {
        let value = path(6000)
        let text = describe(.pathTooLong(maximum: 4095), .environment, key: "MAPWARDEN_REPORT", value: value)
        #expect(text == "mapwarden: environment: MAPWARDEN_REPORT=\"" + String(value.prefix(160))
                + "\"... (6000 bytes): the path is longer than 4095 bytes (PATH_MAX), more than the kernel takes")
        #expect(text.utf8.count < 400)
    }

    @Test func longValuesAreEchoedCutWithTheirLength() {
        #expect(render { $0.appendQuoted(Bytes("short")) } == #""short""#)
        let exact = String(repeating: "x", count: TextBuffer.quotedLimit)
        #expect(withBytes(exact) { b in render { $0.appendQuoted(b) } } == "\"" + exact + "\"")
        #expect(withBytes(exact + "y") { b in render { $0.appendQuoted(b) } } == "\"" + exact + "\"... (161 bytes)")
        // Never inside a UTF-8 character: "é" is two bytes, the cut goes before it.
        let accented = String(repeating: "x", count: TextBuffer.quotedLimit - 1) + "é" + "zz"
        #expect(withBytes(accented) { b in render { $0.appendQuoted(b) } }
                == "\"" + String(repeating: "x", count: TextBuffer.quotedLimit - 1) + "\"... (163 bytes)")
        // Escapes count as the byte they stand for.
        #expect(withBytes("a\nb") { b in render { $0.appendQuoted(b, limit: 2) } } == #""a\n"... (3 bytes)"#)
    }

    @Test func fileTypesAreNamed() {
        func text(_ mode: UInt32) -> String { render { FileType.describeNotRegular(mode, into: &$0) } }
        #expect(text(0o010644) == "not a regular file (a FIFO)")
        #expect(text(0o020666) == "not a regular file (a character device)")
        #expect(text(0o040755) == "not a regular file (a directory)")
        #expect(text(0o060660) == "not a regular file (a block device)")
        #expect(text(0o120777) == "not a regular file (a symbolic link)")
        #expect(text(0o140755) == "not a regular file (a socket)")
        #expect(text(0o170000) == "not a regular file (file type 0o170000)")
        #expect(FileType.regular == 0o100000)
    }
}

/// Keys and file names in messages are cut too: the explanation after them
/// must fit in the one line a message is.
@Suite struct LongNamesInMessagesTests {
    @Test func longKeysAndFileNamesAreCut() {
        let key = "MAPWARDEN_WINDOW_" + String(repeating: "A", count: 3000)
        let text = describe(.windowBadName, .environment, key: key, value: "0x500000000000:1G")
        #expect(text == "mapwarden: environment: " + String(key.prefix(160)) + "... (3017 bytes)=\"0x500000000000:1G\": "
                + "the window name after MAPWARDEN_WINDOW_ must be 1 to 31 letters, digits or _")
        let file = "/" + String(repeating: "f", count: 3999)
        let inFile = describe(.unknownKey, .file(line: 2), key: "MAPWARDEN_TYPO", value: "1", file: file)
        #expect(inFile.hasPrefix("mapwarden: " + String(file.prefix(160)) + "... (4000 bytes):2: MAPWARDEN_TYPO=\"1\": unknown key (known: "))
        #expect(inFile.hasSuffix("MAPWARDEN_SYMBOLIZER, MAPWARDEN_FAULTS, MAPWARDEN_RAW_SYSCALLS)"))
        #expect(inFile.utf8.count < 1000)
    }
}
