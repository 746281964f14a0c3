/// A message being built in caller-provided memory: no allocation, silently
/// truncated when full. Used for every diagnostic mapwarden prints.
public struct TextBuffer {
    public let storage: UnsafeMutablePointer<UInt8>
    public let capacity: Int
    public private(set) var count = 0

    public init(_ storage: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.storage = storage
        self.capacity = capacity
    }

    public var bytes: Bytes { Bytes(UnsafePointer(storage), count: count) }

    public mutating func clear() { count = 0 }

    public mutating func append(byte: UInt8) {
        if count < capacity {
            storage[count] = byte
            count += 1
        }
    }

    public mutating func append(_ s: StaticString) {
        let p = s.utf8Start
        for i in 0..<s.utf8CodeUnitCount { append(byte: p[i]) }
    }

    public mutating func append(_ b: Bytes) {
        for i in 0..<b.count { append(byte: b[i]) }
    }

    /// Appends at most `limit` bytes of b (cut at a UTF-8 character's
    /// start), then `... (N bytes)` when b is longer: for keys and file
    /// names echoed in a message, which must stay one line.
    public mutating func append(_ b: Bytes, limit: Int) {
        let shown = TextBuffer.shownLength(b, limit: limit)
        append(b.slice(0, shown))
        if shown < b.count {
            append("... (")
            append(unsigned: UInt64(b.count))
            append(" bytes)")
        }
    }

    static func shownLength(_ b: Bytes, limit: Int) -> Int {
        var shown = b.count
        if shown > limit {
            shown = Swift.max(limit, 0)
            while shown > 0 && b[shown] & 0xC0 == 0x80 { shown -= 1 } // not inside a character
        }
        return shown
    }

    /// How many bytes of a value a message echoes (appendQuoted): a message
    /// is one line of at most 1 KiB, and must still say what is wrong.
    public static let quotedLimit = 160

    /// Appends bytes in double quotes with control characters escaped, for
    /// echoing user input. A value longer than `limit` bytes is cut there
    /// (at a UTF-8 character's start) and its length follows:
    /// `"/tmp/aaaa"... (6000 bytes)`.
    public mutating func appendQuoted(_ b: Bytes, limit: Int = TextBuffer.quotedLimit) {
        let shown = TextBuffer.shownLength(b, limit: limit)
        append(byte: 0x22)
        for i in 0..<shown {
            let c = b[i]
            if c < 0x20 || c == 0x7F || c == 0x22 || c == 0x5C {
                append(byte: 0x5C)
                switch c {
                case 0x0A: append(byte: 0x6E)
                case 0x09: append(byte: 0x74)
                case 0x22, 0x5C: append(byte: c)
                default:
                    append(byte: 0x78)
                    appendHexDigits(UInt64(c), minimumDigits: 2)
                }
            } else {
                append(byte: c)
            }
        }
        append(byte: 0x22)
        if shown < b.count {
            append("... (")
            append(unsigned: UInt64(b.count))
            append(" bytes)")
        }
    }

    public mutating func append(decimal value: Int) {
        if value < 0 {
            append(byte: 0x2D)
            append(unsigned: UInt64(bitPattern: Int64(value)).magnitudeOfNegative)
        } else {
            append(unsigned: UInt64(value))
        }
    }

    public mutating func append(unsigned value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // 24 bytes hold 20 digits
        var n = 0
        var v = value
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[n] = UInt8(truncatingIfNeeded: 0x30 + v % 10)
                v /= 10
                n += 1
            } while v != 0
            while n > 0 {
                n -= 1
                append(byte: raw[n])
            }
        }
    }

    /// `0x` followed by lowercase hex digits.
    public mutating func append(hex value: UInt64) {
        append("0x")
        appendHexDigits(value, minimumDigits: 1)
    }

    public mutating func appendHexDigits(_ value: UInt64, minimumDigits: Int) {
        var started = false
        var shift = 60
        while shift >= 0 {
            let nibble = UInt8(truncatingIfNeeded: (value >> UInt64(shift)) & 0xF)
            if nibble != 0 || started || shift < minimumDigits * 4 {
                started = true
                append(byte: nibble < 10 ? 0x30 + nibble : 0x57 + nibble)
            }
            shift -= 4
        }
    }

    public mutating func append(name: WindowName) {
        for i in 0..<name.count { append(byte: name[i]) }
    }

    /// The key that configures the window so named: MAPWARDEN_WINDOW or
    /// MAPWARDEN_WINDOW_<NAME>.
    public mutating func append(keyOf name: WindowName) {
        append("MAPWARDEN_WINDOW")
        if name == .defaultWindow { return }
        append("_")
        for i in 0..<name.count {
            let c = name[i]
            append(byte: c >= 0x61 && c <= 0x7A ? c - 0x20 : c)
        }
    }

    /// A window as `0xBASE-0xEND (SIZE)`.
    public mutating func append(window: Window) {
        append(hex: window.base)
        append("-")
        append(hex: window.end)
        append(" (")
        append(size: window.size)
        append(")")
    }

    /// A byte count in the largest exact binary unit: 4096 -> "4K", 1<<40 -> "1T".
    public mutating func append(size value: UInt64) {
        let units: StaticString = "KMGTPE"
        var v = value
        var unit = -1
        while v != 0 && v % 1024 == 0 && unit < 5 {
            v /= 1024
            unit += 1
        }
        append(unsigned: v)
        if unit >= 0 { append(byte: units.utf8Start[unit]) }
    }
}

extension UInt64 {
    /// For a bit pattern holding a negative Int64, the magnitude as UInt64.
    var magnitudeOfNegative: UInt64 { (~self) &+ 1 }
}
