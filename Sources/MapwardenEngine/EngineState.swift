import CShim
import MapwardenLogic

/// Everything the engine knows, kept in its metadata arena.
struct EngineState {
    var window: Window
    var space: AddressSpace
    var log: LogLevel
    var arena: MetadataArena
    var registry: MappingRegistry
    /// Set once some mapping may not be inherited by a forked child
    /// (MADV_DONTFORK, or a mapping moved in from outside the window).
    var needsForkCheck = false

    /// The registry's nodes start one page into the arena, after this state.
    static let nodesOffset: UInt64 = 4096

    /// Makes room for n more registry nodes. False when the kernel refuses
    /// memory (the caller then fails its request with ENOMEM, changing nothing).
    mutating func ensureSpare(_ n: Int) -> Bool {
        if registry.spare >= n { return true }
        let wanted = MappingRegistry.bytesNeeded(capacity: registry.capacity + Swift.max(n, 4096))
        guard arena.commit(upTo: EngineState.nodesOffset + UInt64(wanted)) else { return false }
        registry.storageGrew(to: EngineState.registryCapacity(arena))
        return registry.spare >= n
    }

    /// How many registry nodes the arena's committed memory holds.
    static func registryCapacity(_ arena: MetadataArena) -> Int {
        MappingRegistry.capacity(fittingIn: Int(arena.committed - nodesOffset))
    }
}

/// The engine's state, or nil while inactive. Set once, before the hooks
/// start forwarding calls (mw_phase publishes it with release ordering).
nonisolated(unsafe) var engine: UnsafeMutablePointer<EngineState>? = nil

/// The window's bounds, read without the lock on every call: they never
/// change after start-up. windowEnd == 0 means "no window".
nonisolated(unsafe) var windowBase: UInt64 = 0
nonisolated(unsafe) var windowEnd: UInt64 = 0

/// The address space's facts, likewise fixed at start-up: what a signal
/// handler that interrupted the engine may read instead of the state.
nonisolated(unsafe) var pageSize: UInt64 = 4096
nonisolated(unsafe) var userEnd: UInt64 = 0
