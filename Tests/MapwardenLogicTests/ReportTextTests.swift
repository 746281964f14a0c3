import Testing
@testable import MapwardenLogic

@Suite struct ReportTextTests {
    func render(_ build: (inout TextBuffer) -> Void) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { storage in
            var t = TextBuffer(storage.baseAddress!, capacity: storage.count)
            build(&t)
            return String(decoding: UnsafeBufferPointer(start: storage.baseAddress!, count: t.count), as: UTF8.self)
        }
    }

    @Test func jsonStringsAreEscaped() {
        let input: [UInt8] = Array("a\"b\\c\n\u{1}é".utf8)
        let out = input.withUnsafeBufferPointer { p in
            render { $0.appendJSONString(Bytes(p.baseAddress, count: p.count)) }
        }
        #expect(out == "\"a\\\"b\\\\c\\n\\u0001é\"")
    }

    @Test func invalidUTF8BecomesReplacementCharacters() {
        let cases: [([UInt8], String)] = [
            ([0x61, 0xFF, 0x62], "\"a\\ufffdb\""),
            ([0xC3, 0xA9], "\"é\""),
            ([0xC3], "\"\\ufffd\""),                       // truncated
            ([0xC0, 0xAF], "\"\\ufffd\\ufffd\""),            // overlong
            ([0xED, 0xA0, 0x80], "\"\\ufffd\\ufffd\\ufffd\""),   // surrogate
            ([0xF0, 0x9F, 0x98, 0x80], "\"😀\""),
            ([0xF4, 0x90, 0x80, 0x80], "\"\\ufffd\\ufffd\\ufffd\\ufffd\""), // above U+10FFFF
        ]
        for (input, expected) in cases {
            let out = input.withUnsafeBufferPointer { p in
                render { $0.appendJSONString(Bytes(p.baseAddress, count: p.count)) }
            }
            #expect(out == expected, "\(input)")
        }
    }

    @Test func protections() {
        #expect(render { $0.append(protection: 3) } == "rw-")
        #expect(render { $0.append(protection: 0) } == "---")
        #expect(render { $0.append(protection: 5) } == "r-x")
        #expect(render { $0.append(protection: -1) } == "?")
    }

    @Test func isoTimes() {
        #expect(render { $0.append(isoTime: 0) } == "1970-01-01T00:00:00Z")
        #expect(render { $0.append(isoTime: 951_782_400) } == "2000-02-29T00:00:00Z")
        #expect(render { $0.append(isoTime: 1_795_311_825) } == "2026-11-22T01:43:45Z")
        #expect(render { $0.append(isoTime: 4_107_542_399) } == "2100-02-28T23:59:59Z")
    }

    @Test func counts() {
        #expect(render { $0.append(count: 1, "mapping", "mappings") } == "1 mapping")
        #expect(render { $0.append(count: 0, "mapping", "mappings") } == "0 mappings")
    }
}
