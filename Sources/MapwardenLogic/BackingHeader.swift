/// The first page of a shared or persistent window's file: what it was made
/// for, and whether its last user closed it cleanly. The window's bytes
/// follow it: window offset X is file offset `headerSize + X`.
///
/// Layout (little-endian), 56 bytes, the rest of the page zero:
///
///     0  magic "MAPWARDN"     24  size (u64)
///     8  version (u32)        32  state (u32): 0 closed cleanly, 1 open
///    12  header size (u32)    36  reserved (u32)
///    16  base (u64)           40  pid of the last opener (u64)
///                             48  times opened (u64)
public struct BackingHeader: Equatable {
    public static let magic: UInt64 = 0x4E44_5241_5750_414D // "MAPWARDN" read little-endian
    public static let currentVersion: UInt32 = 1
    public static let encodedBytes = 56

    public enum State: UInt32 {
        case closed = 0
        case open = 1
    }

    public var version: UInt32 = BackingHeader.currentVersion
    public var headerSize: UInt32
    public var base: UInt64
    public var size: UInt64
    public var state: State = .open
    public var lastPid: UInt64 = 0
    public var opens: UInt64 = 0

    public init(window: Window, pageSize: UInt64) {
        headerSize = UInt32(pageSize)
        base = window.base
        size = window.size
    }

    /// What a file's header says that does not fit the configured window.
    public enum Mismatch: Error, Equatable {
        case magic
        case version(UInt32)
        case headerSize(UInt32)
        case base(UInt64)
        case size(UInt64)
        case state(UInt32)
    }

    /// Reads a header from bytes read from the file; the mismatch when it
    /// is not mapwarden's, or not for this window and page size.
    public static func decode(_ bytes: UnsafeRawPointer, window: Window, pageSize: UInt64) throws(Mismatch) -> BackingHeader {
        func u32(_ at: Int) -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
        func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        if u64(0) != magic { throw .magic }
        if u32(8) != currentVersion { throw .version(u32(8)) }
        if UInt64(u32(12)) != pageSize { throw .headerSize(u32(12)) }
        if u64(16) != window.base { throw .base(u64(16)) }
        if u64(24) != window.size { throw .size(u64(24)) }
        guard let state = State(rawValue: u32(32)) else { throw .state(u32(32)) }
        var h = BackingHeader(window: window, pageSize: pageSize)
        h.state = state
        h.lastPid = u64(40)
        h.opens = u64(48)
        return h
    }

    /// Writes the header's `encodedBytes` bytes to out.
    public func encode(_ out: UnsafeMutableRawPointer) {
        func put(_ v: UInt32, _ at: Int) { out.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt32.self) }
        func put(_ v: UInt64, _ at: Int) { out.storeBytes(of: v.littleEndian, toByteOffset: at, as: UInt64.self) }
        put(BackingHeader.magic, 0)
        put(version, 8)
        put(headerSize, 12)
        put(base, 16)
        put(size, 24)
        put(state.rawValue, 32)
        put(UInt32(0), 36)
        put(lastPid, 40)
        put(opens, 48)
    }

    /// The file's length: the header page and the window.
    public var fileSize: UInt64 { UInt64(headerSize) + size }

    /// The file offset of a window address.
    public func fileOffset(of addr: UInt64) -> UInt64 { UInt64(headerSize) + (addr - base) }

    /// Why a file does not fit: `it was made for base 0x…, not 0x…` and the
    /// like (no newline).
    public static func describe(_ m: Mismatch, window: Window, pageSize: UInt64, into out: inout TextBuffer) {
        switch m {
        case .magic:
            out.append("it is not a mapwarden window file (no MAPWARDN header)")
        case .version(let v):
            out.append("its header is version ")
            out.append(unsigned: UInt64(v))
            out.append(", this mapwarden reads version ")
            out.append(unsigned: UInt64(currentVersion))
        case .headerSize(let s):
            out.append("it was made with a page size of ")
            out.append(unsigned: UInt64(s))
            out.append(", not ")
            out.append(unsigned: pageSize)
        case .base(let b):
            out.append("it was made for base ")
            out.append(hex: b)
            out.append(", not ")
            out.append(hex: window.base)
        case .size(let s):
            out.append("it was made for size ")
            out.append(unsigned: s)
            out.append(" (")
            out.append(size: s)
            out.append("), not ")
            out.append(unsigned: window.size)
            out.append(" (")
            out.append(size: window.size)
            out.append(")")
        case .state(let v):
            out.append("its header has an unknown state ")
            out.append(unsigned: UInt64(v))
        }
    }

    /// The backing file's path for a window: shared=NAME is /dev/shm/NAME,
    /// plain `shared` is /dev/shm/mapwarden.<name>, an absolute path is
    /// itself, any other path is taken against cwd.
    public static func appendPath(of spec: WindowSpec, cwd: Bytes, into out: inout TextBuffer) {
        let path = spec.path
        if spec.backing == .shared && path.count == 0 {
            out.append("/dev/shm/mapwarden.")
            out.append(name: spec.name)
        } else if path.count > 0 && path[0] == 0x2F {
            out.append(path)
        } else if spec.backing == .shared && path.firstIndex(of: 0x2F) == nil {
            out.append("/dev/shm/")
            out.append(path)
        } else {
            out.append(cwd)
            if cwd.count == 0 || cwd[cwd.count - 1] != 0x2F { out.append("/") }
            out.append(path)
        }
    }
}
