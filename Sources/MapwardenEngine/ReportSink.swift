import CShim
import MapwardenLogic

/// Where the report is written: a descriptor, through a private buffer
/// (never stdio), flushed with write() retried on EINTR and partial writes.
struct ReportSink {
    let fd: Int32
    var text: TextBuffer
    /// Room kept free for one item (a path, a symbol) before flushing.
    static let headroom = 8192

    init(fd: Int32, buffer: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.fd = fd
        text = TextBuffer(buffer, capacity: capacity)
    }

    /// Makes room for the next item.
    mutating func room() {
        if text.count > text.capacity - ReportSink.headroom { flush() }
    }

    mutating func flush() {
        let bytes = text.bytes
        var done = 0
        while done < bytes.count {
            let r = Kernel.write(fd, bytes.base! + done, bytes.count - done)
            if r.failed {
                if r.errno == EINTR { continue }
                break
            }
            if r.raw == 0 { break }
            done += r.raw
        }
        text.clear()
    }
}
