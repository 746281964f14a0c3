/// One mapping the program made inside a window, as the registry records it.
public struct Mapping: Equatable {
    public var start: UInt64
    public var end: UInt64
    /// PROT_* bits, or -1 when unknown (a mapping that arrived by mremap).
    public var prot: Int32
    /// `MappingKind` bits.
    public var kind: UInt32
    /// File offset of `start` (file mappings); follows splits.
    public var offset: UInt64
    /// Pointer-sized user value; follows splits, dropped with the mapping.
    public var tag: UInt64

    public init(start: UInt64, end: UInt64, prot: Int32, kind: UInt32, offset: UInt64 = 0, tag: UInt64 = 0) {
        self.start = start
        self.end = end
        self.prot = prot
        self.kind = kind
        self.offset = offset
        self.tag = tag
    }

    public var size: UInt64 { end - start }
}

/// Bits of `Mapping.kind` (the same values as `MAPWARDEN_KIND_*` in mapwarden.h).
public enum MappingKind {
    public static let shared: UInt32 = 0x1
    public static let anonymous: UInt32 = 0x2
    public static let moved: UInt32 = 0x4
    public static let dontFork: UInt32 = 0x8
}

/// The registry's node: a mapping in a treap keyed by start address.
/// Links first and padded to 64 bytes, so that a step of a walk (links and
/// key) touches one cache line.
public struct RegistryNode {
    var left: UInt32
    var right: UInt32
    var priority: UInt32
    var unused: UInt32 = 0
    var mapping: Mapping
    var padding: UInt64 = 0
}

/// The set of mappings inside the windows: disjoint, ordered by address,
/// with the interval arithmetic that mmap, munmap, mprotect and mremap need
/// (carve a range out, split at a boundary, walk what overlaps a range).
///
/// It stores nodes in memory handed to it by its owner and never allocates:
/// the engine gives it pages it maps itself, outside every window; the unit
/// tests give it an ordinary buffer. Every mutating operation needs at most
/// `MappingRegistry.nodesPerChange` spare nodes; the owner grows the
/// storage before calling (see `spare`), so an operation never fails halfway.
public struct MappingRegistry {
    let nodes: UnsafeMutablePointer<RegistryNode>
    public private(set) var capacity: Int
    var root: UInt32 = 0
    var freeList: UInt32 = 0
    var freeCount = 0
    var highWater: UInt32 = 1 // index 0 is the null node
    var seed: UInt32 = 0x9E37_79B9
    public private(set) var count = 0

    /// Spare nodes a single insert, remove or update may consume.
    public static let nodesPerChange = 2
    public static var nodeStride: Int { MemoryLayout<RegistryNode>.stride }

    /// `storage` must hold `capacity` nodes (`capacity * nodeStride` bytes).
    public init(storage: UnsafeMutableRawPointer, capacity: Int) {
        nodes = storage.bindMemory(to: RegistryNode.self, capacity: capacity)
        self.capacity = capacity
    }

    /// The owner made the storage larger in place.
    public mutating func storageGrew(to newCapacity: Int) {
        precondition(newCapacity >= capacity)
        capacity = newCapacity
    }

    /// Nodes still available without growing the storage.
    public var spare: Int { capacity - Int(highWater) + freeCount }

    // MARK: Queries

    /// The mapping containing addr, if any.
    public func mapping(containing addr: UInt64) -> Mapping? {
        let p = predecessor(addr)
        if p != 0 && nodes[Int(p)].mapping.end > addr { return nodes[Int(p)].mapping }
        return nil
    }

    /// True when some mapping shares a byte with [lo, hi).
    public func overlapsAny(_ lo: UInt64, _ hi: UInt64) -> Bool {
        // Mappings are disjoint and sorted: if the last one starting below hi
        // ends at or before lo, so does every one before it. One walk.
        guard lo < hi else { return false }
        let p = predecessor(hi - 1)
        return p != 0 && nodes[Int(p)].mapping.end > lo
    }

    /// The lowest mapping sharing a byte with [lo, hi).
    public func firstOverlapping(_ lo: UInt64, _ hi: UInt64) -> Mapping? {
        if let m = mapping(containing: lo) { return m }
        let s = successor(lo)
        if s != 0 && nodes[Int(s)].mapping.start < hi { return nodes[Int(s)].mapping }
        return nil
    }

    /// True when every byte of [lo, hi) is mapped (by one or more mappings).
    public func covers(_ lo: UInt64, _ hi: UInt64) -> Bool {
        var at = lo
        while at < hi {
            guard let m = mapping(containing: at) else { return false }
            at = m.end
        }
        return true
    }

    /// The free run around an unmapped addr, clipped to `window`.
    public func freeRun(around addr: UInt64, in window: Window) -> (lo: UInt64, hi: UInt64) {
        var lo = window.base, hi = window.end
        let p = predecessor(addr)
        if p != 0 { lo = Swift.max(lo, nodes[Int(p)].mapping.end) }
        let s = successor(addr)
        if s != 0 { hi = Swift.min(hi, nodes[Int(s)].mapping.start) }
        return (lo, hi)
    }

    /// Calls body for every mapping sharing a byte with [lo, hi), in address order.
    public func forEach(overlapping lo: UInt64, _ hi: UInt64, _ body: (Mapping) -> Void) {
        let p = predecessor(lo)
        if p != 0 && nodes[Int(p)].mapping.start < lo && nodes[Int(p)].mapping.end > lo {
            body(nodes[Int(p)].mapping)
        }
        visit(root, lo, hi, body)
    }

    /// Calls body for every mapping, in address order.
    public func forEach(_ body: (Mapping) -> Void) {
        visit(root, 0, UInt64.max, body)
    }

    // MARK: Changes

    /// Records m, replacing whatever overlapped it (MAP_FIXED semantics).
    public mutating func insert(_ m: Mapping) {
        precondition(m.start < m.end)
        remove(m.start, m.end)
        root = insertNode(root, allocateNode(m))
        count += 1
    }

    /// Forgets [lo, hi): drops what lies inside, trims what straddles.
    public mutating func remove(_ lo: UInt64, _ hi: UInt64) {
        guard lo < hi else { return }
        // The common cases take one walk: nothing there, or exactly one
        // mapping (mappings are disjoint, so nothing else can overlap it).
        // The last mapping starting below hi tells which.
        var parent: UInt32 = 0, last: UInt32 = 0, lastParent: UInt32 = 0
        var t = root
        while t != 0 {
            if nodes[Int(t)].mapping.start <= hi - 1 {
                last = t
                lastParent = parent
                parent = t
                t = nodes[Int(t)].right
            } else {
                parent = t
                t = nodes[Int(t)].left
            }
        }
        if last == 0 || nodes[Int(last)].mapping.end <= lo { return }
        if nodes[Int(last)].mapping.start == lo && nodes[Int(last)].mapping.end == hi {
            detach(last, parent: lastParent)
            return
        }
        cut(at: lo)
        cut(at: hi)
        let (left, rest) = split(root, lo)
        let (middle, right) = split(rest, hi)
        release(middle)
        root = merge(left, right)
    }

    /// Applies body to the parts of mappings inside [lo, hi), splitting
    /// mappings that straddle lo or hi (as mprotect splits VMAs).
    public mutating func update(_ lo: UInt64, _ hi: UInt64, _ body: (inout Mapping) -> Void) {
        guard lo < hi else { return }
        let p = predecessor(lo)
        if p != 0 && nodes[Int(p)].mapping.start == lo && nodes[Int(p)].mapping.end == hi {
            body(&nodes[Int(p)].mapping) // exactly one mapping: one walk
            precondition(nodes[Int(p)].mapping.start == lo && nodes[Int(p)].mapping.end == hi)
            return
        }
        cut(at: lo)
        cut(at: hi)
        updateRange(root, lo, hi, body)
    }

    // MARK: Treap internals

    func predecessor(_ addr: UInt64) -> UInt32 { // greatest start <= addr
        var t = root, best: UInt32 = 0
        while t != 0 {
            if nodes[Int(t)].mapping.start <= addr {
                best = t
                t = nodes[Int(t)].right
            } else {
                t = nodes[Int(t)].left
            }
        }
        return best
    }

    func successor(_ addr: UInt64) -> UInt32 { // least start > addr
        var t = root, best: UInt32 = 0
        while t != 0 {
            if nodes[Int(t)].mapping.start > addr {
                best = t
                t = nodes[Int(t)].left
            } else {
                t = nodes[Int(t)].right
            }
        }
        return best
    }

    /// Splits the mapping that strictly contains addr into two at addr.
    mutating func cut(at addr: UInt64) {
        let p = predecessor(addr)
        guard p != 0 else { return }
        let m = nodes[Int(p)].mapping
        guard m.start < addr && addr < m.end else { return }
        var upper = m
        upper.start = addr
        upper.offset = m.offset &+ (addr - m.start)
        nodes[Int(p)].mapping.end = addr
        root = insertNode(root, allocateNode(upper))
        count += 1
    }

    /// Inserts node n (its key not yet present) in one walk: descend until n's
    /// priority wins, then split that subtree around n.
    mutating func insertNode(_ t: UInt32, _ n: UInt32) -> UInt32 {
        if t == 0 { return n }
        let key = nodes[Int(n)].mapping.start
        if nodes[Int(n)].priority > nodes[Int(t)].priority {
            let (l, r) = split(t, key)
            nodes[Int(n)].left = l
            nodes[Int(n)].right = r
            return n
        }
        if key < nodes[Int(t)].mapping.start {
            nodes[Int(t)].left = insertNode(nodes[Int(t)].left, n)
        } else {
            nodes[Int(t)].right = insertNode(nodes[Int(t)].right, n)
        }
        return t
    }

    /// Unlinks node t (whose parent is `parent`, 0 for the root) and frees it.
    mutating func detach(_ t: UInt32, parent: UInt32) {
        let replacement = merge(nodes[Int(t)].left, nodes[Int(t)].right)
        if parent == 0 {
            root = replacement
        } else if nodes[Int(parent)].left == t {
            nodes[Int(parent)].left = replacement
        } else {
            nodes[Int(parent)].right = replacement
        }
        nodes[Int(t)].left = freeList
        freeList = t
        freeCount += 1
        count -= 1
    }

    func visit(_ t: UInt32, _ lo: UInt64, _ hi: UInt64, _ body: (Mapping) -> Void) {
        if t == 0 { return }
        let m = nodes[Int(t)].mapping
        if m.start > lo { visit(nodes[Int(t)].left, lo, hi, body) }
        if m.start >= lo && m.start < hi { body(m) }
        if m.start < hi { visit(nodes[Int(t)].right, lo, hi, body) }
    }

    func updateRange(_ t: UInt32, _ lo: UInt64, _ hi: UInt64, _ body: (inout Mapping) -> Void) {
        if t == 0 { return }
        let start = nodes[Int(t)].mapping.start
        if start > lo { updateRange(nodes[Int(t)].left, lo, hi, body) }
        if start >= lo && start < hi {
            body(&nodes[Int(t)].mapping)
            // The key and the extent are the registry's business, not body's.
            precondition(nodes[Int(t)].mapping.start == start)
        }
        if start < hi { updateRange(nodes[Int(t)].right, lo, hi, body) }
    }

    /// (keys < key, keys >= key)
    mutating func split(_ t: UInt32, _ key: UInt64) -> (UInt32, UInt32) {
        if t == 0 { return (0, 0) }
        if nodes[Int(t)].mapping.start < key {
            let (l, r) = split(nodes[Int(t)].right, key)
            nodes[Int(t)].right = l
            return (t, r)
        } else {
            let (l, r) = split(nodes[Int(t)].left, key)
            nodes[Int(t)].left = r
            return (l, t)
        }
    }

    /// Every key of a is below every key of b.
    mutating func merge(_ a: UInt32, _ b: UInt32) -> UInt32 {
        if a == 0 { return b }
        if b == 0 { return a }
        if nodes[Int(a)].priority > nodes[Int(b)].priority {
            nodes[Int(a)].right = merge(nodes[Int(a)].right, b)
            return a
        } else {
            nodes[Int(b)].left = merge(a, nodes[Int(b)].left)
            return b
        }
    }

    mutating func allocateNode(_ m: Mapping) -> UInt32 {
        let index: UInt32
        if freeList != 0 {
            index = freeList
            freeList = nodes[Int(index)].left
            freeCount -= 1
        } else {
            precondition(Int(highWater) < capacity, "mapwarden: registry storage exhausted")
            index = highWater
            highWater += 1
        }
        // xorshift32: priorities independent of addresses keep the treap balanced.
        seed ^= seed << 13
        seed ^= seed >> 17
        seed ^= seed << 5
        (nodes + Int(index)).initialize(to: RegistryNode(left: 0, right: 0, priority: seed, mapping: m))
        return index
    }

    mutating func release(_ t: UInt32) {
        if t == 0 { return }
        release(nodes[Int(t)].left)
        release(nodes[Int(t)].right)
        nodes[Int(t)].left = freeList
        freeList = t
        freeCount += 1
        count -= 1
    }
}
