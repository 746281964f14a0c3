import Testing
@testable import MapwardenLogic

private let T: UInt64 = 1 << 40
private let G: UInt64 = 1 << 30
private let M: UInt64 = 1 << 20
private let K: UInt64 = 1 << 10

/// parseWindow on a String: the window or the problem.
func window(_ text: String, _ space: AddressSpace = .x86_64) -> Result<Window, ConfigError.Problem> {
    withBytes(text) { b in
        do throws(ConfigError.Problem) {
            return .success(try Settings.parseWindow(b, space: space))
        } catch {
            return .failure(error)
        }
    }
}

/// Settings.apply on Strings: nil on success, else the error copied out.
func apply(_ s: inout Settings, _ key: String, _ value: String,
           _ origin: ConfigError.Origin = .environment) -> SeenError? {
    withBytes(key, value) { k, v in
        do throws(ConfigError) {
            try s.apply(key: k, value: v, origin: origin)
            return nil
        } catch {
            return SeenError(error)
        }
    }
}

@Suite struct SettingsTests {
    // MARK: Defaults

    @Test func defaults() {
        let s = Settings(space: .x86_64)
        #expect(s.window == Window(base: 0x4000_0000_0000, size: T))
        #expect(s.onReserveFailure == .abort)
        #expect(s.log == .info)
    }

    @Test func defaultWindowPerAddressSpace() {
        #expect(AddressSpace.x86_64.defaultWindow == Window(base: 0x4000_0000_0000, size: T))
        #expect(AddressSpace.aarch64VA48.defaultWindow == Window(base: 0x2000_0000_0000, size: T))
        #expect(AddressSpace.aarch64VA39.defaultWindow == Window(base: 0x10_0000_0000, size: 32 * G))
        #expect(Settings(space: .aarch64VA48).window == AddressSpace.aarch64VA48.defaultWindow)
        #expect(Settings(space: .aarch64VA39).window == AddressSpace.aarch64VA39.defaultWindow)
    }

    /// Every default window passes the same validation as a configured one.
    @Test func defaultWindowIsValid() {
        for space in [AddressSpace.x86_64, .aarch64VA48, .aarch64VA39] {
            let w = space.defaultWindow
            let text = render { $0.append(hex: w.base); $0.append(byte: 0x3A); $0.append(size: w.size) }
            #expect(window(text, space) == .success(w), "\(text)")
        }
    }

    // MARK: Valid windows

    @Test(arguments: [
        ("0x400000000000:1T", 0x4000_0000_0000, T),
        ("400000000000:1T", 0x4000_0000_0000, T),
        ("0X400000000000:1t", 0x4000_0000_0000, T),
        ("0x4000_0000_0000:1T", 0x4000_0000_0000, T),
        ("0x4000_0000_0000:1_024G", 0x4000_0000_0000, T),
        ("0x7f00deadb000:4096", 0x7F00_DEAD_B000, 4096),
        ("0x400000000000:4K", 0x4000_0000_0000, 4 * K),
        ("0x400000000000:8k", 0x4000_0000_0000, 8 * K),
        ("0x400000000000:64M", 0x4000_0000_0000, 64 * M),
        ("0x400000000000:2G", 0x4000_0000_0000, 2 * G),
        ("0x400000000000:4KiB", 0x4000_0000_0000, 4 * K),
        ("0x400000000000:4kib", 0x4000_0000_0000, 4 * K),
        ("0x400000000000:1GB", 0x4000_0000_0000, G),
        ("0x400000000000:16MiB", 0x4000_0000_0000, 16 * M),
        ("0x400000000000:2TB", 0x4000_0000_0000, 2 * T),
        ("0x400000000000:0x1000", 0x4000_0000_0000, 4096),
        ("0x400000000000:0x10K", 0x4000_0000_0000, 16 * K),
        (" 0x400000000000 : 1T ", 0x4000_0000_0000, T),
        ("0x1000:4K", 0x1000, 4 * K),
        // Ends exactly where user space ends.
        ("0x7fffffffe000:4K", 0x7FFF_FFFF_E000, 4 * K),
        ("0x400000000000:0x3ffffffff000", 0x4000_0000_0000, 0x3FFF_FFFF_F000),
    ] as [(String, UInt64, UInt64)])
    func validWindow(text: String, base: UInt64, size: UInt64) {
        #expect(window(text) == .success(Window(base: base, size: size)), "\(text)")
    }

    // MARK: Invalid windows

    @Test func invalidWindow() {
        let table: [(String, ConfigError.Problem)] = [
        ("0x400000000000", .windowMissingColon),
        ("", .windowMissingColon),
        ("1T", .windowMissingColon),
        (":1T", .windowBadBase),
        ("0x:1T", .windowBadBase),
        ("zz:1T", .windowBadBase),
        ("-0x1000:1T", .windowBadBase),
        ("0x4000 0000:1T", .windowBadBase),
        ("_4000:1T", .windowBadBase),
        ("0xFFFFFFFFFFFFFFFFF000:4K", .windowBadBase), // does not fit in 64 bits
        ("0x400000000000:", .windowBadSize),
        ("0x400000000000:1X", .windowBadSize),
        ("0x400000000000:1.5G", .windowBadSize),
        ("0x400000000000:-4K", .windowBadSize),
        ("0x400000000000:K", .windowBadSize),
        ("0x400000000000:1KK", .windowBadSize),
        ("0x400000000000:1PB", .windowBadSize),
        ("0x400000000000:1T:2T", .windowBadSize),
        ("0x400000000000:17000000T", .windowBadSize), // overflows 64 bits
        ("0x400000000001:1T", .windowBaseUnaligned(pageSize: 4096)),
        ("0x400000000800:4K", .windowBaseUnaligned(pageSize: 4096)),
        ("0x400000000000:0", .windowSizeZero),
        ("0x400000000000:0K", .windowSizeZero),
        ("0x400000000000:0x0", .windowSizeZero),
        ("0x400000000000:4097", .windowSizeUnaligned(pageSize: 4096)),
        ("0x400000000000:1", .windowSizeUnaligned(pageSize: 4096)),
        ("0:1T", .windowBaseZero),
        ("0x0000:4K", .windowBaseZero),
        ("0x800000000000:4K", .windowBeyondUserSpace(userEnd: 0x7FFF_FFFF_F000)),
        ("0x7ffffffff000:4K", .windowBeyondUserSpace(userEnd: 0x7FFF_FFFF_F000)),
        ("0x7fffffffe000:8K", .windowBeyondUserSpace(userEnd: 0x7FFF_FFFF_F000)),
        ("0x400000000000:0x400000000000", .windowBeyondUserSpace(userEnd: 0x7FFF_FFFF_F000)),
        ("0x1000:16777215T", .windowBeyondUserSpace(userEnd: 0x7FFF_FFFF_F000)),
        // base + size wraps around 2^64: still rejected, not accepted by overflow.
        ("0xfffffffffffff000:4K", .windowBeyondUserSpace(userEnd: 0x7FFF_FFFF_F000)),
        ("0x7ffff000:0xffffffffff000000", .windowBeyondUserSpace(userEnd: 0x7FFF_FFFF_F000)),
        ]
        for (text, problem) in table {
            #expect(window(text) == .failure(problem), "\(text)")
        }
    }

    @Test func beyondUserSpaceDependsOnTheAddressSpace() {
        // Fits on aarch64 VA48 (userEnd 2^48) but not on x86-64.
        #expect(window("0x7ffffffff000:4K", .aarch64VA48) == .success(Window(base: 0x7FFF_FFFF_F000, size: 4096)))
        #expect(window("0xfffffffff000:4K", .aarch64VA48) == .success(Window(base: 0xFFFF_FFFF_F000, size: 4096)))
        #expect(window("0x1000000000000:4K", .aarch64VA48) == .failure(.windowBeyondUserSpace(userEnd: 1 << 48)))
        #expect(window("0x4000000000:1T", .aarch64VA39) == .failure(.windowBeyondUserSpace(userEnd: 1 << 39)))
        #expect(window("0x7000000000:64G", .aarch64VA39) == .success(Window(base: 0x70_0000_0000, size: 64 * G)))
    }

    @Test func pageSizeComesFromTheAddressSpace() {
        let big = AddressSpace(pageSize: 65536, userEnd: 1 << 48)
        #expect(window("0x10000:64K", big) == .success(Window(base: 0x10000, size: 64 * K)))
        #expect(window("0x11000:64K", big) == .failure(.windowBaseUnaligned(pageSize: 65536)))
        #expect(window("0x10000:4K", big) == .failure(.windowSizeUnaligned(pageSize: 65536)))
    }

    // MARK: apply

    @Test func applyEachKey() {
        var s = Settings(space: .x86_64)
        #expect(apply(&s, "MAPWARDEN_WINDOW", "0x500000000000:2G") == nil)
        #expect(s.window == Window(base: 0x5000_0000_0000, size: 2 * G))
        #expect(apply(&s, "MAPWARDEN_ON_RESERVE_FAILURE", "warn") == nil)
        #expect(s.onReserveFailure == .warn)
        #expect(apply(&s, "MAPWARDEN_ON_RESERVE_FAILURE", "abort") == nil)
        #expect(s.onReserveFailure == .abort)
        for (word, level) in [("quiet", LogLevel.quiet), ("debug", .debug), ("info", .info)] {
            #expect(apply(&s, "MAPWARDEN_LOG", word) == nil)
            #expect(s.log == level)
        }
        #expect(LogLevel.quiet < .info && LogLevel.info < .debug)
    }

    @Test func configKeyIsAcceptedFromTheEnvironmentOnly() {
        var s = Settings(space: .x86_64)
        let before = s
        #expect(apply(&s, "MAPWARDEN_CONFIG", "/etc/mapwarden.env", .environment) == nil)
        #expect(s == before)
        #expect(apply(&s, "MAPWARDEN_CONFIG", "/other.env", .file(line: 7))
                == SeenError(.environmentOnly, .file(line: 7), key: "MAPWARDEN_CONFIG", value: "/other.env"))
        #expect(s == before)
    }

    @Test func unknownKey() {
        var s = Settings(space: .x86_64)
        let before = s
        for key in ["MAPWARDEN_WINDOWS", "mapwarden_window", "MAPWARDEN_", "PATH", ""] {
            #expect(apply(&s, key, "x", .file(line: 2)) == SeenError(.unknownKey, .file(line: 2), key: key, value: "x"))
        }
        #expect(s == before)
    }

    @Test func badWindowIsReportedAndLeavesTheWindowAlone() {
        var s = Settings(space: .x86_64)
        #expect(apply(&s, "MAPWARDEN_WINDOW", "0x500000000000:1G") == nil)
        #expect(apply(&s, "MAPWARDEN_WINDOW", "0x500000000001:1G", .file(line: 3))
                == SeenError(.windowBaseUnaligned(pageSize: 4096), .file(line: 3),
                             key: "MAPWARDEN_WINDOW", value: "0x500000000001:1G"))
        #expect(apply(&s, "MAPWARDEN_WINDOW", "nonsense")
                == SeenError(.windowMissingColon, .environment, key: "MAPWARDEN_WINDOW", value: "nonsense"))
        #expect(s.window == Window(base: 0x5000_0000_0000, size: G))
    }

    @Test(arguments: ["", "Abort", "WARN", "warn ", "yes", "0"])
    func badReserveFailurePolicy(value: String) {
        var s = Settings(space: .x86_64)
        s.onReserveFailure = .warn
        let e = apply(&s, "MAPWARDEN_ON_RESERVE_FAILURE", value)
        #expect(e.map { choices($0.problem) } == "abort, warn")
        #expect(e?.origin == .environment)
        #expect(e?.key == "MAPWARDEN_ON_RESERVE_FAILURE")
        #expect(e?.value == value)
        #expect(s.onReserveFailure == .warn)
    }

    @Test(arguments: ["", "Debug", "verbose", "2", "info,debug"])
    func badLogLevel(value: String) {
        var s = Settings(space: .x86_64)
        s.log = .debug
        let e = apply(&s, "MAPWARDEN_LOG", value, .file(line: 9))
        #expect(e.map { choices($0.problem) } == "quiet, info, debug")
        #expect(e?.origin == .file(line: 9))
        #expect(e?.value == value)
        #expect(s.log == .debug)
    }

    /// The engine applies the file's entries, then the environment's: the last wins.
    @Test func environmentAfterFileWins() {
        var s = Settings(space: .x86_64)
        let file = "MAPWARDEN_WINDOW=0x300000000000:4G\nMAPWARDEN_LOG=debug\nMAPWARDEN_ON_RESERVE_FAILURE=warn\n"
        for case let .entry(k, v, line) in readEnv(file) {
            #expect(apply(&s, k, v, .file(line: line)) == nil)
        }
        #expect(s.window == Window(base: 0x3000_0000_0000, size: 4 * G))
        #expect(s.log == .debug)
        #expect(apply(&s, "MAPWARDEN_WINDOW", "0x310000000000:8G", .environment) == nil)
        #expect(apply(&s, "MAPWARDEN_LOG", "quiet", .environment) == nil)
        #expect(s.window == Window(base: 0x3100_0000_0000, size: 8 * G))
        #expect(s.log == .quiet)
        #expect(s.onReserveFailure == .warn) // not overridden: the file's value stays
    }

    @Test func reportKeys() {
        var s = Settings(space: .x86_64)
        #expect(s.track == .window && s.backtraceDepth == 32 && s.report == nil && !s.reportRequested)
        #expect(apply(&s, "MAPWARDEN_TRACK", "all") == nil)
        #expect(s.track == .all)
        #expect(apply(&s, "MAPWARDEN_TRACK", "everything") != nil)
        #expect(apply(&s, "MAPWARDEN_BACKTRACE_DEPTH", "0") == nil)
        #expect(s.backtraceDepth == 0)
        #expect(apply(&s, "MAPWARDEN_BACKTRACE_DEPTH", "128") == nil)
        #expect(s.backtraceDepth == 128)
        for bad in ["129", "-1", "abc", "", "1e3", "99999999999999999999999"] {
            #expect(apply(&s, "MAPWARDEN_BACKTRACE_DEPTH", bad) != nil, "\(bad)")
        }
        #expect(s.backtraceDepth == 128)
        #expect(apply(&s, "MAPWARDEN_LEAK_EXITCODE", "23") == nil)
        #expect(s.leakExitCode == 23)
        #expect(apply(&s, "MAPWARDEN_LEAK_EXITCODE", "256") != nil)
        #expect(apply(&s, "MAPWARDEN_REPORT_FORMAT", "json") == nil)
        #expect(s.reportFormat == .json)
        #expect(apply(&s, "MAPWARDEN_REPORT_FORMAT", "xml") != nil)
        #expect(apply(&s, "MAPWARDEN_CLOBBER", "deny") == nil)
        #expect(s.clobber == .deny)
        #expect(apply(&s, "MAPWARDEN_CLOBBER", "maybe") != nil)
        #expect(apply(&s, "MAPWARDEN_CHILDREN", "stop") == nil)
        #expect(!s.followChildren)
        #expect(apply(&s, "MAPWARDEN_REPORT", "none") == nil)
        #expect(s.report?.count == 0 && s.reportRequested)
        #expect(apply(&s, "MAPWARDEN_REPORT", "/tmp/r.%p.%e.txt") == nil)
        #expect(s.report?.count == 16)
        #expect(apply(&s, "MAPWARDEN_REPORT", "stderr") == nil)
        #expect(s.report == nil)
        #expect(apply(&s, "MAPWARDEN_REPORT", "/tmp/r.%d") != nil)
        #expect(apply(&s, "MAPWARDEN_REPORT", "") != nil)
    }

    @Test func settingKeyNames() {
        #expect(SettingKey.allCases.map { $0.name.description }
                == ["MAPWARDEN_CONFIG", "MAPWARDEN_WINDOW", "MAPWARDEN_ON_RESERVE_FAILURE", "MAPWARDEN_LOG",
                    "MAPWARDEN_TRACK", "MAPWARDEN_BACKTRACE_DEPTH", "MAPWARDEN_REPORT", "MAPWARDEN_REPORT_FORMAT",
                    "MAPWARDEN_LEAK_EXITCODE", "MAPWARDEN_SUPPRESSIONS", "MAPWARDEN_CLOBBER", "MAPWARDEN_CHILDREN",
                    "MAPWARDEN_LIBUNWIND"])
        for k in SettingKey.allCases {
            withBytes(k.name.description) { #expect(SettingKey.named($0) == k) }
        }
        withBytes("MAPWARDEN_LOGX") { #expect(SettingKey.named($0) == nil) }
        withBytes("MAPWARDEN_LO") { #expect(SettingKey.named($0) == nil) }
    }

    @Test func exitStatuses() {
        #expect(ExitStatus.badConfig == 78)
        #expect(ExitStatus.reservationFailed == 71)
    }
}
