import CShim
import MapwardenLogic

/// mapwarden_alloc: first-fit placement inside a window, for programs that
/// want "anywhere in my area". The search and the mapping happen under one
/// hold of the lock, so two threads never get the same range.
extension WindowService {
    /// The flags mapwarden_alloc accepts besides MAP_PRIVATE / MAP_SHARED.
    static let allocFlags: Int32 = MAP_ANONYMOUS | MAP_NORESERVE | MAP_POPULATE | MAP_LOCKED

    static func alloc(_ name: UnsafePointer<UInt8>?, _ size: UInt64, _ align: UInt64, _ prot: Int32, _ flags: Int32,
                      _ stack: CallStack) -> KernelResult {
        let type = flags & MAP_TYPE
        guard size > 0, align & (align &- 1) == 0, type == MAP_PRIVATE || type == MAP_SHARED,
              flags & ~(MAP_TYPE | allocFlags) == 0
        else { return .failure(EINVAL) }
        let window: Int?
        if let name {
            window = (0..<Windows.count).first { config.windowDetails[$0].name.matches(cString: name) }
        } else {
            window = (0..<Windows.count).first { config.windowDetails[$0].name == .defaultWindow }
        }
        guard let window else { return .failure(ENOENT) }
        if stack.missing { return .needsStack }
        return locked({ .failure(EAGAIN) }) { state in
            state.calls.mmap += 1
            state.setCallOrigin(stack)
            return withLockedEdits(&state) { edits in
                let plan = MapPlan.alloc(window: window, size: size, align: align, view, edits.state.pointee.registry)
                let call = flags | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE
                guard case .place(let p) = plan else { return execute(plan, 0, size, prot, call, -1, 0, &edits) }
                return execute(plan, p.start, p.end - p.start, prot, call, -1, 0, &edits)
            }
        }
    }
}
