import CShim
import MapwardenLogic

/// The windows this process holds, fixed at start-up and read without the
/// lock (by every call's first test, and by signal handlers): their ranges
/// in address order, and for each its name and what backs it.
enum Windows {
    nonisolated(unsafe) static var ranges = WindowRanges()
    nonisolated(unsafe) static var details = Details()

    /// What a window is besides its range (index as in `ranges`).
    struct Detail {
        var name: WindowName
        var backing: Backing
        /// Shared and persistent windows: the backing file, kept open
        /// (close-on-exec, numbered high), and its path.
        var file = BackingFile()
    }

    struct Details {
        var slots: (Detail?, Detail?, Detail?, Detail?, Detail?, Detail?, Detail?, Detail?) = (nil, nil, nil, nil, nil, nil, nil, nil)

        subscript(i: Int) -> Detail {
            get { withUnsafeBytes(of: slots) { $0.baseAddress!.assumingMemoryBound(to: Detail?.self)[i]! } }
            set { withUnsafeMutableBytes(of: &slots) { $0.baseAddress!.assumingMemoryBound(to: Detail?.self)[i] = newValue } }
        }
    }

    static var count: Int { ranges.count }
    /// Whether some window is shared or persistent (else no call needs to
    /// look at a window's backing).
    nonisolated(unsafe) static var anyBacked = false

    /// Sets the windows up, once, before the engine answers any call.
    static func publish(_ ranges: WindowRanges, _ details: Details) {
        Windows.ranges = ranges
        Windows.details = details
        for i in 0..<ranges.count where details[i].backing != .private { anyBacked = true }
        let hull = ranges.hull
        windowBase = hull.base
        windowEnd = hull.end
    }

    /// True when [addr, addr+len) shares a byte with some window. The
    /// common case, far from every window, is two comparisons.
    @inline(__always)
    static func touched(_ addr: UInt64, _ len: UInt64) -> Bool {
        guard addr < windowEnd && addr &+ len > windowBase else { return false }
        return ranges.count == 1 || touchedAmong(addr, len)
    }

    // Between windows: out of line, so that the common paths keep a small frame.
    @inline(never)
    static func touchedAmong(_ addr: UInt64, _ len: UInt64) -> Bool {
        ranges.firstTouching(addr, addr &+ len < addr ? UInt64.max : addr &+ len) != nil
    }

    @inline(never)
    static func heldAmong(_ addr: UInt64) -> Bool {
        ranges.index(containing: addr) != nil
    }

    /// True when addr lies in some window.
    @inline(__always)
    static func holds(_ addr: UInt64) -> Bool {
        guard addr >= windowBase && addr < windowEnd else { return false }
        return ranges.count == 1 || heldAmong(addr)
    }

    /// The name of the window holding addr, if any.
    static func name(containing addr: UInt64) -> WindowName? {
        ranges.index(containing: addr).map { details[$0].name }
    }

    /// The arguments that map [addr, ...) in window i: an anonymous mapping
    /// in a shared or persistent window becomes a shared mapping of the
    /// window's file at the address's offset; anything else is unchanged.
    static func backed(_ i: Int, _ addr: UInt64, _ flags: Int32, _ fd: Int32, _ off: Int) -> (flags: Int32, fd: Int32, off: Int) {
        let d = details[i]
        guard d.backing != .private, flags & MAP_ANONYMOUS != 0 else { return (flags, fd, off) }
        let shared = (flags & ~(MAP_TYPE | MAP_ANONYMOUS)) | MAP_SHARED
        return (shared, d.file.fd, Int(d.file.offset(of: addr, in: ranges[i])))
    }
}
