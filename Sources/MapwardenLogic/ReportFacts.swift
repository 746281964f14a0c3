/// What a report says, as plain values: the engine gathers them at exit
/// (from its registry, /proc/self/maps and dladdr), the `mapwarden` command
/// from a JSON report; ReportJSON and LeakText write them. Bytes point into
/// the gatherer's memory and are read while the report is written.

/// Mappings and their bytes.
public struct ReportCount: Equatable {
    public var mappings: Int
    public var bytes: UInt64

    public init(mappings: Int = 0, bytes: UInt64 = 0) {
        self.mappings = mappings
        self.bytes = bytes
    }
}

/// The report's totals (`summary`).
public struct ReportTotals: Equatable {
    /// The program's own leaks, not suppressed.
    public var leaked = ReportCount()
    public var suppressed = ReportCount()
    /// Leaks a forked child inherited (its parent reports them).
    public var inherited = ReportCount()
    /// Mappings left in shared and persistent windows: kept in the file, not leaked.
    public var kept = ReportCount()
    public var clobbers = 0

    public init() {}
}

/// The report's head: the process and the configuration it ran under.
public struct ReportHeader {
    public var pid = 0
    public var parentPID = 0
    public var forked = false
    /// Seconds since the epoch.
    public var exitTime: Int64 = 0
    public var endedBy: ReportSchema.EndedBy = .exit
    public var track: TrackScope = .window
    public var backtraceDepth = 0
    public var clobber: ClobberPolicy = .allow
    public var leakExitCode: Int32 = 0
    /// Why there are no stacks, when capture failed (nil: it did not).
    public var stacksMissing: Bytes? = nil
    public var uniqueStacks = 0
    public var droppedStacks = 0

    public init() {}

    /// Whether the mappings have stacks.
    public var stacksAvailable: Bool { stacksMissing == nil && backtraceDepth > 0 }
}

/// One window of the process.
public struct ReportWindowFacts {
    public var name: WindowName
    public var base: UInt64
    public var size: UInt64
    public var backing: Backing
    /// The window's file (shared, persistent), or nil.
    public var path: Bytes?
    /// What is still mapped there at exit.
    public var mapped: ReportCount

    public init(name: WindowName, base: UInt64, size: UInt64, backing: Backing, path: Bytes?, mapped: ReportCount) {
        self.name = name
        self.base = base
        self.size = size
        self.backing = backing
        self.path = path
        self.mapped = mapped
    }
}

/// The calls that touched a window (`statistics`).
public struct ReportStatistics {
    public var mmap = 0
    public var munmap = 0
    public var mprotect = 0
    public var mremap = 0
    public var other = 0
    public var trackedMappings = 0
    public var outsideCalls = 0

    public init() {}

    public var windowCalls: Int { mmap + munmap + mprotect + mremap + other }
}

/// One mapping still there at exit.
public struct ReportLeakFacts {
    public var address: UInt64
    public var size: UInt64
    /// PROT_* bits, -1 when unknown.
    public var protection: Int32
    /// MappingKind bits (shared, anonymous, moved).
    public var kind: UInt32
    /// The mapped file, empty for none.
    public var path: Bytes
    public var offset: UInt64
    /// The thread that made it, 0 when unknown.
    public var thread: UInt32
    public var inherited: Bool
    /// Made inside a window.
    public var inWindow: Bool
    /// The window it lies in, when known.
    public var window: WindowName?
    public var stack: UInt32

    public init(address: UInt64, size: UInt64, protection: Int32, kind: UInt32, path: Bytes, offset: UInt64,
                thread: UInt32, inherited: Bool, inWindow: Bool, window: WindowName?, stack: UInt32) {
        self.address = address
        self.size = size
        self.protection = protection
        self.kind = kind
        self.path = path
        self.offset = offset
        self.thread = thread
        self.inherited = inherited
        self.inWindow = inWindow
        self.window = window
        self.stack = stack
    }

    public var shared: Bool { kind & MappingKind.shared != 0 }
    public var anonymous: Bool { kind & MappingKind.anonymous != 0 }
    public var moved: Bool { kind & MappingKind.moved != 0 }
}

/// One frame of a stack.
public struct ReportFrameFacts {
    public var address: UInt64
    /// The object's path, empty when the address is in none.
    public var module: Bytes
    /// From the module's base.
    public var moduleOffset: UInt64
    /// The module's GNU build-id in hex, empty when unknown: a symbolizer
    /// trusts a file for these frames only if its build-id is the same.
    public var buildId: Bytes = .empty
    /// The symbol as the object names it (mangled), empty for none.
    public var symbol: Bytes
    /// Its readable (demangled) form, or the symbol.
    public var readable: Bytes
    /// From the symbol.
    public var symbolOffset: UInt64
    /// `FILE:LINE[:COLUMN]` when a symbolizer found the source (the
    /// command's; the library leaves it empty).
    public var source: Bytes = .empty

    public init(address: UInt64, module: Bytes, moduleOffset: UInt64, symbol: Bytes, readable: Bytes, symbolOffset: UInt64) {
        self.address = address
        self.module = module
        self.moduleOffset = moduleOffset
        self.symbol = symbol
        self.readable = readable
        self.symbolOffset = symbolOffset
    }

    public var hasModule: Bool { module.count > 0 }
    public var hasSymbol: Bool { symbol.count > 0 }
}

/// One clobber or misuse the guard saw.
public struct ReportEventFacts {
    public var kind: ReportSchema.EventKind
    public var denied: Bool
    /// The call (`mmap`, `mprotect`...).
    public var call: StaticString
    public var address: UInt64
    public var size: UInt64
    /// What was there (a path, [heap]...), empty when unnamed.
    public var victim: Bytes
    public var thread: UInt32
    public var stack: UInt32

    public init(kind: ReportSchema.EventKind, denied: Bool, call: StaticString, address: UInt64, size: UInt64,
                victim: Bytes, thread: UInt32, stack: UInt32) {
        self.kind = kind
        self.denied = denied
        self.call = call
        self.address = address
        self.size = size
        self.victim = victim
        self.thread = thread
        self.stack = stack
    }

    public var action: ReportSchema.EventAction { denied ? .denied : .reported }
}
