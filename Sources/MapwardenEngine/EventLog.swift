import CShim
import MapwardenLogic

/// One clobber or misuse the guard saw (MAPWARDEN_CLOBBER=report|deny).
struct GuardEvent {
    /// clobber, freeWindowCall or unmappedWindowMunmap (the report's words).
    typealias Kind = ReportSchema.EventKind

    var kind: Kind
    var denied: Bool
    var call: StaticString
    var address: UInt64
    var size: UInt64
    var stack: UInt32
    var thread: UInt32
    /// What was there (a path, [heap], [stack]...), NUL-padded.
    var victim: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
}

/// The events, in memory mapped at start-up when the guard is on.
struct EventLog {
    var entries: UnsafeMutablePointer<GuardEvent>? = nil
    var capacity = 0
    var count = 0
    /// Events beyond the capacity (counted, not kept).
    var lost = 0

    static let defaultCapacity = 4096

    static func create() -> EventLog {
        let bytes = UInt64(defaultCapacity * MemoryLayout<GuardEvent>.stride)
        let r = Kernel.mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
        if r.failed { return EventLog() }
        return EventLog(entries: UnsafeMutablePointer(bitPattern: UInt(r.address)), capacity: defaultCapacity)
    }

    var total: Int { count + lost }

    mutating func add(_ e: GuardEvent) {
        guard let entries, count < capacity else {
            lost += 1
            return
        }
        entries[count] = e
        count += 1
    }

    subscript(i: Int) -> GuardEvent { entries![i] }
}

extension GuardEvent {
    func withVictim<R>(_ body: (Bytes) -> R) -> R {
        var copy = victim
        return withUnsafeBytes(of: &copy) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var n = 0
            while n < raw.count && p[n] != 0 { n += 1 }
            return body(Bytes(p, count: n))
        }
    }

    mutating func setVictim(_ b: Bytes) {
        withUnsafeMutableBytes(of: &victim) { raw in
            let n = Swift.min(b.count, raw.count - 1)
            for i in 0..<n { raw[i] = b[i] }
            for i in n..<raw.count { raw[i] = 0 }
        }
    }
}
