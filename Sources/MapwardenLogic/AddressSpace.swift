/// Facts about the process's address space that validation needs.
public struct AddressSpace: Equatable, Sendable {
    public var pageSize: UInt64
    /// One past the highest address user space can map (TASK_SIZE).
    public var userEnd: UInt64

    public init(pageSize: UInt64, userEnd: UInt64) {
        self.pageSize = pageSize
        self.userEnd = userEnd
    }

    /// x86-64 with 4-level paging (also what la57 hands out without a high hint).
    public static let x86_64 = AddressSpace(pageSize: 4096, userEnd: 0x7FFF_FFFF_F000)
    /// aarch64 with 48-bit virtual addresses and 4 KiB pages.
    public static let aarch64VA48 = AddressSpace(pageSize: 4096, userEnd: 1 << 48)
    /// aarch64 with 39-bit virtual addresses (some embedded kernels).
    public static let aarch64VA39 = AddressSpace(pageSize: 4096, userEnd: 1 << 39)

    /// The window used when none is configured (docs/configuration.md gives the reasoning).
    public var defaultWindow: Window {
        if userEnd <= 1 << 39 { return Window(base: 0x10_0000_0000, size: 32 << 30) } // 64 GiB, 32 GiB
        if userEnd == 1 << 48 { return Window(base: 0x2000_0000_0000, size: 1 << 40) } // aarch64 VA48
        return Window(base: 0x4000_0000_0000, size: 1 << 40)                            // x86-64
    }

    @inlinable
    public func pageAlignedDown(_ a: UInt64) -> UInt64 { a & ~(pageSize - 1) }

    /// Rounds up to a page multiple; nil when that overflows.
    @inlinable
    public func pageAlignedUp(_ a: UInt64) -> UInt64? {
        let (s, o) = a.addingReportingOverflow(pageSize - 1)
        return o ? nil : s & ~(pageSize - 1)
    }

    @inlinable
    public func isPageAligned(_ a: UInt64) -> Bool { a & (pageSize - 1) == 0 }
}

/// A half-open address range [base, base+size) reserved for fixed mappings.
public struct Window: Equatable, Sendable {
    public var base: UInt64
    public var size: UInt64
    @inlinable
    public var end: UInt64 { base + size }

    public init(base: UInt64, size: UInt64) {
        self.base = base
        self.size = size
    }

    @inlinable
    public func contains(_ addr: UInt64) -> Bool { addr >= base && addr < end }

    /// True when [start, end) and the window share at least one byte.
    @inlinable
    public func overlaps(_ start: UInt64, _ end: UInt64) -> Bool { start < self.end && end > base }

    /// True when [start, end) lies entirely inside the window.
    public func encloses(_ start: UInt64, _ end: UInt64) -> Bool { start >= base && end <= self.end && start < end }

    /// The part of [start, end) inside the window; empty (lo == hi) when none.
    @inlinable
    public func clip(_ start: UInt64, _ end: UInt64) -> (lo: UInt64, hi: UInt64) {
        let lo = Swift.max(start, base), hi = Swift.min(end, self.end)
        return lo < hi ? (lo, hi) : (lo, lo)
    }
}
