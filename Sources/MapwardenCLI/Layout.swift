#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MapwardenLogic

/// One line of /proc/PID/maps.
struct MapsEntry {
    var start: UInt64
    var end: UInt64
    var perms: String
    var path: String

    static func parse(_ text: String) -> [MapsEntry] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count >= 5 else { return nil }
            let range = fields[0].split(separator: "-")
            guard range.count == 2, let s = UInt64(range[0], radix: 16), let e = UInt64(range[1], radix: 16) else { return nil }
            let path = fields.count > 5 ? fields[5].trimmed(" ") : ""
            return MapsEntry(start: s, end: e, perms: String(fields[1]), path: path)
        }
    }

    var line: String {
        "\(String(start, radix: 16))-\(String(end, radix: 16)) \(perms) \(path)"
    }
}

extension Substring {
    func trimmed(_ set: Character) -> String {
        var s = self
        while s.first == set { s = s.dropFirst() }
        while s.last == set { s = s.dropLast() }
        return String(s)
    }
}

/// A place in the address space with a known user.
struct Region {
    enum Kind: Int, Comparable {
        /// Mapped in a fresh process right now: the reservation fails over it.
        case occupied = 0
        /// Where ASLR puts something on some runs: the reservation fails on those runs.
        case random
        /// A fixed user that stops (or fails) when the window is in its place.
        case breaks
        /// A fixed user that moves elsewhere when the window is in its place.
        case adapts

        static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }

        var label: String {
            switch self {
            case .occupied: return "mapped now"
            case .random: return "ASLR range"
            case .breaks: return "fixed"
            case .adapts: return "preferred"
            }
        }
    }

    var start: UInt64
    var end: UInt64
    var what: String
    var kind: Kind
    /// What an overlap with the window means.
    var ifOverlapping: String

    func overlaps(_ w: Window) -> Bool { start < w.end && end > w.base }
}

/// The typical address-space layout around a window: what a fresh process
/// has mapped, where ASLR puts things, and the fixed users we know of.
struct Layout {
    var space: AddressSpace
    var regions: [Region] = []
    var facts: [String] = []

    static func sysctl(_ name: String) -> String? {
        Paths.readText("/proc/sys/" + name.replacingOccurrences(of: ".", with: "/"))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func sysctlNumber(_ name: String) -> UInt64? { sysctl(name).flatMap { UInt64($0) } }

    init(space: AddressSpace, maps: [MapsEntry], executable: String) {
        self.space = space
        addObserved(maps, executable: executable)
        #if arch(x86_64)
        addX86Random()
        addX86Fixed()
        #else
        addArm64()
        #endif
        regions.sort { ($0.start, $0.end) < ($1.start, $1.end) }
    }

    // MARK: what a fresh process has mapped

    mutating func addObserved(_ maps: [MapsEntry], executable: String) {
        func add(_ entries: [MapsEntry], _ what: String) {
            guard let lo = entries.map(\.start).min(), let hi = entries.map(\.end).max() else { return }
            regions.append(Region(start: lo, end: hi, what: what, kind: .occupied,
                                  ifOverlapping: "mapped in a fresh process: the reservation fails"))
        }
        add(maps.filter { $0.path == executable }, "this run: the executable (\(Paths.basename(executable)), PIE)")
        add(maps.filter { $0.path == "[heap]" }, "this run: [heap] (brk)")
        let libs = maps.filter { $0.path.hasPrefix("/") && $0.path != executable }
        add(libs, "this run: shared libraries and mmap(NULL) area")
        add(maps.filter { $0.path == "[stack]" }, "this run: [stack]")
        add(maps.filter { $0.path == "[vdso]" || $0.path == "[vvar]" || $0.path == "[vvar_vclock]" }, "this run: [vdso] [vvar]")
    }

    // MARK: x86-64

    mutating func addX86Random() {
        let task = space.userEnd
        let page = space.pageSize
        let rndBits = Layout.sysctlNumber("vm.mmap_rnd_bits") ?? 28
        let aslr = (Layout.sysctlNumber("kernel.randomize_va_space") ?? 2) != 0
        let rnd: UInt64 = aslr ? (UInt64(1) << rndBits) * page : 0
        let stackRnd: UInt64 = aslr ? UInt64(16) << 30 : 0

        // PIE: ELF_ET_DYN_BASE (2/3 of the 47-bit space) + mmap randomization; brk follows.
        let pieBase: UInt64 = 0x5555_5555_4000
        regions.append(Region(start: pieBase, end: pieBase + rnd + (1 << 30),
                              what: "PIE executables and their brk heap (ELF_ET_DYN_BASE + \(rndBits)-bit ASLR)",
                              kind: .random, ifOverlapping: "a PIE executable loads there on some runs: the reservation then fails"))

        // Stack: below TASK_SIZE by up to 16 GiB.
        var rl = rlimit()
        getrlimit(Int32(RLIMIT_STACK.rawValue), &rl)
        let stackLimit = rl.rlim_cur == rlim_t.max ? UInt64.max : UInt64(rl.rlim_cur)
        let stackSize = min(stackLimit, 8 << 20)
        regions.append(Region(start: task - stackRnd - stackSize, end: task,
                              what: "the main thread's stack", kind: .random,
                              ifOverlapping: "the stack is there on some runs: the reservation then fails"))

        // Top-down mmap base: TASK_SIZE - clamp(stack rlimit + guard gap + stack randomization) - rnd.
        let guardGap = (Layout.sysctlNumber("vm.stack_guard_gap") ?? 256) * page
        var gap = stackLimit
        let pad = guardGap + stackRnd
        if gap &+ pad > gap { gap += pad }
        gap = max(gap, 128 << 20)
        gap = min(gap, task / 6 * 5)
        let mmapHigh = space.pageAlignedDown(task - gap)
        let mmapLow = mmapHigh - rnd
        if Layout.sysctl("vm.legacy_va_layout") == "1" {
            let low = space.pageAlignedDown(task / 3)
            regions.append(Region(start: low, end: low + rnd + (1 << 40),
                                  what: "legacy bottom-up mmap area (vm.legacy_va_layout=1), grows up",
                                  kind: .random, ifOverlapping: "libraries and mmap(NULL) land there: the reservation can fail"))
        } else {
            regions.append(Region(start: mmapLow, end: mmapHigh,
                                  what: "mmap base (libraries, mmap(NULL)); the area grows down from it",
                                  kind: .random, ifOverlapping: "libraries and mmap(NULL) land there on some runs: the reservation can fail"))
        }
        if stackLimit == UInt64.max {
            facts.append("The stack limit is unlimited (ulimit -s), which moves the mmap base down to about \(Fmt.hex(mmapHigh)).")
        }
        if !aslr { facts.append("ASLR is off (kernel.randomize_va_space=0): the ranges above are single addresses.") }
    }

    mutating func addX86Fixed() {
        func fixed(_ s: UInt64, _ e: UInt64, _ what: String, _ kind: Region.Kind, _ meaning: String) {
            regions.append(Region(start: s, end: e, what: what, kind: kind, ifOverlapping: meaning))
        }
        fixed(0x40_0000, 0x1_0000_0000, "non-PIE executables (0x400000), their brk heap, MAP_32BIT, LuaJIT",
              .adapts, "non-PIE programs and 32-bit-address users need this memory")
        fixed(0x8000_0000, 0x8_0000_0000, "JVM heap with zero-based compressed oops (ends at 32 GiB)",
              .adapts, "the JVM places its heap elsewhere (slower, heap-based compressed oops)")
        fixed(0x8_0000_0000, 0x8_8000_0000, "JVM CDS archive and class space (SharedBaseAddress 0x800000000)",
              .adapts, "the JVM maps the archive elsewhere and relocates it (slower start-up)")
        fixed(0x5000_0000, 0x5ac0_0000, "SBCL immobile spaces (0x50000000, MAP_32BIT hints)",
              .adapts, "served in place when the window covers them all (SBCL maps them with syscall(); docs/real-programs.md)")
        fixed(0xf_f9e0_0000, 0x12_0000_0000, "SBCL read-only (0xfff9e0000) and dynamic (0x1000000000) spaces",
              .adapts, "served in place when the window covers them (the dynamic space is --dynamic-space-size long)")
        fixed(0x42_0000_0000, 0x142_0000_0000, "GHC heap reservation (0x4200000000, 1 TiB)",
              .adapts, "GHC reserves its heap elsewhere")
        fixed(0xc0_0000_0000, 0x1c0_0000_0000, "Go heap arenas (first hint 0xc000000000, grows up)",
              .adapts, "Go moves to its next hint, 1 TiB higher")
        fixed(0x7fff_8000, 0x1000_7fff_8000, "ASan shadow memory (x86-64)",
              .breaks, "ASan-built programs cannot map their shadow: mapwarden or ASan stops")
        fixed(0x80_0000_0000, 0x5500_0000_0000, "TSan shadow, meta and protected gaps (gcc 12 / LLVM 14+)",
              .breaks, "TSan-built programs stop with status 71; pick a window in 0x550000000000-0x568000000000 or below 0x8000000000")
        fixed(0x5680_0000_0000, 0x7e80_0000_0000, "TSan protected gaps and heap (gcc 12 / LLVM 14+)",
              .breaks, "TSan-built programs stop with status 71")
        fixed(0x100_0000_0000, 0x5100_0000_0000, "MSan shadow, origins and invalid ranges (clang)",
              .breaks, "MSan-built programs cannot start; MSan leaves 0x510000000000-0x600000000000 to programs")
        fixed(0x6000_0000_0000, 0x7000_0000_0000, "MSan origin and invalid ranges (clang)",
              .breaks, "MSan-built programs cannot start")
        fixed(0x1_0000_0000, 0x4000_0000_0000, "V8 / Node and Chromium PartitionAlloc random hints (below 2^46)",
              .adapts, "their random hints land elsewhere (fewer places left for them)")
    }

    // MARK: aarch64

    mutating func addArm64() {
        // A 52-bit kernel maps above 2^48 only for a high hint.
        let task = min(space.userEnd, 1 << 48)
        let rndBits = Layout.sysctlNumber("vm.mmap_rnd_bits") ?? 18
        let rnd = (UInt64(1) << rndBits) * space.pageSize
        let pie = space.pageAlignedDown(task / 3 * 2)
        regions.append(Region(start: pie, end: pie + rnd + (1 << 30), what: "PIE executables and their brk heap",
                              kind: .random, ifOverlapping: "a PIE executable loads there on some runs"))
        regions.append(Region(start: task - rnd - (1 << 30), end: task, what: "mmap base and stack",
                              kind: .random, ifOverlapping: "libraries, mmap(NULL) or the stack land there on some runs"))
        regions.append(Region(start: 0x40_0000_0000, end: 0x140_0000_0000, what: "Go heap arenas (arm64 hint 0x4000000000)",
                              kind: .adapts, ifOverlapping: "Go moves to its next hint"))
        regions.append(Region(start: 0x8_0000_0000, end: 0x8_8000_0000, what: "JVM CDS archive (0x800000000)",
                              kind: .adapts, ifOverlapping: "the JVM relocates the archive"))
        regions.append(Region(start: 0x1_0000_0000, end: DefaultWindow.aarch64HintsEnd,
                              what: "V8 / Node and Chromium PartitionAlloc random hints (arm64 Linux: below 320 GiB)",
                              kind: .adapts, ifOverlapping: "their random hints land elsewhere (fewer places left for them)"))
    }

    // MARK: verdicts

    /// The regions the window overlaps, worst first.
    func overlapping(_ w: Window) -> [Region] {
        regions.filter { $0.overlaps(w) }.sorted { $0.kind < $1.kind }
    }

    /// A window of the same size (up to 1 TiB) that overlaps nothing mapped,
    /// no ASLR range and no fixed user that breaks, closest to the default.
    func suggestion(size: UInt64, avoiding maps: [MapsEntry]) -> Window? {
        var blocked = regions.filter { $0.kind == .occupied || $0.kind == .random }.map { ($0.start, $0.end) }
        blocked += maps.map { ($0.start, $0.end) }
        blocked = blocked.filter { $0.0 < space.userEnd }.map { ($0.0, min($0.1, space.userEnd)) }
        blocked.append((0, 0x1_0000_0000))
        blocked.sort { $0 < $1 }
        let want = size
        // Without a default window (a small space): the middle of user space.
        let target = space.defaultWindow?.base ?? space.userEnd / 2
        var best: Window?
        var cursor: UInt64 = 0
        func consider(_ lo: UInt64, _ hi: UInt64) {
            let align: UInt64 = 1 << 30
            guard hi > lo, let first = space.pageAlignedUp(lo) else { return }
            let aligned = (first + align - 1) / align * align
            guard aligned < hi, hi - aligned >= want else { return }
            // As close to the default base as the gap allows.
            var base = aligned
            if target > base { base = min(target, (hi - want) / align * align) }
            if base < aligned { base = aligned }
            let w = Window(base: base, size: want)
            let dist = { (x: Window) in x.base > target ? x.base - target : target - x.base }
            if best == nil || dist(w) < dist(best!) { best = w }
        }
        for (s, e) in blocked {
            if s > cursor { consider(cursor, s) }
            cursor = max(cursor, e)
        }
        if cursor < space.userEnd { consider(cursor, space.userEnd) }
        return best
    }
}

/// Limits and kernel settings that decide whether a big reservation works.
struct SystemLimits {
    var lines: [(text: String, problem: Bool)] = []

    init(windows: [Window], processSize: UInt64) {
        let total = windows.reduce(UInt64(0)) { $0 + $1.size }
        let what = windows.count == 1 ? "the window needs" : "the \(windows.count) windows need"
        var rl = rlimit()
        if getrlimit(Int32(RLIMIT_AS.rawValue), &rl) == 0 {
            if rl.rlim_cur == rlim_t.max {
                lines.append(("RLIMIT_AS (ulimit -v): unlimited", false))
            } else {
                let limit = UInt64(rl.rlim_cur)
                // mapwarden's metadata (with stacks, without the clobber guard): cut to fit, down to its minimum.
                let wanted = MetadataBudget.wanted(windowBytes: total, pageSize: UInt64(getpagesize()), tracksOutside: false, stacks: true)
                let least = MetadataBudget.minimum(wanted).total
                let need = processSize + total + least
                let ok = limit >= need
                lines.append(("RLIMIT_AS (ulimit -v): \(Fmt.bytes(limit)); \(what) \(Fmt.bytes(total)) on top of the program's own address space (a small process: \(Fmt.bytes(processSize))), and mapwarden's metadata \(Fmt.bytes(wanted.total)) (cut to fit in half of what is left, down to \(Fmt.bytes(least)))"
                              + (ok ? "" : ": TOO SMALL, raise it with ulimit -v unlimited"), !ok))
            }
        }
        if let n = Layout.sysctlNumber("vm.max_map_count") {
            let low = n < 65530
            lines.append(("vm.max_map_count: \(n)" + (low
                ? ": low; every mapping inside the window splits the reservation (up to 2 more VMAs each), so programs with many mappings hit it sooner (ENOMEM)"
                : " (each mapping inside the window can cost up to 2 VMAs)"), low))
        }
        if let mode = Layout.sysctl("vm.overcommit_memory") {
            switch mode {
            case "2":
                let ratio = Layout.sysctl("vm.overcommit_ratio") ?? "?"
                lines.append(("vm.overcommit_memory: 2 (strict, ratio \(ratio)%): the PROT_NONE reservation is not charged, but every writable private mapping made in it is, against CommitLimit", false))
            case "1":
                lines.append(("vm.overcommit_memory: 1 (always): nothing to worry about", false))
            default:
                lines.append(("vm.overcommit_memory: \(mode) (heuristic): the reservation costs no commit charge", false))
            }
        }
        if let minAddr = Layout.sysctlNumber("vm.mmap_min_addr") {
            for w in windows where w.base < minAddr {
                lines.append(("vm.mmap_min_addr: \(Fmt.hex(minAddr)) is above the base \(Fmt.hex(w.base)) of a window: the kernel refuses it", true))
            }
        }
    }
}
