/// What backs the mappings of a window (the values of `mapwarden_backing`).
public enum Backing: UInt32, Equatable, Sendable, CaseIterable {
    /// As the program asked: the default.
    case `private` = 0
    /// A shared-memory file: every process configured alike sees the same
    /// pages at the same address.
    case shared = 1
    /// A regular file: the contents survive the process.
    case persistent = 2
}

/// A window's name: lowercase letters, digits and `_`, at most
/// `WindowName.maximumLength` bytes, kept inline (no allocation).
public struct WindowName: Equatable, Sendable {
    /// MAPWARDEN_NAME_MAX - 1.
    public static let maximumLength = 31
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    public private(set) var count = 0

    /// The default window's name.
    public static let defaultWindow: WindowName = WindowName(validating: Bytes("default"))!

    /// The name from a key's suffix (`IPC` in MAPWARDEN_WINDOW_IPC), in
    /// lowercase; nil when it is empty, too long or has another character.
    public init?(validating text: Bytes) {
        guard text.count > 0, text.count <= WindowName.maximumLength else { return nil }
        for i in 0..<text.count {
            var c = text[i]
            let lower = c >= 0x61 && c <= 0x7A, upper = c >= 0x41 && c <= 0x5A, digit = c >= 0x30 && c <= 0x39
            guard lower || upper || digit || c == 0x5F else { return nil }
            if upper { c += 0x20 }
            withUnsafeMutableBytes(of: &words) { $0[i] = c }
        }
        count = text.count
    }

    /// Byte i of the name.
    public subscript(i: Int) -> UInt8 {
        withUnsafeBytes(of: words) { $0[i] }
    }

    /// Whether a caller's name (NUL-terminated, any case) is this one.
    public func matches(cString p: UnsafePointer<UInt8>) -> Bool {
        for i in 0..<count {
            var c = p[i]
            if c >= 0x41 && c <= 0x5A { c += 0x20 }
            if c != self[i] { return false }
        }
        return p[count] == 0
    }

    /// Copies the name and a NUL into the MAPWARDEN_NAME_MAX bytes at out.
    public func copy(to out: UnsafeMutablePointer<UInt8>) {
        for i in 0..<count { out[i] = self[i] }
        out[count] = 0
    }

    public static func == (a: WindowName, b: WindowName) -> Bool {
        a.count == b.count && a.words.0 == b.words.0 && a.words.1 == b.words.1
            && a.words.2 == b.words.2 && a.words.3 == b.words.3
    }
}

/// One configured window: its name, range and backing, and where it was
/// configured (for messages that name it).
public struct WindowSpec: Equatable {
    public var name: WindowName
    public var window: Window
    public var backing: Backing = .private
    /// shared or persist: the path as written (empty for plain `shared`).
    /// Points into the text it was parsed from.
    public var path: Bytes = .empty
    /// The key and value that configured it, and where.
    public var key: Bytes
    public var value: Bytes
    public var origin: ConfigError.Origin

    public init(name: WindowName, window: Window, backing: Backing = .private, path: Bytes = .empty,
                key: Bytes, value: Bytes, origin: ConfigError.Origin) {
        self.name = name
        self.window = window
        self.backing = backing
        self.path = path
        self.key = key
        self.value = value
        self.origin = origin
    }
}

/// The configured windows: the default one first, then the named ones in
/// the order they were configured. Kept inline; it holds more than
/// `capacity` while a configuration is read (a later entry may remove one:
/// the limit is the result's, checked by Settings.validate).
public struct WindowTable: Equatable {
    /// MAPWARDEN_WINDOWS_MAX: the most windows a configuration may have.
    public static let capacity = 8
    /// The most entries the table holds while a configuration is read.
    public static let storageCapacity = 16
    var slots: (WindowSpec?, WindowSpec?, WindowSpec?, WindowSpec?, WindowSpec?, WindowSpec?, WindowSpec?, WindowSpec?,
                WindowSpec?, WindowSpec?, WindowSpec?, WindowSpec?, WindowSpec?, WindowSpec?, WindowSpec?, WindowSpec?)
        = (nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)
    public private(set) var count = 0

    public init() {}

    public subscript(i: Int) -> WindowSpec {
        get {
            precondition(i >= 0 && i < count)
            return withUnsafeBytes(of: slots) { $0.baseAddress!.assumingMemoryBound(to: WindowSpec?.self)[i]! }
        }
        set {
            precondition(i >= 0 && i < count)
            withUnsafeMutableBytes(of: &slots) { $0.baseAddress!.assumingMemoryBound(to: WindowSpec?.self)[i] = newValue }
        }
    }

    public func index(of name: WindowName) -> Int? {
        for i in 0..<count where self[i].name == name { return i }
        return nil
    }

    /// Replaces the window with the same name, or adds it. False when the
    /// table is full (storageCapacity).
    public mutating func set(_ spec: WindowSpec) -> Bool {
        if let i = index(of: spec.name) {
            self[i] = spec
            return true
        }
        guard count < WindowTable.storageCapacity else { return false }
        count += 1
        self[count - 1] = spec
        return true
    }

    /// Removes the window so named, if any (the later ones move up).
    public mutating func remove(_ name: WindowName) {
        guard let at = index(of: name) else { return }
        for i in at..<(count - 1) { self[i] = self[i + 1] }
        withUnsafeMutableBytes(of: &slots) { $0.baseAddress!.assumingMemoryBound(to: WindowSpec?.self)[count - 1] = nil }
        count -= 1
    }

    /// The first pair of windows that overlap, the one further down the
    /// table first (the default window is always first; a replaced window
    /// keeps its place); nil when they are disjoint.
    public func firstOverlap() -> (later: WindowSpec, earlier: WindowSpec)? {
        for j in 0..<count {
            for i in 0..<j where self[i].window.overlaps(self[j].window.base, self[j].window.end) {
                return (self[j], self[i])
            }
        }
        return nil
    }

    public static func == (a: WindowTable, b: WindowTable) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }
}
