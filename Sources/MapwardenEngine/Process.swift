import CShim
import MapwardenLogic

/// Facts about this process, read with raw system calls.
enum Process {
    static var id: Int { mw_sys_getpid() }
    static var parentID: Int { mw_sys_getppid() }

    /// Runs body with the executable's path (/proc/self/exe), or empty.
    static func withExecutable<R>(_ body: (Bytes) -> R) -> R {
        let buffer = StaticBuffer.executable
        let n = mw_sys_readlinkat(AT_FDCWD, cString("/proc/self/exe"),
                                  UnsafeMutableRawPointer(buffer.base).assumingMemoryBound(to: CChar.self), buffer.size)
        return body(n > 0 ? Bytes(UnsafePointer(buffer.base), count: n) : .empty)
    }
}

/// Scratch buffers for start-up and exit (static memory in the library's
/// .bss: never the heap, never a window; start-up and exit each run on one
/// thread at a time).
enum StaticBuffer {
    static var executable: (base: UnsafeMutablePointer<UInt8>, size: Int) { buffer(0) }
    static var reportPath: (base: UnsafeMutablePointer<UInt8>, size: Int) { buffer(1) }
    static var demangled: (base: UnsafeMutablePointer<UInt8>, size: Int) { buffer(2) }
    static var workingDirectory: (base: UnsafeMutablePointer<UInt8>, size: Int) { buffer(3) }
    static var startupText: (base: UnsafeMutablePointer<UInt8>, size: Int) {
        (mw_static_buffer(4), Int(MW_STARTUP_TEXT_SIZE))
    }

    static func buffer(_ i: Int32) -> (base: UnsafeMutablePointer<UInt8>, size: Int) {
        (mw_static_buffer(i), Int(MW_STATIC_BUFFER_SIZE))
    }
}
