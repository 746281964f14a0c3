import Testing
@testable import MapwardenLogic

/// The world the plan tests (MapPlan, UnmapPlan, RangeCallPlan, registry
/// runs) decide in: windows given in pages of `PlanWorld.P` from
/// `PlanWorld.origin` (a 1 GiB-aligned address of the default x86-64
/// window), which of them a file backs, and a registry that owns its
/// storage (`Registry`, see MappingRegistryTests.swift).
final class PlanWorld {
    /// The page size: 4 KiB, or each of 4, 16 and 64 KiB in the suites
    /// marked `.everyPageSize` (TestSupport.swift).
    @TaskLocal static var P: UInt64 = 4096
    static let origin: UInt64 = 0x4000_0000_0000
    /// The address space with those pages: x86-64's with 4 KiB pages,
    /// aarch64's 48-bit one with 16 and 64 KiB pages (as on Asahi and
    /// 64 KiB server kernels).
    static var space: AddressSpace { P == 4096 ? .x86_64 : .aarch64(vaBits: 48, pageSize: P) }

    /// The address of page n.
    static func page(_ n: UInt64) -> UInt64 { origin + n * P }

    /// The usual three windows: W0 = pages [16, 32), W1 = [48, 64), W2 = [80, 96).
    static var three: [Window] { [Window(base: page(16), size: 16 * P), Window(base: page(48), size: 16 * P),
                                  Window(base: page(80), size: 16 * P)] }

    let view: WindowView
    let reg = Registry(capacity: 64)

    init(_ windows: [Window] = [Window(base: page(16), size: 16 * P)], fileBacked: UInt32 = 0,
         space: AddressSpace = PlanWorld.space) {
        var ranges = WindowRanges()
        for w in windows { precondition(ranges.insert(w)) }
        view = WindowView(windows: ranges, fileBacked: fileBacked, space: space)
    }

    /// The registry as the locked path sees it.
    var registry: MappingRegistry { reg.r }

    /// Records an anonymous read-write mapping over [lo, hi) (addresses).
    func record(_ lo: UInt64, _ hi: UInt64) {
        reg.insert(Mapping(start: lo, end: hi, prot: 3, kind: MappingKind.anonymous))
    }

    /// Records pages [a, b).
    func recordPages(_ a: UInt64, _ b: UInt64) { record(PlanWorld.page(a), PlanWorld.page(b)) }
}
