/// The address range of one line of /proc/self/maps
/// (`start-end perms offset dev inode [path]`).
public enum MapsLine {
    public static func range(_ line: Bytes) -> (start: UInt64, end: UInt64)? {
        guard let dash = line.firstIndex(of: 0x2D) else { return nil } // '-'
        let space = line.firstIndex(of: 0x20, from: dash) ?? line.count
        guard let start = Numbers.parseHex(line.slice(0, dash)),
              let end = Numbers.parseHex(line.slice(dash + 1, space)), start < end
        else { return nil }
        return (start, end)
    }

    /// What one line says of its memory: protection (PROT_* bits), whether
    /// it is shared ('s'), the file offset, and whether a file backs it
    /// (inode not 0).
    public struct Fields: Equatable {
        public var start: UInt64
        public var end: UInt64
        public var prot: Int32
        public var shared: Bool
        public var offset: UInt64
        public var file: Bool
    }

    public static func fields(_ line: Bytes) -> Fields? {
        guard let r = range(line) else { return nil }
        // start-end perms offset dev inode
        var at = 0, field = 0
        var starts = (0, 0, 0, 0, 0)
        while at < line.count && field < 5 {
            while at < line.count && line[at] == 0x20 { at += 1 }
            switch field {
            case 0: starts.0 = at
            case 1: starts.1 = at
            case 2: starts.2 = at
            case 3: starts.3 = at
            default: starts.4 = at
            }
            while at < line.count && line[at] != 0x20 { at += 1 }
            field += 1
        }
        guard field == 5, starts.1 + 4 <= line.count else { return nil }
        let p = starts.1
        var prot: Int32 = 0
        if line[p] == 0x72 { prot |= 0x1 }     // r: PROT_READ
        if line[p + 1] == 0x77 { prot |= 0x2 } // w: PROT_WRITE
        if line[p + 2] == 0x78 { prot |= 0x4 } // x: PROT_EXEC
        let offsetEnd = line.firstIndex(of: 0x20, from: starts.2) ?? line.count
        let inodeEnd = line.firstIndex(of: 0x20, from: starts.4) ?? line.count
        guard let offset = Numbers.parseHex(line.slice(starts.2, offsetEnd)) else { return nil }
        var file = false
        for i in starts.4..<inodeEnd where line[i] != 0x30 { file = true } // any digit but '0'
        return Fields(start: r.start, end: r.end, prot: prot, shared: line[p + 3] == 0x73, offset: offset, file: file)
    }

    /// Whether an smaps `VmFlags:` line holds the two-letter flag.
    public static func hasFlag(_ line: Bytes, _ flag: StaticString) -> Bool {
        let f = Bytes(flag)
        guard f.count == 2, line.count >= 3 else { return false }
        var i = 0
        while i + 2 <= line.count {
            if line[i] == f[0] && line[i + 1] == f[1] && (i == 0 || line[i - 1] == 0x20)
                && (i + 2 == line.count || line[i + 2] == 0x20) { return true }
            i += 1
        }
        return false
    }

    /// Where the sixth field (the path, `[heap]`...) starts: after five
    /// fields and the spaces that follow them. nil when the line has none
    /// (anonymous memory).
    public static func nameStart(_ line: Bytes) -> Int? {
        var at = 0, fields = 0
        while at < line.count && fields < 5 {
            while at < line.count && line[at] != 0x20 { at += 1 }
            while at < line.count && line[at] == 0x20 { at += 1 }
            fields += 1
        }
        return at < line.count ? at : nil
    }
}

/// Iterates the lines of a text buffer.
public struct LineReader {
    let text: Bytes
    var position = 0

    public init(_ text: Bytes) { self.text = text }

    public mutating func next() -> Bytes? {
        guard position < text.count else { return nil }
        let end = text.firstIndex(of: 0x0A, from: position) ?? text.count
        let line = text.slice(position, end)
        position = end + 1
        return line
    }
}
