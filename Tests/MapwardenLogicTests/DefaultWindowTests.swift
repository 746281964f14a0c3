import Testing
@testable import MapwardenLogic

private let T: UInt64 = 1 << 40
private let G: UInt64 = 1 << 30

/// Every user-space size the default window is chosen for, with the
/// window expected there (DefaultWindow.swift gives the rule).
private let expected: [(name: String, space: AddressSpace, window: Window)] = [
    ("x86-64 47-bit", .x86_64, Window(base: 0x4000_0000_0000, size: T)),
    ("x86-64 la57", .x86_64(la57: true), Window(base: 0x4000_0000_0000, size: T)),
    ("aarch64 39-bit", .aarch64(vaBits: 39), Window(base: 0x50_0000_0000, size: 16 * G)),
    ("aarch64 42-bit", .aarch64(vaBits: 42, pageSize: 65536), Window(base: 0x80_0000_0000, size: 256 * G)),
    ("aarch64 47-bit", .aarch64(vaBits: 47, pageSize: 16384), Window(base: 0x1000_0000_0000, size: T)),
    ("aarch64 48-bit", .aarch64(vaBits: 48), Window(base: 0x2000_0000_0000, size: T)),
    ("aarch64 52-bit", .aarch64(vaBits: 52, pageSize: 65536), Window(base: 0x2000_0000_0000, size: T)),
]

private let pageSizes: [UInt64] = [4096, 16384, 65536]

@Suite struct DefaultWindowTests {
    /// x86-64 keeps exactly the window it always had.
    @Test func x86_64KeepsSixtyFourTiBAndOneTiB() {
        #expect(AddressSpace.x86_64.defaultWindow == Window(base: 0x4000_0000_0000, size: 1 << 40))
        #expect(Settings(space: .x86_64).window == Window(base: 0x4000_0000_0000, size: 1 << 40))
    }

    @Test func eachUserSpaceSizeGetsItsWindow() {
        for e in expected {
            #expect(e.space.defaultWindow == e.window, "\(e.name)")
            #expect(Settings(space: e.space).window == e.window, "\(e.name)")
        }
    }

    /// The page size does not move the window: every one is a multiple of 64 KiB.
    @Test(arguments: pageSizes)
    func windowIsTheSameForEveryPageSize(pageSize: UInt64) {
        for bits in [39, 42, 47, 48, 52] {
            let w = AddressSpace.aarch64(vaBits: bits, pageSize: pageSize).defaultWindow
            #expect(w == AddressSpace.aarch64(vaBits: bits).defaultWindow, "\(bits) bits, \(pageSize)")
            #expect(w.map { $0.base % pageSize == 0 && $0.size % pageSize == 0 } == true)
        }
    }

    /// Every default window passes the checks a configured one does, in
    /// its own address space, with its own page size.
    @Test(arguments: pageSizes)
    func everyDefaultPassesTheConfigChecks(pageSize: UInt64) {
        for e in expected {
            var space = e.space
            space.pageSize = pageSize
            guard let w = space.defaultWindow else { Issue.record("\(e.name): no window"); continue }
            let text = render { $0.append(hex: w.base); $0.append(byte: 0x3A); $0.append(size: w.size) }
            #expect(window(text, space) == .success(w), "\(e.name) \(text)")
        }
    }

    /// The rule itself, for aarch64: above the hints of V8 (below 2^38) and
    /// PartitionAlloc (below 320 GiB), and the JVM's and Go's first
    /// arenas; below the PIE base (2/3 of the mmap range), the legacy mmap
    /// base (1/4) where there is room, and the stack at the top.
    @Test func aarch64WindowsSitBetweenTheHintsAndThePIEBase() {
        for bits in [39, 42, 47, 48, 52] {
            let space = AddressSpace.aarch64(vaBits: bits)
            guard let w = space.defaultWindow else { Issue.record("\(bits): no window"); continue }
            let mapEnd: UInt64 = 1 << UInt64(min(bits, 48))
            #expect(w.base >= 1 << 38, "\(bits): in V8's hints")
            #expect(w.base >= 0x50_0000_0000, "\(bits): in PartitionAlloc's hints")
            #expect(w.base >= 0x8_8000_0000, "\(bits): below the JVM's CDS archive")
            #expect(w.end <= mapEnd / 3 * 2, "\(bits): reaches the PIE base")
            #expect(w.end < mapEnd - (16 << 30), "\(bits): reaches the stack's randomization")
            if bits > 39 { #expect(w.end <= mapEnd / 4, "\(bits): reaches the legacy mmap base") }
            #expect(w.size <= T)
        }
    }

    /// x86-64's window sits above V8's and PartitionAlloc's hints (2^46)
    /// and below the PIE base (2/3 of 2^47) and the mmap base.
    @Test func x86_64WindowSitsBetweenTheHintsAndThePIEBase() {
        for space in [AddressSpace.x86_64, .x86_64(la57: false), .x86_64(la57: true)] {
            let w = space.defaultWindow!
            #expect(w.base >= 1 << 46)
            #expect(w.end <= 0x5555_5555_4000)
        }
    }

    /// Too small a space has no default window, and asking for none there
    /// is a configuration error naming where user space ends; never an
    /// empty window.
    @Test func tooSmallASpaceIsAnErrorNamingItsEnd() {
        for space in [AddressSpace.aarch64(vaBits: 36, pageSize: 16384), .aarch64(vaBits: 32),
                      AddressSpace(pageSize: 4096, userEnd: (1 << 46) - 4096)] {
            #expect(space.defaultWindow == nil)
            let r = read(file: nil, [], space: space)
            #expect(r.count == 1)
            #expect(r.problems == [SeenError(.noDefaultWindow(userEnd: space.userEnd), .environment,
                                             key: "MAPWARDEN_WINDOW", value: "")])
            var e: ConfigError? = nil
            var s = Settings(space: space)
            _ = s.read(file: .none, environment: ListEnvironment([]), problem: { e = $0 })
            let text = render { e!.describe(into: &$0, fileName: .empty) }
            #expect(text.contains("no default window"), "\(text)")
            #expect(text.contains(render { $0.append(hex: space.userEnd) }), "\(text)")
            #expect(text.contains("set MAPWARDEN_WINDOW=BASE:SIZE"), "\(text)")
        }
    }

    /// A configured window is all such a space needs.
    @Test func aConfiguredWindowNeedsNoDefault() {
        let space = AddressSpace.aarch64(vaBits: 36, pageSize: 16384)
        let r = read(file: nil, [("MAPWARDEN_WINDOW", "0x800000000:1G")], space: space)
        #expect(r.count == 0)
        #expect(r.settings.window == Window(base: 0x8_0000_0000, size: G))
        // from the file too
        let f = read(file: "MAPWARDEN_WINDOW=0x800000000:1G\n", [], space: space)
        #expect(f.count == 0)
    }

    /// A named window alone does not stand in for the default one.
    @Test func aNamedWindowAloneIsStillAnError() {
        let space = AddressSpace.aarch64(vaBits: 36, pageSize: 16384)
        let r = read(file: nil, [("MAPWARDEN_WINDOW_JIT", "0x800000000:1G")], space: space)
        #expect(r.problems.map(\.problem) == [.noDefaultWindow(userEnd: 1 << 36)])
    }

    /// The stack's address tells the aarch64 VA size: the smallest one
    /// above it; x86-64 is 47 bits whatever the stack.
    @Test(arguments: pageSizes)
    func detectionFromTheStack(pageSize: UInt64) {
        for bits in [36, 39, 42, 47, 48] {
            let top: UInt64 = 1 << UInt64(bits)
            for stack in [top - 4096, top - (17 << 30)] where stack > 1 << UInt64(bits - 1) {
                let space = AddressSpace.detect(pageSize: pageSize, stackAddress: stack, x86_64: false)
                #expect(space == .aarch64(vaBits: bits, pageSize: pageSize), "\(bits) bits, stack \(stack)")
            }
        }
        // qemu-aarch64's stack sits just below 0x5500000000 (340 GiB): 39 bits.
        #expect(AddressSpace.detect(pageSize: pageSize, stackAddress: 0x54_ffff_f5c4, x86_64: false).userEnd == 1 << 39)
        let x86 = AddressSpace.detect(pageSize: pageSize, stackAddress: 0x7ffd_0000_0000, x86_64: true)
        #expect(x86.userEnd == AddressSpace.x86_64.userEnd && x86.pageSize == pageSize)
    }

    @Test func vaBitsAndArchitectureFromTheEnd() {
        #expect(AddressSpace.x86_64.vaBits == 47 && AddressSpace.x86_64.isX86_64)
        #expect(AddressSpace.x86_64(la57: true).vaBits == 56 && AddressSpace.x86_64(la57: true).isX86_64)
        for bits in [36, 39, 42, 47, 48, 52] {
            #expect(AddressSpace.aarch64(vaBits: bits).vaBits == bits)
            #expect(!AddressSpace.aarch64(vaBits: bits).isX86_64)
        }
    }

    /// A MAP_HUGETLB without a size uses one PMD of pages: 2 MiB with 4 KiB
    /// pages (x86-64 as before), 32 MiB with 16 KiB, 512 MiB with 64 KiB.
    @Test func defaultHugePageIsThePageSizesPMD() {
        #expect(AddressSpace.x86_64.defaultHugePageSize == 2 << 20)
        #expect(AddressSpace.aarch64(vaBits: 39, pageSize: 4096).defaultHugePageSize == 2 << 20)
        #expect(AddressSpace.aarch64(vaBits: 47, pageSize: 16384).defaultHugePageSize == 32 << 20)
        #expect(AddressSpace.aarch64(vaBits: 42, pageSize: 65536).defaultHugePageSize == 512 << 20)
    }
}
