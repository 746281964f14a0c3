/// The address space mapwarden reserves for its own metadata: PROT_NONE
/// arenas committed as they fill, so they cost nothing but address space,
/// which RLIMIT_AS (ulimit -v) counts. Each is sized from what it can
/// need (the registry never holds more mappings than the windows have
/// pages), and under a tight RLIMIT_AS all are made smaller together.
public struct MetadataSizes: Equatable {
    /// The window registry (engine state, then the nodes).
    public var registry: UInt64
    /// Interned stacks.
    public var depot: UInt64
    /// Scratch memory for the exit report.
    public var report: UInt64
    /// The registry of the program's mappings outside the windows (0: not kept).
    public var outside: UInt64
    /// Where libunwind's own mappings are placed (0: none; see UnwindZone).
    public var unwind: UInt64

    public init(registry: UInt64, depot: UInt64, report: UInt64, outside: UInt64, unwind: UInt64) {
        (self.registry, self.depot, self.report, self.outside, self.unwind) = (registry, depot, report, outside, unwind)
    }

    public var total: UInt64 { registry + depot + report + outside + unwind }
}

public enum MetadataBudget {
    /// Arenas are committed in steps of this size, and sized in them.
    public static let step: UInt64 = 256 << 10
    public static let registryMaximum: UInt64 = 512 << 20 // 8 M mappings
    public static let depotMaximum: UInt64 = 256 << 20
    public static let reportMaximum: UInt64 = 1 << 30
    public static let outsideMaximum: UInt64 = 512 << 20
    public static let unwindMaximum: UInt64 = 64 << 20
    /// Bytes the registry's arena keeps before its nodes: the engine's
    /// state (one page), then the unmap history (UnmapHistory.bytes, 80 KiB).
    public static let historyOffset: UInt64 = 4096
    public static var stateBytes: UInt64 { historyOffset + UInt64(UnmapHistory.bytes) }

    /// What the arenas take with no limit, for windows of windowBytes in
    /// all: the registry holds at most one mapping per window page (and
    /// keeps its last page, a probe page, unused); the report needs about
    /// twice a registry's bytes per mapping, plus its buffers.
    public static func wanted(windowBytes: UInt64, pageSize: UInt64, tracksOutside: Bool, stacks: Bool) -> MetadataSizes {
        let pages = windowBytes / pageSize
        let nodes = Swift.min(pages, UInt64(registryMaximum) / 64) + 4096 // (growth asks for 4096 more at a time)
        let registry = Swift.min(roundUp(stateBytes + UInt64(MappingRegistry.bytesNeeded(capacity: Int(nodes))) + pageSize),
                                 registryMaximum)
        let outside = tracksOutside ? outsideMaximum : 0
        return MetadataSizes(registry: registry,
                             depot: stacks ? depotMaximum : step,
                             report: Swift.min(2 * (registry + outside) + (8 << 20), reportMaximum),
                             outside: outside,
                             unwind: stacks ? unwindMaximum : 0)
    }

    /// The least each arena can work with: a registry of 16 K mappings,
    /// a report of a few thousand; no libunwind area (libunwind's mappings
    /// are then placed by the kernel).
    public static func minimum(_ wanted: MetadataSizes) -> MetadataSizes {
        MetadataSizes(registry: Swift.min(wanted.registry, 1 << 20), depot: Swift.min(wanted.depot, 1 << 20),
                      report: Swift.min(wanted.report, 4 << 20), outside: Swift.min(wanted.outside, 1 << 20), unwind: 0)
    }

    /// The sizes to reserve when `headroom` bytes of address space are left
    /// (RLIMIT_AS less what the process, windows included, already uses;
    /// nil: no limit). The metadata takes at most half of the headroom, each
    /// arena cut in proportion but never below its minimum; nil when even
    /// the minimum does not fit in the headroom.
    public static func fit(_ wanted: MetadataSizes, headroom: UInt64?) -> MetadataSizes? {
        guard let headroom else { return wanted }
        let budget = headroom / 2
        if wanted.total <= budget { return wanted }
        let least = minimum(wanted)
        if least.total > headroom { return nil }
        func cut(_ want: UInt64, _ floor: UInt64) -> UInt64 {
            let share = wanted.total.dividingFullWidth(want.multipliedFullWidth(by: budget)).quotient
            return Swift.max(share / step * step, floor)
        }
        let sizes = MetadataSizes(registry: cut(wanted.registry, least.registry), depot: cut(wanted.depot, least.depot),
                                  report: cut(wanted.report, least.report), outside: cut(wanted.outside, least.outside),
                                  unwind: cut(wanted.unwind, least.unwind))
        return sizes.total <= headroom ? sizes : least
    }

    static func roundUp(_ bytes: UInt64) -> UInt64 { (bytes + step - 1) / step * step }
}
