import CShim

/// The kernel's answer to one system call: a value or an errno.
/// (swift-system style: errno is a typed value, never global state.)
struct KernelResult {
    let raw: Int

    init(_ raw: Int) { self.raw = raw }

    static func failure(_ errno: Int32) -> KernelResult { KernelResult(-Int(errno)) }
    static let success = KernelResult(0)

    /// The kernel answers -errno, errno in 1...4095 (its MAX_ERRNO), for a failure.
    var failed: Bool { raw < 0 && raw > -4096 }
    var errno: Int32 { failed ? Int32(-raw) : 0 }
    /// The errno, or nil on success.
    var failure: Int32? { failed ? Int32(-raw) : nil }
    var address: UInt64 { UInt64(UInt(bitPattern: raw)) }
}

/// Thin, named wrappers over the raw system calls of mapwarden_kernel.h:
/// one per call, named after it, taking Swift's types and answering a
/// KernelResult. Nothing else in the engine calls an mw_sys_* function.
/// The memory calls and the process's own are here; descriptors and files
/// in KernelFiles.swift. What an answer means (a file's type, its identity,
/// a hugetlbfs page size) is FileFacts', not theirs.
enum Kernel {
    // ---- memory

    @inline(__always)
    static func mmap(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32 = -1, _ off: Int = 0) -> KernelResult {
        KernelResult(mw_sys_mmap(UInt(addr), Int(bitPattern: UInt(len)), prot, flags, fd, off))
    }

    @inline(__always)
    static func munmap(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        KernelResult(mw_sys_munmap(UInt(addr), Int(bitPattern: UInt(len))))
    }

    @inline(__always)
    static func mprotect(_ addr: UInt64, _ len: UInt64, _ prot: Int32) -> KernelResult {
        KernelResult(mw_sys_mprotect(UInt(addr), Int(bitPattern: UInt(len)), prot))
    }

    @inline(__always)
    static func pkeyMprotect(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ pkey: Int32) -> KernelResult {
        KernelResult(mw_sys_pkey_mprotect(UInt(addr), Int(bitPattern: UInt(len)), prot, pkey))
    }

    @inline(__always)
    static func mremap(_ old: UInt64, _ oldLen: UInt64, _ newLen: UInt64, _ flags: Int32, _ newAddr: UInt64 = 0) -> KernelResult {
        KernelResult(mw_sys_mremap(UInt(old), Int(bitPattern: UInt(oldLen)), Int(bitPattern: UInt(newLen)), flags, UInt(newAddr)))
    }

    @inline(__always)
    static func madvise(_ addr: UInt64, _ len: UInt64, _ advice: Int32) -> KernelResult {
        KernelResult(mw_sys_madvise(UInt(addr), Int(bitPattern: UInt(len)), advice))
    }

    @inline(__always)
    static func mlock(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        KernelResult(mw_sys_mlock(UInt(addr), Int(bitPattern: UInt(len))))
    }

    @inline(__always)
    static func mlock2(_ addr: UInt64, _ len: UInt64, _ flags: UInt32) -> KernelResult {
        KernelResult(mw_sys_mlock2(UInt(addr), Int(bitPattern: UInt(len)), flags))
    }

    @inline(__always)
    static func munlock(_ addr: UInt64, _ len: UInt64) -> KernelResult {
        KernelResult(mw_sys_munlock(UInt(addr), Int(bitPattern: UInt(len))))
    }

    @inline(__always)
    static func msync(_ addr: UInt64, _ len: UInt64, _ flags: Int32) -> KernelResult {
        KernelResult(mw_sys_msync(UInt(addr), Int(bitPattern: UInt(len)), flags))
    }

    @inline(__always)
    static func mincore(_ addr: UInt64, _ len: UInt64, _ vec: UnsafeMutablePointer<UInt8>?) -> KernelResult {
        KernelResult(mw_sys_mincore(UInt(addr), Int(bitPattern: UInt(len)), vec))
    }

    @inline(__always)
    static func mlockall(_ flags: Int32) -> KernelResult { KernelResult(mw_sys_mlockall(flags)) }

    @inline(__always)
    static func munlockall() -> KernelResult { KernelResult(mw_sys_munlockall()) }

    /// prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME): names an anonymous range in
    /// /proc/self/maps (Linux 5.17+, CONFIG_ANON_VMA_NAME).
    @inline(__always)
    static func nameAnonymous(_ addr: UInt64, _ len: UInt64, _ name: StaticString) -> KernelResult {
        KernelResult(mw_sys_prctl(PR_SET_VMA, UInt(PR_SET_VMA_ANON_NAME), UInt(addr), UInt(len),
                                  UInt(bitPattern: name.utf8Start)))
    }

    // ---- the process

    /// getpid (never fails).
    @inline(__always)
    static func getpid() -> Int { mw_sys_getpid() }

    /// getppid (never fails).
    @inline(__always)
    static func getppid() -> Int { mw_sys_getppid() }

    /// prlimit64 of this process, reading only: the soft and hard limits of
    /// an rlimit resource.
    @inline(__always)
    static func limit(_ resource: Int32) -> (soft: UInt64, hard: UInt64)? {
        var limits: (UInt64, UInt64) = (0, 0)
        let r = withUnsafeMutablePointer(to: &limits) { KernelResult(mw_sys_prlimit64(resource, $0)) }
        return r.failed ? nil : limits
    }

    @inline(__always)
    static func clockGettime(_ clock: clockid_t, _ time: inout timespec) -> KernelResult {
        KernelResult(mw_sys_clock_gettime(clock, &time))
    }

    /// nanosleep (the fault handler's wait for the lock).
    @inline(__always)
    static func nanosleep(_ duration: inout timespec) -> KernelResult {
        KernelResult(mw_sys_nanosleep(&duration))
    }

    /// exit_group: ends every thread of the process.
    @inline(__always)
    static func exit(_ status: Int32) -> Never {
        mw_sys_exit_group(status)
    }
}

/// The wall clock.
enum WallClock {
    /// Seconds since the epoch (CLOCK_REALTIME), or 0 if the clock cannot be read.
    static var secondsSinceEpoch: Int {
        var now = timespec()
        return Kernel.clockGettime(CLOCK_REALTIME, &now).failed ? 0 : now.tv_sec
    }
}
