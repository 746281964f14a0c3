import CShim
import MapwardenLogic

/// The file behind a shared or persistent window: a header page
/// (BackingHeader), then the window's bytes.
///
/// Who has the file open is the kernel's to know: every user holds an
/// open-file-description lock on its first byte, shared while it runs. The
/// process that gets it exclusively at start-up is the only user: it checks
/// whether the last one closed the file cleanly, marks it open and then
/// shares the lock. At normal exit, the process that gets it exclusively
/// again is the last user and marks the file closed. A process that dies
/// any other way (SIGKILL, a crash, _exit) leaves it marked open, and the
/// next first user says so. The page contents are the kernel's: shared file
/// pages, written back when it likes (mapwarden never calls fsync).
struct BackingFile {
    var fd: Int32 = -1
    /// The file's (device, inode), to notice a descriptor the program closed
    /// and reused.
    var identity: UInt = 0
    var headerSize: UInt64 = 0
    /// The path (NUL-terminated, in the library's kept start-up text).
    var path: UnsafePointer<CChar>? = nil
    var persistent = false

    var isOpen: Bool { fd >= 0 }

    /// The file offset of a window address.
    func offset(of addr: UInt64, in window: Window) -> UInt64 { headerSize + (addr - window.base) }

    /// Opens (creating it if need be) and checks the file of a window;
    /// false after saying why.
    mutating func open(name: WindowName, window: Window, pageSize: UInt64, log: LogLevel) -> Bool {
        guard let path else { return false }
        let opened = Kernel.create(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if opened.failed {
            say(name, path) { out in
                out.append("cannot open it: ")
                ErrnoText.describe(opened.errno, into: &out)
            }
            return false
        }
        fd = Descriptors.high(Int32(opened.raw))
        identity = mw_sys_file_identity(fd)
        headerSize = pageSize
        // Alone: nobody else has it open (or the kernel has no OFD locks).
        let alone = mw_sys_ofd_lock(fd, Int32(F_WRLCK), 0) == 0
        if !alone { _ = mw_sys_ofd_lock(fd, Int32(F_RDLCK), 1) }
        let ok = check(name, window: window, pageSize: pageSize, alone: alone, log: log)
        if alone { _ = mw_sys_ofd_lock(fd, Int32(F_RDLCK), 0) }
        if !ok {
            Kernel.close(fd)
            fd = -1
        }
        return ok
    }

    /// Reads, checks and (when alone) updates the header.
    func check(_ name: WindowName, window: Window, pageSize: UInt64, alone: Bool, log: LogLevel) -> Bool {
        guard let path else { return false }
        let size = mw_sys_file_size(fd)
        var header = BackingHeader(window: window, pageSize: pageSize)
        var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        if size == 0 && alone {
            // New: the header, then the window's bytes (sparse).
            header.state = .closed
        } else {
            let n = withUnsafeMutableBytes(of: &bytes) { mw_sys_pread(fd, $0.baseAddress, BackingHeader.encodedBytes, 0) }
            guard n == BackingHeader.encodedBytes else {
                say(name, path) { out in
                    out.append(n < 0 ? "cannot read its header" : "it is not a mapwarden window file (too short)")
                }
                return false
            }
            do {
                header = try withUnsafeBytes(of: &bytes) { (raw) throws(BackingHeader.Mismatch) -> BackingHeader in
                    try BackingHeader.decode(raw.baseAddress!, window: window, pageSize: pageSize)
                }
            } catch {
                say(name, path) { BackingHeader.describe(error, window: window, pageSize: pageSize, into: &$0) }
                return false
            }
        }
        guard alone else { return true }
        let pid = UInt64(mw_sys_getpid())
        if header.state == .open && header.lastPid != pid && log >= .info {
            say(name, path, fatal: false) { out in
                out.append("was not closed cleanly (last opened by pid ")
                out.append(unsigned: header.lastPid)
                out.append(", which crashed, was killed or called _exit); mapping it anyway")
            }
        }
        header.state = .open
        header.lastPid = pid
        header.opens &+= 1
        guard write(header) else {
            say(name, path) { $0.append("cannot write its header") }
            return false
        }
        if UInt64(size) < header.fileSize {
            let r = KernelResult(mw_sys_ftruncate(fd, Int(header.fileSize)))
            if r.failed {
                say(name, path) { out in
                    out.append("cannot size it to ")
                    out.append(unsigned: header.fileSize)
                    out.append(" bytes: ")
                    ErrnoText.describe(r.errno, into: &out)
                }
                return false
            }
        }
        return true
    }

    func write(_ header: BackingHeader) -> Bool {
        var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { header.encode($0.baseAddress!) }
        let n = withUnsafeBytes(of: &bytes) { mw_sys_pwrite(fd, $0.baseAddress, BackingHeader.encodedBytes, 0) }
        return n == BackingHeader.encodedBytes
    }

    /// Whether fd still is the file opened at start-up (the program may have
    /// closed it, and the number may now be another file).
    var stillOpen: Bool { fd >= 0 && mw_sys_file_identity(fd) == identity }

    /// Opens the file again on a new descriptor (the program closed ours),
    /// taking a shared lock. False when it cannot.
    mutating func reopen() -> Bool {
        guard let path else { return false }
        let opened = Kernel.open(path, O_RDWR | O_CLOEXEC)
        if opened.failed { return false }
        let fresh = Descriptors.high(Int32(opened.raw))
        guard mw_sys_file_identity(fresh) == identity else {
            Kernel.close(fresh)
            return false
        }
        _ = mw_sys_ofd_lock(fresh, Int32(F_RDLCK), 1)
        fd = fresh
        return true
    }

    /// In a forked child: a description (and lock) of its own, on the same
    /// descriptor number, so that the parent's exit cannot mark the file
    /// closed while the child uses it, nor the child's for the parent.
    func ownDescriptionAfterFork() {
        guard fd >= 0, let path else { return }
        let opened = Kernel.open(path, O_RDWR | O_CLOEXEC)
        if opened.failed { return }
        let fresh = Int32(opened.raw)
        if mw_sys_file_identity(fresh) == identity {
            _ = mw_sys_ofd_lock(fresh, Int32(F_RDLCK), 1)
            _ = mw_sys_dup3(fresh, fd, O_CLOEXEC)
        }
        Kernel.close(fresh)
    }

    /// At normal exit: the last user marks the file closed cleanly.
    func closeAtExit(window: Window, pageSize: UInt64) {
        guard stillOpen else { return }
        var last = mw_sys_ofd_lock(fd, Int32(F_WRLCK), 0) == 0
        if !last {
            // Another user may be exiting at this moment too, and waiting
            // for this lock to go: step aside and ask once more.
            _ = mw_sys_ofd_lock(fd, Int32(F_UNLCK), 0)
            last = mw_sys_ofd_lock(fd, Int32(F_WRLCK), 0) == 0
        }
        guard last else { return }
        var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        let n = withUnsafeMutableBytes(of: &bytes) { mw_sys_pread(fd, $0.baseAddress, BackingHeader.encodedBytes, 0) }
        guard n == BackingHeader.encodedBytes else { return }
        let decoded = try? withUnsafeBytes(of: &bytes) { (raw) throws(BackingHeader.Mismatch) -> BackingHeader in
            try BackingHeader.decode(raw.baseAddress!, window: window, pageSize: pageSize)
        }
        guard var header = decoded else { return }
        header.state = .closed
        _ = write(header)
    }

    /// `mapwarden: window "NAME": PATH: …`
    func say(_ name: WindowName, _ path: UnsafePointer<CChar>, fatal: Bool = true, _ why: (inout TextBuffer) -> Void) {
        Output.line { out in
            out.append("mapwarden: window \"")
            out.append(name: name)
            out.append("\": ")
            out.append(Bytes(cString: UnsafeRawPointer(path).assumingMemoryBound(to: UInt8.self)))
            out.append(fatal ? ": " : " ")
            why(&out)
        }
    }
}

/// Descriptors mapwarden keeps for the process's life, numbered high so
/// that the program's own keep the numbers it expects.
enum Descriptors {
    /// A close-on-exec copy of fd just below RLIMIT_NOFILE (never above
    /// 1024: a higher descriptor makes the kernel grow the descriptor table
    /// to match), or, under a small limit, the highest free one; fd itself
    /// is closed. fd when no copy can be made.
    static func high(_ fd: Int32, keepOriginal: Bool = false) -> Int32 {
        let limit = Int(Swift.min(Kernel.limit(Int32(RLIMIT_NOFILE.rawValue))?.soft ?? 1024, 1024))
        var at = limit > 64 ? limit - 32 : limit - 1
        var copy: Int32 = -1
        while copy < 0 && at > Int(fd) {
            copy = Int32(truncatingIfNeeded: mw_sys_fcntl(fd, F_DUPFD_CLOEXEC, at))
            at -= 1
        }
        if copy < 0 { return fd }
        if !keepOriginal { Kernel.close(fd) }
        return copy
    }
}
