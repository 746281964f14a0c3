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
