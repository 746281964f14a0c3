#if canImport(Glibc)
import Glibc
#endif
import MapwardenLogic

/// What `check` can say about a shared or persistent window's file without
/// creating or changing it: whether it exists, whether the library could
/// open (or create) it, and whether its header fits the window.
struct BackingCheck {
    var window: ConfigCheck.WindowInfo
    var path: String
    var exists = false
    /// Why the library would refuse the file (it then exits with 71 under
    /// MAPWARDEN_ON_RESERVE_FAILURE=abort), in its own words.
    var problem: String?
    /// What is fine about it.
    var note = ""

    /// F_OFD_GETLK (Linux).
    static let ofdGetLock: Int32 = 36

    init(_ window: ConfigCheck.WindowInfo, pageSize: UInt64) {
        self.window = window
        path = window.path ?? ""
        let w = window.window
        let fileSize = pageSize + w.size
        let layout = "\(fileSize) bytes, sparse: a \(pageSize)-byte header, then the window's \(Fmt.bytes(w.size))"
        var st = stat()
        if stat(path, &st) != 0 {
            let e = errno
            guard e == ENOENT else {
                problem = "cannot open it: " + ConfigCheck.errnoText(e)
                return
            }
            let dir = Paths.directory(of: path)
            if access(dir, W_OK | X_OK) != 0 {
                let why = errno
                problem = "cannot open it: " + ConfigCheck.errnoText(why) + " (it does not exist, and cannot be created in \(dir))"
                return
            }
            note = "does not exist yet; the first program to run with this window creates it (mode 0600, \(layout))"
            return
        }
        exists = true
        // As the library: a FIFO (whose opening waits), a device or a directory is refused.
        if let refused = Paths.refusal(st, limit: Int.max) {
            problem = "cannot open it: " + refused.description
            return
        }
        if access(path, R_OK | W_OK) != 0 {
            problem = "cannot open it: " + ConfigCheck.errnoText(errno)
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            problem = "cannot open it: " + ConfigCheck.errnoText(errno)
            return
        }
        defer { close(fd) }
        // Every user holds a lock on the first byte while it runs: would an
        // exclusive one be refused? (F_OFD_GETLK only asks.)
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 1
        let inUse = fcntl(fd, BackingCheck.ofdGetLock, &lock) == 0 && lock.l_type != Int16(F_UNLCK)
        let size = UInt64(st.st_size)
        if size == 0 {
            note = inUse ? "exists, is empty and is open in another process"
                : "exists and is empty; the first program to run with this window writes its header and sizes it (\(layout))"
            return
        }
        var raw = [UInt8](repeating: 0, count: BackingHeader.encodedBytes)
        let n = raw.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { problem = "cannot read its header"; return }
        if n < BackingHeader.encodedBytes { problem = "it is not a mapwarden window file (too short)"; return }
        let decoded: Result<BackingHeader, BackingHeader.Mismatch> = raw.withUnsafeBytes { buf in
            do throws(BackingHeader.Mismatch) {
                return .success(try BackingHeader.decode(buf.baseAddress!, window: w, pageSize: pageSize))
            } catch {
                return .failure(error)
            }
        }
        switch decoded {
        case .failure(let m):
            problem = BackingCheck.describe(m, window: w, pageSize: pageSize)
        case .success(let h):
            var text = "exists, its header matches (\(Fmt.hex(h.base))-\(Fmt.hex(h.base + h.size)), version \(h.version)); "
            if inUse {
                text += "in use now (last opened by pid \(h.lastPid))"
            } else if h.state == .closed {
                text += "closed cleanly"
                if h.lastPid != 0 { text += " by pid \(h.lastPid)" }
            } else {
                text += "NOT closed cleanly by its last user, pid \(h.lastPid) (the next program says so and maps it anyway)"
            }
            text += "; opened \(Fmt.count(Int(h.opens), "time"))"
            if size < h.fileSize { text += "; shorter than the header and the window: the next program extends it to \(h.fileSize) bytes" }
            note = text
        }
    }

    /// `BackingHeader.describe`, into a String.
    static func describe(_ m: BackingHeader.Mismatch, window: Window, pageSize: UInt64) -> String {
        let capacity = 512
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { storage.deallocate() }
        var out = TextBuffer(storage, capacity: capacity)
        BackingHeader.describe(m, window: window, pageSize: pageSize, into: &out)
        return String(decoding: UnsafeBufferPointer(start: storage, count: out.count), as: UTF8.self)
    }

    /// The line: `window "heap": /var/tmp/heap.mw: why` (as the library says it) or with the note.
    var line: String {
        if let problem { return "\(window.title): \(path): \(problem)" }
        return "\(window.title): \(path): \(note)"
    }
}
