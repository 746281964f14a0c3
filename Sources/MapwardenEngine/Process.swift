import CShim
import MapwardenLogic

/// Facts about this process, read with raw system calls.
enum Process {
    static var id: Int { Kernel.getpid() }
    static var parentID: Int { Kernel.getppid() }

    /// Runs body with the executable's path (/proc/self/exe), or empty.
    static func withExecutable<R>(_ body: (Bytes) -> R) -> R {
        let buffer = StaticBuffer.executable
        let n = Kernel.readlink(cString("/proc/self/exe"),
                                UnsafeMutableRawPointer(buffer.base).assumingMemoryBound(to: CChar.self), buffer.size).raw
        return body(n > 0 ? Bytes(UnsafePointer(buffer.base), count: n) : .empty)
    }

    /// The address space the process uses now, in bytes (what RLIMIT_AS
    /// counts: /proc/self/statm's first field), or nil.
    static func addressSpaceInUse() -> UInt64? {
        let fd = Kernel.open(cString("/proc/self/statm"), O_RDONLY | O_CLOEXEC)
        if fd.failed { return nil }
        defer { Kernel.close(Int32(fd.raw)) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 128) { buffer -> UInt64? in
            let r = Kernel.read(Int32(fd.raw), buffer.baseAddress!, buffer.count)
            if r.failed { return nil }
            var pages: UInt64 = 0, digits = 0
            while digits < r.raw, buffer[digits] >= 0x30, buffer[digits] <= 0x39 {
                pages = pages * 10 + UInt64(buffer[digits] - 0x30)
                digits += 1
            }
            return digits > 0 ? pages * UInt64(mw_page_size()) : nil
        }
    }
}

/// Scratch buffers for start-up and exit (static memory in the library's
/// .bss: never the heap, never a window; start-up and exit each run on one
/// thread at a time).
enum StaticBuffer {
    static var executable: (base: UnsafeMutablePointer<UInt8>, size: Int) {
        (mw_buffer_executable(), Int(MW_STATIC_BUFFER_SIZE))
    }
    static var reportPath: (base: UnsafeMutablePointer<UInt8>, size: Int) {
        (mw_buffer_report_path(), Int(MW_STATIC_BUFFER_SIZE))
    }
    static var demangled: (base: UnsafeMutablePointer<UInt8>, size: Int) {
        (mw_buffer_demangled(), Int(MW_STATIC_BUFFER_SIZE))
    }
    static var snapshotTemplate: (base: UnsafeMutablePointer<UInt8>, size: Int) {
        (mw_buffer_snapshot_template(), Int(MW_STATIC_BUFFER_SIZE))
    }
    static var workingDirectory: (base: UnsafeMutablePointer<UInt8>, size: Int) {
        (mw_buffer_working_directory(), Int(MW_STATIC_BUFFER_SIZE))
    }
    static var mapsLines: (base: UnsafeMutablePointer<UInt8>, size: Int) {
        (mw_buffer_maps_lines(), Int(MW_STATIC_BUFFER_SIZE))
    }
    static var startupText: (base: UnsafeMutablePointer<UInt8>, size: Int) {
        (mw_buffer_startup_text(), Int(MW_STARTUP_TEXT_SIZE))
    }
}
