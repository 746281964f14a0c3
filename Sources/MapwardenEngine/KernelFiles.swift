import CShim

/// The system calls on descriptors and files, as Kernel.swift's: one thin
/// wrapper per call, named after it, answering a KernelResult.
extension Kernel {
    /// openat(AT_FDCWD, path, flags).
    @inline(__always)
    static func open(_ path: UnsafePointer<CChar>, _ flags: Int32) -> KernelResult {
        KernelResult(mw_sys_openat(AT_FDCWD, path, flags, 0))
    }

    /// openat(AT_FDCWD, path, flags, mode): flags with O_CREAT.
    @inline(__always)
    static func create(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: Int32) -> KernelResult {
        KernelResult(mw_sys_openat(AT_FDCWD, path, flags, mode))
    }

    @inline(__always)
    static func close(_ fd: Int32) {
        _ = mw_sys_close(fd)
    }

    @inline(__always)
    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> KernelResult {
        KernelResult(mw_sys_read(fd, buffer, count))
    }

    @inline(__always)
    static func write(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> KernelResult {
        KernelResult(mw_sys_write(fd, bytes, count))
    }

    /// pread64: count bytes at offset, the file position untouched.
    @inline(__always)
    static func pread(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int) -> KernelResult {
        KernelResult(mw_sys_pread64(fd, buffer, count, offset))
    }

    /// pwrite64: count bytes at offset, the file position untouched.
    @inline(__always)
    static func pwrite(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int, _ offset: Int) -> KernelResult {
        KernelResult(mw_sys_pwrite64(fd, bytes, count, offset))
    }

    @inline(__always)
    static func ftruncate(_ fd: Int32, _ length: Int) -> KernelResult {
        KernelResult(mw_sys_ftruncate(fd, length))
    }

    /// fcntl(F_DUPFD_CLOEXEC): a close-on-exec copy of fd, numbered at
    /// least `lowest`.
    @inline(__always)
    static func duplicate(_ fd: Int32, atLeast lowest: Int) -> KernelResult {
        KernelResult(mw_sys_fcntl(fd, F_DUPFD_CLOEXEC, lowest))
    }

    /// dup3: `old` copied onto the descriptor number `new`.
    @inline(__always)
    static func dup3(_ old: Int32, _ new: Int32, _ flags: Int32) -> KernelResult {
        KernelResult(mw_sys_dup3(old, new, flags))
    }

    /// True when fd is not an open descriptor (fcntl F_GETFD fails with EBADF).
    @inline(__always)
    static func isBadDescriptor(_ fd: Int32) -> Bool {
        KernelResult(mw_sys_fcntl(fd, F_GETFD, 0)).errno == EBADF
    }

    /// fcntl(F_OFD_SETLK), or F_OFD_SETLKW when `wait`: an
    /// open-file-description lock of type F_RDLCK, F_WRLCK or F_UNLCK on
    /// `length` bytes from `start`. Converting is atomic; the lock goes when
    /// the last descriptor of the description is closed (or the process dies).
    @inline(__always)
    static func ofdLock(_ fd: Int32, _ type: Int32, start: Int = 0, length: Int, wait: Bool) -> KernelResult {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = start
        lock.l_len = length
        return withUnsafeMutablePointer(to: &lock) {
            KernelResult(mw_sys_fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, Int(bitPattern: UInt(bitPattern: $0))))
        }
    }

    @inline(__always)
    static func fstat(_ fd: Int32, _ status: inout CShim.stat) -> KernelResult {
        KernelResult(mw_sys_fstat(fd, &status))
    }

    /// newfstatat(AT_FDCWD, path): following a final symbolic link, or not
    /// (AT_SYMLINK_NOFOLLOW).
    @inline(__always)
    static func fstatat(_ path: UnsafePointer<CChar>, _ status: inout CShim.stat, followLinks: Bool) -> KernelResult {
        KernelResult(mw_sys_newfstatat(AT_FDCWD, path, &status, followLinks ? 0 : AT_SYMLINK_NOFOLLOW))
    }

    @inline(__always)
    static func fstatfs(_ fd: Int32, _ status: inout CShim.statfs) -> KernelResult {
        KernelResult(mw_sys_fstatfs(fd, &status))
    }

    /// readlinkat(AT_FDCWD, path): the link's text, not NUL-terminated; its length.
    @inline(__always)
    static func readlink(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<CChar>, _ size: Int) -> KernelResult {
        KernelResult(mw_sys_readlinkat(AT_FDCWD, path, buffer, size))
    }

    /// unlinkat(AT_FDCWD, path, 0).
    @inline(__always)
    static func unlink(_ path: UnsafePointer<CChar>) -> KernelResult {
        KernelResult(mw_sys_unlinkat(AT_FDCWD, path, 0))
    }

    /// renameat2(AT_FDCWD, from, AT_FDCWD, to, 0): replaces `to` atomically.
    @inline(__always)
    static func rename(_ from: UnsafePointer<CChar>, _ to: UnsafePointer<CChar>) -> KernelResult {
        KernelResult(mw_sys_renameat2(AT_FDCWD, from, AT_FDCWD, to, 0))
    }

    /// getcwd: the working directory, NUL-terminated; its length with the NUL.
    @inline(__always)
    static func getcwd(_ buffer: UnsafeMutablePointer<CChar>, _ size: Int) -> KernelResult {
        KernelResult(mw_sys_getcwd(buffer, size))
    }
}
