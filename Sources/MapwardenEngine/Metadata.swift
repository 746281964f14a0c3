import CShim
import MapwardenLogic

/// The engine's own memory: one PROT_NONE reservation outside every window,
/// committed in steps as the registry grows. It holds the engine state and
/// the registry's nodes, so metadata never lives in the program's payload
/// and the hook path never calls malloc.
struct MetadataArena {
    static let reservedBytes: UInt64 = 512 << 20 // ~9 M registry nodes
    static let commitStep: UInt64 = 256 << 10

    let base: UInt64
    var committed: UInt64
    let size: UInt64

    /// Maps an arena of `size` bytes and commits its first step. nil when
    /// the kernel refuses.
    static func create(size: UInt64 = reservedBytes) -> MetadataArena? {
        let r = Kernel.mmap(0, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
        if r.failed { return nil }
        if Reservation.namesWork { _ = Kernel.nameAnonymous(r.address, size, "mapwarden-metadata") }
        var arena = MetadataArena(base: r.address, committed: 0, size: size)
        if !arena.commit(upTo: commitStep) {
            _ = Kernel.munmap(r.address, size)
            return nil
        }
        return arena
    }

    var pointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(base))! }

    /// Makes [base, base+bytes) usable. False when the kernel refuses (ENOMEM).
    mutating func commit(upTo bytes: UInt64) -> Bool {
        if bytes <= committed { return true }
        guard bytes <= size else { return false }
        let target = (bytes + MetadataArena.commitStep - 1) / MetadataArena.commitStep * MetadataArena.commitStep
        let r = Kernel.mprotect(base + committed, target - committed, PROT_READ | PROT_WRITE)
        if r.failed { return false }
        committed = target
        return true
    }
}

extension MetadataArena {
    /// How many registry nodes fit in the committed memory from `offset` on.
    func registryCapacity(nodesAt offset: UInt64) -> Int {
        MappingRegistry.capacity(fittingIn: Int(committed - offset))
    }

    /// Makes room for n more nodes of the registry stored from `offset` on,
    /// committing more of the arena. False when the kernel refuses memory
    /// (the caller then fails its request with ENOMEM, changing nothing).
    mutating func ensureSpare(_ n: Int, in registry: inout MappingRegistry, nodesAt offset: UInt64) -> Bool {
        if registry.spare >= n { return true }
        let wanted = MappingRegistry.bytesNeeded(capacity: registry.capacity + Swift.max(n, 4096))
        guard commit(upTo: offset + UInt64(wanted)) else { return false }
        registry.storageGrew(to: registryCapacity(nodesAt: offset))
        return registry.spare >= n
    }
}
