import CShim
import MapwardenLogic

/// Where the loader puts libunwind's code (and liblzma's) when it is loaded
/// late, at the first call that needs a stack (backtrace.c says when): in
/// the room UnwindZone gives back at the top of the reservation made at
/// start-up, never in a hole the program made, where the program's own
/// MAP_FIXED over its range would later replace libunwind's code.
///
/// The loader maps a library where the kernel puts an mmap(NULL): the
/// highest free range that fits. Free ranges above the room exist too: the
/// kernel aligns the reservation to 2 MiB, leaving one below the libraries,
/// where the program's first small mappings land (and it may unmap parts of
/// them). Each of those (LoaderGaps) gets a PROT_NONE placeholder while the
/// loader runs. The process has one thread then (backtrace.c), so nothing
/// else maps meanwhile but a signal handler, whose mmap(NULL) lands in the
/// room or below. /proc/self/maps is read a piece at a time into static
/// memory: reading it must not map anything either.
struct LoaderRoom {
    /// Placeholders at most; more free ranges than this above the room are
    /// left as they are (the loader may then use one).
    static let capacity = 32
    /// Below this no library mapping fits (libunwind's is 110 KiB).
    static let minimum: UInt64 = 64 << 10

    var ranges: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                 UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
        = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
           0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var count = 0

    /// Covers every free range above `top` (the room's top) but the stack's.
    mutating func coverAbove(_ top: UInt64) {
        var gaps = LoaderGaps(floor: top, minimum: LoaderRoom.minimum)
        LoaderRoom.forEachMapsLine { line in
            guard let r = MapsLine.range(line) else { return true }
            if let gap = gaps.next(start: r.start, end: r.end, isStack: LoaderGaps.isStack(line)) { cover(gap.lo, gap.hi) }
            return !gaps.done && count < LoaderRoom.capacity
        }
    }

    mutating func cover(_ lo: UInt64, _ hi: UInt64) {
        let r = Kernel.mmap(lo, hi - lo, PROT_NONE, Reservation.flags | MAP_FIXED_NOREPLACE)
        if r.failed { return }
        if r.address != lo { // a kernel that takes MAP_FIXED_NOREPLACE as a hint
            _ = Kernel.munmap(r.address, hi - lo)
            return
        }
        withUnsafeMutableBytes(of: &ranges) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            p[2 * count] = lo
            p[2 * count + 1] = hi
        }
        count += 1
    }

    /// After the loader: the placeholders go.
    mutating func uncover() {
        var copy = ranges
        withUnsafeBytes(of: &copy) { raw in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt64.self)
            for i in 0..<count { _ = Kernel.munmap(p[2 * i], p[2 * i + 1] - p[2 * i]) }
        }
        count = 0
    }

    /// Each line of /proc/self/maps until body says to stop; a line longer
    /// than the buffer ends the reading.
    static func forEachMapsLine(_ body: (Bytes) -> Bool) {
        let fd = Kernel.open(cString("/proc/self/maps"), O_RDONLY | O_CLOEXEC)
        if fd.failed { return }
        defer { Kernel.close(Int32(fd.raw)) }
        let buffer = StaticBuffer.mapsLines
        var kept = 0
        while true {
            let r = Kernel.read(Int32(fd.raw), buffer.base + kept, buffer.size - kept)
            if r.failed && r.errno == EINTR { continue }
            if r.failed || r.raw == 0 { return }
            let n = kept + r.raw
            var start = 0
            for i in 0..<n where buffer.base[i] == 0x0A {
                if !body(Bytes(UnsafePointer(buffer.base + start), count: i - start)) { return }
                start = i + 1
            }
            kept = n - start
            if kept == buffer.size { return }
            if start > 0 { for j in 0..<kept { buffer.base[j] = buffer.base[start + j] } }
        }
    }
}

/// The placeholders between mw_engine_make_room_for_unwinder and
/// mw_engine_unwinder_loaded (one loader at a time: backtrace.c's claim).
var loaderRoom = LoaderRoom()
