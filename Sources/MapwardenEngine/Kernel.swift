import CShim

/// The kernel's answer to one system call: a value or an errno.
/// (swift-system style: errno is a typed value, never global state.)
struct KernelResult {
    let raw: Int

    init(_ raw: Int) { self.raw = raw }

    static func failure(_ errno: Int32) -> KernelResult { KernelResult(-Int(errno)) }
    static let success = KernelResult(0)

    var failed: Bool { raw < 0 && raw > -4096 }
    var errno: Int32 { failed ? Int32(-raw) : 0 }
    /// The errno, or nil on success.
    var failure: Int32? { failed ? Int32(-raw) : nil }
    var address: UInt64 { UInt64(UInt(bitPattern: raw)) }
}

/// Thin, named wrappers over the raw system calls in mapwarden_kernel.h.
enum Kernel {
    static func mmap(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32 = -1, _ off: Int = 0) -> KernelResult {
        KernelResult(mw_sys_mmap(UInt(addr), Int(bitPattern: UInt(len)), prot, flags, fd, off))
    }

    static func munmap(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        KernelResult(mw_sys_munmap(UInt(addr), Int(bitPattern: UInt(len))))
    }

    static func mprotect(_ addr: UInt64, _ len: UInt64, _ prot: Int32) -> KernelResult {
        KernelResult(mw_sys_mprotect(UInt(addr), Int(bitPattern: UInt(len)), prot))
    }

    static func pkeyMprotect(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ pkey: Int32) -> KernelResult {
        KernelResult(mw_sys_pkey_mprotect(UInt(addr), Int(bitPattern: UInt(len)), prot, pkey))
    }

    static func mremap(_ old: UInt64, _ oldLen: UInt64, _ newLen: UInt64, _ flags: Int32, _ newAddr: UInt64 = 0) -> KernelResult {
        KernelResult(mw_sys_mremap(UInt(old), Int(bitPattern: UInt(oldLen)), Int(bitPattern: UInt(newLen)), flags, UInt(newAddr)))
    }

    static func madvise(_ addr: UInt64, _ len: UInt64, _ advice: Int32) -> KernelResult {
        KernelResult(mw_sys_madvise(UInt(addr), Int(bitPattern: UInt(len)), advice))
    }

    static func mlock(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        KernelResult(mw_sys_mlock(UInt(addr), Int(bitPattern: UInt(len))))
    }

    static func mlock2(_ addr: UInt64, _ len: UInt64, _ flags: UInt32) -> KernelResult {
        KernelResult(mw_sys_mlock2(UInt(addr), Int(bitPattern: UInt(len)), flags))
    }

    static func munlock(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        KernelResult(mw_sys_munlock(UInt(addr), Int(bitPattern: UInt(len))))
    }

    static func msync(_ addr: UInt64, _ len: UInt64, _ flags: Int32) -> KernelResult {
        KernelResult(mw_sys_msync(UInt(addr), Int(bitPattern: UInt(len)), flags))
    }

    static func mincore(_ addr: UInt64, _ len: UInt64, _ vec: UnsafeMutablePointer<UInt8>?) -> KernelResult {
        KernelResult(mw_sys_mincore(UInt(addr), Int(bitPattern: UInt(len)), vec))
    }

    static func write(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> KernelResult {
        KernelResult(mw_sys_write(fd, bytes, count))
    }

    static func read(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> KernelResult {
        KernelResult(mw_sys_read(fd, buffer, count))
    }

    static func open(_ path: UnsafePointer<CChar>, _ flags: Int32) -> KernelResult {
        KernelResult(mw_sys_openat(AT_FDCWD, path, flags, 0))
    }

    static func create(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: Int32) -> KernelResult {
        KernelResult(mw_sys_openat(AT_FDCWD, path, flags, mode))
    }

    /// True when fd is not an open descriptor (fcntl F_GETFD fails with EBADF).
    static func isBadDescriptor(_ fd: Int32) -> Bool {
        KernelResult(mw_sys_fcntl(fd, F_GETFD, 0)).errno == EBADF
    }

    static func mlockall(_ flags: Int32) -> KernelResult { KernelResult(mw_sys_mlockall(flags)) }
    static func munlockall() -> KernelResult { KernelResult(mw_sys_munlockall()) }

    static func close(_ fd: Int32) {
        _ = mw_sys_close(fd)
    }

    /// Names an anonymous range in /proc/self/maps (Linux 5.17+, CONFIG_ANON_VMA_NAME).
    static func nameAnonymous(_ addr: UInt64, _ len: UInt64, _ name: StaticString) -> KernelResult {
        KernelResult(mw_sys_prctl(PR_SET_VMA, UInt(PR_SET_VMA_ANON_NAME), UInt(addr), UInt(len),
                                  UInt(bitPattern: name.utf8Start)))
    }

    /// The soft and hard limits of an rlimit resource.
    static func limit(_ resource: Int32) -> (soft: UInt64, hard: UInt64)? {
        var limits: (UInt64, UInt64) = (0, 0)
        let r = withUnsafeMutablePointer(to: &limits) { KernelResult(mw_sys_prlimit64(resource, $0)) }
        return r.failed ? nil : limits
    }

    static func exit(_ status: Int32) -> Never {
        mw_sys_exit_group(status)
    }
}
