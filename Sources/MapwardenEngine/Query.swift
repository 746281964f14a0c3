import CShim
import MapwardenLogic

/// What the engine tells about an address and its windows (mapwarden.h),
/// and what a forked child keeps.
extension WindowService {
    static func query(_ addr: UInt64, _ out: inout mapwarden_info) -> KernelResult {
        locked({ .failure(EAGAIN) }) { state in
            out = mapwarden_info()
            guard let i = config.windows.index(containing: addr) else {
                out.state = UInt32(MAPWARDEN_OUTSIDE.rawValue)
                return .success
            }
            let w = config.windows[i]
            out.window_base = UInt(w.base)
            out.window_size = Int(w.size)
            withUnsafeMutableBytes(of: &out.window) { config.windowDetails[i].name.copy(to: $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
            if let m = state.registry.mapping(containing: addr) {
                out.state = UInt32(MAPWARDEN_MAPPED.rawValue)
                out.kind = m.kind
                out.flags = (m.kind & MappingKind.shared != 0 ? MAP_SHARED : MAP_PRIVATE)
                    | (m.kind & MappingKind.anonymous != 0 ? MAP_ANONYMOUS : 0)
                out.base = UInt(m.start)
                out.size = Int(m.size)
                out.prot = m.prot
                out.offset = m.offset
                out.tag = UInt(m.tag)
            } else {
                let run = state.registry.freeRun(around: addr, in: w)
                out.state = UInt32(MAPWARDEN_FREE.rawValue)
                out.base = UInt(run.lo)
                out.size = Int(run.hi - run.lo)
            }
            return .success
        }
    }

    /// mapwarden_windows: every window, in address order, into out (room
    /// for WindowTable.capacity entries). Returns how many there are.
    static func windows(_ out: UnsafeMutablePointer<mapwarden_window>) -> KernelResult {
        locked({ .failure(EAGAIN) }) { state in
            for i in 0..<Windows.count {
                let w = config.windows[i], d = config.windowDetails[i]
                let use = state.registry.usage(of: w)
                var e = mapwarden_window()
                withUnsafeMutableBytes(of: &e.name) { d.name.copy(to: $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
                e.base = UInt(w.base)
                e.size = Int(w.size)
                e.backing = d.backing.rawValue
                e.mappings = UInt32(truncatingIfNeeded: use.mappings)
                e.mapped = Int(use.mappedBytes)
                e.largest_free = Int(use.largestFree)
                e.path = d.path
                out[i] = e
            }
            return KernelResult(Windows.count)
        }
    }

    /// The tag of the mapping at addr: set it (when `set` is given) and/or read it.
    static func tag(_ addr: UInt64, set: UInt64?, _ out: inout UInt64) -> KernelResult {
        locked({ .failure(EAGAIN) }) { state in
            guard config.windows.index(containing: addr) != nil else { return .failure(ERANGE) }
            guard let m = state.registry.mapping(containing: addr) else { return .failure(ENOENT) }
            if let set {
                // Changing a field splits nothing: no spare nodes needed.
                state.registry.update(m.start, m.end) { $0.tag = set }
            }
            out = set ?? m.tag
            return .success
        }
    }

    /// In a forked child (lock held): MADV_DONTFORK ranges were not
    /// inherited, so they are holes here. Reserve them again and forget them;
    /// check mappings that came from outside the window (their DONTFORK flag
    /// is not known) page range by page range. One pass.
    static func forgetNotInherited(_ state: inout EngineState) {
        guard state.needsForkCheck else { return }
        for i in 0..<Windows.count {
            let w = config.windows[i]
            var at = w.base
            while let m = state.registry.firstOverlapping(at, w.end) {
                at = m.end
                guard state.ensureSpare(MappingRegistry.nodesPerChange) else { return }
                if m.kind & MappingKind.dontFork != 0 {
                    _ = Reservation.cover(m.start, m.end)
                    state.registry.remove(m.start, m.end)
                } else if m.kind & MappingKind.moved != 0 {
                    Reservation.verifyMapped(m.start, m.end, &state)
                }
            }
        }
    }
}
