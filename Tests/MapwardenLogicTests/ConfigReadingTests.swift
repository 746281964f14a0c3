import Testing
@testable import MapwardenLogic

/// An environment in a given order (the library's is the process's; the
/// command gives its own sorted).
final class ListEnvironment: ConfigEnvironment {
    let entries: [(String, String)]
    /// Copies the Bytes handed out point into, alive as long as the environment.
    private var kept: [UnsafeMutableBufferPointer<UInt8>] = []

    init(_ entries: [(String, String)]) { self.entries = entries }
    deinit { kept.forEach { $0.deallocate() } }

    func bytes(_ s: String) -> Bytes {
        let b = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(s.utf8.count, 1))
        _ = b.initialize(from: s.utf8)
        kept.append(b)
        return Bytes(b.baseAddress, count: s.utf8.count)
    }

    func value(of key: SettingKey) -> Bytes? {
        let name = key.name.description
        return entries.last(where: { $0.0 == name }).map { bytes($0.1) }
    }

    func forEachEntry(_ body: (Bytes, Bytes) -> Void) {
        for (k, v) in entries { body(bytes(k), bytes(v)) }
    }
}

/// What Settings.read did: the entries applied and the problems, in order.
struct Reading {
    var settings: Settings
    var applied: [String] = []
    var problems: [SeenError] = []
    var count = 0
}

func read(file: String?, unreadable: Bool = false, _ env: [(String, String)],
          space: AddressSpace = .x86_64) -> Reading {
    let environment = ListEnvironment(env)
    var settings = Settings(space: space)
    var applied: [String] = [], problems: [SeenError] = [], count = 0
    func run(_ file: ConfigFile) {
        count = settings.read(file: file, environment: environment, applied: { k, v, origin in
            let at: String
            switch origin {
            case .file(let line): at = "file:\(line)"
            case .environment: at = "env"
            }
            applied.append("\(at) \(string(k))=\(string(v))")
        }, problem: { problems.append(SeenError($0)) })
    }
    if unreadable {
        run(.unreadable)
    } else if let file {
        withBytes(file) { run(.text($0)) }
    } else {
        run(.none)
    }
    let r = Reading(settings: settings, applied: applied, problems: problems, count: count)
    return r
}

@Suite struct ConfigReadingTests {
    /// The library's order: the file's entries as written, then the
    /// environment's keys in SettingKey order (not the environment's), then
    /// its named windows in the environment's order.
    @Test func orderIsFileThenKeysThenNamedWindows() {
        let r = read(file: """
            MAPWARDEN_TRACK=all
            MAPWARDEN_WINDOW_B=0x600000000000:1G
            MAPWARDEN_LOG=debug
            """, [
                ("MAPWARDEN_WINDOW_Z", "0x700000000000:1G"),
                ("MAPWARDEN_CLOBBER", "report"),
                ("PATH", "/usr/bin"),
                ("MAPWARDEN_WINDOW_A", "0x680000000000:1G"),
                ("MAPWARDEN_LOG", "quiet"),
            ])
        #expect(r.count == 0)
        #expect(r.problems.isEmpty)
        #expect(r.applied == [
            "file:1 MAPWARDEN_TRACK=all",
            "file:2 MAPWARDEN_WINDOW_B=0x600000000000:1G",
            "file:3 MAPWARDEN_LOG=debug",
            "env MAPWARDEN_LOG=quiet",        // SettingKey order: log before clobber
            "env MAPWARDEN_CLOBBER=report",
            "env MAPWARDEN_WINDOW_Z=0x700000000000:1G", // the environment's order
            "env MAPWARDEN_WINDOW_A=0x680000000000:1G",
        ])
        // The environment wins over the file.
        #expect(r.settings.log == .quiet)
        #expect(r.settings.track == .all)
        #expect(r.settings.clobber == .report)
        #expect(r.settings.windows.count == 4)
    }

    @Test func environmentWindowReplacesTheFilesAndAnEmptyValueRemovesIt() {
        let r = read(file: "MAPWARDEN_WINDOW=0x500000000000:1G\nMAPWARDEN_WINDOW_IPC=0x600000000000:1G:shared\n",
                     [("MAPWARDEN_WINDOW", "0x100000000000:2G"), ("MAPWARDEN_WINDOW_IPC", "")])
        #expect(r.count == 0)
        #expect(r.settings.window == Window(base: 0x1000_0000_0000, size: 2 << 30))
        #expect(r.settings.windows.count == 1)
    }

    /// Every problem is reported, in the order of the entries; the whole
    /// configuration is judged (overlaps) only when every entry was right.
    @Test func problemsInOrderAndValidationOnlyWhenAllEntriesWereRight() {
        let r = read(file: "MAPWARDEN_WINDOW_A=0x500000000000:1G\nNOT AN ENTRY\nMAPWARDEN_LOG=loud\nMAPWARDEN_CONFIG=/x\n",
                     [("MAPWARDEN_CLOBBER", "maybe"), ("MAPWARDEN_WINDOW_B", "0x500000000000:1G"),
                      ("MAPWARDEN_WINDOW_C", "12")])
        #expect(r.count == 5)
        #expect(r.problems.map(\.origin) == [.file(line: 2), .file(line: 3), .file(line: 4), .environment, .environment])
        #expect(r.problems[0].problem == .missingEquals)
        #expect(r.problems[1].problem == .notOneOf(LogLevel.choices))
        #expect(r.problems[2].problem == .environmentOnly)
        #expect(r.problems[3].problem == .notOneOf(ClobberPolicy.choices))
        #expect(r.problems[4].key == "MAPWARDEN_WINDOW_C")
        // A and B overlap, but with other problems the whole is not judged.
        #expect(!r.problems.contains { if case .windowsOverlap = $0.problem { return true } else { return false } })

        let clean = read(file: "MAPWARDEN_WINDOW_A=0x500000000000:1G\n", [("MAPWARDEN_WINDOW_B", "0x500000000000:1G")])
        #expect(clean.count == 1)
        #expect(clean.problems.count == 1)
        if case .windowsOverlap(let name, _, _) = clean.problems.first?.problem {
            #expect(name == WindowName(validating: Bytes("a")))
            #expect(clean.problems[0].key == "MAPWARDEN_WINDOW_B")
        } else {
            Issue.record("expected an overlap, got \(clean.problems)")
        }
    }

    /// A config file that cannot be read counts as a problem (the caller has
    /// said why): the environment is still read, the whole is not judged.
    @Test func unreadableFileCountsAndStopsValidation() {
        let r = read(file: nil, unreadable: true,
                     [("MAPWARDEN_WINDOW_A", "0x500000000000:1G"), ("MAPWARDEN_WINDOW_B", "0x500000000000:1G")])
        #expect(r.count == 1)
        #expect(r.problems.isEmpty)
        #expect(r.applied.count == 2)
    }

    /// MAPWARDEN_CONFIG names the file: the caller reads it; read() takes
    /// no value for it from the environment, and only MAPWARDEN_WINDOW_*
    /// entries from the rest.
    @Test func configKeyAndOtherEntriesAreNotApplied() {
        let r = read(file: nil, [("MAPWARDEN_CONFIG", "/etc/x.env"), ("MAPWARDEN_WINDOWS", "x"),
                                 ("HOME", "/root"), ("MAPWARDEN_WINDOW", "0x500000000000:1G")])
        #expect(r.count == 0)
        #expect(r.applied == ["env MAPWARDEN_WINDOW=0x500000000000:1G"])
    }

    @Test func addressSpaceIsDetectedFromPageSizeAndStack() {
        #expect(AddressSpace.detect(pageSize: 4096, stackAddress: 0x7FFF_0000_0000, x86_64: true) == .x86_64)
        let big = AddressSpace.detect(pageSize: 16384, stackAddress: 0x7FFF_0000_0000, x86_64: true)
        #expect(big.pageSize == 16384 && big.userEnd == AddressSpace.x86_64.userEnd)
        #expect(AddressSpace.detect(pageSize: 4096, stackAddress: 0xFFFF_F000_0000, x86_64: false) == .aarch64VA48)
        #expect(AddressSpace.detect(pageSize: 4096, stackAddress: 0x7F_F000_0000, x86_64: false) == .aarch64VA39)
        #if arch(x86_64)
        #expect(AddressSpace.builtForX86_64)
        #endif
    }
}
