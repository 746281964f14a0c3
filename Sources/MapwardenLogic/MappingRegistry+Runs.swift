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

    /// The part of [at, hi) (inside window w) that starts at `at`: up to the
    /// end of the recorded mapping there (free == false), or of the free run
    /// (free == true), clipped to hi. Step by step, so that a caller may
    /// change the registry between parts (repairs forget what was lost).
    public func part(_ at: UInt64, _ hi: UInt64, in w: Window) -> (hi: UInt64, free: Bool) {
        if let m = mapping(containing: at) { return (Swift.min(m.end, hi), false) }
        return (Swift.min(freeRun(around: at, in: w).hi, hi), true)
    }

    /// Calls body for each part of [lo, hi) inside window w, in address
    /// order: recorded parts (free == false) and free runs (free == true).
    public func forEachPart(_ lo: UInt64, _ hi: UInt64, in w: Window, _ body: (_ lo: UInt64, _ hi: UInt64, _ free: Bool) -> Void) {
        var at = lo
        while at < hi {
            let p = part(at, hi, in: w)
            body(at, p.hi, p.free)
            at = p.hi
        }
    }
}
