import CShim
import MapwardenLogic

/// Diagnostics go to standard error with raw write(2): no stdio, no
/// allocation, retried on EINTR and partial writes.
enum Output {
    /// fd 2, or -1 when the process started without it (fd 2 closed): a
    /// file the program opens later as fd 2 is the program's, not a
    /// standard error, and mapwarden writes nothing there.
    nonisolated(unsafe) static var stderr: Int32 = 2

    /// Writes all of text to fd (standard error by default).
    static func write(_ text: Bytes, to fd: Int32 = stderr) {
        if fd < 0 { return }
        var done = 0
        while done < text.count {
            let r = Kernel.write(fd, text.base! + done, text.count - done)
            if r.failed {
                if r.errno == EINTR { continue }
                return
            }
            if r.raw == 0 { return }
            done += r.raw
        }
    }

    /// Builds one message in a stack buffer and writes it with a newline
    /// (also when the text filled the buffer: the next message starts a line).
    static func line(_ build: (inout TextBuffer) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { storage in
            var text = TextBuffer(storage.baseAddress!, capacity: storage.count - 1)
            build(&text)
            storage[text.count] = 0x0A
            write(Bytes(UnsafePointer(storage.baseAddress!), count: text.count + 1))
        }
    }
}

/// A whole file read into scratch memory that mapwarden maps itself (never
/// the heap, never a window). Call `release()` when done.
struct ScratchFile {
    let buffer: UnsafeMutablePointer<UInt8>?
    let capacity: UInt64
    let count: Int
    /// Why it could not be read: the open, stat or read's errno, EFBIG when
    /// the file is `limit` bytes or more, 0 when it was read or is not a
    /// regular file.
    let errno: Int32
    /// The S_IFMT bits when the path is not a regular file (never opened:
    /// a FIFO would block until a writer came), else 0.
    let notRegular: UInt32

    var bytes: Bytes { Bytes(UnsafePointer(buffer), count: count) }

    /// Reads up to `limit` bytes of the regular file at path.
    init(path: UnsafePointer<CChar>, limit: UInt64) {
        capacity = limit
        var size = 0
        // Looked at first, then opened without blocking and looked at again
        // (it may have been replaced in between).
        let type = FileFacts.type(atPath: path, size: &size).raw
        if type < 0 || UInt32(type) != FileType.regular {
            (buffer, count, errno, notRegular) = (nil, 0, type < 0 ? Int32(-type) : 0, type < 0 ? 0 : UInt32(type))
            return
        }
        let fd = Kernel.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd.failed {
            (buffer, count, errno, notRegular) = (nil, 0, fd.errno, 0)
            return
        }
        let opened = FileFacts.type(of: Int32(fd.raw), size: &size).raw
        // Procfs files say 0 bytes: only a size the file claims is trusted.
        if opened < 0 || UInt32(opened) != FileType.regular || UInt64(size) >= limit {
            Kernel.close(Int32(fd.raw))
            (buffer, count) = (nil, 0)
            errno = opened < 0 ? Int32(-opened) : UInt32(opened) != FileType.regular ? 0 : EFBIG
            notRegular = opened >= 0 && UInt32(opened) != FileType.regular ? UInt32(opened) : 0
            return
        }
        let map = Kernel.mmap(0, limit, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
        if map.failed {
            Kernel.close(Int32(fd.raw))
            (buffer, count, errno, notRegular) = (nil, 0, map.errno, 0)
            return
        }
        let base = UnsafeMutablePointer<UInt8>(bitPattern: UInt(map.address))!
        var n = 0
        var failure: Int32 = 0
        while UInt64(n) < limit {
            let r = Kernel.read(Int32(fd.raw), base + n, Int(limit) - n)
            if r.failed {
                if r.errno == EINTR { continue }
                failure = r.errno
                break
            }
            if r.raw == 0 { break }
            n += r.raw
        }
        Kernel.close(Int32(fd.raw))
        if failure == 0 && UInt64(n) >= limit { failure = EFBIG } // it grew while read
        (buffer, count, errno, notRegular) = (base, n, failure, 0)
    }

    func release() {
        if let buffer { _ = Kernel.munmap(UInt64(UInt(bitPattern: buffer)), capacity) }
    }
}

/// A string literal as a C string (literals are NUL-terminated).
func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}
