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

    /// x86-64's TASK_SIZE: 2^47 less one page with 4-level paging, 2^56
    /// less one page with 5-level paging (la57). Never a power of two: the
    /// top page is not user space.
    public static func x86_64(la57: Bool) -> AddressSpace {
        AddressSpace(pageSize: 4096, userEnd: (1 << (la57 ? 56 : 47)) - 4096)
    }

    /// aarch64's TASK_SIZE: 2^VA_BITS exactly (36, 39, 42, 47, 48 or 52),
    /// with 4, 16 or 64 KiB pages.
    public static func aarch64(vaBits: Int, pageSize: UInt64 = 4096) -> AddressSpace {
        AddressSpace(pageSize: pageSize, userEnd: 1 << UInt64(vaBits))
    }

    /// The sizes of aarch64 user space that the stack can tell apart, in
    /// bits (arch/arm64/Kconfig ARM64_VA_BITS_*): 16 KiB pages with two
    /// levels give 36, 4 KiB pages with three give 39, 64 KiB pages with two
    /// give 42, 16 KiB pages with three give 47, four levels give 48. A
    /// 52-bit kernel hands out addresses above 2^48 only for a high hint
    /// (like la57): its stack and mmap base stay below 2^48.
    public static let aarch64VABits = [36, 39, 42, 47, 48]

    /// The address space of a process, from what its caller reads of it:
    /// the page size (AT_PAGESZ) and an address on its stack. x86-64 user
    /// space ends at 2^47 - 4096 (also under la57, without a high hint); on
    /// aarch64 the stack sits near the top of user space (at most 16 GiB of
    /// randomization and the stack limit below it), so the smallest VA size
    /// above the stack is the one the kernel was built with. The library
    /// and the `mapwarden` command both decide here.
    public static func detect(pageSize: UInt64, stackAddress: UInt64,
                              x86_64: Bool = AddressSpace.builtForX86_64) -> AddressSpace {
        if x86_64 {
            var space = AddressSpace.x86_64
            space.pageSize = pageSize
            return space
        }
        for bits in aarch64VABits where stackAddress < 1 << UInt64(bits) {
            return .aarch64(vaBits: bits, pageSize: pageSize)
        }
        return .aarch64(vaBits: 52, pageSize: pageSize)
    }

    #if arch(x86_64)
    public static let builtForX86_64 = true
    #else
    public static let builtForX86_64 = false
    #endif

    /// How many bits the user addresses take: 47 for x86-64's 2^47 - 4096,
    /// 39 for aarch64's 2^39.
    public var vaBits: Int { userEnd <= 1 ? 0 : 64 - (userEnd - 1).leadingZeroBitCount }

    /// True for x86-64's TASK_SIZE (one page short of a power of two),
    /// false for aarch64's (a power of two).
    public var isX86_64: Bool { userEnd & (userEnd - 1) != 0 }

    /// The window used when none is configured, or nil when no default
    /// fits this address space (then MAPWARDEN_WINDOW must be set; see
    /// DefaultWindow.swift and docs/configuration.md for the reasoning).
    public var defaultWindow: Window? { DefaultWindow.choose(for: self) }

    /// The huge page size of a MAP_HUGETLB call that names none: one page
    /// table of pages (a PMD: pageSize / 8 entries). 2 MiB on x86-64 and on
    /// aarch64 with 4 KiB pages, 32 MiB with 16 KiB, 512 MiB with 64 KiB.
    /// (A kernel booted with default_hugepagesz= uses another.)
    public var defaultHugePageSize: UInt64 { pageSize * (pageSize / 8) }

    @inlinable @inline(__always)
    public func pageAlignedDown(_ a: UInt64) -> UInt64 { a & ~(pageSize - 1) }

    /// Rounds up to a page multiple; nil when that overflows.
    @inlinable @inline(__always)
    public func pageAlignedUp(_ a: UInt64) -> UInt64? {
        let (s, o) = a.addingReportingOverflow(pageSize - 1)
        return o ? nil : s & ~(pageSize - 1)
    }

    @inlinable @inline(__always)
    public func isPageAligned(_ a: UInt64) -> Bool { a & (pageSize - 1) == 0 }
}

/// A half-open address range [base, base+size) reserved for fixed mappings.
public struct Window: Equatable, Sendable {
    public var base: UInt64
    public var size: UInt64
    @inlinable @inline(__always)
    public var end: UInt64 { base + size }

    public init(base: UInt64, size: UInt64) {
        self.base = base
        self.size = size
    }

    @inlinable @inline(__always)
    public func contains(_ addr: UInt64) -> Bool { addr >= base && addr < end }

    /// True when [start, end) and the window share at least one byte.
    @inlinable @inline(__always)
    public func overlaps(_ start: UInt64, _ end: UInt64) -> Bool { start < self.end && end > base }

    /// True when [start, end) lies entirely inside the window.
    public func encloses(_ start: UInt64, _ end: UInt64) -> Bool { start >= base && end <= self.end && start < end }

    /// The part of [start, end) inside the window; empty (lo == hi) when none.
    @inlinable @inline(__always)
    public func clip(_ start: UInt64, _ end: UInt64) -> (lo: UInt64, hi: UInt64) {
        let lo = Swift.max(start, base), hi = Swift.min(end, self.end)
        return lo < hi ? (lo, hi) : (lo, lo)
    }
}
