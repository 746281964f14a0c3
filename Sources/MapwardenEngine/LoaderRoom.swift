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
/// loader runs; where one cannot be made, libunwind is not loaded at all.
/// The process has one thread then (backtrace.c) and blocks every signal
/// meanwhile (unwinder_loading.c), so nothing else maps. /proc/self/maps is read a piece at a time into static
/// memory: reading it must not map anything either.
struct LoaderRoom {
    /// Below this no library mapping fits (libunwind's is 110 KiB).
    static let minimum: UInt64 = 64 << 10

    var covers = Placeholders()

    /// Covers every free range above `top` (the room's top) but the stack's.
    /// False when one could not be covered (more than Placeholders holds,
    /// or the kernel refused: vm.max_map_count, RLIMIT_AS) or
    /// /proc/self/maps was not read to the stack: the loader could then use
    /// a hole of the program's.
    mutating func coverAbove(_ top: UInt64) -> Bool {
        var gaps = LoaderGaps(floor: top, minimum: LoaderRoom.minimum)
        var covered = true
        LoaderRoom.forEachMapsLine { line in
            guard let r = MapsLine.range(line) else { return true }
            if let gap = gaps.next(start: r.start, end: r.end, isStack: LoaderGaps.isStack(line)) {
                covered = covers.place(gap.lo, gap.hi) && !covers.overflow
            }
            return covered && !gaps.done
        }
        return covered && gaps.done
    }

    /// After the loader: the placeholders go.
    mutating func uncover() { covers.removeAll() }

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
