/// Placing new mappings in a window (mapwarden_alloc) and measuring how
/// full a window is (mapwarden_windows): queries on the registry.
extension MappingRegistry {
    /// The lowest address a in window, a multiple of align (a power of two),
    /// where [a, a + size) is free; nil when no free run fits.
    public func firstFit(in window: Window, size: UInt64, align: UInt64) -> UInt64? {
        guard size > 0, align > 0, align & (align - 1) == 0 else { return nil }
        var at = window.base
        while true {
            guard let start = WindowUsage.alignedUp(at, align) else { return nil }
            let (end, overflow) = start.addingReportingOverflow(size)
            if overflow || end > window.end { return nil }
            guard let m = firstOverlapping(start, end) else { return start }
            at = m.end
        }
    }

    /// How much of window the program has mapped.
    public func usage(of window: Window) -> WindowUsage {
        var u = WindowUsage()
        var free = window.base
        forEach(overlapping: window.base, window.end) { m in
            let lo = Swift.max(m.start, window.base), hi = Swift.min(m.end, window.end)
            u.mappings += 1
            u.mappedBytes += hi - lo
            u.largestFree = Swift.max(u.largestFree, lo - free)
            free = hi
        }
        u.largestFree = Swift.max(u.largestFree, window.end - free)
        return u
    }
}

/// What mapwarden_windows says about a window's use.
public struct WindowUsage: Equatable {
    public var mappings = 0
    public var mappedBytes: UInt64 = 0
    public var largestFree: UInt64 = 0

    public init() {}

    static func alignedUp(_ a: UInt64, _ align: UInt64) -> UInt64? {
        let (s, o) = a.addingReportingOverflow(align - 1)
        return o ? nil : s & ~(align - 1)
    }
}
