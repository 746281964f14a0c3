/// The MAPWARDEN_REPORT path template: `%p` is the process id, `%e` the
/// executable's name (after its last `/`), `%%` a percent sign; any other
/// byte stands for itself.
public enum ReportPath {
    /// Whether every `%` in the template starts `%p`, `%e` or `%%`.
    public static func validate(_ template: Bytes) -> Bool {
        problem(in: template) == nil
    }

    /// `.reportPathBadPercent` when a `%` is followed by anything other than
    /// `p`, `e` or `%`, or ends the template; nil when the template is good.
    public static func problem(in template: Bytes) -> ConfigError.Problem? {
        var i = 0
        while i < template.count {
            if template[i] == 0x25 { // '%'
                if i + 1 == template.count { return .reportPathBadPercent }
                switch template[i + 1] {
                case 0x70, 0x65, 0x25: break // p e %
                default: return .reportPathBadPercent
                }
                i += 2
            } else {
                i += 1
            }
        }
        return nil
    }

    /// Appends the expanded template to out (after what it already holds).
    /// Returns false, leaving out holding a partial result, when the
    /// template is not valid, when the expansion is empty, or when it does
    /// not fit in what is left of out (leave room for a NUL if one is needed).
    public static func expand(_ template: Bytes, pid: Int, executable: Bytes,
                              into out: inout TextBuffer) -> Bool {
        let start = out.count
        var expected = start
        var i = 0
        while i < template.count {
            let c = template[i]
            if c != 0x25 { // '%'
                out.append(byte: c)
                expected += 1
                i += 1
                continue
            }
            if i + 1 == template.count { return false }
            switch template[i + 1] {
            case 0x70: // p
                out.append(decimal: pid)
                expected += decimalLength(pid)
            case 0x65: // e
                let name = basename(executable)
                out.append(name)
                expected += name.count
            case 0x25:
                out.append(byte: 0x25)
                expected += 1
            default:
                return false
            }
            if out.count != expected { return false } // truncated
            i += 2
        }
        return expected > start && out.count == expected
    }

    /// The length of the shortest path the template can expand to: `%%` is
    /// one byte, `%p` and `%e` at least one each. (A template longer than a
    /// path may be once expanded is an error at start-up; a longer
    /// expansion is found at exit.)
    public static func minimumLength(_ template: Bytes) -> Int {
        var n = 0
        var i = 0
        while i < template.count {
            i += template[i] == 0x25 && i + 1 < template.count ? 2 : 1 // '%'
            n += 1
        }
        return n
    }

    /// The bytes after the last `/` (all of them when there is none).
    public static func basename(_ path: Bytes) -> Bytes {
        var i = path.count
        while i > 0 && path[i - 1] != 0x2F { i -= 1 }
        return path.dropFirst(i)
    }

    static func decimalLength(_ value: Int) -> Int {
        var n = value < 0 ? 2 : 1
        var v = value
        while v >= 10 || v <= -10 {
            v /= 10
            n += 1
        }
        return n
    }
}
