import CShim
import MapwardenLogic

/// Ranges covered for a moment with PROT_NONE placeholders, unmapped again
/// after: the clobber probe's (gaps between the program's own mappings in
/// one MAP_FIXED range, which the MAP_FIXED then replaces) and the loader
/// room's (the free ranges above it while libunwind is loaded: LoaderRoom).
struct Placeholders {
    static let capacity = 32

    var ranges: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0
    /// Set when a range was covered but could not be listed (the list was
    /// full): it was unmapped again at once.
    var overflow = false

    /// Covers [lo, hi) with a placeholder (MAP_FIXED_NOREPLACE). False when
    /// the kernel refuses: something is mapped there (or no memory).
    mutating func place(_ lo: UInt64, _ hi: UInt64) -> Bool {
        let r = Kernel.mmap(lo, hi - lo, PROT_NONE, Reservation.flags | MAP_FIXED_NOREPLACE)
        if r.failed { return false }
        if r.address != lo { // a kernel that takes MAP_FIXED_NOREPLACE as a hint
            _ = Kernel.munmap(r.address, hi - lo)
            return false
        }
        if count == Placeholders.capacity {
            _ = Kernel.munmap(lo, hi - lo) // keep none we cannot list
            overflow = true
            return true
        }
        withUnsafeMutableBytes(of: &ranges) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            p[2 * count] = lo
            p[2 * count + 1] = hi
        }
        count += 1
        return true
    }

    mutating func removeAll() {
        var copy = ranges
        withUnsafeBytes(of: &copy) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            for i in 0..<count { _ = Kernel.munmap(p[2 * i], p[2 * i + 1] - p[2 * i]) }
        }
        count = 0
        overflow = false
    }
}
