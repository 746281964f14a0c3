import CShim
import MapwardenLogic

/// The file behind a shared or persistent window: a header page
/// (BackingHeader), then the window's bytes.
///
/// Who has the file open is the kernel's to know: every user holds an
/// open-file-description (OFD) lock on its first byte, shared while it
/// runs, on a description of its own that is never mapped (a mapping would
/// pin the description, and its lock, for as long as the mapping lives).
/// Mappings go through a second descriptor.
///
/// The process that gets the lock exclusively at start-up is the only
/// user: it checks whether the last one closed the file cleanly and marks
/// it open with its pid. A process that joins users already there marks it
/// open with its pid too (so an `exec` of it, same pid, is not taken for a
/// crash, nor is a crash lost when it joins as the last user leaves). At
/// normal exit, the process that gets the lock exclusively is the last user
/// and marks the file closed. A process that dies any other way (SIGKILL, a
/// crash, _exit) leaves it marked open, and the next first user says so.
/// The page contents are the kernel's: shared file pages, written back when
/// it likes (mapwarden never calls fsync).
struct BackingFile {
    /// The descriptor mappings are made through.
    var fd: Int32 = -1
    /// The descriptor holding the lock (never mapped).
    var lockFd: Int32 = -1
    /// The file's (device, inode), to notice a descriptor the program closed
    /// and reused.
    var identity: UInt = 0
    var headerSize: UInt64 = 0
    /// The path (NUL-terminated, in the library's kept start-up text).
    var path: UnsafePointer<CChar>? = nil
    var persistent = false
    /// Between `open` and `markOpen`: the header read, and whether this
    /// process is the only user.
    var header: BackingHeader? = nil
    var alone = false
    var size = 0
    /// A forked child that could not get a description of its own shares
    /// its parent's lock: it must then leave the lock and header alone.
    var lockSharedWithParent = false

    var isOpen: Bool { fd >= 0 }

    /// The file offset of a window address.
    func offset(of addr: UInt64, in window: Window) -> UInt64 { headerSize + (addr - window.base) }

    /// Opens (creating it if need be) and checks the file of a window,
    /// changing nothing in it yet (see markOpen); false after saying why.
    /// `usedBefore` tells whether an earlier window has the file (by identity).
    mutating func open(name: WindowName, window: Window, pageSize: UInt64, usedBefore: (UInt) -> Bool) -> Bool {
        guard let path else { return false }
        // A FIFO or a device is never opened (nor mapped): looked at first,
        // and again once open.
        let type = FileFacts.type(atPath: path).raw
        if type >= 0 && UInt32(type) != FileType.regular { return notRegular(name, path, UInt32(type)) }
        let opened = Kernel.create(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if opened.failed {
            say(name, path) { out in
                out.append("cannot open it: ")
                ErrnoText.describe(opened.errno, into: &out)
            }
            return false
        }
        let openedType = FileFacts.type(of: Int32(opened.raw)).raw
        if openedType >= 0 && UInt32(openedType) != FileType.regular {
            Kernel.close(Int32(opened.raw))
            return notRegular(name, path, UInt32(openedType))
        }
        fd = Descriptors.high(Int32(opened.raw))
        identity = FileFacts.identity(of: fd)
        headerSize = pageSize
        if usedBefore(identity) {
            // (Its own lock would wait for itself.)
            say(name, path) { $0.append("it is the file of another window too; each window needs its own") }
            closeAll()
            return false
        }
        let second = Kernel.open(path, O_RDWR | O_CLOEXEC)
        if !second.failed {
            lockFd = Descriptors.high(Int32(second.raw))
            if FileFacts.identity(of: lockFd) != identity { closeAll() ; return raced(name, path) }
        }
        // Alone: nobody else has it open, or the file system has no OFD
        // locks (then every process acts as the only user).
        let exclusive = lockFd >= 0 ? BackingFile.lock(lockFd, F_WRLCK, wait: false) : .failure(ENOLCK)
        alone = !exclusive.failed || (exclusive.errno != EAGAIN && exclusive.errno != EACCES)
        if !alone { _ = BackingFile.lock(lockFd, F_RDLCK, wait: true) }
        size = FileFacts.size(of: fd).raw
        if check(name, window: window, pageSize: pageSize) { return true }
        closeAll()
        return false
    }

    /// The lock every user holds on the file's first byte (F_RDLCK while
    /// it runs; F_WRLCK to learn it is alone; F_UNLCK), on its lock descriptor.
    static func lock(_ lockFd: Int32, _ type: Int32, wait: Bool) -> KernelResult {
        Kernel.ofdLock(lockFd, type, start: 0, length: 1, wait: wait)
    }

    func raced(_ name: WindowName, _ path: UnsafePointer<CChar>) -> Bool {
        say(name, path) { $0.append("it was replaced while being opened") }
        return false
    }

    /// Reads and checks the header (a new, empty file gets one in markOpen).
    mutating func check(_ name: WindowName, window: Window, pageSize: UInt64) -> Bool {
        guard let path else { return false }
        var h = BackingHeader(window: window, pageSize: pageSize)
        if size == 0 && alone {
            h.state = .closed
            header = h
            return true
        }
        switch BackingFile.readHeader(fd, window: window, pageSize: pageSize) {
        case .read(let read):
            header = read
            return true
        case .unreadable(let n):
            say(name, path) { out in
                out.append(n < 0 ? "cannot read its header" : "it is not a mapwarden window file (too short)")
            }
        case .mismatch(let m):
            say(name, path) { BackingHeader.describe(m, window: window, pageSize: pageSize, into: &$0) }
        }
        return false
    }

    enum HeaderRead {
        case read(BackingHeader)
        /// pread's answer: fewer bytes than a header, or -errno.
        case unreadable(Int)
        case mismatch(BackingHeader.Mismatch)
    }

    static func readHeader(_ fd: Int32, window: Window, pageSize: UInt64) -> HeaderRead {
        var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        let n = withUnsafeMutableBytes(of: &bytes) { Kernel.pread(fd, $0.baseAddress!, BackingHeader.encodedBytes, 0).raw }
        guard n == BackingHeader.encodedBytes else { return .unreadable(n) }
        do {
            return .read(try withUnsafeBytes(of: &bytes) { (raw) throws(BackingHeader.Mismatch) -> BackingHeader in
                try BackingHeader.decode(raw.baseAddress!, window: window, pageSize: pageSize)
            })
        } catch {
            return .mismatch(error)
        }
    }

    /// Once every window's file is accepted: marks this one open (and says
    /// if its last user did not close it cleanly), sizes a new file, and
    /// shares the lock. False after saying why.
    mutating func markOpen(name: WindowName, log: LogLevel) -> Bool {
        guard let path, var h = header else { return false }
        let pid = UInt64(Kernel.getpid())
        if alone && h.state == .open && h.lastPid != pid && log >= .info {
            say(name, path, fatal: false) { out in
                out.append("was not closed cleanly (last opened by pid ")
                out.append(unsigned: h.lastPid)
                out.append("; a user crashed, was killed or called _exit); mapping it anyway")
            }
        }
        h.state = .open
        h.lastPid = pid
        if alone { h.opens &+= 1 }
        header = nil
        guard BackingFile.write(h, to: fd) else {
            say(name, path) { $0.append("cannot write its header") }
            return false
        }
        if alone && UInt64(size) < h.fileSize {
            let r = Kernel.ftruncate(fd, Int(h.fileSize))
            if r.failed {
                say(name, path) { out in
                    out.append("cannot size it to ")
                    out.append(unsigned: h.fileSize)
                    out.append(" bytes: ")
                    ErrnoText.describe(r.errno, into: &out)
                }
                return false
            }
        }
        if alone && lockFd >= 0 { _ = BackingFile.lock(lockFd, F_RDLCK, wait: false) }
        return true
    }

    static func write(_ header: BackingHeader, to fd: Int32) -> Bool {
        var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &bytes) { header.encode($0.baseAddress!) }
        let n = withUnsafeBytes(of: &bytes) { Kernel.pwrite(fd, $0.baseAddress!, BackingHeader.encodedBytes, 0).raw }
        return n == BackingHeader.encodedBytes
    }

    mutating func closeAll() {
        if fd >= 0 { Kernel.close(fd) }
        if lockFd >= 0 { Kernel.close(lockFd) }
        fd = -1
        lockFd = -1
    }

    /// Whether fd still is the file opened at start-up (the program may have
    /// closed it, and the number may now be another file).
    var stillOpen: Bool { fd >= 0 && FileFacts.identity(of: fd) == identity }

    /// Opens the file again on a new descriptor for mappings (the program
    /// closed ours). False when it cannot.
    mutating func reopen() -> Bool {
        guard let fresh = openAgain() else { return false }
        fd = fresh
        return true
    }

    /// The file opened again (checked to be the same file), numbered high.
    func openAgain() -> Int32? {
        guard let path else { return nil }
        let opened = Kernel.open(path, O_RDWR | O_CLOEXEC)
        if opened.failed { return nil }
        let fresh = Descriptors.high(Int32(opened.raw))
        guard FileFacts.identity(of: fresh) == identity else {
            Kernel.close(fresh)
            return nil
        }
        return fresh
    }

    /// In a forked child: a lock description of its own, on the same
    /// descriptor number, so that the parent's exit cannot mark the file
    /// closed while the child uses it, nor the child's for the parent.
    mutating func ownDescriptionAfterFork(window: Window) {
        guard lockFd >= 0, !lockSharedWithParent else { return }
        guard let path else { return }
        let opened = Kernel.open(path, O_RDWR | O_CLOEXEC)
        let fresh = Int32(truncatingIfNeeded: opened.raw)
        // The parent's description goes first: the parent may be exiting and
        // hold its lock exclusively through it, which this child would
        // otherwise keep alive while waiting for it.
        guard !opened.failed, FileFacts.identity(of: fresh) == identity, !Kernel.dup3(fresh, lockFd, O_CLOEXEC).failed
        else {
            if !opened.failed { Kernel.close(fresh) }
            lockSharedWithParent = true
            return
        }
        Kernel.close(fresh)
        _ = BackingFile.lock(lockFd, F_RDLCK, wait: true)
        // A parent that exited meanwhile, as the last user it thought it
        // was, marked the file closed: this child uses it still.
        if case .read(var header) = BackingFile.readHeader(lockFd, window: window, pageSize: headerSize),
           header.state == .closed {
            header.state = .open
            header.lastPid = UInt64(Kernel.getpid())
            _ = BackingFile.write(header, to: lockFd)
        }
    }

    /// At normal exit: the last user marks the file closed cleanly.
    mutating func closeAtExit(window: Window, pageSize: UInt64) {
        if lockSharedWithParent { return }
        if lockFd < 0 || FileFacts.identity(of: lockFd) != identity {
            // The program closed the lock's descriptor (its lock went with
            // it): ask on a new one.
            guard let fresh = openAgain() else { return }
            lockFd = fresh
        }
        var last = !BackingFile.lock(lockFd, F_WRLCK, wait: false).failed
        if !last {
            // Another user may be exiting at this moment too, and waiting
            // for this lock to go: step aside and ask once more.
            _ = BackingFile.lock(lockFd, F_UNLCK, wait: false)
            last = !BackingFile.lock(lockFd, F_WRLCK, wait: false).failed
        }
        guard last, case .read(var header) = BackingFile.readHeader(lockFd, window: window, pageSize: pageSize)
        else { return }
        header.state = .closed
        _ = BackingFile.write(header, to: lockFd)
    }

    /// `mapwarden: window "NAME": PATH: …`
    func notRegular(_ name: WindowName, _ path: UnsafePointer<CChar>, _ type: UInt32) -> Bool {
        say(name, path) { out in
            out.append("cannot open it: ")
            FileType.describeNotRegular(type, into: &out)
        }
        return false
    }

    func say(_ name: WindowName, _ path: UnsafePointer<CChar>, fatal: Bool = true, _ why: (inout TextBuffer) -> Void) {
        Output.line { out in
            out.append("mapwarden: window \"")
            out.append(name: name)
            out.append("\": ")
            out.append(Bytes(cString: UnsafeRawPointer(path).assumingMemoryBound(to: UInt8.self)), limit: TextBuffer.quotedLimit)
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
            copy = Int32(truncatingIfNeeded: Kernel.duplicate(fd, atLeast: at).raw)
            at -= 1
        }
        if copy < 0 { return fd }
        if !keepOriginal { Kernel.close(fd) }
        return copy
    }
}
