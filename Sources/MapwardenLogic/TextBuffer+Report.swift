/// The pieces of text a leak report is made of, in both its formats.
extension TextBuffer {
    /// A JSON string literal: quotes, backslashes and control characters
    /// escaped; valid UTF-8 as it is; each byte that is not part of valid
    /// UTF-8 (file names are bytes) as U+FFFD, so the document stays JSON.
    public mutating func appendJSONString(_ b: Bytes) {
        append(byte: 0x22)
        var i = 0
        while i < b.count {
            let c = b[i]
            if c >= 0x80 {
                let n = TextBuffer.utf8SequenceLength(b, at: i)
                if n == 0 {
                    append("\\ufffd")
                    i += 1
                } else {
                    for k in 0..<n { append(byte: b[i + k]) }
                    i += n
                }
                continue
            }
            i += 1
            switch c {
            case 0x22, 0x5C:
                append(byte: 0x5C)
                append(byte: c)
            case 0x0A:
                append("\\n")
            case 0x09:
                append("\\t")
            case 0x0D:
                append("\\r")
            case 0..<0x20, 0x7F:
                append("\\u00")
                appendHexDigits(UInt64(c), minimumDigits: 2)
            default:
                append(byte: c)
            }
        }
        append(byte: 0x22)
    }

    /// The length of the valid UTF-8 sequence starting at b[i] (a byte
    /// >= 0x80), or 0 when there is none (RFC 3629: no overlongs, no
    /// surrogates, nothing above U+10FFFF).
    static func utf8SequenceLength(_ b: Bytes, at i: Int) -> Int {
        let c = b[i]
        var n = 0
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch c {
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: return 0
        }
        if i + n > b.count { return 0 }
        let second = b[i + 1]
        if second < lo || second > hi { return 0 }
        for k in 2..<n where b[i + k] & 0xC0 != 0x80 { return 0 }
        return n
    }

    /// `"0x…"`: addresses are strings in JSON (they exceed 2^53).
    public mutating func appendJSONHex(_ value: UInt64) {
        append(byte: 0x22)
        append(hex: value)
        append(byte: 0x22)
    }

    /// PROT_* bits as `rwx` letters (`---` for none, `?` when unknown).
    public mutating func append(protection prot: Int32) {
        if prot < 0 {
            append("?")
            return
        }
        append(byte: prot & 1 != 0 ? 0x72 : 0x2D)
        append(byte: prot & 2 != 0 ? 0x77 : 0x2D)
        append(byte: prot & 4 != 0 ? 0x78 : 0x2D)
    }

    /// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (UTC).
    public mutating func append(isoTime seconds: Int64) {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rest = seconds - days * 86400
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        appendPadded(year, 4)
        append("-")
        appendPadded(month, 2)
        append("-")
        appendPadded(day, 2)
        append("T")
        appendPadded(rest / 3600, 2)
        append(":")
        appendPadded(rest / 60 % 60, 2)
        append(":")
        appendPadded(rest % 60, 2)
        append("Z")
    }

    mutating func appendPadded(_ value: Int64, _ width: Int) {
        append(unsigned: UInt64(value), width: width, fill: 0x30)
    }

    /// v right-aligned in width columns, filled on the left with `fill`.
    public mutating func append(unsigned v: UInt64, width: Int, fill: UInt8) {
        var digits = 1, x = v
        while x >= 10 {
            x /= 10
            digits += 1
        }
        var pad = width - digits
        while pad > 0 {
            append(byte: fill)
            pad -= 1
        }
        append(unsigned: v)
    }

    /// A count with its noun, singular or plural: "1 mapping", "3 mappings".
    public mutating func append(count: Int, _ singular: StaticString, _ plural: StaticString) {
        append(decimal: count)
        append(" ")
        append(count == 1 ? singular : plural)
    }
}
