import CShim
import MapwardenLogic

/// Diagnostics go to standard error with raw write(2): no stdio, no
/// allocation, retried on EINTR and partial writes.
enum Output {
    static let stderr: Int32 = 2

    /// Writes all of text to fd (standard error by default).
    static func write(_ text: Bytes, to fd: Int32 = stderr) {
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

    /// Builds one message in a stack buffer and writes it with a newline.
    static func line(_ build: (inout TextBuffer) -> Void) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { storage in
            var text = TextBuffer(storage.baseAddress!, capacity: storage.count - 1)
            build(&text)
            text.append(byte: 0x0A)
            write(text.bytes)
        }
    }
}

/// A whole file read into scratch memory that mapwarden maps itself (never
/// the heap, never a window). Call `release()` when done.
struct ScratchFile {
    let buffer: UnsafeMutablePointer<UInt8>?
    let capacity: UInt64
    let count: Int
    let errno: Int32

    var bytes: Bytes { Bytes(UnsafePointer(buffer), count: count) }

    /// Reads up to `limit` bytes of the file at path.
    init(path: UnsafePointer<CChar>, limit: UInt64) {
        capacity = limit
        let fd = Kernel.open(path, O_RDONLY | O_CLOEXEC)
        if fd.failed {
            (buffer, count, errno) = (nil, 0, fd.errno)
            return
        }
        let map = Kernel.mmap(0, limit, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
        if map.failed {
            Kernel.close(Int32(fd.raw))
            (buffer, count, errno) = (nil, 0, map.errno)
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
        (buffer, count, errno) = (base, n, failure)
    }

    func release() {
        if let buffer { _ = Kernel.munmap(UInt64(UInt(bitPattern: buffer)), capacity) }
    }
}

/// A string literal as a C string (literals are NUL-terminated).
func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
}
