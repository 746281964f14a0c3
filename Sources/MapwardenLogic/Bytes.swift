/// A borrowed run of bytes: a line of a config file, a key, a value.
///
/// Pure logic works on bytes, never on `String`, so that the same code runs
/// inside the preloaded engine (Embedded Swift, no allocation) and in the
/// unit tests.
public struct Bytes: Equatable, @unchecked Sendable {
    public let base: UnsafePointer<UInt8>?
    public let count: Int

    public init(_ base: UnsafePointer<UInt8>?, count: Int) {
        self.base = base
        self.count = base == nil ? 0 : count
    }

    public init(_ buffer: UnsafeBufferPointer<UInt8>) {
        self.init(buffer.baseAddress, count: buffer.count)
    }

    /// Wraps a NUL-terminated C string.
    public init(cString: UnsafePointer<UInt8>) {
        var n = 0
        while cString[n] != 0 { n += 1 }
        self.init(cString, count: n)
    }

    /// Wraps a string literal.
    public init(_ s: StaticString) {
        self.init(s.utf8Start, count: s.utf8CodeUnitCount)
    }

    public static let empty = Bytes(nil, count: 0)

    public var isEmpty: Bool { count == 0 }

    public subscript(i: Int) -> UInt8 { base![i] }

    public func slice(_ from: Int, _ to: Int) -> Bytes {
        precondition(0 <= from && from <= to && to <= count)
        if from == to { return .empty }
        return Bytes(base! + from, count: to - from)
    }

    public func dropFirst(_ n: Int) -> Bytes { slice(Swift.min(n, count), count) }

    public func firstIndex(of byte: UInt8, from start: Int = 0) -> Int? {
        var i = start
        while i < count {
            if self[i] == byte { return i }
            i += 1
        }
        return nil
    }

    public func trimmingSpaces() -> Bytes {
        var lo = 0, hi = count
        while lo < hi && Bytes.isSpace(self[lo]) { lo += 1 }
        while hi > lo && Bytes.isSpace(self[hi - 1]) { hi -= 1 }
        return slice(lo, hi)
    }

    public static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0D }

    public func hasPrefix(_ s: StaticString) -> Bool {
        let n = s.utf8CodeUnitCount
        if n > count { return false }
        let p = s.utf8Start
        for i in 0..<n where self[i] != p[i] { return false }
        return true
    }

    public func equals(_ s: StaticString) -> Bool {
        s.utf8CodeUnitCount == count && hasPrefix(s)
    }

    public static func == (a: Bytes, b: Bytes) -> Bool {
        if a.count != b.count { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }
}
