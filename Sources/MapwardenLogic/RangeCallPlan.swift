/// mprotect, pkey_mprotect, madvise, mlock, mlock2, munlock, msync and
/// mincore over the windows: rule 7 of docs/guarantees.md (free window
/// pages behave as unmapped memory), decided here and nowhere else.
public struct RangeCall: Equatable, Sendable {
    /// How the kernel treats unmapped pages inside the call's range.
    public enum Holes: Equatable, Sendable {
        /// mprotect, pkey_mprotect, mlock, mlock2, munlock, mincore and
        /// msync(MS_ASYNC): VMA by VMA from the start, stopping with ENOMEM
        /// at the first hole (what lies before it is done).
        case stop
        /// madvise and msync with MS_SYNC or MS_INVALIDATE: every mapped
        /// part, holes skipped, then ENOMEM.
        case skip
    }

    public var addr: UInt64
    public var length: UInt64
    /// The call rounds an unaligned start down (mlock, munlock) instead of
    /// refusing it with EINVAL, and its length up over the start's offset.
    public var roundsStart = false
    public var holes = Holes.stop
    /// mprotect with PROT_GROWSDOWN: starts at the first VMA of the range.
    public var growsDown = false
    /// The call may not run unchecked from a signal handler that
    /// interrupted the engine (mlock would lock the reservation): EAGAIN.
    public var needsRegistry = false

    public init(addr: UInt64, length: UInt64) {
        self.addr = addr
        self.length = length
    }
}

public enum RangeCallPlan: Equatable, Sendable {
    /// The call as it is, nothing to record: no window page in its range, or
    /// the kernel's answer to its arguments (0 for a zero length, EINVAL, ENOMEM).
    case kernel
    /// The call as it is, over [lo, hi): every window page of it is mapped
    /// (or, from a signal handler, cannot be checked). Record the change on
    /// each window's part.
    case whole(lo: UInt64, hi: UInt64)
    /// Free window pages lie in [lo, hi), the first at `free`: the kernel's
    /// argument errors first, then `then`.
    case overFreePages(lo: UInt64, hi: UInt64, free: UInt64, then: AfterFree)
    /// Fail so, asking the kernel nothing.
    case fail(PlanError)

    public enum AfterFree: Equatable, Sendable {
        /// ENOMEM, nothing done (the range starts on a free page).
        case noMemory
        /// The call on [addr, free), recorded, then ENOMEM unless it failed.
        case upToFree
        /// mprotect PROT_GROWSDOWN starting on a free page: the call from
        /// the first mapped page `from` to the end of the range.
        case fromFirstMapped(UInt64)
        /// Each run the kernel acts on, in order; an error other than
        /// ENOMEM stops there and is the answer, else ENOMEM.
        case eachMappedRun
    }

    /// The plan for c, with the registry under the lock, nil from a signal
    /// handler that interrupted the engine.
    public static func decide(_ c: RangeCall, _ view: WindowView, _ registry: MappingRegistry?) -> RangeCallPlan {
        withUnsafePointer(to: view) { decide(c, in: $0, registry) }
    }

    /// The same with the view by address (the engine's: no copy per call).
    public static func decide(_ c: RangeCall, in view: UnsafePointer<WindowView>, _ registry: MappingRegistry?) -> RangeCallPlan {
        let range: (lo: UInt64, hi: UInt64)
        if c.roundsStart {
            // mlock and munlock round as the kernel does, wrapping: (addr, 0)
            // is addr's page when addr is not aligned, and a length near 2^64
            // can wrap to a page or two.
            let mask = view.pointee.space.pageSize - 1
            let lo = c.addr & ~mask, n = (c.length &+ (c.addr & mask) &+ mask) & ~mask
            let (hi, overflow) = lo.addingReportingOverflow(n)
            guard n > 0, !overflow else { return .kernel }
            range = (lo, hi)
        } else {
            guard c.length > 0, view.pointee.space.isPageAligned(c.addr), let r = view.pointee.pages(c.addr, c.length), r.lo < r.hi
            else { return .kernel }
            range = r
        }
        let touched = view.pointee.windows.touching(range.lo, range.hi)
        if touched.isEmpty { return .kernel }
        guard let registry else {
            return c.needsRegistry ? .fail(.again) : .whole(lo: range.lo, hi: range.hi)
        }
        // The common case, every window page of the range recorded, in one
        // walk per window; the first free page only when there is one.
        var allMapped = true
        for i in touched {
            let inside = view.pointee.windows[i].clip(range.lo, range.hi)
            if !registry.covers(inside.lo, inside.hi) {
                allMapped = false
                break
            }
        }
        guard !allMapped, let free = registry.firstFree(range.lo, range.hi, in: view.pointee.windows)
        else { return .whole(lo: range.lo, hi: range.hi) }
        let then: AfterFree
        switch c.holes {
        case .skip:
            then = .eachMappedRun
        case .stop where free > range.lo:
            then = .upToFree
        case .stop:
            var first: UInt64? = nil
            if c.growsDown {
                registry.forEachRun(range.lo, range.hi, in: view.pointee.windows) { lo, _, free in
                    if !free { first = lo }
                    return free
                }
            }
            then = first.map { .fromFirstMapped($0) } ?? .noMemory
        }
        return .overFreePages(lo: range.lo, hi: range.hi, free: free, then: then)
    }
}
