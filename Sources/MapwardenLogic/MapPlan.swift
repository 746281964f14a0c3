/// mmap (and mapwarden_alloc) inside the windows: rules 2, 3, 4, 5 and 13 of
/// docs/guarantees.md, decided here and nowhere else. `MapPlan.decide` is a
/// pure function of (windows, registry, request); the engine executes the
/// plan it returns, under the lock (registry given) or from a signal handler
/// that interrupted the engine (registry nil: what needs the registry is
/// refused or left to the kernel, never decided differently).

/// An mmap call, decoded from its flags by the engine.
public struct MapRequest: Equatable, Sendable {
    public var addr: UInt64
    public var length: UInt64
    /// MAP_FIXED or MAP_FIXED_NOREPLACE.
    public var fixed = false
    /// MAP_FIXED_NOREPLACE.
    public var noReplace = false
    /// MAP_ANONYMOUS.
    public var anonymous = true
    /// MAP_HUGETLB.
    public var hugetlb = false
    /// The huge page size the kernel maps this call with (MAP_HUGETLB, or a
    /// file on hugetlbfs), 0 for ordinary pages.
    public var hugePageSize: UInt64 = 0
    /// MAP_GROWSDOWN.
    public var growsDown = false
    /// MAP_32BIT.
    public var below2GiB = false
    /// MAP_SHARED_VALIDATE of a file (which refuses MAP_FIXED_NOREPLACE
    /// after the range checks).
    public var validatesFlags = false
    /// The file offset (bit pattern of the off_t).
    public var offset: UInt64 = 0

    public init(addr: UInt64, length: UInt64) {
        self.addr = addr
        self.length = length
    }
}

/// A mapping made in place: MAP_FIXED over [start, end), of which the window
/// part [lo, hi) is recorded.
public struct InPlaceMap: Equatable, Sendable {
    public enum OnFailure: Equatable, Sendable {
        /// Return the kernel's error (after the window part is repaired).
        case fail
        /// A hint: undo, repair, and let the kernel place the call as it is
        /// (rule 4: an unsatisfiable hint goes elsewhere).
        case placeElsewhere
    }

    public var window: Int
    public var start: UInt64
    public var end: UInt64
    /// The window part, recorded in the registry.
    public var lo: UInt64
    public var hi: UInt64
    /// Take [start, lo) and [hi, end), outside the window, with
    /// MAP_FIXED_NOREPLACE semantics before the mapping (the kernel decides
    /// there; a failure is the call's answer, or for a hint: placeElsewhere).
    public var claimBelow = false
    public var claimAbove = false
    /// The window's file backs it (an anonymous request in a shared or
    /// persistent window).
    public var windowFile = false
    /// After the claims: undo them and fail so.
    public var refuse: PlanError? = nil
    public var onFailure = OnFailure.fail
    /// The file offset of lo.
    public var offset: UInt64 = 0

    @inlinable
    public init(window: Int, start: UInt64, end: UInt64, lo: UInt64, hi: UInt64, claimBelow: Bool = false,
                claimAbove: Bool = false, windowFile: Bool = false, refuse: PlanError? = nil,
                onFailure: OnFailure = .fail, offset: UInt64 = 0) {
        self.window = window
        self.start = start
        self.end = end
        self.lo = lo
        self.hi = hi
        self.claimBelow = claimBelow
        self.claimAbove = claimAbove
        self.windowFile = windowFile
        self.refuse = refuse
        self.onFailure = onFailure
        self.offset = offset
    }
}

public enum MapPlan: Equatable, Sendable {
    /// The call exactly as the program made it: it does not concern a
    /// window (or the kernel's own argument error comes first).
    case kernel
    /// Fail with this error, asking the kernel nothing.
    case fail(PlanError)
    /// MAP_FIXED_NOREPLACE over a recorded mapping: the call as it is gives
    /// the kernel's argument errors, which come first; if the kernel maps it
    /// (a kernel before 4.17 takes the flag as a hint), undo that: EEXIST.
    case probeThenExists
    /// Map in place and record.
    case place(InPlaceMap)

    /// The plan for request, with the registry when the caller holds the
    /// lock, nil from a signal handler that interrupted the engine.
    /// The plan for request, with the registry when the caller holds the
    /// lock, nil from a signal handler that interrupted the engine. (The
    /// engine passes the view by address: a WindowView is 160 bytes.)
    public static func decide(_ r: MapRequest, _ view: WindowView, _ registry: MappingRegistry?) -> MapPlan {
        withUnsafePointer(to: view) { decide(r, in: $0, registry) }
    }

    @inlinable @inline(__always)
    public static func decide(_ r: MapRequest, in view: UnsafePointer<WindowView>, _ registry: MappingRegistry?) -> MapPlan {
        let space = view.pointee.space
        // The kernel refuses an unaligned offset before anything else (for
        // anonymous calls too), then a zero or overflowing length.
        guard r.offset & (space.pageSize - 1) == 0, r.length > 0, let range = view.pointee.pages(r.addr, r.length),
              !r.fixed || space.isPageAligned(r.addr)
        else { return .kernel } // the kernel's EINVAL/ENOMEM
        if !r.fixed { return hint(r, range, view, registry) }
        // Rule 13: the kernel maps (and, failing, unmaps) whole huge pages.
        guard let end = r.hugePageSize != 0 ? alignedUp(range.hi, to: r.hugePageSize) : range.hi
        else { return .kernel }
        let touched = view.pointee.windows.touching(r.addr, end)
        if touched.isEmpty { return .kernel }
        // One mapping lives in one window (docs/choices.md).
        if touched.count > 1 { return .fail(.invalid) }
        let i = touched.lowerBound
        let inside = view.pointee.windows[i].clip(r.addr, end)
        let windowFile = view.pointee.mapsWindowFile(i, anonymous: r.anonymous)
        // The window's file cannot back what lies outside it.
        if windowFile && (inside.lo != r.addr || inside.hi != end) { return .fail(.invalid) }
        // A range past user space: the kernel fails the call as it is, in its
        // own order (EBADF before ENOMEM), before it touches anything.
        if end > space.userEnd { return .kernel }
        if r.noReplace {
            // Rule 3: the reservation is not an occupant; the program's own
            // mappings are. Without the registry that cannot be known.
            guard let registry else { return .fail(.exists) }
            if registry.overlapsAny(inside.lo, inside.hi) { return .probeThenExists }
        }
        var p = InPlaceMap(window: i, start: r.addr, end: end, lo: inside.lo, hi: inside.hi)
        // Outside the window the kernel decides: NOREPLACE claims those parts first.
        p.claimBelow = r.noReplace && r.addr < inside.lo
        p.claimAbove = r.noReplace && inside.hi < end
        p.windowFile = windowFile
        // MAP_SHARED_VALIDATE checks a file mapping's flags after the range
        // (once the parts outside are known free) and refuses NOREPLACE.
        if r.noReplace && r.validatesFlags && !r.anonymous { p.refuse = .notSupported }
        p.offset = r.offset &+ (inside.lo - r.addr)
        return .place(p)
    }

    /// Rule 4: a hint in a window is placed exactly there (rounded down to a
    /// page, as x86-64 does) when that range is free, else by the kernel
    /// (outside the window, which is reserved). From a signal handler: the kernel.
    @inlinable @inline(never) // (out of MAP_FIXED's path)
    static func hint(_ r: MapRequest, _ range: (lo: UInt64, hi: UInt64), _ view: UnsafePointer<WindowView>,
                     _ registry: MappingRegistry?) -> MapPlan {
        let space = view.pointee.space
        let start = space.pageAlignedDown(r.addr)
        // (An address in page 0 is no hint at all; a hint touching two
        // windows is placed elsewhere: one mapping lives in one window.)
        let touched = view.pointee.windows.touching(range.lo, range.hi)
        guard let registry, start != 0, touched.count == 1, case let i = touched.lowerBound,
              !r.hugetlb, !r.growsDown, r.hugePageSize == 0, let size = space.pageAlignedUp(r.length),
              !start.addingReportingOverflow(size).overflow,
              // MAP_32BIT: the kernel honours a free hint that ends at or below 2 GiB.
              !r.below2GiB || start + size <= 0x8000_0000
        else { return .kernel }
        let inside = view.pointee.windows[i].clip(start, start + size)
        let windowFile = view.pointee.mapsWindowFile(i, anonymous: r.anonymous)
        guard inside.lo < inside.hi, !registry.overlapsAny(inside.lo, inside.hi),
              // (the window's file backs only what lies in the window)
              (inside.lo == start && inside.hi == start + size) || !windowFile
        else { return .kernel }
        var p = InPlaceMap(window: i, start: start, end: start + size, lo: inside.lo, hi: inside.hi)
        // A hint whose range runs past the window's edge: the kernel would
        // place it there if the pages beyond were free too.
        p.claimBelow = start < inside.lo
        p.claimAbove = inside.hi < start + size
        p.windowFile = windowFile
        p.onFailure = .placeElsewhere
        p.offset = r.offset &+ (inside.lo - start)
        return .place(p)
    }

    /// mapwarden_alloc: the first free range of size bytes aligned to align
    /// (at least a page) in window i, mapped there as MAP_FIXED_NOREPLACE.
    public static func alloc(window i: Int, size: UInt64, align: UInt64, _ view: WindowView,
                             _ registry: MappingRegistry) -> MapPlan {
        guard let length = view.space.pageAlignedUp(size),
              let at = registry.firstFit(in: view.windows[i], size: length, align: Swift.max(align, view.space.pageSize))
        else { return .fail(.noMemory) }
        var r = MapRequest(addr: at, length: length)
        r.fixed = true
        r.noReplace = true
        return withUnsafePointer(to: view) { decide(r, in: $0, registry) }
    }

    @inlinable
    static func alignedUp(_ a: UInt64, to size: UInt64) -> UInt64? {
        let (s, o) = a.addingReportingOverflow(size - 1)
        return o ? nil : s & ~(size - 1)
    }
}
