import CShim
import MapwardenLogic

/// The window's reservation: PROT_NONE, private, anonymous, no swap
/// accounting, named "mapwarden" in /proc/self/maps. Free window space is
/// always covered by it; returning space to it is one MAP_FIXED overmap
/// with the identical flags and name, so neighbouring pieces merge back
/// into one VMA and no other mapping can slip into a hole.
enum Reservation {
    static let flags: Int32 = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE
    static let name: StaticString = "mapwarden"

    /// Reserves the whole window before main. Returns whether this kernel
    /// names anonymous ranges (`config.namesWork`), or nil (after saying
    /// why) when the window cannot be reserved.
    static func reserve(_ window: Window, name: WindowName, space: AddressSpace, explaining: Bool) -> Bool? {
        let r = Kernel.mmap(window.base, window.size, PROT_NONE, flags | MAP_FIXED_NOREPLACE)
        if !r.failed && r.address == window.base {
            // Kernels without CONFIG_ANON_VMA_NAME refuse names: then never
            // spend a syscall on one again.
            return !Kernel.nameAnonymous(window.base, window.size, Reservation.name).failed
        }
        if !explaining {
            if !r.failed { _ = Kernel.munmap(r.address, window.size) }
            return nil
        }
        if !r.failed {
            // Kernels before 4.17 treat MAP_FIXED_NOREPLACE as a hint.
            _ = Kernel.munmap(r.address, window.size)
            explain(window, name) { out in
                out.append("the kernel placed it at ")
                out.append(hex: r.address)
                out.append(" instead (kernels before 4.17 ignore MAP_FIXED_NOREPLACE)")
            }
            return nil
        }
        explain(window, name) { out in
            ErrnoText.describe(r.errno, into: &out)
            switch r.errno {
            case EEXIST: out.append(": it collides with these mappings:")
            case ENOMEM: explainNoMemory(window, into: &out)
            case EPERM: out.append(": the base is below vm.mmap_min_addr or forbidden by a security module")
            default: break
            }
        }
        if r.errno == EEXIST { printCollisions(window) }
        Output.line { out in
            out.append("mapwarden: choose a free range with ")
            out.append(keyOf: name)
            out.append("=BASE:SIZE")
        }
        return nil
    }

    static func explain(_ window: Window, _ name: WindowName, _ why: (inout TextBuffer) -> Void) {
        Output.line { out in
            out.append("mapwarden: cannot reserve the window \"")
            out.append(name: name)
            out.append("\" ")
            out.append(window: window)
            out.append(": ")
            why(&out)
        }
    }

    static func explainNoMemory(_ window: Window, into out: inout TextBuffer) {
        if let limit = Kernel.limit(Int32(RLIMIT_AS.rawValue)), limit.soft != UInt64.max {
            out.append(": RLIMIT_AS (ulimit -v) allows ")
            out.append(unsigned: limit.soft)
            out.append(" bytes of address space and the window alone needs ")
            out.append(unsigned: window.size)
        } else {
            out.append(": the kernel refused the address space (vm.max_map_count or vm.overcommit_memory)")
        }
    }

    /// Prints the /proc/self/maps lines that overlap the window.
    static func printCollisions(_ window: Window) {
        let maps = ScratchFile(path: cString("/proc/self/maps"), limit: 16 << 20)
        defer { maps.release() }
        var lines = LineReader(maps.bytes)
        while let line = lines.next() {
            guard let r = MapsLine.range(line), window.overlaps(r.start, r.end) else { continue }
            Output.line { out in
                out.append("mapwarden:   ")
                out.append(line)
            }
        }
    }

    /// Returns [lo, hi) to the reservation in one atomic overmap.
    static func cover(_ lo: UInt64, _ hi: UInt64) -> KernelResult {
        let r = Kernel.mmap(lo, hi - lo, PROT_NONE, flags | MAP_FIXED)
        if r.failed { return r }
        if config.namesWork { _ = Kernel.nameAnonymous(lo, hi - lo, name) }
        return .success
    }

    /// After a failed kernel call on [lo, hi) inside `window`: make sure
    /// free space is reserved again and the registry only lists mappings that
    /// still exist. (A failed MAP_FIXED|MAP_HUGETLB, for one, can punch a hole.)
    @inline(never) // (cold: after a failed kernel call)
    static func repair(_ lo: UInt64, _ hi: UInt64, in window: Window, _ state: inout EngineState) {
        var at = lo
        while at < hi {
            // (Read part by part: verifying a part may forget it.)
            let part = state.registry.part(at, hi, in: window)
            if part.free { _ = cover(at, part.hi) } else { verifyMapped(at, part.hi, &state) }
            at = part.hi
        }
    }

    /// msync(MS_ASYNC) fails with ENOMEM exactly when part of a range is
    /// unmapped; bisect to the lost pages, forget them and reserve them again.
    static func verifyMapped(_ lo: UInt64, _ hi: UInt64, _ state: inout EngineState) {
        let r = Kernel.msync(lo, hi - lo, MS_ASYNC)
        if !r.failed || r.errno != ENOMEM { return }
        let page = config.space.pageSize
        if hi - lo <= page {
            if state.ensureSpare(MappingRegistry.nodesPerChange) { state.registry.remove(lo, hi) }
            _ = cover(lo, hi)
            return
        }
        let mid = lo + (hi - lo) / page / 2 * page
        verifyMapped(lo, mid, &state)
        verifyMapped(mid, hi, &state)
    }
}
