/// munmap over the windows: rule 6 of docs/guarantees.md, decided here and
/// nowhere else. The engine executes the steps in order, under the lock or
/// from a signal handler alike, and stops at the first that fails.
public enum UnmapPlan {
    public enum Step: Equatable, Sendable {
        /// [lo, hi) lies outside every window: the kernel's munmap.
        case unmap(lo: UInt64, hi: UInt64)
        /// [lo, hi) in window `window` goes back to the reservation in one
        /// atomic overmap (never munmap then mmap) and is forgotten; free
        /// pages among it are no error (munmap of free space returns 0).
        case release(window: Int, lo: UInt64, hi: UInt64)
    }

    /// The page range the call acts on, or nil when the kernel's answer to
    /// the call as it is decides (EINVAL for an unaligned or empty range,
    /// one past user space).
    @inlinable
    public static func range(_ addr: UInt64, _ len: UInt64, _ view: WindowView) -> (lo: UInt64, hi: UInt64)? {
        withUnsafePointer(to: view) { range(addr, len, in: $0) }
    }

    /// The same with the view by address (the engine's: no copy per call).
    @inlinable @inline(__always)
    public static func range(_ addr: UInt64, _ len: UInt64, in view: UnsafePointer<WindowView>) -> (lo: UInt64, hi: UInt64)? {
        let space = view.pointee.space
        guard len > 0, space.isPageAligned(addr), let r = view.pointee.pages(addr, len),
              r.lo <= space.userEnd && r.hi <= space.userEnd
        else { return nil }
        return r
    }

    /// Calls body with each step for [lo, hi), in order: every part outside
    /// the windows first (they are the ones that can fail: then no window
    /// has changed), then each window's part. Stops when body returns false;
    /// returns whether it went to the end.
    @discardableResult
    public static func forEachStep(_ lo: UInt64, _ hi: UInt64, _ windows: WindowRanges,
                                   _ body: (Step) -> Bool) -> Bool {
        withUnsafePointer(to: windows) { forEachStep(lo, hi, in: $0, body) }
    }

    /// The same with the windows by address (the engine's: no copy per call).
    @discardableResult
    @inlinable @inline(__always)
    public static func forEachStep(_ lo: UInt64, _ hi: UInt64, in windows: UnsafePointer<WindowRanges>,
                                   _ body: (Step) -> Bool) -> Bool {
        var going = true
        var at = lo
        let touched = windows.pointee.touching(lo, hi)
        for i in touched {
            let w = windows.pointee[i]
            if at < w.base {
                going = body(.unmap(lo: at, hi: w.base))
                if !going { return false }
            }
            at = Swift.min(w.end, hi)
        }
        if at < hi && !body(.unmap(lo: at, hi: hi)) { return false }
        for i in touched {
            let inside = windows.pointee[i].clip(lo, hi)
            if !body(.release(window: i, lo: inside.lo, hi: inside.hi)) { return false }
        }
        return true
    }
}
