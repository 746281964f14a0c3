import CShim
import MapwardenLogic

/// Lookups in the windows of the configuration (`config.windows` and
/// `config.windowDetails`, fixed at start-up), read without the lock by
/// every call's first test and by signal handlers.
enum Windows {
    /// What a window is besides its range, fixed at start-up. (Its file,
    /// whose descriptors change, is in EngineState.files.)
    struct Detail {
        var name: WindowName
        var backing: Backing
        /// Shared and persistent windows: the backing file's path
        /// (NUL-terminated, in the library's kept start-up text).
        var path: UnsafePointer<CChar>? = nil
    }

    struct Details {
        var slots: (Detail?, Detail?, Detail?, Detail?, Detail?, Detail?, Detail?, Detail?) = (nil, nil, nil, nil, nil, nil, nil, nil)

        subscript(i: Int) -> Detail {
            get { withUnsafeBytes(of: slots) { $0.baseAddress!.assumingMemoryBound(to: Detail?.self)[i]! } }
            set { withUnsafeMutableBytes(of: &slots) { $0.baseAddress!.assumingMemoryBound(to: Detail?.self)[i] = newValue } }
        }
    }

    static var count: Int { config.windows.count }

    /// True when [addr, addr+len) shares a byte with some window. The
    /// common case, far from every window, is two comparisons.
    @inline(__always)
    static func touched(_ addr: UInt64, _ len: UInt64) -> Bool {
        guard addr < config.windowEnd && addr &+ len > config.windowBase else { return false }
        return config.windows.count == 1 || touchedAmong(addr, len)
    }

    // Between windows: out of line, so that the common paths keep a small frame.
    @inline(never)
    static func touchedAmong(_ addr: UInt64, _ len: UInt64) -> Bool {
        config.windows.firstTouching(addr, addr &+ len < addr ? UInt64.max : addr &+ len) != nil
    }

    /// The name of the window holding addr, if any.
    static func name(containing addr: UInt64) -> WindowName? {
        config.windows.index(containing: addr).map { config.windowDetails[$0].name }
    }

    /// The arguments that map [addr, ...) in window i, whose file is `file`:
    /// an anonymous mapping in a shared or persistent window becomes a
    /// shared mapping of the window's file at the address's offset;
    /// anything else is unchanged.
    static func backed(_ i: Int, _ addr: UInt64, _ flags: Int32, _ fd: Int32, _ off: Int,
                       file: BackingFile) -> (flags: Int32, fd: Int32, off: Int) {
        guard config.windowDetails[i].backing != .private, flags & MAP_ANONYMOUS != 0 else { return (flags, fd, off) }
        let shared = (flags & ~(MAP_TYPE | MAP_ANONYMOUS)) | MAP_SHARED
        return (shared, file.fd, Int(file.offset(of: addr, in: config.windows[i])))
    }
}
