/// The windows' ranges in address order, with the lookups every call
/// needs: which window holds an address, which windows a range touches.
/// Fixed capacity, kept inline (the engine reads it without a lock).
public struct WindowRanges: Equatable {
    @usableFromInline
    var slots: (Window, Window, Window, Window, Window, Window, Window, Window) =
        (Window(base: 0, size: 0), Window(base: 0, size: 0), Window(base: 0, size: 0), Window(base: 0, size: 0),
         Window(base: 0, size: 0), Window(base: 0, size: 0), Window(base: 0, size: 0), Window(base: 0, size: 0))
    public private(set) var count = 0

    public init() {}

    /// The ranges of a table's windows, sorted by base (they must not overlap).
    public init(_ table: WindowTable) {
        for i in 0..<table.count { insert(table[i].window) }
    }

    /// Adds w, keeping address order. False when full.
    @discardableResult
    public mutating func insert(_ w: Window) -> Bool {
        guard count < WindowTable.capacity else { return false }
        var i = count
        count += 1
        while i > 0 && self[i - 1].base > w.base {
            set(i, self[i - 1])
            i -= 1
        }
        set(i, w)
        return true
    }

    @inlinable
    public subscript(i: Int) -> Window {
        // (A switch reads one element in place: a pointer to a borrowed
        // tuple would copy all eight, on every call's lookups.)
        switch i {
        case 0: return slots.0
        case 1: return slots.1
        case 2: return slots.2
        case 3: return slots.3
        case 4: return slots.4
        case 5: return slots.5
        case 6: return slots.6
        default: return slots.7
        }
    }

    mutating func set(_ i: Int, _ w: Window) {
        withUnsafeMutableBytes(of: &slots) { $0.storeBytes(of: w, toByteOffset: i * MemoryLayout<Window>.stride, as: Window.self) }
    }

    /// The lowest base and highest end: a range outside it touches no window.
    public var hull: Window {
        count == 0 ? Window(base: 0, size: 0) : Window(base: self[0].base, size: self[count - 1].end - self[0].base)
    }

    /// The index of the window containing addr.
    @inlinable
    public func index(containing addr: UInt64) -> Int? {
        for i in 0..<count where self[i].contains(addr) { return i }
        return nil
    }

    /// The index of the lowest window sharing a byte with [lo, hi).
    @inlinable
    public func firstTouching(_ lo: UInt64, _ hi: UInt64) -> Int? {
        for i in 0..<count where self[i].overlaps(lo, hi) { return i }
        return nil
    }

    /// The indices of the windows sharing a byte with [lo, hi): a run, since
    /// the windows are sorted and disjoint (empty when none).
    @inlinable
    public func touching(_ lo: UInt64, _ hi: UInt64) -> Range<Int> {
        var first = 0
        while first < count && !self[first].overlaps(lo, hi) { first += 1 }
        if first == count { return 0..<0 }
        var end = first + 1
        while end < count && self[end].overlaps(lo, hi) { end += 1 }
        return first..<end
    }

    /// How many windows share a byte with [lo, hi).
    @inlinable
    public func countTouching(_ lo: UInt64, _ hi: UInt64) -> Int {
        touching(lo, hi).count
    }

    /// Splits [lo, hi) into consecutive pieces that each touch at most one
    /// window, calling body(pieceLo, pieceHi, windowIndex?) in order; stops
    /// early when body returns false. Returns whether it went to the end.
    /// (An empty range is not a call's: callers check lengths first.)
    @discardableResult
    public func forEachPiece(_ lo: UInt64, _ hi: UInt64, _ body: (UInt64, UInt64, Int?) -> Bool) -> Bool {
        var at = lo
        for i in 0..<count where self[i].overlaps(lo, hi) {
            let end = Swift.min(self[i].end, hi)
            if !body(at, end, i) { return false }
            at = end
        }
        if at < hi || lo == hi { return body(at, hi, nil) }
        return true
    }

    public static func == (a: WindowRanges, b: WindowRanges) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }
}
