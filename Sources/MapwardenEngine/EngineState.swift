import CShim
import MapwardenLogic

/// What changes while the program runs, kept in the engine's metadata
/// arena and changed under the registry lock (the window files also at
/// exit): the registry and its arenas,
/// the window files (reopened when the program closed one, given lock
/// descriptions of their own in a forked child), the fork generation,
/// mlockall's MCL_FUTURE, the counts and events for the report. What was
/// fixed at start-up is in `config` (EngineConfig).
struct EngineState {
    var arena: MetadataArena
    var registry: MappingRegistry
    /// Set once some mapping may not be inherited by a forked child
    /// (MADV_DONTFORK, or a mapping moved in from outside the window).
    var needsForkCheck = false
    /// mlockall(MCL_FUTURE) is in force: new mappings are locked.
    var lockFuture = false

    /// Stacks of the calls that made mappings (their own arena).
    var depotArena: MetadataArena
    var depot: StackDepot
    /// Stacks that did not fit in the depot's arena (recorded without one).
    var droppedStacks = 0
    /// Snapshots written (their default names are numbered).
    var snapshots = 0
    /// How many forks this process is from the one mapwarden started in:
    /// mappings made in an earlier generation were inherited.
    var generation: UInt32 = 0
    /// The origin of what the current call maps (set under the lock).
    var callOrigin = Mapping.Origin()
    /// Calls that touched a window, by kind, and mappings recorded.
    var calls = CallCounts()
    /// The files of the shared and persistent windows.
    var files: WindowFiles
    /// The program's own mappings outside the window (MAPWARDEN_TRACK=all
    /// or the clobber guard), in their own arena; nil otherwise.
    var outside: OutsideMappings?
    /// Where libunwind's own mappings go (with `outside`).
    var unwindZone: UnwindZone
    /// Clobbers and misuse seen (MAPWARDEN_CLOBBER=report|deny).
    var events: EventLog
    /// Memory for the exit report, reserved at start-up (see LeakReport).
    var reportArena: MetadataArena

    /// The last ranges unmapped from the windows (in the registry's arena,
    /// after this state; MAPWARDEN_FAULTS=explain reads it at a crash).
    var history: UnmapHistory
    /// Where the current call's unmaps are recorded from: its stack (0
    /// when munmap was not given one) and thread (set under the lock).
    var unmapOrigin = Mapping.Origin()

    /// The registry's nodes start after this state and the unmap history.
    static var nodesOffset: UInt64 { MetadataBudget.stateBytes }
    static var historyOffset: UInt64 { MetadataBudget.historyOffset }

    /// Records that [lo, hi) of mapping m went back to the reservation (a
    /// few stores: the time is the platform's tick counter, no system call).
    @inline(__always)
    mutating func recordUnmap(_ lo: UInt64, _ hi: UInt64, of m: Mapping) {
        history.record(UnmapRecord(lo: Swift.max(lo, m.start), hi: Swift.min(hi, m.end), mapping: m, time: mw_ticks(),
                                   unmapStack: unmapOrigin.stack, unmapThread: unmapOrigin.thread))
    }

    /// Makes room for n more registry nodes. False when the kernel refuses
    /// memory (the caller then fails its request with ENOMEM, changing nothing).
    mutating func ensureSpare(_ n: Int) -> Bool {
        arena.ensureSpare(n, in: &registry, nodesAt: EngineState.nodesOffset)
    }

    /// The id of a captured stack, storing it if new (0 when there is none
    /// or no memory for it).
    mutating func intern(_ frames: UnsafePointer<UInt64>, _ depth: Int) -> UInt32 {
        if depth == 0 { return 0 }
        if let id = depot.intern(frames, depth: depth) { return id }
        let wanted = UInt64(depot.used + StackDepot.recordBytes(depth: depth))
        if depotArena.commit(upTo: wanted) {
            depot.storageGrew(to: Int(depotArena.committed))
            if let id = depot.intern(frames, depth: depth) { return id }
        }
        droppedStacks += 1
        return 0
    }

    /// Sets the origin of what this call maps: its stack, thread, generation.
    mutating func setCallOrigin(_ stack: CallStack) {
        callOrigin = Mapping.Origin(stack: stackID(stack), thread: mw_thread_id(), generation: generation)
    }

    /// munmap's origin, for the history: its stack when the hook captured
    /// one (the clobber guard asks for it), and its thread. (mremap's is
    /// its call origin.)
    mutating func setUnmapOrigin(_ stack: CallStack) {
        unmapOrigin = Mapping.Origin(stack: stackID(stack), thread: mw_thread_id(), generation: generation)
    }

    mutating func stackID(_ stack: CallStack) -> UInt32 {
        guard let frames = stack.frames else { return 0 }
        return intern(frames, stack.depth)
    }

    /// The origin of a mapping whose call is not known (a signal handler's).
    var unknownOrigin: Mapping.Origin { Mapping.Origin(stack: 0, thread: 0, generation: generation) }

    /// How many registry nodes the arena's committed memory holds.
    static func registryCapacity(_ arena: MetadataArena) -> Int {
        arena.registryCapacity(nodesAt: nodesOffset)
    }
}

/// The engine's state, or nil while inactive. Set once, before the hooks
/// start forwarding calls (mw_phase publishes it with release ordering);
/// the state it points to changes (under the lock).
nonisolated(unsafe) var engine: UnsafeMutablePointer<EngineState>? = nil

/// The files behind the shared and persistent windows (index as in
/// `config.windows`; private windows have none open). State, not
/// configuration: the descriptors change when the program closes one (it is
/// opened again) and in a forked child (a lock description of its own).
struct WindowFiles {
    var slots: (BackingFile, BackingFile, BackingFile, BackingFile, BackingFile, BackingFile, BackingFile, BackingFile) =
        (BackingFile(), BackingFile(), BackingFile(), BackingFile(), BackingFile(), BackingFile(), BackingFile(), BackingFile())

    subscript(i: Int) -> BackingFile {
        get { withUnsafeBytes(of: slots) { $0.baseAddress!.assumingMemoryBound(to: BackingFile.self)[i] } }
        set { withUnsafeMutableBytes(of: &slots) { $0.baseAddress!.assumingMemoryBound(to: BackingFile.self)[i] = newValue } }
    }
}

/// Calls that touched a window, for the report's statistics.
struct CallCounts {
    var mmap = 0
    var munmap = 0
    var mprotect = 0
    var mremap = 0
    var other = 0
    /// Calls outside the window the engine looked at (tracking, clobber guard).
    var outside = 0
    /// Mappings recorded (each successful map or move).
    var recorded = 0
}
