import CShim
import MapwardenLogic

/// What the engine tells about an address (mapwarden.h), and what a forked
/// child keeps.
extension WindowService {
    static func query(_ addr: UInt64, _ out: inout mapwarden_info) -> KernelResult {
        locked({ .failure(EAGAIN) }) { state in
            out = mapwarden_info()
            let w = state.window
            guard w.contains(addr) else {
                out.state = UInt32(MAPWARDEN_OUTSIDE.rawValue)
                return .success
            }
            out.window_base = UInt(w.base)
            out.window_size = Int(w.size)
            if let m = state.registry.mapping(containing: addr) {
                out.state = UInt32(MAPWARDEN_MAPPED.rawValue)
                out.kind = m.kind
                out.base = UInt(m.start)
                out.size = Int(m.size)
                out.prot = m.prot
                out.offset = m.offset
            } else {
                let run = state.registry.freeRun(around: addr, in: w)
                out.state = UInt32(MAPWARDEN_FREE.rawValue)
                out.base = UInt(run.lo)
                out.size = Int(run.hi - run.lo)
            }
            return .success
        }
    }

    /// In a forked child (lock held): MADV_DONTFORK ranges were not
    /// inherited, so they are holes here. Reserve them again and forget them;
    /// check mappings that came from outside the window (their DONTFORK flag
    /// is not known) page range by page range. One pass.
    static func forgetNotInherited(_ state: inout EngineState) {
        guard state.needsForkCheck else { return }
        var at = state.window.base
        while let m = state.registry.firstOverlapping(at, state.window.end) {
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
