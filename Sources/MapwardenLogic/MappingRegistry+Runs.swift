/// The registry read together with the windows: which parts of a range the
/// kernel acts on (outside every window, or mapped) and which are free
/// window pages (the reservation, which must behave as unmapped memory).
extension MappingRegistry {
    /// Splits [lo, hi) into runs, in address order: runs the kernel acts on
    /// (free == false: outside every window, or recorded) and free window
    /// runs (free == true), until body returns false.
    public func forEachRun(_ lo: UInt64, _ hi: UInt64, in windows: WindowRanges,
                           _ body: (_ lo: UInt64, _ hi: UInt64, _ free: Bool) -> Bool) {
        var runStart = lo, runFree = false, cursor = lo
        while cursor < hi {
            let end: UInt64, free: Bool
            if let i = windows.index(containing: cursor) {
                if let m = mapping(containing: cursor) {
                    (end, free) = (Swift.min(m.end, hi), false)
                } else {
                    (end, free) = (Swift.min(freeRun(around: cursor, in: windows[i]).hi, hi), true)
                }
            } else {
                let next = windows.firstTouching(cursor, hi).map { Swift.max(windows[$0].base, cursor) } ?? hi
                (end, free) = (next, false)
            }
            if cursor > lo && free != runFree {
                if !body(runStart, cursor, runFree) { return }
                runStart = cursor
            }
            runFree = free
            cursor = end
        }
        _ = body(runStart, hi, runFree)
    }

    /// The first free window page in [lo, hi), or nil.
    public func firstFree(_ lo: UInt64, _ hi: UInt64, in windows: WindowRanges) -> UInt64? {
        var found: UInt64? = nil
        forEachRun(lo, hi, in: windows) { at, _, free in
            if free { found = at }
            return !free
        }
        return found
    }

    /// Calls body for each free run of [lo, hi) inside window w (all of
    /// [lo, hi) lies in w), in address order, and for each recorded part
    /// with free == false.
    public func forEachPart(_ lo: UInt64, _ hi: UInt64, in w: Window, _ body: (_ lo: UInt64, _ hi: UInt64, _ free: Bool) -> Void) {
        var at = lo
        while at < hi {
            if let m = mapping(containing: at) {
                let end = Swift.min(m.end, hi)
                body(at, end, false)
                at = end
            } else {
                let end = Swift.min(freeRun(around: at, in: w).hi, hi)
                body(at, end, true)
                at = end
            }
        }
    }
}
