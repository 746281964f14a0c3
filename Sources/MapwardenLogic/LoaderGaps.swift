/// The free ranges a library loaded late could land in, other than the
/// room made for it: those above `floor` (the room's top), read from
/// /proc/self/maps in address order, each of `minimum` bytes or more,
/// except the one right below the stack (its room to grow). The loader
/// maps a library where the kernel puts an mmap(NULL), the highest free
/// range that fits; with these covered, that is the room.
public struct LoaderGaps {
    public let floor: UInt64
    public let minimum: UInt64
    var previousEnd: UInt64 = 0
    /// Set at the stack: nothing above it is a candidate.
    public private(set) var done = false

    public init(floor: UInt64, minimum: UInt64) {
        self.floor = floor
        self.minimum = minimum
    }

    /// The next mapping (in address order): the free range before it to
    /// cover, if there is one.
    public mutating func next(start: UInt64, end: UInt64, isStack: Bool) -> (lo: UInt64, hi: UInt64)? {
        if done { return nil }
        if isStack {
            done = true
            return nil
        }
        let lo = Swift.max(previousEnd, floor)
        previousEnd = Swift.max(previousEnd, end)
        guard start > lo, start - lo >= minimum else { return nil }
        return (lo, start)
    }

    /// Whether a /proc/self/maps line names the main thread's stack.
    public static func isStack(_ line: Bytes) -> Bool {
        guard let at = MapsLine.nameStart(line) else { return false }
        return line.dropFirst(at).trimmingSpaces().equals("[stack]")
    }
}
