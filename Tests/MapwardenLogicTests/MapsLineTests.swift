import Testing
@testable import MapwardenLogic

func mapsRange(_ line: String) -> [UInt64]? {
    withBytes(line) { b in MapsLine.range(b).map { [$0.start, $0.end] } }
}

func lines(_ text: String) -> [String] {
    withBytes(text) { b in
        var r = LineReader(b)
        var out: [String] = []
        while let l = r.next() {
            out.append(string(l))
            if out.count > 1000 { Issue.record("LineReader does not end"); break }
        }
        return out
    }
}

@Suite struct MapsLineTests {
    @Test func typicalLines() {
        #expect(mapsRange("55d4a3c00000-55d4a3c02000 r--p 00000000 fd:01 1234  /usr/bin/cat") == [0x55D4_A3C0_0000, 0x55D4_A3C0_2000])
        #expect(mapsRange("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ") == [0x7F00_0000_0000, 0x7F00_0000_1000])
        #expect(mapsRange("400000000000-410000000000 ---p 00000000 00:00 0                          [anon:mapwarden]")
                == [0x4000_0000_0000, 0x4100_0000_0000])
        #expect(mapsRange("00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon") == [0x40_0000, 0x45_2000])
        #expect(mapsRange("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0  [vsyscall]")
                == [0xFFFF_FFFF_FF60_0000, 0xFFFF_FFFF_FF60_1000])
        // Path with a dash and spaces does not confuse it.
        #expect(mapsRange("1000-2000 rw-s 00000000 00:05 9 /dev/shm/a-b c (deleted)") == [0x1000, 0x2000])
        // No fields after the range.
        #expect(mapsRange("1000-2000") == [0x1000, 0x2000])
    }

    @Test func malformedLines() {
        for bad in ["", "hello", "1000", "-2000 rw-p", "1000- rw-p", "zz-2000 rw-p", "1000-2zz0 rw-p",
                    "2000-1000 rw-p", "1000-1000 rw-p", " 1000-2000 rw-p", "1000 -2000 rw-p"] {
            #expect(mapsRange(bad) == nil, "\(bad)")
        }
    }

    @Test func lineReader() {
        #expect(lines("") == [])
        #expect(lines("a") == ["a"])
        #expect(lines("a\n") == ["a"])
        #expect(lines("\n") == [""])
        #expect(lines("a\nbb\n\nccc") == ["a", "bb", "", "ccc"])
        #expect(lines("a\n\n") == ["a", ""])
    }

    @Test func readerOverAMapsFile() {
        let maps = """
        00400000-00401000 r--p 00000000 fd:01 1 /bin/x
        400000000000-400000003000 rw-p 00000000 00:00 0
        400000003000-410000000000 ---p 00000000 00:00 0   [anon:mapwarden]
        7ffd1000-7ffd3000 rw-p 00000000 00:00 0   [stack]

        """
        let ranges = withBytes(maps) { b -> [[UInt64]] in
            var r = LineReader(b)
            var out: [[UInt64]] = []
            while let l = r.next() {
                if let range = MapsLine.range(l) { out.append([range.start, range.end]) }
            }
            return out
        }
        #expect(ranges == [[0x40_0000, 0x40_1000], [0x4000_0000_0000, 0x4000_0000_3000],
                           [0x4000_0000_3000, 0x4100_0000_0000], [0x7FFD_1000, 0x7FFD_3000]])
    }
}

@Suite struct MapsLineNameTests {
    func name(_ line: String) -> String? {
        let bytes = Array(line.utf8)
        return bytes.withUnsafeBufferPointer { p in
            let b = Bytes(p.baseAddress, count: p.count)
            return MapsLine.nameStart(b).map { String(decoding: bytes[$0...], as: UTF8.self) }
        }
    }

    @Test func pathsAndPseudoNames() {
        #expect(name("7f0000000000-7f0000001000 r-xp 00001000 08:01 1234         /usr/lib/libc.so.6") == "/usr/lib/libc.so.6")
        #expect(name("555500000000-555500021000 rw-p 00000000 00:00 0          [heap]") == "[heap]")
        #expect(name("7f0000000000-7f0000001000 r--p 00000000 08:01 99 /tmp/a file") == "/tmp/a file")
        #expect(name("400000000000-410000000000 ---p 00000000 00:00 0 ") == nil)
        #expect(name("400000000000-410000000000 ---p 00000000 00:00 0") == nil)
    }

    @Test func smapsFlags() {
        func has(_ line: String, _ flag: StaticString) -> Bool { withBytes(line) { MapsLine.hasFlag($0, flag) } }
        #expect(has("VmFlags: rd wr mr mw me dc ac ", "dc"))
        #expect(has("VmFlags: rd wr mr mw me dc", "dc"))
        #expect(!has("VmFlags: rd wr mr mw me ac", "dc"))
        #expect(!has("VmFlags: rd wr mr mw medc ac", "dc"))
        #expect(has("VmFlags: rd wr mr mw me lo ac", "lo"))
    }

    @Test func fieldsOfALine() {
        func fields(_ line: String) -> MapsLine.Fields? { withBytes(line) { MapsLine.fields($0) } }
        #expect(fields("55d4a3c00000-55d4a3c02000 r-xp 00003000 fd:01 1234  /usr/bin/cat")
                == MapsLine.Fields(start: 0x55D4_A3C0_0000, end: 0x55D4_A3C0_2000, prot: 5, shared: false, offset: 0x3000, file: true))
        #expect(fields("7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ")
                == MapsLine.Fields(start: 0x7F00_0000_0000, end: 0x7F00_0000_1000, prot: 3, shared: false, offset: 0, file: false))
        #expect(fields("1000-2000 -w-s 0000a000 00:05 9 /dev/shm/a-b c (deleted)")
                == MapsLine.Fields(start: 0x1000, end: 0x2000, prot: 2, shared: true, offset: 0xA000, file: true))
        #expect(fields("400000000000-410000000000 ---p 00000000 00:00 0                          [anon:mapwarden]")?.prot == 0)
        #expect(fields("1000-2000 rw-p") == nil)
        #expect(fields("2000-1000 rw-p 00000000 00:00 0") == nil)
        #expect(fields("1000-2000 rw-p zz 00:00 0") == nil)
    }
}
