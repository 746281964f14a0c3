#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import MapwardenLogic

/// Writing to the terminal: stdout through `print`, stderr unbuffered.
enum Out {
    /// Writes to standard error at once (no buffering, so the order with the
    /// program's own output is kept).
    static func err(_ text: String) {
        var s = text
        s.withUTF8 { buf in
            var p = buf.baseAddress
            var left = buf.count
            while left > 0, let base = p {
                let n = write(2, base, left)
                if n < 0 { if errno == EINTR { continue }; return }
                p = base + n
                left -= n
            }
        }
    }

    /// One `mapwarden: ...` line on standard error.
    static func note(_ text: String) { err("mapwarden: \(text)\n") }

    static func flush() { fflush(nil) }
}

/// Numbers as mapwarden writes them.
enum Fmt {
    static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }

    /// A byte count for people: "4096 bytes", "12 KiB", "1 TiB", "1.5 GiB".
    static func bytes(_ v: UInt64) -> String {
        if v < 1024 { return v == 1 ? "1 byte" : "\(v) bytes" }
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(v) / 1024
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if value == value.rounded() { return "\(Int(value)) \(units[unit])" }
        let tenths = (value * 10).rounded() / 10
        if tenths == tenths.rounded() { return "\(Int(tenths)) \(units[unit])" }
        return "\(tenths) \(units[unit])"
    }

    /// A size as MAPWARDEN_WINDOW takes it: 1T, 64G, 4096.
    static func sizeSpec(_ v: UInt64) -> String {
        let units: [(UInt64, String)] = [(1 << 40, "T"), (1 << 30, "G"), (1 << 20, "M"), (1 << 10, "K")]
        for (u, s) in units where v % u == 0 { return "\(v / u)\(s)" }
        return "\(v)"
    }

    /// "1 mapping", "3 mappings".
    static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : (plural ?? singular + "s"))
    }

    /// Left-pads to width.
    static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
    }

    /// Right-pads to width.
    static func padRight(_ s: String, _ width: Int) -> String {
        s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
    }

    /// A signal's name: "SIGTERM" (or "signal 42").
    static func signalName(_ sig: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL",
            SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
            SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1", SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2",
            SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGCHLD: "SIGCHLD",
            SIGCONT: "SIGCONT", SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP", SIGTTIN: "SIGTTIN",
            SIGTTOU: "SIGTTOU", SIGURG: "SIGURG", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ",
            SIGVTALRM: "SIGVTALRM", SIGPROF: "SIGPROF", SIGWINCH: "SIGWINCH", SIGIO: "SIGIO",
            SIGPWR: "SIGPWR", SIGSYS: "SIGSYS",
        ]
        return names[sig] ?? "signal \(sig)"
    }
}

/// Files and paths, without Foundation's URL quirks.
enum Paths {
    static func currentDirectory() -> String {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buf, buf.count) != nil else { return "." }
        return fromC(buf)
    }

    /// `path` made absolute against the current directory (no symlink resolution).
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let cwd = currentDirectory()
        return cwd == "/" ? "/" + path : cwd + "/" + path
    }

    /// The running executable (/proc/self/exe).
    static func executable() -> String? {
        var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return fromC(Array(buf[0..<n]))
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    static func basename(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// A NUL-terminated (or not) C buffer as a String.
    static func fromC(_ buf: [CChar]) -> String {
        let bytes = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Removes "." and ".." components lexically.
    static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { if !parts.isEmpty { parts.removeLast() }; continue }
            parts.append(part)
        }
        return (path.hasPrefix("/") ? "/" : "") + parts.joined(separator: "/")
    }

    /// A path as short as it can be said from the current directory.
    static func display(_ path: String) -> String {
        let cwd = currentDirectory()
        if path.hasPrefix(cwd + "/") { return String(path.dropFirst(cwd.count + 1)) }
        return path
    }

    /// The whole file, or the errno that prevented reading it: EFBIG when it
    /// is larger than limit, and a FIFO, a device or a directory is refused
    /// without being opened (opening a FIFO waits for a writer).
    static func read(_ path: String, limit: Int = 64 << 20) -> Result<[UInt8], Errno> {
        var st = stat()
        if stat(path, &st) != 0 { return .failure(Errno(errno)) }
        if let refused = refusal(st, limit: limit) { return .failure(refused) }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { return .failure(Errno(errno)) }
        defer { close(fd) }
        // It may have been replaced since it was looked at.
        if fstat(fd, &st) != 0 { return .failure(Errno(errno)) }
        if let refused = refusal(st, limit: limit) { return .failure(refused) }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; return .failure(Errno(errno)) }
            if n == 0 { break }
            data.append(contentsOf: chunk[0..<n])
            if data.count > limit { return .failure(Errno(EFBIG)) }
        }
        return .success(data)
    }

    /// Why a file so described is not read: not a regular file, or larger
    /// than limit (procfs files say 0 bytes: only a size given is trusted).
    static func refusal(_ st: stat, limit: Int) -> Errno? {
        if st.st_mode & S_IFMT != S_IFREG { return Errno(notRegular: UInt32(st.st_mode)) }
        if st.st_size > limit { return Errno(EFBIG) }
        return nil
    }

    static func readText(_ path: String) -> String? {
        guard case .success(let bytes) = read(path) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes a file (mode 0644, truncated).
    static func write(_ path: String, _ text: String) -> Errno? {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { return Errno(errno) }
        defer { close(fd) }
        var s = text
        var failure: Errno?
        s.withUTF8 { buf in
            var off = 0
            while off < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + off, buf.count - off)
                if n < 0 { if errno == EINTR { continue }; failure = Errno(errno); return }
                off += n
            }
        }
        return failure
    }
}

/// An errno value with its text; or, for a file the command will not
/// read, what it is instead of a regular file.
struct Errno: Error, CustomStringConvertible {
    var code: Int32
    /// The S_IFMT bits of a file that is not a regular one, else 0.
    var notRegular: UInt32 = 0
    init(_ code: Int32) { self.code = code }
    init(notRegular mode: UInt32) {
        code = 0
        notRegular = mode
    }
    var description: String {
        if notRegular != 0 {
            return ConfigCheck.text { FileType.describeNotRegular(notRegular, into: &$0) }
        }
        return String(cString: strerror(code))
    }
}

/// A failure explained in one line.
struct Message: Error, CustomStringConvertible {
    var text: String
    init(_ text: String) { self.text = text }
    var description: String { text }
}
