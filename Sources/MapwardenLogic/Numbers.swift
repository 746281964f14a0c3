/// Number syntax shared by every key: hex addresses and human sizes.
public enum Numbers {
    /// Parses hex digits, with or without a `0x` prefix; `_` may separate digits.
    public static func parseHex(_ text: Bytes) -> UInt64? {
        var t = text
        if t.hasPrefix("0x") || t.hasPrefix("0X") { t = t.dropFirst(2) }
        return parseDigits(t, radix: 16)
    }

    /// Parses a size: decimal or `0x` hex, optionally followed by one of
    /// K, M, G, T (binary units, either case, optionally with a trailing B or iB).
    public static func parseSize(_ text: Bytes) -> UInt64? {
        // A unit is the last one to three letters ("G", "GB", "GiB"). K, M, G
        // and T are not hex digits, so "0xaM" is unambiguous.
        var n = 3
        while n >= 1 {
            if text.count > n, let shift = unitShift(text.slice(text.count - n, text.count)) {
                guard let v = parseNumber(text.slice(0, text.count - n)) else { return nil }
                let (product, overflow) = v.multipliedReportingOverflow(by: 1 << shift)
                return overflow ? nil : product
            }
            n -= 1
        }
        return parseNumber(text)
    }

    /// Decimal, or hex with a `0x` prefix.
    static func parseNumber(_ text: Bytes) -> UInt64? {
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return parseDigits(text.dropFirst(2), radix: 16) }
        return parseDigits(text, radix: 10)
    }

    static func unitShift(_ suffix: Bytes) -> UInt64? {
        guard suffix.count >= 1 && suffix.count <= 3 else { return nil }
        let shift: UInt64
        switch suffix[0] | 0x20 {
        case 0x6B: shift = 10 // k
        case 0x6D: shift = 20 // m
        case 0x67: shift = 30 // g
        case 0x74: shift = 40 // t
        default: return nil
        }
        switch suffix.count {
        case 1: return shift
        case 2: return suffix[1] | 0x20 == 0x62 ? shift : nil // "B"
        default: return (suffix[1] | 0x20 == 0x69 && suffix[2] | 0x20 == 0x62) ? shift : nil // "iB"
        }
    }

    static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }

    static func parseDigits(_ text: Bytes, radix: UInt64) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        for i in 0..<text.count {
            let c = text[i]
            if c == 0x5F { // '_'
                if digits == 0 || i == text.count - 1 { return nil }
                continue
            }
            let d: UInt64
            switch c {
            case 0x30...0x39: d = UInt64(c - 0x30)
            case 0x61...0x66: d = UInt64(c - 0x61 + 10)
            case 0x41...0x46: d = UInt64(c - 0x41 + 10)
            default: return nil
            }
            if d >= radix { return nil }
            let (m, o1) = value.multipliedReportingOverflow(by: radix)
            let (s, o2) = m.addingReportingOverflow(d)
            if o1 || o2 { return nil }
            value = s
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}
