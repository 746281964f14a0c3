import Testing
@testable import MapwardenLogic

@Suite struct TextBufferTests {
    @Test func decimal() {
        let table: [(Int, String)] = [
            (0, "0"), (7, "7"), (42, "42"), (-1, "-1"), (-10, "-10"), (1_000_000, "1000000"),
            (Int.max, "9223372036854775807"), (Int.min, "-9223372036854775808"), (Int.min + 1, "-9223372036854775807"),
        ]
        for (value, text) in table {
            #expect(render { $0.append(decimal: value) } == text)
        }
    }

    @Test func unsigned() {
        #expect(render { $0.append(unsigned: 0) } == "0")
        #expect(render { $0.append(unsigned: 10) } == "10")
        #expect(render { $0.append(unsigned: UInt64.max) } == "18446744073709551615")
    }

    @Test func hex() {
        #expect(render { $0.append(hex: 0) } == "0x0")
        #expect(render { $0.append(hex: 0xA) } == "0xa")
        #expect(render { $0.append(hex: 0xDEAD_BEEF) } == "0xdeadbeef")
        #expect(render { $0.append(hex: 0x7FFF_FFFF_F000) } == "0x7ffffffff000")
        #expect(render { $0.append(hex: UInt64.max) } == "0xffffffffffffffff")
        #expect(render { $0.append(hex: 1 << 63) } == "0x8000000000000000")
        #expect(render { $0.appendHexDigits(0x5, minimumDigits: 2) } == "05")
        #expect(render { $0.appendHexDigits(0, minimumDigits: 4) } == "0000")
        #expect(render { $0.appendHexDigits(0x1234, minimumDigits: 2) } == "1234")
    }

    @Test func sizes() {
        let table: [(UInt64, String)] = [
            (0, "0"), (1, "1"), (1023, "1023"), (1024, "1K"), (1536, "1536"), (4096, "4K"),
            (3 << 20, "3M"), (1 << 30, "1G"), (32 << 30, "32G"), (1 << 40, "1T"), (1025 << 30, "1025G"),
            (1 << 50, "1P"), (1 << 60, "1E"), (1 << 63, "8E"), (UInt64.max, "18446744073709551615"),
            (0x7FFF_FFFF_F000, "137438953468K"),
        ]
        for (value, text) in table {
            #expect(render { $0.append(size: value) } == text, "\(value)")
        }
    }

    @Test func appendStringsBytesAndSingleBytes() {
        let s = withBytes("bytes") { b in
            render { out in
                out.append("static ")
                out.append(b)
                out.append(byte: 0x21)
                out.append(Bytes.empty)
            }
        }
        #expect(s == "static bytes!")
    }

    @Test func quoting() {
        let input = "plain \"q\" back\\slash\nnl\ttab\r\u{1}\u{1f}\u{7f} é"
        let quoted = withBytes(input) { b in render { $0.appendQuoted(b) } }
        #expect(quoted == #""plain \"q\" back\\slash\nnl\ttab\x0d\x01\x1f\x7f é""#)
        #expect(render { $0.appendQuoted(.empty) } == #""""#)
        // NUL is escaped, not written raw.
        let nul = [UInt8(0x61), 0, 0x62].withUnsafeBufferPointer { b in render { $0.appendQuoted(Bytes(b)) } }
        #expect(nul == #""a\x00b""#)
    }

    @Test func truncatesWhenFull() {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 16)
        defer { p.deallocate() }
        p.initialize(repeating: 0xEE, count: 16)
        var out = TextBuffer(p, capacity: 5)
        out.append("hello world")
        #expect(out.count == 5)
        #expect(string(out.bytes) == "hello")
        out.append(byte: 0x21)
        out.append(decimal: 123)
        out.appendQuoted(Bytes("x"))
        #expect(out.count == 5)
        #expect(string(out.bytes) == "hello")
        // Nothing written past the capacity.
        for i in 5..<16 { #expect(p[i] == 0xEE) }
        out.clear()
        #expect(out.count == 0)
        out.append(decimal: 12_345_678)
        #expect(string(out.bytes) == "12345")
        #expect(render(capacity: 3) { $0.append(hex: 0xABCDEF) } == "0xa")
        #expect(render(capacity: 4) { $0.appendQuoted(Bytes("\n\n")) } == #""\n\"#)
        #expect(render(capacity: 0) { $0.append("anything") } == "")
    }

    @Test func errnoText() {
        #expect(render { ErrnoText.describe(12, into: &$0) } == "ENOMEM (cannot allocate memory)")
        #expect(render { ErrnoText.describe(17, into: &$0) } == "EEXIST (file exists)")
        #expect(render { ErrnoText.describe(2, into: &$0) } == "ENOENT (no such file or directory)")
        #expect(render { ErrnoText.describe(9999, into: &$0) } == "errno 9999")
        #expect(render { ErrnoText.describe(-3, into: &$0) } == "errno -3")
    }
}
