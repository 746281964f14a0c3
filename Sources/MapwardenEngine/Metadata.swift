import CShim
import MapwardenLogic

/// The engine's own memory: an arena of the PROT_NONE reservation made for
/// all of them (Arenas), outside every window, committed in steps as it fills. It holds the engine state and
/// the registry's nodes, so metadata never lives in the program's payload
/// and the hook path never calls malloc. Sizes: MetadataBudget. The last
/// page is never committed (the registry's arena lends it to Probe).
struct MetadataArena {
    static let commitStep: UInt64 = MetadataBudget.step

    let base: UInt64
    var committed: UInt64
    let size: UInt64

    /// What may be committed: all but the last page.
    var usable: UInt64 { size - UInt64(mw_page_size()) }

    /// The arena over [base, base+size) of the metadata reservation (named
    /// when the kernel `names` anonymous memory), its first step committed
    /// (see Arenas.create). nil when the kernel refuses the commit.
    static func carve(base: UInt64, size: UInt64, names: Bool) -> MetadataArena? {
        if names { _ = Kernel.nameAnonymous(base, size, "mapwarden-metadata") }
        var arena = MetadataArena(base: base, committed: 0, size: size)
        if !arena.commit(upTo: Swift.min(commitStep, arena.usable)) { return nil }
        return arena
    }

    var pointer: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: UInt(base))! }

    /// Makes [base, base+bytes) usable. False when the kernel refuses (ENOMEM).
    mutating func commit(upTo bytes: UInt64) -> Bool {
        if bytes <= committed { return true }
        guard bytes <= usable else { return false }
        let target = Swift.min((bytes + MetadataArena.commitStep - 1) / MetadataArena.commitStep * MetadataArena.commitStep,
                               usable)
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
        // 4096 more nodes at a time, or as many as the arena still has.
        let wanted = offset + UInt64(MappingRegistry.bytesNeeded(capacity: registry.capacity + Swift.max(n, 4096)))
        guard commit(upTo: Swift.min(wanted, usable)) else { return false }
        registry.storageGrew(to: registryCapacity(nodesAt: offset))
        return registry.spare >= n
    }
}

/// Every arena of the engine's metadata, sized by MetadataBudget from the
/// windows and RLIMIT_AS, made together at start-up: one reservation.
struct Arenas {
    var registry: MetadataArena
    var depot: MetadataArena
    var report: MetadataArena
    var outside: OutsideMappings?
    var unwindZone: UnwindZone

    /// nil (having said why, naming RLIMIT_AS when it is the limit) when
    /// the kernel refuses even the smallest arenas. The windows are
    /// reserved already: what the process uses then includes them. `names`:
    /// whether the kernel names anonymous memory (they are named then).
    static func create(_ windows: WindowRanges, _ settings: Settings, tracksOutside: Bool, names: Bool) -> Arenas? {
        var windowBytes: UInt64 = 0
        for i in 0..<windows.count { windowBytes += windows[i].size }
        let wanted = MetadataBudget.wanted(windowBytes: windowBytes, pageSize: settings.space.pageSize,
                                           tracksOutside: tracksOutside, stacks: settings.backtraceDepth > 0)
        var limit = Kernel.limit(Int32(RLIMIT_AS.rawValue))?.soft
        if limit == UInt64.max { limit = nil } // RLIM_INFINITY
        var inUse: UInt64? = nil
        var headroom: UInt64? = nil
        if let limit {
            inUse = Process.addressSpaceInUse()
            let used = inUse ?? windowBytes
            headroom = limit > used ? limit - used : 0
        }
        let least = MetadataBudget.minimum(wanted)
        guard var sizes = MetadataBudget.fit(wanted, headroom: headroom) else {
            sayNoMemory(least.total, limit: limit, inUse: inUse, windowBytes: windowBytes)
            return nil
        }
        // One reservation for them all (one system call, one mapping until
        // they are committed), the unwind area at its top: see UnwindZone.
        // That area is not needed to run (without it libunwind's mappings
        // are the kernel's to place): none when it would be too small, or
        // when the kernel refuses the rest with it.
        if sizes.unwind < UnwindZone.smallest { sizes.unwind = 0 }
        var r = Kernel.mmap(0, sizes.total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
        if r.failed && sizes.unwind > 0 {
            sizes.unwind = 0
            r = Kernel.mmap(0, sizes.total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
        }
        if r.failed {
            sayNoMemory(sizes.total, limit: limit, inUse: inUse, windowBytes: windowBytes)
            return nil
        }
        var at = r.address
        func next(_ size: UInt64) -> UInt64 {
            defer { at += size }
            return at
        }
        // Each arena's first step is committed now: the registry holds the
        // engine state, the depot its buckets, and the report must be
        // writable at an exit where vm.max_map_count refuses the new VMA a
        // later commit would split off.
        let registry = MetadataArena.carve(base: next(sizes.registry), size: sizes.registry, names: names)
        let depot = MetadataArena.carve(base: next(sizes.depot), size: sizes.depot, names: names)
        let report = MetadataArena.carve(base: next(sizes.report), size: sizes.report, names: names)
        let outsideArena = sizes.outside == 0 ? nil
            : MetadataArena.carve(base: next(sizes.outside), size: sizes.outside, names: names)
        guard let registry, let depot, let report, sizes.outside == 0 || outsideArena != nil else {
            _ = Kernel.munmap(r.address, sizes.total)
            sayNoMemory(sizes.total, limit: limit, inUse: inUse, windowBytes: windowBytes)
            return nil
        }
        let outside = outsideArena.map { OutsideMappings(arena: $0) }
        let zone = UnwindZone(area: next(sizes.unwind), size: sizes.unwind, names: names)
        return Arenas(registry: registry, depot: depot, report: report, outside: outside, unwindZone: zone)
    }

    /// `mapwarden: cannot map memory for the registry: ...`, naming
    /// RLIMIT_AS and what uses it when there is a limit.
    static func sayNoMemory(_ needed: UInt64, limit: UInt64?, inUse: UInt64?, windowBytes: UInt64) {
        Output.line { out in
            out.append("mapwarden: cannot map memory for the registry (ENOMEM): ")
            guard let limit else {
                out.append("the kernel refused ")
                out.append(unsigned: needed)
                out.append(" bytes of address space (vm.max_map_count or vm.overcommit_memory)")
                return
            }
            out.append("RLIMIT_AS (ulimit -v) allows ")
            out.append(unsigned: limit)
            out.append(" bytes of address space; the windows take ")
            out.append(unsigned: windowBytes)
            if let inUse, inUse >= windowBytes {
                out.append(", the rest of the process ")
                out.append(unsigned: inUse - windowBytes)
            }
            out.append(", and mapwarden's metadata needs at least ")
            out.append(unsigned: needed)
            out.append(" more")
        }
    }
}
