/// An error a plan decides without asking the kernel. The engine turns it
/// into the errno of the system headers (`PlanError.errno`, in the engine):
/// the pure layer never spells errno numbers.
public enum PlanError: Equatable, Sendable {
    /// EINVAL
    case invalid
    /// ENOMEM
    case noMemory
    /// EEXIST
    case exists
    /// EOPNOTSUPP
    case notSupported
    /// EAGAIN
    case again
}

/// What the engine sees of the windows when it plans a call: their ranges,
/// which of them a file backs, and the address space. Immutable after
/// start-up; the same value serves the locked path and a signal handler.
public struct WindowView {
    public var windows: WindowRanges
    /// Bit i set: window i is shared or persistent, so its file backs the
    /// anonymous requests made in it.
    public var fileBacked: UInt32
    public var space: AddressSpace

    public init(windows: WindowRanges, fileBacked: UInt32, space: AddressSpace) {
        self.windows = windows
        self.fileBacked = fileBacked
        self.space = space
    }

    /// Whether a request (anonymous or not) in window i maps the window's file.
    @inline(__always)
    @inlinable
    public func mapsWindowFile(_ i: Int, anonymous: Bool) -> Bool {
        anonymous && fileBacked & (1 << UInt32(i)) != 0
    }

    /// The page range [lo, hi) of (addr, len), or nil when it overflows.
    @inline(__always)
    @inlinable
    public func pages(_ addr: UInt64, _ len: UInt64) -> (lo: UInt64, hi: UInt64)? {
        let (end, overflow) = addr.addingReportingOverflow(len)
        if overflow { return nil }
        guard let hi = space.pageAlignedUp(end) else { return nil }
        return (space.pageAlignedDown(addr), hi)
    }
}
