import CShim
import MapwardenLogic

/// Where the report is written: a descriptor, through a private buffer
/// (never stdio), flushed with write() retried on EINTR and partial writes.
struct ReportSink {
    let fd: Int32
    var text: TextBuffer
    /// Room kept free for one item before flushing: a frame holds at most a
    /// path (4 KiB), a demangled name (8 KiB) and a mangled one (capped at
    /// 8 KiB by JSONReport), each at most 6 bytes per byte when escaped.
    static let headroom = 128 << 10

    init(fd: Int32, buffer: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.fd = fd
        text = TextBuffer(buffer, capacity: capacity)
    }

    /// Makes room for the next item.
    mutating func room() {
        if text.count > text.capacity - ReportSink.headroom { flush() }
    }

    mutating func flush() {
        Output.write(text.bytes, to: fd)
        text.clear()
    }
}
