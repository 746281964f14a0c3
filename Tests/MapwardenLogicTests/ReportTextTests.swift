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

    // MARK: LeakText: the lines the library and `mapwarden report` both write

    @Test func cleanAndHeadLines() {
        #expect(render { LeakText.noLeaks(pid: 42, tracked: 5, kept: ReportCount(), &$0) }
                == "mapwarden: no leaks (pid 42, 5 mappings tracked, all unmapped)")
        #expect(render { LeakText.noLeaks(pid: 42, tracked: 1, kept: ReportCount(), &$0) }
                == "mapwarden: no leaks (pid 42, 1 mapping tracked, unmapped)")
        #expect(render { LeakText.noLeaks(pid: 42, tracked: 2, kept: ReportCount(mappings: 2, bytes: 8192), &$0) }
                == "mapwarden: no leaks (pid 42, 2 mappings tracked; 2 kept in shared or persistent windows (8192 bytes, not leaks))")
        #expect(render { out in withBytes("leaky") {
            LeakText.head(pid: 7, leaked: ReportCount(mappings: 3, bytes: 20480), endedBy: ._exit, program: $0, &out)
        } } == "==7== mapwarden: 3 leaked mappings (20480 bytes) at _exit of leaky")
    }

    @Test func frameLines() {
        let sample = SampleReport()
        var lines: [String] = []
        for stack in [UInt32(1), 2] {
            sample.forEachFrame(of: stack) { f in lines.append(render { LeakText.frame(lines.count, f, &$0) }) }
        }
        #expect(lines == [
            "#0 0x55b1a56ff1cc in leak_two+0x40 (/tmp/t/leaky)",
            "#1 0x7fa713fe0305 in ?? (/lib/libc.so.6+0x27305)",
            "#2 0x1234 in ??",
            "#3 0x55b1a56ff200 in a::b()+0x8 (/tmp/t/leaky)",
        ])
    }

    @Test func mappingDetails() {
        let sample = SampleReport()
        let leaks = sample.leaks
        #expect(render { LeakText.details(leaks[0], namingWindow: false, &$0) }
                == "4096 bytes, rw-, private anonymous, thread 4242")
        #expect(render { LeakText.details(leaks[0], namingWindow: true, &$0) }
                == "4096 bytes, rw-, private anonymous, in window \"default\", thread 4242")
        #expect(render { LeakText.details(leaks[1], namingWindow: true, &$0) }
                == "8192 bytes, r--, shared file /etc/passwd offset 0x2000, in window \"ipc\", inherited")
        #expect(render { LeakText.details(leaks[2], namingWindow: true, &$0) }
                == "4096 bytes, ?, private (moved by mremap), outside the window, thread 7")
    }

    @Test func eventSuppressionAndSummaryLines() {
        let sample = SampleReport()
        #expect(sample.events.map { e in render { LeakText.event(e, &$0) } } == [
            "clobber: mmap MAP_FIXED 0x7f1000000000+0x1000 over [heap], thread 9: denied (EEXIST)",
            "call on free window pages: mprotect 0x400000600000+0x1000: refused (ENOMEM)",
            "munmap of window pages never mapped: munmap 0x400000500000+0x2000, thread 9: nothing to unmap",
        ])
        #expect(render { out in withBytes("leak:known_leak") {
            LeakText.suppression($0, ReportCount(mappings: 3, bytes: 24576), &out)
        } } == "         3        24576  leak:known_leak")
        var t = ReportTotals()
        t.leaked = ReportCount(mappings: 3, bytes: 12288)
        t.clobbers = 1
        #expect(render { LeakText.summary(t, &$0) }
                == "SUMMARY: mapwarden: 12288 bytes leaked in 3 mappings; 0 suppressed (0 bytes); 0 inherited (0 bytes); 1 clobber")
        t.kept = ReportCount(mappings: 2, bytes: 8192)
        #expect(render { LeakText.summary(t, &$0) }.hasSuffix("; 1 clobber; 2 kept in shared or persistent windows (8192 bytes, not leaks)"))
        #expect(render { LeakText.summary(t, &$0) }.hasPrefix(LeakText.summaryStart.description))
    }
}
