/// mremap over the windows: rule 8 of docs/guarantees.md, decided here and
/// nowhere else. The mechanics of a move (copy out with MREMAP_DONTUNMAP,
/// then MREMAP_FIXED onto the destination; recording the pieces from
/// /proc/self/smaps) are the engine's (Remap.swift); which of them a call
/// gets, and every answer that needs no kernel, is this plan.

/// An mremap call, decoded from its flags by the engine.
public struct RemapRequest: Equatable, Sendable {
    public var old: UInt64
    public var oldLength: UInt64
    public var newLength: UInt64
    public var newAddr: UInt64
    /// MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP.
    public var mayMove = false
    public var fixed = false
    public var dontUnmap = false
    /// Flags the kernel does not know.
    public var unknownFlags = false

    public init(old: UInt64, oldLength: UInt64, newLength: UInt64, newAddr: UInt64 = 0) {
        self.old = old
        self.oldLength = oldLength
        self.newLength = newLength
        self.newAddr = newAddr
    }

    /// The sizes after the kernel's rounding, which wraps: a huge old length
    /// becomes 0, the "duplicate a shared mapping" request.
    public func sizes(_ space: AddressSpace) -> (old: UInt64, new: UInt64) {
        let mask = space.pageSize - 1
        return ((oldLength &+ mask) & ~mask, (newLength &+ mask) & ~mask)
    }
}

public enum RemapPlan: Equatable, Sendable {
    /// The call as it is: no window is involved after all.
    case kernel
    /// The kernel refuses these arguments: make the call as it is (should it
    /// succeed all the same, the registry is made to agree; a failed
    /// MREMAP_FIXED unmapped its destination first: repair the window parts).
    case kernelRefuses
    /// Fail so, asking the kernel nothing.
    case fail(PlanError)
    /// The source lies in window `window`.
    case fromWindow(window: Int, FromWindow)
    /// A source outside every window that grows in place: into a window when
    /// the pages there are free (the engine checks the source is one VMA),
    /// else as the kernel does it.
    case growTowardWindow
    /// MREMAP_FIXED from outside into window `window`: moved by the kernel,
    /// recorded from the source's smaps entries read before.
    case intoWindow(window: Int)

    public enum FromWindow: Equatable, Sendable {
        /// The source straddles the window's edge: one VMA the registry sees
        /// only half of; EINVAL when something is mapped at old, else EFAULT.
        case straddlesEdge
        /// Old size 0: a duplicate of the shared mapping at old.
        case duplicate
        /// Shrinking (or keeping the size) in place: the tail goes back to the
        /// reservation, whatever it holds; the answer is old.
        case shrinkInPlace
        /// MREMAP_FIXED: move (keeping the source with MREMAP_DONTUNMAP),
        /// after releasing the tail past newSize when it shrinks.
        case move(keepSource: Bool, shrinkFirst: Bool)
        /// A same-size MREMAP_FIXED move of several VMAs (holes included):
        /// one by one, as Linux 6.17 and later do.
        case movePieces(keepSource: Bool)
        /// MREMAP_DONTUNMAP with its hint free in the window: the copy goes there.
        case copyToHint
        /// MREMAP_DONTUNMAP otherwise: the kernel places the copy (outside).
        case copyAnywhere
        /// Growing: in place when the tail's window part is free (and the
        /// part past the window's edge can be claimed), else moved when
        /// MREMAP_MAYMOVE allows, else ENOMEM.
        case grow(tailFree: Bool, mayMove: Bool)
    }

    /// The plan for r, with the registry under the lock, nil from a signal
    /// handler that interrupted the engine (moving needs the registry: ENOMEM).
    public static func decide(_ r: RemapRequest, _ view: WindowView, _ registry: MappingRegistry?) -> RemapPlan {
        let windows = view.windows, space = view.space
        let page = space.pageSize
        let (oldSize, newSize) = r.sizes(space)
        let fixed = r.fixed
        func overlaps(_ a: UInt64, _ n: UInt64, _ b: UInt64, _ m: UInt64) -> Bool { a < b &+ m && b < a &+ n }
        // The kernel's argument checks, before it looks at any mapping (new_addr
        // only matters with MREMAP_FIXED or MREMAP_DONTUNMAP).
        let usesNewAddr = fixed || r.dontUnmap
        guard space.isPageAligned(r.old), newSize > 0, !r.unknownFlags,
              !fixed || (r.mayMove && space.isPageAligned(r.newAddr)),
              !r.dontUnmap || (r.mayMove && oldSize == newSize),
              !r.old.addingReportingOverflow(Swift.max(oldSize, newSize)).overflow,
              !usesNewAddr || !r.newAddr.addingReportingOverflow(newSize).overflow, newSize <= space.userEnd,
              !fixed || (r.newAddr <= space.userEnd && r.newAddr + newSize <= space.userEnd),
              !fixed || !overlaps(r.newAddr, newSize, r.old, oldSize), // overlap: EINVAL
              // MREMAP_DONTUNMAP without MREMAP_FIXED takes new_addr as a
              // hint, checked as a destination is (aligned, no overlap)
              fixed || !r.dontUnmap || r.newAddr == 0
                  || (space.isPageAligned(r.newAddr) && !overlaps(r.newAddr, newSize, r.old, oldSize))
        else { return .kernelRefuses }
        // From a signal handler that interrupted the engine: moving needs the registry.
        guard let registry else { return .fail(.noMemory) }
        // The source: the pages at old (a duplicate, old size 0, is the VMA at
        // old's page).
        let sourceIn = windows.firstTouching(r.old, r.old + Swift.max(oldSize, page)) != nil
        // As Linux: the source's first page must be mapped (EFAULT), before
        // anything about the destination.
        if sourceIn, windows.index(containing: r.old) != nil, registry.mapping(containing: r.old) == nil {
            return .fail(.fault)
        }
        // The window the call works in: the source's, or the target's. A
        // move between two windows is not supported (docs/choices.md); nor
        // into a shared or persistent window, whose pages are the file's at
        // their offset.
        let targets = fixed ? windows.touching(r.newAddr, r.newAddr + newSize) : 0..<0
        let target = targets.isEmpty ? nil : targets.lowerBound
        if let t = target, view.fileBacked & (1 << UInt32(t)) != 0 { return .fail(.invalid) }
        if targets.count > 1 { return .fail(.invalid) }
        if sourceIn {
            let sources = windows.touching(r.old, r.old + Swift.max(oldSize, page))
            guard sources.count == 1, target == nil || target == sources.lowerBound else { return .fail(.invalid) }
            return fromWindow(r, sources.lowerBound, oldSize, newSize, view, registry)
        }
        if !fixed { return .growTowardWindow }
        guard let target else { return .kernel }
        return .intoWindow(window: target)
    }

    static func fromWindow(_ r: RemapRequest, _ i: Int, _ oldSize: UInt64, _ newSize: UInt64, _ view: WindowView,
                           _ registry: MappingRegistry) -> RemapPlan {
        let window = view.windows[i]
        let old = r.old
        if !window.encloses(old, old + Swift.max(oldSize, view.space.pageSize)) { return .fromWindow(window: i, .straddlesEdge) }
        // As Linux: the source's first page must be mapped (EFAULT).
        if registry.mapping(containing: old) == nil { return .fail(.fault) }
        if oldSize == 0 { return .fromWindow(window: i, .duplicate) }
        if !r.fixed && !r.dontUnmap && newSize <= oldSize { return .fromWindow(window: i, .shrinkInPlace) }
        if r.fixed && newSize < oldSize {
            // Shrinking and moving: what stays must be one VMA (checked first).
            guard registry.isOneVMA(old, old + newSize) else { return .fail(.fault) }
            return .fromWindow(window: i, .move(keepSource: r.dontUnmap, shrinkFirst: true))
        }
        if r.fixed && oldSize == newSize && !registry.isOneVMA(old, old + oldSize) {
            return .fromWindow(window: i, .movePieces(keepSource: r.dontUnmap))
        }
        // Growing or moving with a new size: the source must be one VMA.
        guard registry.isOneVMA(old, old + oldSize) else { return .fail(.fault) }
        if r.fixed { return .fromWindow(window: i, .move(keepSource: r.dontUnmap, shrinkFirst: false)) }
        if r.dontUnmap {
            // new_addr is a hint here: taken, as the kernel takes it, when its
            // range is free in the window. Nothing moves into a shared or
            // persistent window (its pages are the file's at their offset):
            // EINVAL, as for MREMAP_FIXED (docs/choices.md).
            let free = r.newAddr != 0 && window.encloses(r.newAddr, r.newAddr + newSize)
                && !registry.overlapsAny(r.newAddr, r.newAddr + newSize)
            if free && view.fileBacked & (1 << UInt32(i)) != 0 { return .fail(.invalid) }
            return .fromWindow(window: i, free ? .copyToHint : .copyAnywhere)
        }
        let tail = window.clip(old + oldSize, old + newSize)
        return .fromWindow(window: i, .grow(tailFree: !registry.overlapsAny(tail.lo, tail.hi), mayMove: r.mayMove))
    }

    /// MREMAP_DONTUNMAP|MREMAP_MAYMOVE from outside every window, its hint
    /// free in one: the kernel would take the hint, so it becomes the
    /// destination (MREMAP_FIXED) when the source is one VMA, which only the
    /// engine can see (its smaps entry).
    public static func takesHint(_ r: RemapRequest, _ view: WindowView, _ registry: MappingRegistry) -> Bool {
        let (oldSize, _) = r.sizes(view.space)
        guard r.dontUnmap, r.mayMove, !r.fixed, oldSize > 0, view.space.isPageAligned(r.newAddr),
              !r.newAddr.addingReportingOverflow(oldSize).overflow,
              let i = view.windows.index(containing: r.newAddr), view.windows[i].encloses(r.newAddr, r.newAddr + oldSize)
        else { return false }
        let (end, wraps) = r.old.addingReportingOverflow(Swift.max(r.oldLength, 1))
        if view.windows.firstTouching(r.old, wraps ? UInt64.max : end) != nil { return false }
        return !registry.overlapsAny(r.newAddr, r.newAddr + oldSize)
    }
}

extension MappingRegistry {
    /// Whether [lo, hi) would be one VMA with its pages unmapped around it:
    /// recorded throughout by mappings the kernel would have merged.
    public func isOneVMA(_ lo: UInt64, _ hi: UInt64) -> Bool {
        guard var m = mapping(containing: lo) else { return false }
        while m.end < hi {
            guard let next = mapping(containing: m.end), Mapping.mergeable(m, next) else { return false }
            m = next
        }
        return true
    }
}

extension MappingRegistry {
    /// The start of the VMA holding addr (which is recorded), as far as the
    /// registry can tell: down through the records the kernel would have merged.
    public func vmaStart(containing addr: UInt64) -> UInt64? {
        guard var m = mapping(containing: addr) else { return nil }
        while m.start > 0, let prev = mapping(containing: m.start - 1), Mapping.mergeable(prev, m) { m = prev }
        return m.start
    }
}

extension Mapping {
    /// Whether the kernel would have merged b after a into one VMA (adjacent,
    /// same protection and kind; private anonymous memory merges, files and
    /// shared anonymous objects only where the offsets continue).
    public static func mergeable(_ a: Mapping, _ b: Mapping) -> Bool {
        a.end == b.start && a.prot == b.prot && a.kind & ~MappingKind.moved == b.kind & ~MappingKind.moved
            && ((a.kind & MappingKind.anonymous != 0 && a.kind & MappingKind.shared == 0) || b.offset == a.offset &+ a.size)
    }
}
