import CShim

/// What mapwarden asks of a file before and after opening it, from the
/// kernel's stat answers (Kernel.fstat, fstatat, fstatfs): its type, its
/// size, its identity, and the page size of a hugetlbfs file.
enum FileFacts {
    /// The type bits (S_IFMT) of the file at path, following a final
    /// symbolic link unless told not to, or the errno. Files named by the
    /// configuration are looked at before they are opened: opening a FIFO
    /// blocks until a writer (or reader) comes.
    static func type(atPath path: UnsafePointer<CChar>, followLinks: Bool = true) -> KernelResult {
        var size = 0
        return type(atPath: path, followLinks: followLinks, size: &size)
    }

    /// As above, and the file's size into `size`.
    static func type(atPath path: UnsafePointer<CChar>, followLinks: Bool = true, size: inout Int) -> KernelResult {
        var status = CShim.stat()
        let r = Kernel.fstatat(path, &status, followLinks: followLinks)
        if r.failed { return r }
        size = status.st_size
        return KernelResult(Int(status.st_mode & UInt32(S_IFMT)))
    }

    /// The type bits (S_IFMT) of an open descriptor, or the errno.
    static func type(of fd: Int32) -> KernelResult {
        var size = 0
        return type(of: fd, size: &size)
    }

    /// As above, and the file's size into `size`.
    static func type(of fd: Int32, size: inout Int) -> KernelResult {
        var status = CShim.stat()
        let r = Kernel.fstat(fd, &status)
        if r.failed { return r }
        size = status.st_size
        return KernelResult(Int(status.st_mode & UInt32(S_IFMT)))
    }

    /// The size of an open file, or the errno.
    static func size(of fd: Int32) -> KernelResult {
        var status = CShim.stat()
        let r = Kernel.fstat(fd, &status)
        return r.failed ? r : KernelResult(status.st_size)
    }

    /// The (device, inode) of an open descriptor, packed for comparison;
    /// 0 when fd is not open. It tells whether a descriptor still
    /// is the file it was (the program may have closed it and opened
    /// another file under its number).
    static func identity(of fd: Int32) -> UInt {
        var status = CShim.stat()
        if Kernel.fstat(fd, &status).failed { return 0 }
        return (UInt(status.st_dev) << 40) ^ UInt(status.st_ino) ^ 1
    }

    /// The page size of a file on hugetlbfs (whose mappings the kernel
    /// rounds to whole huge pages), or 0 for any other descriptor.
    static func hugePageSize(of fd: Int32) -> UInt64 {
        var status = CShim.statfs()
        if Kernel.fstatfs(fd, &status).failed { return 0 }
        return status.f_type == Int(HUGETLBFS_MAGIC) ? UInt64(bitPattern: Int64(status.f_bsize)) : 0
    }
}
