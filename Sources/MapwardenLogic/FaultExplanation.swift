/// Explaining a crash in a window (MAPWARDEN_FAULTS=explain): what a
/// SIGSEGV or SIGBUS address was, decided here, once, from the windows, the
/// registry and the history of recent unmaps. The engine gathers those
/// facts in its signal handler and writes what `FaultText` says; nothing
/// here makes a system call or allocates.

/// The signal a fault came with.
public enum FaultSignal: UInt8 {
    case segv
    case bus

    public var name: StaticString {
        switch self {
        case .segv: "SIGSEGV"
        case .bus: "SIGBUS"
        }
    }
}

/// What the faulting instruction did (from the CPU's fault information;
/// `unknown` where the architecture does not say).
public enum FaultAccess: UInt8 {
    case unknown = 0
    case read = 1
    case write = 2
    case exec = 3

    public var name: StaticString {
        switch self {
        case .unknown: "access"
        case .read: "read"
        case .write: "write"
        case .exec: "exec"
        }
    }

    /// The PROT_* bit the access needs (0: not known).
    public var protectionBit: Int32 {
        switch self {
        case .unknown: 0
        case .read: 1
        case .write: 2
        case .exec: 4
        }
    }
}

/// One fault, as the signal handler saw it.
public struct Fault {
    public var signal: FaultSignal
    public var address: UInt64
    public var access: FaultAccess
    /// si_code SEGV_ACCERR: the kernel found a mapping, and the access was
    /// not allowed by its protection.
    public var accessError: Bool

    public init(signal: FaultSignal, address: UInt64, access: FaultAccess, accessError: Bool = false) {
        self.signal = signal
        self.address = address
        self.access = access
        self.accessError = accessError
    }
}

/// Why a range went back to the reservation.
public enum UnmapCause: UInt8 {
    case munmap = 0
    /// mremap moved the mapping away (`UnmapRecord.movedTo`).
    case mremapMoved = 1
    /// mremap shrank the mapping: this was its tail.
    case mremapShrank = 2
}

/// One range returned to the reservation, with what had been mapped there:
/// an entry of the unmap history. 80 bytes.
public struct UnmapRecord: Equatable {
    /// The range unmapped (a part of the mapping, or all of it).
    public var lo: UInt64
    public var hi: UInt64
    /// The mapping it was part of, as the registry had it.
    public var mapStart: UInt64
    public var mapEnd: UInt64
    /// When (the platform's tick counter, mw_ticks).
    public var time: UInt64
    /// Where the page at `lo` went, for `mremapMoved` (0: not known).
    public var movedTo: UInt64
    /// The stacks (StackDepot ids, 0: none) and threads of the call that
    /// made the mapping and of the call that unmapped it.
    public var mapStack: UInt32
    public var unmapStack: UInt32
    public var mapThread: UInt32
    public var unmapThread: UInt32
    public var prot: Int32
    public var kind: UInt32
    public var cause: UnmapCause

    public init(lo: UInt64, hi: UInt64, mapping m: Mapping, time: UInt64, unmapStack: UInt32, unmapThread: UInt32,
                cause: UnmapCause = .munmap, movedTo: UInt64 = 0) {
        self.lo = lo
        self.hi = hi
        mapStart = m.start
        mapEnd = m.end
        self.time = time
        self.movedTo = movedTo
        mapStack = m.origin.stack
        self.unmapStack = unmapStack
        mapThread = m.origin.thread
        self.unmapThread = unmapThread
        prot = m.prot
        kind = m.kind
        self.cause = cause
    }

    /// The mapping as it was (without its tag and offset).
    public var mapping: Mapping {
        Mapping(start: mapStart, end: mapEnd, prot: prot, kind: kind,
                origin: Mapping.Origin(stack: mapStack, thread: mapThread))
    }
}

/// The last `capacity` ranges unmapped from the windows, newest last, in
/// storage its owner hands it (the engine: a part of its metadata arena,
/// `bytes` long, committed at start-up). Recording is a few stores, under
/// the registry lock the unmap holds anyway; it never allocates.
public struct UnmapHistory {
    public static let capacity = 1024
    public static var bytes: Int { capacity * MemoryLayout<UnmapRecord>.stride }

    let storage: UnsafeMutablePointer<UnmapRecord>
    /// Records ever written (the next one goes to `written % capacity`).
    public private(set) var written: UInt64 = 0

    public init(storage: UnsafeMutableRawPointer) {
        self.storage = storage.bindMemory(to: UnmapRecord.self, capacity: UnmapHistory.capacity)
    }

    @inline(__always)
    public mutating func record(_ r: UnmapRecord) {
        storage[Int(written % UInt64(UnmapHistory.capacity))] = r
        written &+= 1
    }

    /// Whether older records were overwritten (so "never mapped" can only
    /// mean "not among the last `capacity` unmaps").
    public var wrapped: Bool { written > UInt64(UnmapHistory.capacity) }

    /// How many records are kept.
    public var count: Int { Int(Swift.min(written, UInt64(UnmapHistory.capacity))) }

    /// The newest record whose range holds addr.
    public func latest(covering addr: UInt64) -> UnmapRecord? {
        var n = written
        let oldest = written - UInt64(count)
        while n > oldest {
            n -= 1
            let r = storage[Int(n % UInt64(UnmapHistory.capacity))]
            if r.lo <= addr && addr < r.hi { return r }
        }
        return nil
    }

    /// After an mremap of [old, old + oldSize) that succeeded with `result`
    /// and a new size: the records written since `mark` (the call's own)
    /// say where their pages went. Pages below old + newSize moved with the
    /// mapping when it moved; the others were its tail, cut off.
    public mutating func settleRemap(since mark: UInt64, old: UInt64, newSize: UInt64, result: UInt64) {
        var n = Swift.max(mark, written - UInt64(count))
        while n < written {
            let i = Int(n % UInt64(UnmapHistory.capacity))
            let r = storage[i]
            if r.lo >= old && r.lo - old < newSize && result != old {
                storage[i].cause = .mremapMoved
                storage[i].movedTo = result &+ (r.lo - old)
            } else {
                storage[i].cause = .mremapShrank
            }
            n += 1
        }
    }
}

/// What a faulting address was. Decided by `FaultExplanation.classify`.
public enum FaultKind: Equatable {
    /// Not in any window: mapwarden has nothing to say.
    case outsideWindows
    /// In window `window`, but the registry could not be read (the fault
    /// came while this thread was changing it, or the lock stayed taken).
    case registryBusy(window: Int)
    /// A live mapping whose protection does not allow the access.
    case protection(Mapping)
    /// SIGBUS on a live file mapping: its page lies past the end of the file.
    case pastFileEnd(Mapping)
    /// A live mapping that allows the access, yet the kernel faulted: it
    /// was changed behind mapwarden's back (a raw system call), or the
    /// fault is of another kind (protection keys, hardware).
    case notAsRecorded(Mapping)
    /// A free page that was unmapped (or moved away by mremap) recently.
    case afterUnmap(UnmapRecord)
    /// A free page `distance` bytes past the end of a live mapping.
    case pastEnd(Mapping, distance: UInt64)
    /// A free page `distance` bytes before the start of a live mapping.
    case beforeStart(Mapping, distance: UInt64)
    /// A free page of window `window`, near no mapping, and not among the
    /// unmaps kept (`historyComplete`: the history never overflowed, so it
    /// was never mapped since start-up).
    case neverMapped(window: Int, historyComplete: Bool)
}

public enum FaultExplanation {
    /// A free page this close to a live mapping (in pages) is named as
    /// past its end or before its start.
    public static let nearbyPages: UInt64 = 16

    /// What the faulting address was. `registry` and `history` are nil when
    /// they cannot be read safely.
    public static func classify(_ f: Fault, _ view: WindowView, _ registry: MappingRegistry?,
                                _ history: UnmapHistory?) -> FaultKind {
        guard let window = view.windows.index(containing: f.address) else { return .outsideWindows }
        guard let registry else { return .registryBusy(window: window) }
        if let m = registry.mapping(containing: f.address) {
            if f.signal == .bus {
                let fileBacked = m.kind & MappingKind.anonymous == 0 || m.kind & MappingKind.windowFile != 0
                return fileBacked ? .pastFileEnd(m) : .notAsRecorded(m)
            }
            let needed = f.access.protectionBit
            if m.prot >= 0 && needed != 0 && m.prot & needed == 0 { return .protection(m) }
            if m.prot >= 0 && m.prot & (1 | 2 | 4) == 0 { return .protection(m) } // PROT_NONE: any access
            if f.accessError && (m.prot < 0 || needed == 0) { return .protection(m) }
            return .notAsRecorded(m)
        }
        if let history, let r = history.latest(covering: f.address) { return .afterUnmap(r) }
        let w = view.windows[window]
        let near = nearbyPages * view.space.pageSize
        let (below, above) = registry.neighbours(of: f.address)
        // Only mappings of the same window count: another window's edge is
        // not what the access ran off.
        let past = below.flatMap { w.contains($0.start) && f.address - $0.end < near ? $0 : nil }
        let before = above.flatMap { w.contains($0.start) && $0.start - f.address <= near ? $0 : nil }
        switch (past, before) {
        case let (p?, b?):
            let dp = f.address - p.end, db = b.start - f.address - 1
            return dp <= db ? .pastEnd(p, distance: dp) : .beforeStart(b, distance: b.start - f.address)
        case let (p?, nil):
            return .pastEnd(p, distance: f.address - p.end)
        case let (nil, b?):
            return .beforeStart(b, distance: b.start - f.address)
        case (nil, nil):
            return .neverMapped(window: window, historyComplete: !(history?.wrapped ?? true))
        }
    }

    /// Nanoseconds between two readings of a tick counter, scaled by a
    /// reference interval measured in both (ticks and nanoseconds): start-up
    /// to the fault. nil when the reference says nothing (no ticks passed).
    public static func nanoseconds(from then: UInt64, to now: UInt64, referenceTicks: UInt64,
                                   referenceNanoseconds: UInt64) -> UInt64? {
        guard referenceTicks > 0, now >= then else { return nil }
        let scale = Double(referenceNanoseconds) / Double(referenceTicks)
        return UInt64(Double(now - then) * scale)
    }
}

/// The explanation's lines (the engine adds each stack's frames after the
/// line that introduces it).
public enum FaultText {
    /// `mapwarden: SIGSEGV at 0x400000203000 (write): use after munmap`.
    public static func head(_ f: Fault, _ kind: FaultKind, _ out: inout TextBuffer) {
        out.append("mapwarden: ")
        out.append(f.signal.name)
        out.append(" at ")
        out.append(hex: f.address)
        out.append(" (")
        out.append(f.access.name)
        out.append("): ")
        what(f, kind, &out)
    }

    /// The kind, in words.
    public static func what(_ f: Fault, _ kind: FaultKind, _ out: inout TextBuffer) {
        switch kind {
        case .outsideWindows:
            out.append("outside every window")
        case .registryBusy:
            out.append("in a window; its registry could not be read (mapwarden was changing it), no more is known")
        case .protection(let m):
            out.append("protection violation: ")
            out.append(f.access == .unknown ? "an access" : f.access == .exec ? "exec" : f.access.name)
            out.append(" of a ")
            out.append(protection: m.prot)
            out.append(" mapping")
        case .pastFileEnd:
            out.append("past the end of the mapped file")
        case .notAsRecorded:
            out.append("in a mapping that allows this access: changed behind mapwarden's back (a raw system call?)")
        case .afterUnmap(let r):
            switch r.cause {
            case .munmap:
                out.append("use after munmap")
            case .mremapMoved:
                out.append("use after mremap moved it to ")
                out.append(hex: r.movedTo &+ (pageOf(f.address, r) - r.lo))
            case .mremapShrank:
                out.append("use after mremap shrank its mapping")
            }
        case .pastEnd(_, let distance):
            out.append(unsigned: distance)
            out.append(distance == 1 ? " byte past the end of a mapping" : " bytes past the end of a mapping")
        case .beforeStart(_, let distance):
            out.append(unsigned: distance)
            out.append(distance == 1 ? " byte before the start of a mapping" : " bytes before the start of a mapping")
        case .neverMapped(_, let complete):
            if complete {
                out.append("never mapped")
            } else {
                out.append("not mapped (and not among the last ")
                out.append(decimal: UnmapHistory.capacity)
                out.append(" ranges unmapped)")
            }
        }
    }

    static func pageOf(_ addr: UInt64, _ r: UnmapRecord) -> UInt64 { addr < r.lo ? r.lo : addr }

    /// `  the page was unmapped 1.2 ms ago by thread 4242:` (the unmapping
    /// call's stack follows).
    public static func unmapped(_ r: UnmapRecord, ago: UInt64?, _ out: inout TextBuffer) {
        switch r.cause {
        case .munmap: out.append("  the page was unmapped ")
        case .mremapMoved: out.append("  the page was moved away by mremap ")
        case .mremapShrank: out.append("  the page was cut off by mremap ")
        }
        if let ago {
            append(duration: ago, &out)
            out.append(" ago ")
        }
        out.append("by thread ")
        out.append(unsigned: UInt64(r.unmapThread))
        out.append(":")
    }

    /// `  it had been mapped (0x400000200000, 16 KiB, rw-) by thread 4242:`
    /// or, for a live mapping, `  the mapping (...) was made by thread 4242:`.
    public static func mapped(_ m: Mapping, live: Bool, _ out: inout TextBuffer) {
        out.append(live ? "  the mapping (" : "  it had been mapped (")
        out.append(hex: m.start)
        out.append(", ")
        append(bytes: m.size, &out)
        out.append(", ")
        out.append(protection: m.prot)
        out.append(m.kind & MappingKind.anonymous != 0 ? ", anonymous" : ", file")
        out.append(live ? ") was made by " : ") by ")
        if m.origin.thread != 0 {
            out.append("thread ")
            out.append(unsigned: UInt64(m.origin.thread))
        } else {
            out.append("an unknown thread")
        }
        out.append(":")
    }

    /// `16 KiB`, `1 MiB`, `12288 bytes`... (exact binary units, else bytes).
    public static func append(bytes: UInt64, _ out: inout TextBuffer) {
        let units: (StaticString, StaticString, StaticString, StaticString) = ("KiB", "MiB", "GiB", "TiB")
        var v = bytes, unit = -1
        while v != 0 && v % 1024 == 0 && unit < 3 {
            v /= 1024
            unit += 1
        }
        out.append(unsigned: v)
        switch unit {
        case 0: out.append(" "); out.append(units.0)
        case 1: out.append(" "); out.append(units.1)
        case 2: out.append(" "); out.append(units.2)
        case 3: out.append(" "); out.append(units.3)
        default: out.append(v == 1 ? " byte" : " bytes")
        }
    }

    /// `850 ns`, `35.2 us`, `1.2 ms`, `3.0 s`, `125 s` (one decimal below 100).
    public static func append(duration ns: UInt64, _ out: inout TextBuffer) {
        if ns < 1000 {
            out.append(unsigned: ns)
            out.append(" ns")
            return
        }
        let (scale, unit): (UInt64, StaticString) = ns < 1_000_000 ? (1000, "us") : ns < 1_000_000_000 ? (1_000_000, "ms") : (1_000_000_000, "s")
        let tenths = ns / (scale / 10)
        out.append(unsigned: tenths / 10)
        if tenths < 1000 {
            out.append(".")
            out.append(unsigned: tenths % 10)
        }
        out.append(" ")
        out.append(unit)
    }
}
