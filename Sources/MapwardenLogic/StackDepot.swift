/// Interned call stacks: each distinct stack is stored once and named by a
/// 32-bit id, which mappings record (as LLVM's StackDepot and heaptrack's
/// trace tree do). Append-only; ids stay valid for the process's life.
///
/// Layout of the storage it is given (which it never allocates itself):
/// `bucketCount` 32-bit chain heads, then records, each 8-byte aligned:
/// `next: UInt32, depth: UInt32, hash: UInt64, frames: [UInt64] × depth`.
/// An id is a record's offset in 8-byte units, so 0 never names a stack.
/// The owner grows the storage (in place) when `intern` says it is full.
public struct StackDepot {
    public static let bucketCount = 1 << 14
    static let headerBytes = 16
    /// The bytes the buckets take, before the first record.
    public static let bucketBytes = bucketCount * 4

    let storage: UnsafeMutableRawPointer
    public private(set) var capacity: Int
    public private(set) var used = StackDepot.bucketBytes
    /// Distinct stacks stored.
    public private(set) var count = 0

    /// `storage` holds `capacity` zeroed bytes, 8-byte aligned, at least
    /// `bucketBytes`.
    public init(storage: UnsafeMutableRawPointer, capacity: Int) {
        precondition(capacity >= StackDepot.bucketBytes)
        self.storage = storage
        self.capacity = capacity
    }

    /// The owner made the storage larger in place.
    public mutating func storageGrew(to newCapacity: Int) {
        precondition(newCapacity >= capacity)
        capacity = newCapacity
    }

    /// Bytes a new record of `depth` frames needs.
    public static func recordBytes(depth: Int) -> Int { headerBytes + depth * 8 }

    /// The id of the stack `frames[0..<depth]`, storing it if it is new.
    /// nil when it is new and does not fit (grow the storage, ask again).
    /// Depth 0 is "no stack": id 0.
    public mutating func intern(_ frames: UnsafePointer<UInt64>, depth: Int) -> UInt32? {
        if depth <= 0 { return 0 }
        let hash = StackDepot.hash(frames, depth)
        let bucket = storage.assumingMemoryBound(to: UInt32.self) + Int(hash & UInt64(StackDepot.bucketCount - 1))
        var id = bucket.pointee
        while id != 0 {
            let record = storage + Int(id) * 8
            if record.load(fromByteOffset: 8, as: UInt64.self) == hash
                && Int(record.load(fromByteOffset: 4, as: UInt32.self)) == depth
                && StackDepot.same(frames, (record + StackDepot.headerBytes).assumingMemoryBound(to: UInt64.self), depth) {
                return id
            }
            id = record.load(as: UInt32.self)
        }
        let size = StackDepot.recordBytes(depth: depth)
        guard used + size <= capacity, used / 8 <= Int(UInt32.max) else { return nil }
        let newID = UInt32(used / 8)
        let record = storage + used
        record.storeBytes(of: bucket.pointee, as: UInt32.self)
        record.storeBytes(of: UInt32(depth), toByteOffset: 4, as: UInt32.self)
        record.storeBytes(of: hash, toByteOffset: 8, as: UInt64.self)
        let out = (record + StackDepot.headerBytes).assumingMemoryBound(to: UInt64.self)
        for i in 0..<depth { out[i] = frames[i] }
        bucket.pointee = newID
        used += size
        count += 1
        return newID
    }

    /// The frames of stack `id` (from `intern`); empty for 0.
    public func frames(_ id: UInt32) -> (frames: UnsafePointer<UInt64>?, depth: Int) {
        if id == 0 { return (nil, 0) }
        let record = storage + Int(id) * 8
        let depth = Int(record.load(fromByteOffset: 4, as: UInt32.self))
        return (UnsafePointer((record + StackDepot.headerBytes).assumingMemoryBound(to: UInt64.self)), depth)
    }

    static func hash(_ frames: UnsafePointer<UInt64>, _ depth: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<depth {
            h = (h ^ frames[i]) &* 0x0000_0100_0000_01B3
            h ^= h >> 29
        }
        return h
    }

    static func same(_ a: UnsafePointer<UInt64>, _ b: UnsafePointer<UInt64>, _ n: Int) -> Bool {
        for i in 0..<n where a[i] != b[i] { return false }
        return true
    }
}
