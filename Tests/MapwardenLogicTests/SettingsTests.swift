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
        #expect(AddressSpace.aarch64VA39.defaultWindow == Window(base: 0x50_0000_0000, size: 16 * G))
        #expect(Settings(space: .aarch64VA48).window == AddressSpace.aarch64VA48.defaultWindow)
        #expect(Settings(space: .aarch64VA39).window == AddressSpace.aarch64VA39.defaultWindow)
    }

    /// Every default window passes the same validation as a configured one.
    @Test func defaultWindowIsValid() {
        for space in [AddressSpace.x86_64, .aarch64VA48, .aarch64VA39] {
            let w = space.defaultWindow!
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

    /// The window checks with 4, 16 and 64 KiB pages: a base or size one
    /// smaller page off is refused with the page size in the problem; whole
    /// pages pass; the whole configuration read (file and environment)
    /// checks with the same page size.
    @Test(arguments: EveryPageSize.sizes)
    func windowChecksFollowThePageSize(pageSize: UInt64) {
        let space = AddressSpace.aarch64(vaBits: 48, pageSize: pageSize)
        let hex = { (n: UInt64) in "0x" + String(n, radix: 16) }
        let base: UInt64 = 0x2000_0000_0000
        #expect(window("\(hex(base)):\(pageSize)", space) == .success(Window(base: base, size: pageSize)))
        #expect(window("\(hex(base + pageSize)):\(3 * pageSize)", space)
                == .success(Window(base: base + pageSize, size: 3 * pageSize)))
        if pageSize > 4096 {
            #expect(window("\(hex(base + 4096)):\(pageSize)", space) == .failure(.windowBaseUnaligned(pageSize: pageSize)))
            #expect(window("\(hex(base)):\(pageSize + 4096)", space) == .failure(.windowSizeUnaligned(pageSize: pageSize)))
        }
        #expect(window("\(hex(base + 1)):\(pageSize)", space) == .failure(.windowBaseUnaligned(pageSize: pageSize)))
        #expect(window("\(hex(base)):\(pageSize - 1)", space) == .failure(.windowSizeUnaligned(pageSize: pageSize)))
        let good = read(file: "MAPWARDEN_WINDOW_JIT=\(hex(base + (1 << 41))):\(2 * pageSize)\n",
                        [("MAPWARDEN_WINDOW", "\(hex(base)):1G")], space: space)
        #expect(good.count == 0)
        let bad = read(file: "MAPWARDEN_WINDOW_JIT=\(hex(base + (1 << 41))):\(pageSize + 512)\n", [], space: space)
        #expect(bad.problems.map(\.problem) == [.windowSizeUnaligned(pageSize: pageSize)])
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
                    "MAPWARDEN_LIBUNWIND", "MAPWARDEN_SNAPSHOT_SIGNAL", "MAPWARDEN_SYMBOLIZER", "MAPWARDEN_FAULTS",
                    "MAPWARDEN_RAW_SYSCALLS"])
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

// MARK: - Named windows (MAPWARDEN_WINDOW_<NAME>) and window options

/// Settings.apply with key and value kept alive by keep (Settings keeps
/// pointers into them): nil on success, else the error copied out.
private func applyKept(_ s: inout Settings, _ keep: KeptBytes, _ key: String, _ value: String,
                       _ origin: ConfigError.Origin = .environment) -> SeenError? {
    do throws(ConfigError) {
        try s.apply(key: keep(key), value: keep(value), origin: origin)
        return nil
    } catch {
        return SeenError(error)
    }
}

/// validate(): nil, or the error copied out (with the earlier window's key).
private func validated(_ s: Settings) -> (SeenError, otherKey: String)? {
    do throws(ConfigError) {
        try s.validate()
        return nil
    } catch {
        if case .windowsOverlap(_, let key, _) = error.problem { return (SeenError(error), string(key)) }
        return (SeenError(error), "")
    }
}

private func windowNames(_ s: Settings) -> [String] {
    (0..<s.windows.count).map { text(of: s.windows[$0].name) }
}

@Suite struct NamedWindowSettingsTests {
    @Test func defaultTableHoldsTheDefaultWindowOnly() {
        let s = Settings(space: .x86_64)
        #expect(windowNames(s) == ["default"])
        #expect(s.windows[0].backing == .private)
        #expect(string(s.windows[0].key) == "MAPWARDEN_WINDOW")
        #expect(validated(s) == nil)
    }

    @Test func namedWindowIsAddedUnderItsLowercaseName() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", "0x500000000000:1G", .file(line: 4)) == nil)
        #expect(windowNames(s) == ["default", "ipc"])
        let w = s.windows[1]
        #expect(w.window == Window(base: 0x5000_0000_0000, size: 1 << 30))
        #expect(w.backing == .private)
        #expect(w.path.count == 0)
        #expect(string(w.key) == "MAPWARDEN_WINDOW_IPC")
        #expect(string(w.value) == "0x500000000000:1G")
        #expect(w.origin == .file(line: 4))
        #expect(s.windows.index(of: windowName("IPC")!) == 1)
        #expect(s.window == AddressSpace.x86_64.defaultWindow) // the default window is untouched
        #expect(validated(s) == nil)
    }

    @Test func sameNameReplacesInPlaceWhateverTheCase() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", "0x500000000000:1G", .file(line: 1)) == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_HEAP", "0x600000000000:1G", .file(line: 2)) == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_ipc", "0x510000000000:2G:shared") == nil)
        #expect(windowNames(s) == ["default", "ipc", "heap"])
        #expect(s.windows[1].window == Window(base: 0x5100_0000_0000, size: 2 << 30))
        #expect(s.windows[1].backing == .shared)
        #expect(s.windows[1].origin == .environment)
        #expect(string(s.windows[1].key) == "MAPWARDEN_WINDOW_ipc")
    }

    @Test func emptyValueRemovesTheWindow() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_A", "0x500000000000:1G", .file(line: 1)) == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_B", "0x600000000000:1G", .file(line: 2)) == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_C", "0x700000000000:1G", .file(line: 3)) == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_B", "") == nil)
        #expect(windowNames(s) == ["default", "a", "c"])
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_a", "  ") == nil) // blank counts as empty
        #expect(windowNames(s) == ["default", "c"])
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_NEVER", "") == nil) // absent: no error, no change
        #expect(windowNames(s) == ["default", "c"])
    }

    @Test func defaultNameIsRefused() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        let before = s
        for key in ["MAPWARDEN_WINDOW_DEFAULT", "MAPWARDEN_WINDOW_default", "MAPWARDEN_WINDOW_Default"] {
            for value in ["0x500000000000:1G", ""] {
                #expect(applyKept(&s, keep, key, value, .file(line: 5))
                        == SeenError(.windowNamedDefault, .file(line: 5), key: key, value: value))
            }
        }
        #expect(s == before)
    }

    @Test(arguments: ["MAPWARDEN_WINDOW_", "MAPWARDEN_WINDOW_A-B", "MAPWARDEN_WINDOW_A.B", "MAPWARDEN_WINDOW_A B",
                      "MAPWARDEN_WINDOW_" + String(repeating: "X", count: 32)])
    func badNamesAreRefused(key: String) {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        let before = s
        #expect(applyKept(&s, keep, key, "0x500000000000:1G")
                == SeenError(.windowBadName, .environment, key: key, value: "0x500000000000:1G"))
        #expect(applyKept(&s, keep, key, "") == SeenError(.windowBadName, .environment, key: key, value: ""))
        #expect(s == before)
    }

    @Test func longestNameIsAccepted() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        let name = String(repeating: "N", count: 31)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_" + name, "0x500000000000:1G") == nil)
        #expect(windowNames(s) == ["default", name.lowercased()])
        // Digits and underscores, even first.
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_9_x", "0x600000000000:1G") == nil)
        #expect(windowNames(s).last == "9_x")
    }

    @Test func badValueIsReportedOnTheNamedKey() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", "0x500000000000:1G") == nil)
        let before = s
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", "nonsense", .file(line: 8))
                == SeenError(.windowMissingColon, .file(line: 8), key: "MAPWARDEN_WINDOW_IPC", value: "nonsense"))
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", "0x500000000001:1G")
                == SeenError(.windowBaseUnaligned(pageSize: 4096), .environment,
                             key: "MAPWARDEN_WINDOW_IPC", value: "0x500000000001:1G"))
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_NEW", "0x800000000000:1G")
                == SeenError(.windowBeyondUserSpace(userEnd: 0x7FFF_FFFF_F000), .environment,
                             key: "MAPWARDEN_WINDOW_NEW", value: "0x800000000000:1G"))
        #expect(s == before)
    }

    @Test func atMostEightWindowsWithTheDefault() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        for i in 1...7 {
            #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_W\(i)", "0x\(String(0x50 + i, radix: 16))0000000000:1G") == nil)
        }
        #expect(s.windows.count == 8)
        #expect(validated(s) == nil)
        // A ninth is taken while reading (a later entry may remove one) and
        // refused by validate, which names it.
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_W8", "0x600000000000:1G", .file(line: 9)) == nil)
        #expect(validated(s)?.0 == SeenError(.tooManyWindows(maximum: 8), .file(line: 9), key: "MAPWARDEN_WINDOW_W8",
                                             value: "0x600000000000:1G"))
        // Removing one, in either order, makes it valid again.
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_W3", "0x610000000000:1G") == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_W1", "") == nil)
        #expect(windowNames(s) == ["default", "w2", "w3", "w4", "w5", "w6", "w7", "w8"])
        #expect(validated(s) == nil)
        // More than the table holds while reading: an error at once.
        for i in 9...16 {
            _ = applyKept(&s, keep, "MAPWARDEN_WINDOW_X\(i)", "0x\(String(0x60 + i, radix: 16))0000000000:1G")
        }
        #expect(s.windows.count == 16)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_Y", "0x700000000000:1G", .file(line: 30))
                == SeenError(.tooManyWindows(maximum: 8), .file(line: 30), key: "MAPWARDEN_WINDOW_Y",
                             value: "0x700000000000:1G"))
    }

    @Test func backingOptions() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        let table: [(String, Backing, String)] = [
            ("0x500000000000:1G:private", .private, ""),
            ("0x500000000000:1G:shared", .shared, ""),
            ("0x500000000000:1G:shared=ipc.seg", .shared, "ipc.seg"),
            ("0x500000000000:1G:shared=/dev/shm/x", .shared, "/dev/shm/x"),
            ("0x500000000000:1G:persist=/var/tmp/heap.mw", .persistent, "/var/tmp/heap.mw"),
            ("0x500000000000:1G:persist=heap.mw", .persistent, "heap.mw"),
            ("0x500000000000:1G: shared = seg ", .shared, "seg"),
            ("0x500000000000:1G", .private, ""),
        ]
        for (value, backing, path) in table {
            #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", value) == nil, "\(value)")
            #expect(s.windows[1].backing == backing, "\(value)")
            #expect(string(s.windows[1].path) == path, "\(value)")
            #expect(s.windows[1].window == Window(base: 0x5000_0000_0000, size: 1 << 30), "\(value)")
            #expect(string(s.windows[1].value) == value)
        }
    }

    @Test func optionsOnTheDefaultWindow() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW", "0x400000000000:1T:persist=/var/tmp/d.mw") == nil)
        #expect(s.window == Window(base: 0x4000_0000_0000, size: 1 << 40))
        #expect(s.windows[0].backing == .persistent)
        #expect(string(s.windows[0].path) == "/var/tmp/d.mw")
        #expect(text(of: s.windows[0].name) == "default")
        #expect(s.windows.count == 1)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW", "0x400000000000:1T:shared") == nil)
        #expect(s.windows[0].backing == .shared && s.windows[0].path.count == 0)
        let before = s
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW", "0x400000000000:1T:tmpfs")
                == SeenError(.windowUnknownOption(Bytes("tmpfs")), .environment, key: "MAPWARDEN_WINDOW",
                             value: "0x400000000000:1T:tmpfs"))
        #expect(s == before)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW", "0x400000000000:1T") == nil)
        #expect(s.windows[0].backing == .private)
    }

    @Test func badOptions() {
        let keep = KeptBytes()
        let table: [(String, ConfigError.Problem)] = [
            ("persist", .windowOptionNeedsPath(Bytes("persist"))),
            ("persist=", .windowOptionNeedsPath(Bytes("persist="))),
            ("persist=  ", .windowOptionNeedsPath(Bytes("persist="))),
            ("shared=", .windowOptionNeedsPath(Bytes("shared="))),
            ("tmpfs", .windowUnknownOption(Bytes("tmpfs"))),
            ("Shared", .windowUnknownOption(Bytes("Shared"))),
            ("private=x", .windowUnknownOption(Bytes("private=x"))),
            ("persistent=/x", .windowUnknownOption(Bytes("persistent=/x"))),
            ("", .windowUnknownOption(Bytes(""))),
            ("2T", .windowUnknownOption(Bytes("2T"))),
            ("shared,", .windowUnknownOption(Bytes(""))),
            ("shared,persist=/x", .windowConflictingOptions),
            ("persist=/x,shared", .windowConflictingOptions),
            ("private,shared", .windowConflictingOptions),
            ("shared,shared", .windowConflictingOptions),
            ("private,private", .windowConflictingOptions),
            ("shared=a,shared=b", .windowConflictingOptions),
        ]
        for (options, problem) in table {
            var s = Settings(space: .x86_64)
            let before = s
            let value = "0x500000000000:1G:" + options
            #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", value, .file(line: 3))
                    == SeenError(problem, .file(line: 3), key: "MAPWARDEN_WINDOW_IPC", value: value), "\(options)")
            #expect(s == before, "\(options)")
        }
    }

    @Test func overlapNamesTheEarlierWindowAndCarriesTheLaterOnesEntry() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", "0x400000000000:1G") == nil) // inside the default
        let v = validated(s)
        #expect(v?.0 == SeenError(.windowsOverlap(name: .defaultWindow, key: Bytes("MAPWARDEN_WINDOW"),
                                                  window: Window(base: 0x4000_0000_0000, size: 1 << 40)),
                                  .environment, key: "MAPWARDEN_WINDOW_IPC", value: "0x400000000000:1G"))
        #expect(v?.otherKey == "MAPWARDEN_WINDOW")
    }

    @Test func overlapBetweenTwoNamedWindows() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_HEAP", "0x500000000000:4G", .file(line: 2)) == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_LOG", "0x600000000000:4G", .file(line: 3)) == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", "0x5000ffff0000:1M", .file(line: 4)) == nil)
        let v = validated(s)
        #expect(v?.0 == SeenError(.windowsOverlap(name: windowName("heap")!, key: Bytes("MAPWARDEN_WINDOW_HEAP"),
                                                  window: Window(base: 0x5000_0000_0000, size: 4 << 30)),
                                  .file(line: 4), key: "MAPWARDEN_WINDOW_IPC", value: "0x5000ffff0000:1M"))
        #expect(v?.otherKey == "MAPWARDEN_WINDOW_HEAP")
        // The environment switches the file's window off: no overlap left.
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_HEAP", "") == nil)
        #expect(validated(s) == nil)
    }

    @Test func adjacentWindowsAreFine() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        // The default is [0x400000000000, 0x410000000000).
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_ABOVE", "0x410000000000:1G") == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_BELOW", "0x3fffc0000000:1G") == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_NEXT", "0x410040000000:4K") == nil)
        #expect(validated(s) == nil)
        // One page more overlaps.
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_BELOW", "0x3fffc0000000:0x40001000") == nil)
        #expect(validated(s)?.0.key == "MAPWARDEN_WINDOW_BELOW")
    }

    @Test func movingTheDefaultWindowAwayResolvesTheOverlap() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", "0x400000000000:1G", .file(line: 1)) == nil)
        #expect(validated(s) != nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW", "0x500000000000:1T") == nil)
        #expect(validated(s) == nil)
    }

    /// However the pair was configured, the error names both windows.
    @Test func overlapWithTheDefaultSetLaterNamesBoth() {
        let keep = KeptBytes()
        var s = Settings(space: .x86_64)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW_IPC", "0x500000000000:1G", .file(line: 1)) == nil)
        #expect(applyKept(&s, keep, "MAPWARDEN_WINDOW", "0x500000000000:1T", .environment) == nil)
        guard let (e, otherKey) = validated(s) else {
            Issue.record("no overlap reported")
            return
        }
        #expect(Set([e.key, otherKey]) == ["MAPWARDEN_WINDOW", "MAPWARDEN_WINDOW_IPC"])
    }
}

@Suite struct SnapshotSignalTests {
    func parse(_ s: String) -> Int32? {
        let bytes = Array(s.utf8)
        return bytes.withUnsafeBufferPointer { Settings.parseSnapshotSignal(Bytes($0)) }
    }

    /// MAPWARDEN_SNAPSHOT_SIGNAL takes the signals no program relies on by
    /// default, by name or number, and refuses the others.
    @Test func acceptsUserAndRealTimeSignalsOnly() {
        #expect(parse("SIGUSR2") == 12)
        #expect(parse("USR1") == 10)
        #expect(parse(" 12 ") == 12)
        #expect(parse("SIGRTMIN") == 34)
        #expect(parse("RTMIN+3") == 37)
        #expect(parse("SIGRTMIN+30") == 64)
        #expect(parse("off") == 0)
        #expect(parse("") == 0)
        #expect(parse("SIGRTMIN+31") == nil)
        #expect(parse("SIGSEGV") == nil)
        #expect(parse("11") == nil)
        #expect(parse("9") == nil)
        #expect(parse("SIGKILL") == nil)
        #expect(parse("usr2") == nil)
        #expect(parse("RTMIN-1") == nil)
    }
}
