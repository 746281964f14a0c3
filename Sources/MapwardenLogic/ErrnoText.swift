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
