import CShim
import MapwardenLogic

/// Where libunwind's own mappings go while it captures a stack (its
/// per-thread caches, made at a thread's first capture): an area mapwarden
/// reserved, never where the kernel would put an mmap(NULL).
///
/// Placed by the kernel, such a mapping lands in the first hole it finds,
/// and that is often a hole in the program's own memory (a page it unmapped
/// in a reservation it keeps). The program's next MAP_FIXED over its own
/// range would then replace libunwind's cache: the clobber guard saw a
/// foreign mapping there (a false clobber, or EEXIST under deny), and
/// without the guard libunwind's memory was silently overwritten.
///
/// The area is a PROT_NONE reservation (a `chunk`, the first one the top of
/// the metadata reservation made at start-up, before the program has
/// holes); each mapping is a MAP_FIXED
/// over its next free part. Ranges libunwind unmaps (its thread-exit
/// clean-up) are never used again: they are holes like any other. When a
/// chunk is used up, the next one is placed by the kernel.
///
/// Reserved whenever stacks are captured; always used under the registry lock.
struct UnwindZone {
    /// Bytes per reservation; 0: no area (the kernel places libunwind's mappings).
    let chunk: UInt64
    var next: UInt64 = 0
    var end: UInt64 = 0

    /// Below this an area would hold too few threads' caches to be worth it.
    static let smallest: UInt64 = 4 << 20

    /// Over [area, area+size), the top of the metadata reservation made at
    /// start-up (Arenas), before the program has holes; later chunks are
    /// that size. (At start-up, before `config` is published: `names` is
    /// config.namesWork to be.)
    init(area: UInt64, size: UInt64, names: Bool) {
        chunk = size >= UnwindZone.smallest ? size : 0
        if chunk > 0 {
            if names { _ = Kernel.nameAnonymous(area, size, "mapwarden-unwind") }
            (next, end) = (area, area + size)
        }
    }

    /// Reserves a new chunk (the rest of the current one is returned),
    /// named when the kernel `names` anonymous memory.
    mutating func reserve(names: Bool) -> Bool {
        if next < end { _ = Kernel.munmap(next, end - next) }
        (next, end) = (0, 0)
        let r = Kernel.mmap(0, chunk, PROT_NONE, Reservation.flags)
        if r.failed { return false }
        if names { _ = Kernel.nameAnonymous(r.address, chunk, "mapwarden-unwind") }
        (next, end) = (r.address, r.address + chunk)
        return true
    }

    /// Address space the loader gets for libunwind's code (and liblzma's),
    /// loaded at the first call that needs a stack: 4 MiB, about ten times
    /// what the two libraries map.
    static let loaderRoom: UInt64 = 4 << 20

    /// Whether there is room to give to the loader (else libunwind is
    /// loaded at start-up).
    var hasLoaderRoom: Bool { chunk > 0 && end > next && end - next >= 2 * UnwindZone.loaderRoom }

    /// Gives the top `loaderRoom` bytes of the area back to the kernel,
    /// right before libunwind is loaded late, for the loader (LoaderRoom
    /// covers every free range above it meanwhile). Returns the room's top,
    /// or nil. Caches are placed from the bottom up and none exist yet.
    mutating func makeRoomForLoader() -> UInt64? {
        let room = UnwindZone.loaderRoom
        guard hasLoaderRoom else { return nil }
        let top = end
        if Kernel.munmap(top - room, room).failed { return nil }
        end -= room
        return top
    }

    /// mmap for libunwind: in the area when the request is a plain one that
    /// fits, else as the kernel places it.
    mutating func map(_ addr: UInt64, _ len: UInt64, _ prot: Int32, _ flags: Int32, _ fd: Int32, _ off: Int,
                      _ space: AddressSpace) -> KernelResult {
        let unusual = MAP_FIXED | MAP_FIXED_NOREPLACE | MAP_GROWSDOWN | MAP_HUGETLB | MW_MAP_32BIT
        guard chunk > 0, flags & unusual == 0, len > 0, let size = space.pageAlignedUp(len), size <= chunk
        else { return Kernel.mmap(addr, len, prot, flags, fd, off) }
        if end - next < size && !reserve(names: config.namesWork) { return Kernel.mmap(addr, len, prot, flags, fd, off) }
        let at = next
        next += size // never again, whatever the call does
        let r = Kernel.mmap(at, size, prot, flags | MAP_FIXED, fd, off)
        if r.failed { return Kernel.mmap(addr, len, prot, flags, fd, off) } // the kernel's own answer
        return r
    }
}
