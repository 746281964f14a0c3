/// The default window's place and size, chosen from the size of user space
/// (docs/configuration.md, "The default window", gives the sources).
///
/// The rule is the same on every address space: the window sits above
/// where the random hints of V8 and PartitionAlloc go and where the JVM,
/// Go, GHC and SBCL keep their fixed heaps, and below the PIE executable
/// (with brk after it), the top-down mmap base and the stack. Only the
/// numbers differ:
///
/// - x86-64 (4-level paging, and la57 without a high hint: the kernel's
///   mmap stays below 2^47): V8 and PartitionAlloc hint below 2^46; PIE
///   loads from 2/3 of 2^47. The window: 2^46 (64 TiB), 1 TiB.
/// - aarch64: V8 hints below 2^38 on Linux whatever the VA size;
///   PartitionAlloc hints in [64 GiB, 64 GiB + 2^38), so below 320 GiB; PIE
///   loads from 2/3 of the mmap range (2^VA, at most 2^48: a 52-bit kernel
///   maps above 2^48 only for a high hint), the mmap base and the stack are
///   near its top. The window starts at 2^(VA-3) (1/8 of the range, which
///   is also below the bottom-up mmap base of the legacy layout, 1/4), but
///   never below 320 GiB; it is 2^(VA-4) long, at most 1 TiB, and ends
///   below the PIE base. 48 bits: 32 TiB, 1 TiB; 47: 16 TiB, 1 TiB; 42:
///   512 GiB, 256 GiB; 39: 320 GiB, 16 GiB (between PartitionAlloc's hints
///   and the PIE base at 341 GiB).
/// - Less than 39 bits (aarch64 with 16 KiB pages and two levels: 36), or
///   an x86-64 space smaller than 47 bits: no default. The hints and the
///   fixed heaps fill such a space; the window must be configured, and
///   start-up says so (ConfigError.Problem.noDefaultWindow).
public enum DefaultWindow {
    /// The largest default window.
    public static let maximumSize: UInt64 = 1 << 40
    /// Where aarch64's hints end: PartitionAlloc's offset (64 GiB) plus its
    /// 38-bit mask, above V8's 2^38.
    public static let aarch64HintsEnd: UInt64 = 0x10_0000_0000 + (1 << 38)
    /// The smallest user space with a default window on aarch64, in bits.
    public static let aarch64MinimumVABits = 39

    /// The default window of a space, or nil when none fits.
    public static func choose(for space: AddressSpace) -> Window? {
        let bits = space.vaBits
        if space.isX86_64 {
            guard bits >= 47 else { return nil }
            return Window(base: 1 << 46, size: maximumSize)
        }
        guard bits >= aarch64MinimumVABits else { return nil }
        let mapBits = UInt64(min(bits, 48))
        let mapEnd: UInt64 = 1 << mapBits
        let pieBase = mapEnd / 3 * 2
        let base = max(mapEnd >> 3, aarch64HintsEnd)
        var size = min(mapEnd >> 4, maximumSize)
        // The largest power of two (at most that) that ends below the PIE base.
        while size > space.pageSize && base + size > pieBase { size >>= 1 }
        guard base + size <= pieBase, space.isPageAligned(base), space.isPageAligned(size) else { return nil }
        return Window(base: base, size: size)
    }
}
