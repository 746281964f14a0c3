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
    /// Where it was made: the stack's id in the StackDepot (0: none), the
    /// thread that made it, and the fork generation of the process then
    /// (a forked child's mappings from before the fork are inherited).
    public var origin: Origin

    public struct Origin: Equatable {
        public var stack: UInt32
        public var thread: UInt32
        public var generation: UInt32

        public init(stack: UInt32 = 0, thread: UInt32 = 0, generation: UInt32 = 0) {
            self.stack = stack
            self.thread = thread
            self.generation = generation
        }
    }

    public init(start: UInt64, end: UInt64, prot: Int32, kind: UInt32, offset: UInt64 = 0, tag: UInt64 = 0,
                origin: Origin = Origin()) {
        self.start = start
        self.end = end
        self.prot = prot
        self.kind = kind
        self.offset = offset
        self.tag = tag
        self.origin = origin
    }

    public var size: UInt64 { end - start }
}

/// Bits of `Mapping.kind` (the same values as `MAPWARDEN_KIND_*` in mapwarden.h).
public enum MappingKind {
    public static let shared: UInt32 = 0x1
    public static let anonymous: UInt32 = 0x2
    public static let moved: UInt32 = 0x4
    public static let dontFork: UInt32 = 0x8
    /// The pages of a shared or persistent window's file (an anonymous
    /// request there): kept, not leaked, at exit.
    public static let windowFile: UInt32 = 0x10
    /// VM_LOCKED: mlock, mlock2, MAP_LOCKED, mlockall (a lock boundary
    /// splits a VMA, and MREMAP_DONTUNMAP would unlock one).
    public static let locked: UInt32 = 0x20
    /// VM_GROWSDOWN: MAP_GROWSDOWN (mprotect with PROT_GROWSDOWN changes such
    /// a VMA from its start).
    public static let growsDown: UInt32 = 0x40
}

/// The registry stores its treap in blocks of 64 nodes (4 KiB): first the
/// 64 nodes' search entries (key and links, 16 bytes each), then their
/// payloads (the rest of the mapping). A walk from the root touches only
/// search entries, a quarter of the memory, so it stays in cache longer.
struct SearchEntry {
    var start: UInt64
    var left: UInt32
    var right: UInt32
}

struct Payload {
    var end: UInt64
    var offset: UInt64
    var tag: UInt64
    var prot: Int32
    var kind: UInt32
    var origin: Mapping.Origin
    var unused: UInt32 = 0
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
    let blocks: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    var root: UInt32 = 0
    var freeList: UInt32 = 0
    var freeCount = 0
    var highWater: UInt32 = 1 // index 0 is the null node
    public private(set) var count = 0

    /// Spare nodes a single insert, remove or update may consume.
    public static let nodesPerChange = 2
    /// Bytes of storage per node, on average (a block of 64 nodes is 4 KiB).
    public static var nodeStride: Int { blockBytes / nodesPerBlock }
    static let nodesPerBlock = 64
    static let blockBytes = 4096
    static let payloadOffset = nodesPerBlock * MemoryLayout<SearchEntry>.stride

    /// The bytes of storage that hold `capacity` nodes.
    public static func bytesNeeded(capacity: Int) -> Int {
        if capacity <= 0 { return 0 }
        let last = capacity - 1
        return (last / nodesPerBlock) * blockBytes + payloadOffset + (last % nodesPerBlock + 1) * MemoryLayout<Payload>.stride
    }

    /// How many nodes `bytes` of storage hold.
    public static func capacity(fittingIn bytes: Int) -> Int {
        let rest = bytes % blockBytes
        let partial = rest < payloadOffset ? 0 : Swift.min((rest - payloadOffset) / MemoryLayout<Payload>.stride, nodesPerBlock)
        return bytes / blockBytes * nodesPerBlock + partial
    }

    /// `storage` holds `bytesNeeded(capacity:)` bytes, 16-byte aligned.
    public init(storage: UnsafeMutableRawPointer, capacity: Int) {
        precondition(MemoryLayout<SearchEntry>.stride == 16)
        precondition(MappingRegistry.payloadOffset + MappingRegistry.nodesPerBlock * MemoryLayout<Payload>.stride
                     <= MappingRegistry.blockBytes)
        blocks = storage
        self.capacity = capacity
    }

    /// The owner made the storage larger in place (it now holds
    /// `bytesNeeded(capacity: newCapacity)` bytes).
    public mutating func storageGrew(to newCapacity: Int) {
        precondition(newCapacity >= capacity)
        capacity = newCapacity
    }

    // MARK: Node storage

    @inline(__always)
    func entry(_ t: UInt32) -> UnsafeMutablePointer<SearchEntry> {
        let block = blocks + Int(t >> 6) * MappingRegistry.blockBytes
        return (block + Int(t & 63) * MemoryLayout<SearchEntry>.stride).assumingMemoryBound(to: SearchEntry.self)
    }

    @inline(__always)
    func payload(_ t: UInt32) -> UnsafeMutablePointer<Payload> {
        let block = blocks + Int(t >> 6) * MappingRegistry.blockBytes + MappingRegistry.payloadOffset
        return (block + Int(t & 63) * MemoryLayout<Payload>.stride).assumingMemoryBound(to: Payload.self)
    }

    /// Applies body to node t's mapping. The extent is the registry's
    /// business, not body's.
    func change(_ t: UInt32, _ body: (inout Mapping) -> Void) {
        var m = mapping(t)
        let (start, end) = (m.start, m.end)
        body(&m)
        precondition(m.start == start && m.end == end)
        store(m, at: t)
    }

    @inline(__always) func key(_ t: UInt32) -> UInt64 { entry(t).pointee.start }
    @inline(__always) func end(_ t: UInt32) -> UInt64 { payload(t).pointee.end }

    func mapping(_ t: UInt32) -> Mapping {
        let p = payload(t).pointee
        return Mapping(start: key(t), end: p.end, prot: p.prot, kind: p.kind, offset: p.offset, tag: p.tag,
                       origin: p.origin)
    }

    func store(_ m: Mapping, at t: UInt32) {
        entry(t).pointee.start = m.start
        payload(t).initialize(to: Payload(end: m.end, offset: m.offset, tag: m.tag, prot: m.prot, kind: m.kind,
                                          origin: m.origin))
    }

    /// Treap priorities: a hash of the node's index, independent of addresses.
    @inline(__always)
    func priority(_ t: UInt32) -> UInt32 {
        var x = t &* 0x9E37_79B1
        x ^= x >> 16
        x = x &* 0x85EB_CA6B
        x ^= x >> 13
        return x
    }

    /// Nodes still available without growing the storage.
    public var spare: Int { capacity - Int(highWater) + freeCount }

    // MARK: Queries

    /// The mapping containing addr, if any.
    public func mapping(containing addr: UInt64) -> Mapping? {
        let p = predecessor(addr)
        if p != 0 && end(p) > addr { return mapping(p) }
        return nil
    }

    /// The nearest mapping ending at or below addr, and the nearest
    /// starting above it (addr itself in none): what a fault on a free page
    /// may have run off.
    public func neighbours(of addr: UInt64) -> (below: Mapping?, above: Mapping?) {
        let p = predecessor(addr)
        let below: Mapping? = p != 0 && end(p) <= addr ? mapping(p) : nil
        let s = successor(addr)
        return (below, s != 0 ? mapping(s) : nil)
    }

    /// True when some mapping shares a byte with [lo, hi).
    public func overlapsAny(_ lo: UInt64, _ hi: UInt64) -> Bool {
        // Mappings are disjoint and sorted: if the last one starting below hi
        // ends at or before lo, so does every one before it. One walk.
        guard lo < hi else { return false }
        let p = predecessor(hi - 1)
        return p != 0 && end(p) > lo
    }

    /// The lowest mapping sharing a byte with [lo, hi).
    public func firstOverlapping(_ lo: UInt64, _ hi: UInt64) -> Mapping? {
        if let m = mapping(containing: lo) { return m }
        let s = successor(lo)
        if s != 0 && key(s) < hi { return mapping(s) }
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
        if p != 0 { lo = Swift.max(lo, end(p)) }
        let s = successor(addr)
        if s != 0 { hi = Swift.min(hi, key(s)) }
        return (lo, hi)
    }

    /// Calls body for every mapping sharing a byte with [lo, hi), in address order.
    public func forEach(overlapping lo: UInt64, _ hi: UInt64, _ body: (Mapping) -> Void) {
        let p = predecessor(lo)
        if p != 0 && key(p) < lo && end(p) > lo {
            body(mapping(p))
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
        remove(lo, hi, reporting: false) { _ in }
    }

    /// Forgets [lo, hi) as `remove`, and first hands `removed` each
    /// mapping it drops or trims, whole (as it was before the call), in
    /// address order: the unmap history keeps what was there. In the common
    /// case (one mapping, exactly the range) it costs one read of it.
    public mutating func remove(_ lo: UInt64, _ hi: UInt64, removed: (Mapping) -> Void) {
        remove(lo, hi, reporting: true, removed)
    }

    @inline(__always)
    mutating func remove(_ lo: UInt64, _ hi: UInt64, reporting: Bool, _ removed: (Mapping) -> Void) {
        guard lo < hi else { return }
        // The common cases take one walk: nothing there, or exactly one
        // mapping (mappings are disjoint, so nothing else can overlap it).
        // The last mapping starting below hi tells which.
        var parent: UInt32 = 0, last: UInt32 = 0, lastParent: UInt32 = 0
        var t = root
        while t != 0 {
            if key(t) <= hi - 1 {
                last = t
                lastParent = parent
                parent = t
                t = entry(t).pointee.right
            } else {
                parent = t
                t = entry(t).pointee.left
            }
        }
        if last == 0 || end(last) <= lo { return }
        if key(last) == lo && end(last) == hi {
            if reporting { removed(mapping(last)) }
            detach(last, parent: lastParent)
            return
        }
        if reporting { forEach(overlapping: lo, hi, removed) }
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
        if p != 0 && key(p) == lo && end(p) == hi {
            change(p, body) // exactly one mapping: one walk
            return
        }
        cut(at: lo)
        cut(at: hi)
        updateRange(root, lo, hi, body)
    }

    /// Joins neighbouring mappings in [lo, hi] (boundaries lo and hi
    /// included) that differ in nothing but their extent: the kernel merges
    /// such VMAs again, e.g. once munlock undid the split an mlock made.
    public mutating func join(_ lo: UInt64, _ hi: UInt64) {
        var at = lo
        while at <= hi, at > 0 {
            guard let b = firstOverlapping(at, hi == UInt64.max ? hi : hi + 1) else { return }
            let boundary = Swift.max(b.start, at)
            if boundary == b.start, boundary > 0, let a = mapping(containing: boundary - 1), a.end == boundary,
               a.prot == b.prot, a.kind == b.kind, a.tag == b.tag, a.origin == b.origin,
               b.offset == a.offset &+ a.size {
                var joined = a
                joined.end = b.end
                insert(joined) // replaces both (and frees a node)
            }
            if b.end <= at { return }
            at = b.end
        }
    }

    // MARK: Treap internals

    func predecessor(_ addr: UInt64) -> UInt32 { // greatest start <= addr
        var t = root, best: UInt32 = 0
        while t != 0 {
            if key(t) <= addr {
                best = t
                t = entry(t).pointee.right
            } else {
                t = entry(t).pointee.left
            }
        }
        return best
    }

    func successor(_ addr: UInt64) -> UInt32 { // least start > addr
        var t = root, best: UInt32 = 0
        while t != 0 {
            if key(t) > addr {
                best = t
                t = entry(t).pointee.left
            } else {
                t = entry(t).pointee.right
            }
        }
        return best
    }

    /// Splits the mapping that strictly contains addr into two at addr.
    mutating func cut(at addr: UInt64) {
        let p = predecessor(addr)
        guard p != 0 else { return }
        let m = mapping(p)
        guard m.start < addr && addr < m.end else { return }
        var upper = m
        upper.start = addr
        upper.offset = m.offset &+ (addr - m.start)
        payload(p).pointee.end = addr
        root = insertNode(root, allocateNode(upper))
        count += 1
    }

    /// Inserts node n (its key not yet present) in one walk: descend until n's
    /// priority wins, then split that subtree around n.
    mutating func insertNode(_ t: UInt32, _ n: UInt32) -> UInt32 {
        if t == 0 { return n }
        let key = key(n)
        if priority(n) > priority(t) {
            let (l, r) = split(t, key)
            entry(n).pointee.left = l
            entry(n).pointee.right = r
            return n
        }
        if key < self.key(t) {
            entry(t).pointee.left = insertNode(entry(t).pointee.left, n)
        } else {
            entry(t).pointee.right = insertNode(entry(t).pointee.right, n)
        }
        return t
    }

    /// Unlinks node t (whose parent is `parent`, 0 for the root) and frees it.
    mutating func detach(_ t: UInt32, parent: UInt32) {
        let replacement = merge(entry(t).pointee.left, entry(t).pointee.right)
        if parent == 0 {
            root = replacement
        } else if entry(parent).pointee.left == t {
            entry(parent).pointee.left = replacement
        } else {
            entry(parent).pointee.right = replacement
        }
        entry(t).pointee.left = freeList
        freeList = t
        freeCount += 1
        count -= 1
    }

    func visit(_ t: UInt32, _ lo: UInt64, _ hi: UInt64, _ body: (Mapping) -> Void) {
        if t == 0 { return }
        let m = mapping(t)
        if m.start > lo { visit(entry(t).pointee.left, lo, hi, body) }
        if m.start >= lo && m.start < hi { body(m) }
        if m.start < hi { visit(entry(t).pointee.right, lo, hi, body) }
    }

    func updateRange(_ t: UInt32, _ lo: UInt64, _ hi: UInt64, _ body: (inout Mapping) -> Void) {
        if t == 0 { return }
        let start = key(t)
        if start > lo { updateRange(entry(t).pointee.left, lo, hi, body) }
        if start >= lo && start < hi {
            change(t, body)
        }
        if start < hi { updateRange(entry(t).pointee.right, lo, hi, body) }
    }

    /// (keys < key, keys >= key)
    mutating func split(_ t: UInt32, _ key: UInt64) -> (UInt32, UInt32) {
        if t == 0 { return (0, 0) }
        if self.key(t) < key {
            let (l, r) = split(entry(t).pointee.right, key)
            entry(t).pointee.right = l
            return (t, r)
        } else {
            let (l, r) = split(entry(t).pointee.left, key)
            entry(t).pointee.left = r
            return (l, t)
        }
    }

    /// Every key of a is below every key of b.
    mutating func merge(_ a: UInt32, _ b: UInt32) -> UInt32 {
        if a == 0 { return b }
        if b == 0 { return a }
        if priority(a) > priority(b) {
            entry(a).pointee.right = merge(entry(a).pointee.right, b)
            return a
        } else {
            entry(b).pointee.left = merge(a, entry(b).pointee.left)
            return b
        }
    }

    mutating func allocateNode(_ m: Mapping) -> UInt32 {
        let index: UInt32
        if freeList != 0 {
            index = freeList
            freeList = entry(index).pointee.left
            freeCount -= 1
        } else {
            precondition(Int(highWater) < capacity, "mapwarden: registry storage exhausted")
            index = highWater
            highWater += 1
        }
        entry(index).initialize(to: SearchEntry(start: m.start, left: 0, right: 0))
        store(m, at: index)
        return index
    }

    mutating func release(_ t: UInt32) {
        if t == 0 { return }
        release(entry(t).pointee.left)
        release(entry(t).pointee.right)
        entry(t).pointee.left = freeList
        freeList = t
        freeCount += 1
        count -= 1
    }
}
