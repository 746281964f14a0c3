import CShim
import MapwardenLogic

/// Where mappings come from. A call that may record a mapping captures its
/// stack before taking the lock (libunwind may call mmap itself: those calls
/// see mw_capturing() and go straight to the kernel); under the lock the
/// stack is interned in the depot and becomes the call's origin. How deep
/// (MAPWARDEN_BACKTRACE_DEPTH) and whether mappings outside the windows are
/// recorded: `config.backtraceDepth`, `config.tracksOutside`.
///
/// The stack of the program's call, captured by the hook (in C: libunwind
/// cannot walk the engine's frames) when the engine asks for it.
struct CallStack {
    let frames: UnsafePointer<UInt64>?
    let depth: Int
    /// The interposed function, for reports of misuse.
    let call: StaticString

    init(_ frames: UnsafePointer<UInt64>?, _ depth: Int32, call: StaticString = "mmap") {
        self.frames = frames
        self.depth = Int(depth)
        self.call = call
    }

    /// Whether the hook has captured it (possibly empty).
    var captured: Bool { frames != nil }

    /// Whether a call that will be recorded must first get its stack.
    @inline(__always)
    var missing: Bool { frames == nil && config.backtraceDepth > 0 }
}

extension KernelResult {
    /// Not a result: "call again with the stack" (MW_NEEDS_STACK).
    static let needsStack = KernelResult(MW_NEEDS_STACK)
}
