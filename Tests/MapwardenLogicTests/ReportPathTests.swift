import Testing
@testable import MapwardenLogic

/// The expansion of a template, or nil when expand refuses it.
func expandPath(_ template: String, pid: Int = 1234, executable: String = "/usr/bin/leaky",
                prefix: String = "", capacity: Int = 4096) -> String? {
    withBytes(template, executable) { t, e in
        var ok = false
        let text = render(capacity: capacity) { out in
            for b in prefix.utf8 { out.append(byte: b) }
            ok = ReportPath.expand(t, pid: pid, executable: e, into: &out)
        }
        return ok ? text : nil
    }
}

func validPath(_ template: String) -> Bool { withBytes(template) { ReportPath.validate($0) } }

@Suite struct ReportPathTests {
    @Test func plainPath() {
        #expect(expandPath("/tmp/report.txt") == "/tmp/report.txt")
        #expect(expandPath("report") == "report")
    }

    @Test func sequences() {
        #expect(expandPath("/tmp/mw.%p.txt") == "/tmp/mw.1234.txt")
        #expect(expandPath("/tmp/%e-%p.json", pid: 7) == "/tmp/leaky-7.json")
        #expect(expandPath("%e", executable: "leaky") == "leaky")
        #expect(expandPath("%e.%e", executable: "/a/b/c") == "c.c")
        #expect(expandPath("100%%-%p", pid: 0) == "100%-0")
        #expect(expandPath("%%p") == "%p")
        #expect(expandPath("%%%p", pid: 42) == "%42")
        #expect(expandPath("%p", pid: 4_194_304) == "4194304")
        #expect(expandPath("%p", pid: Int.max) == "\(Int.max)")
        #expect(expandPath("x%p", pid: -5) == "x-5")
    }

    @Test func executableBasename() {
        #expect(expandPath("r.%e", executable: "") == "r.")
        #expect(expandPath("r.%e", executable: "/usr/bin/") == "r.")
        #expect(expandPath("r.%e", executable: "/") == "r.")
        #expect(expandPath("r.%e", executable: "./a b/prog name") == "r.prog name")
        #expect(withBytes("/x/y/z") { string(ReportPath.basename($0)) } == "z")
        #expect(withBytes("z") { string(ReportPath.basename($0)) } == "z")
    }

    @Test func appendsAfterWhatTheBufferHolds() {
        #expect(expandPath("out/%p.txt", pid: 9, prefix: "/home/u/") == "/home/u/out/9.txt")
    }

    @Test func badSequences() {
        for t in ["%", "a%", "%x", "/tmp/%d.txt", "%P", "%E", "%%%", "%e%", "% p"] {
            #expect(expandPath(t) == nil, "\(t)")
            #expect(!validPath(t), "\(t)")
        }
        for t in ["a", "%p", "%e", "%%", "%%%%", "/tmp/mw-%e-%p.log", ""] {
            #expect(validPath(t), "\(t)")
        }
        #expect(withBytes("x%q") { ReportPath.problem(in: $0) } == .reportPathBadPercent)
        #expect(withBytes("x%p") { ReportPath.problem(in: $0) } == nil)
    }

    @Test func emptyResultIsRefused() {
        #expect(expandPath("") == nil)
        #expect(expandPath("%e", executable: "/usr/bin/") == nil)
        #expect(expandPath("%e", executable: "") == nil)
        #expect(expandPath("", prefix: "/cwd/") == nil)
    }

    @Test func mustFit() {
        #expect(expandPath("abcd", capacity: 4) == "abcd")
        #expect(expandPath("abcde", capacity: 4) == nil)
        #expect(expandPath("ab%p", pid: 12, capacity: 4) == "ab12")
        #expect(expandPath("ab%p", pid: 123, capacity: 4) == nil)
        #expect(expandPath("a%e", executable: "/b/cde", capacity: 4) == "acde")
        #expect(expandPath("a%e", executable: "/b/cdef", capacity: 4) == nil)
        #expect(expandPath("abc%%", capacity: 4) == "abc%")
        #expect(expandPath("abcd%%", capacity: 4) == nil)
        #expect(expandPath("p", prefix: "xyz", capacity: 4) == "xyzp")
        #expect(expandPath("pq", prefix: "xyz", capacity: 4) == nil)
        #expect(expandPath("x", capacity: 0) == nil)
    }

    @Test func decimalLength() {
        for v in [0, 1, 9, 10, 99, 100, 4_194_304, Int.max, -1, -9, -10, Int.min + 1] {
            #expect(ReportPath.decimalLength(v) == "\(v)".utf8.count, "\(v)")
        }
    }

    @Test func describe() {
        #expect(MapwardenLogicTests.describe(.reportPathBadPercent, .environment, key: "MAPWARDEN_REPORT", value: "/tmp/%d.txt")
                == #"mapwarden: environment: MAPWARDEN_REPORT="/tmp/%d.txt": unknown % sequence; use %p (pid), %e (executable name) or %%"#)
        #expect(MapwardenLogicTests.describe(.reportPathBadPercent, .file(line: 4), key: "MAPWARDEN_REPORT", value: "r%", file: "a.env")
                == #"mapwarden: a.env:4: MAPWARDEN_REPORT="r%": unknown % sequence; use %p (pid), %e (executable name) or %%"#)
    }
}
