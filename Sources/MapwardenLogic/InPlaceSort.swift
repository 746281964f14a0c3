/// Heapsort over memory the caller owns: O(n log n), no allocation (the
/// standard library's sort needs a buffer, which Embedded Swift takes from
/// the heap). Not stable: give `less` a total order.
public enum InPlaceSort {
    public static func sort<T>(_ base: UnsafeMutablePointer<T>, count: Int, by less: (T, T) -> Bool) {
        if count < 2 { return }
        var start = count / 2
        while start > 0 {
            start -= 1
            siftDown(base, start, count, less)
        }
        var end = count
        while end > 1 {
            end -= 1
            swap(&base[0], &base[end])
            siftDown(base, 0, end, less)
        }
    }

    static func siftDown<T>(_ base: UnsafeMutablePointer<T>, _ root: Int, _ end: Int, _ less: (T, T) -> Bool) {
        var parent = root
        while true {
            var child = 2 * parent + 1
            if child >= end { return }
            if child + 1 < end && less(base[child], base[child + 1]) { child += 1 }
            if !less(base[parent], base[child]) { return }
            swap(&base[parent], &base[child])
            parent = child
        }
    }
}
