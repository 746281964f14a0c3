/// Names and meanings of the errno values mapwarden reports.
public enum ErrnoText {
    /// Writes e.g. `ENOENT (no such file or directory)`.
    public static func describe(_ e: Int32, into out: inout TextBuffer) {
        let (name, meaning) = lookup(e)
        if let name {
            out.append(name)
            out.append(" (")
            out.append(meaning)
            out.append(")")
        } else {
            out.append("errno ")
            out.append(decimal: Int(e))
        }
    }

    static func lookup(_ e: Int32) -> (StaticString?, StaticString) {
        switch e {
        case 1: return ("EPERM", "operation not permitted")
        case 2: return ("ENOENT", "no such file or directory")
        case 4: return ("EINTR", "interrupted")
        case 5: return ("EIO", "input/output error")
        case 9: return ("EBADF", "bad file descriptor")
        case 11: return ("EAGAIN", "resource temporarily unavailable")
        case 12: return ("ENOMEM", "cannot allocate memory")
        case 13: return ("EACCES", "permission denied")
        case 14: return ("EFAULT", "bad address")
        case 16: return ("EBUSY", "device or resource busy")
        case 17: return ("EEXIST", "file exists")
        case 19: return ("ENODEV", "no such device")
        case 20: return ("ENOTDIR", "not a directory")
        case 21: return ("EISDIR", "is a directory")
        case 22: return ("EINVAL", "invalid argument")
        case 23: return ("ENFILE", "too many open files in system")
        case 24: return ("EMFILE", "too many open files")
        case 27: return ("EFBIG", "file too large")
        case 36: return ("ENAMETOOLONG", "file name too long")
        case 40: return ("ELOOP", "too many levels of symbolic links")
        case 75: return ("EOVERFLOW", "value too large")
        default: return (nil, "")
        }
    }
}

/// What a file that is not a regular one is, for messages about files the
/// configuration names (which must be regular files: a FIFO would block).
public enum FileType {
    /// The S_IFMT bits of a regular file.
    public static let regular: UInt32 = 0o100000

    /// Writes e.g. `not a regular file (a FIFO)` for the S_IFMT bits of mode.
    public static func describeNotRegular(_ mode: UInt32, into out: inout TextBuffer) {
        out.append("not a regular file (")
        switch mode & 0o170000 {
        case 0o010000: out.append("a FIFO")
        case 0o020000: out.append("a character device")
        case 0o040000: out.append("a directory")
        case 0o060000: out.append("a block device")
        case 0o120000: out.append("a symbolic link")
        case 0o140000: out.append("a socket")
        default:
            out.append("file type 0o")
            var digits = 0
            var m = mode & 0o170000
            var octal: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &octal) { raw in
                repeat {
                    raw[digits] = UInt8(truncatingIfNeeded: 0x30 + m % 8)
                    m /= 8
                    digits += 1
                } while m != 0
                while digits > 0 {
                    digits -= 1
                    out.append(byte: raw[digits])
                }
            }
        }
        out.append(")")
    }
}
