import CShim
import MapwardenLogic

/// Everything the engine was told or learned at start-up, in one value:
/// built once by Startup from the parsed Settings (and what start-up found
/// out: the address space, whether the kernel names anonymous memory,
/// where the metadata lies), published before the hooks forward any call,
/// and never written after. Any thread, and any signal handler, reads it
/// without the lock, through `config`.
///
/// What changes while the program runs (the registry, the window files'
/// descriptors, the fork generation, mlockall's MCL_FUTURE) is not here:
/// it is in EngineState, behind `engine`. The engine's only other global is
/// Output.stderr, decided before the configuration is read (start-up's own
/// messages need it).
struct EngineConfig {
    // Read by every interposed call before anything else (kept together).

    /// The windows' hull: the lowest base and the highest end. A range
    /// outside it touches no window; windowEnd == 0 means "no window".
    var windowBase: UInt64 = 0
    var windowEnd: UInt64 = 0
    /// Whether mappings outside the windows are recorded: MAPWARDEN_TRACK=all
    /// or the clobber guard (`track` and `clobber`, decided once for the
    /// pass-through path).
    var tracksOutside = false
    /// MAPWARDEN_CLOBBER.
    var clobber: ClobberPolicy = .allow
    /// MAPWARDEN_BACKTRACE_DEPTH: return addresses captured per mapping
    /// (0 when stacks are off).
    var backtraceDepth = 0
    /// MAPWARDEN_SNAPSHOT_SIGNAL (0: none); the hooks install its handler.
    var snapshotSignal: Int32 = 0
    /// MAPWARDEN_LOG.
    var log: LogLevel = .info

    /// The windows as the plans see them (MapwardenLogic's WindowView):
    /// their ranges in address order, which of them a file backs, the
    /// address space.
    var view = WindowView(windows: WindowRanges(), fileBacked: 0, space: AddressSpace(pageSize: 4096, userEnd: 0))
    /// The windows' ranges, in address order.
    var windows: WindowRanges { _read { yield view.windows } }
    /// What each window is besides its range (index as in `windows`).
    var windowDetails = Windows.Details()
    /// Whether some window is shared or persistent (else no call needs to
    /// look at a window's backing).
    var anyBacked: Bool { view.fileBacked != 0 }

    /// The process's page size and the end of user space.
    var space: AddressSpace { view.space }
    /// MAPWARDEN_TRACK: what the report covers.
    var track: TrackScope = .window
    /// Where and how the exit report is written.
    var report = ReportSettings()
    /// Whether this kernel names anonymous ranges (learned when the first
    /// window was reserved): else no syscall is spent on a name.
    var namesWork = false
    /// A page the engine owns and never commits, for Probe (0: none).
    var probePage: UInt64 = 0

    /// MAPWARDEN_FAULTS: whether a fatal SIGSEGV or SIGBUS in a window is
    /// explained (the hooks install the handler then; Faults.swift).
    var faults: FaultsPolicy = .off
    /// MAPWARDEN_RAW_SYSCALLS: whether the hooks install the seccomp filter
    /// that traps raw mmap-family calls meeting a window (rawsyscalls.c).
    var rawSyscalls: RawSyscallsPolicy = .off
    /// The tick counter (mw_ticks) and CLOCK_MONOTONIC at start-up: the
    /// reference that turns the unmap history's ticks into "1.2 ms ago".
    var startTicks: UInt64 = 0
    var startNanoseconds: UInt64 = 0

    /// MAPWARDEN_LOG=debug: one line per call that touched a window.
    var debug: Bool { log >= .debug }

    init() {}

    /// The configuration of an engine that starts with these settings and
    /// windows (reserved already; `details` index as in `windows`).
    init(_ settings: Settings, windows: WindowRanges, details: Windows.Details, namesWork: Bool,
         probePage: UInt64, report: ReportSettings) {
        let hull = windows.hull
        windowBase = hull.base
        windowEnd = hull.end
        tracksOutside = settings.track == .all || settings.clobber != .allow
        clobber = settings.clobber
        backtraceDepth = settings.backtraceDepth
        snapshotSignal = settings.snapshotSignal
        log = settings.log
        var fileBacked: UInt32 = 0
        for i in 0..<windows.count where details[i].backing != .private { fileBacked |= 1 << UInt32(i) }
        view = WindowView(windows: windows, fileBacked: fileBacked, space: settings.space)
        windowDetails = details
        track = settings.track
        self.report = report
        self.namesWork = namesWork
        self.probePage = probePage
        faults = settings.faults
        rawSyscalls = settings.rawSyscalls
        startTicks = mw_ticks()
        startNanoseconds = Faults.monotonicNanoseconds()
    }

    /// Sets the configuration, once, before the engine answers any call
    /// (Startup; mw_phase then makes the engine active with release
    /// ordering, as for `engine`).
    static func publish(_ c: EngineConfig) {
        published = c
        publishedView = withUnsafeMutablePointer(to: &published.view) { UnsafePointer($0) }
        publishedWindows = withUnsafeMutablePointer(to: &published.view.windows) { UnsafePointer($0) }
    }

    /// `view` and its windows by address, for the plans (see publishedView).
    static var viewAddress: UnsafePointer<WindowView> {
        @inline(__always) get { publishedView.unsafelyUnwrapped }
    }
    static var windowsAddress: UnsafePointer<WindowRanges> {
        @inline(__always) get { publishedWindows.unsafelyUnwrapped }
    }
}

/// The one stored configuration. Written once, by `EngineConfig.publish`
/// during start-up, and never after (Embedded Swift has no `let` global
/// that start-up could fill in, hence the `var`).
nonisolated(unsafe) private var published = EngineConfig()

/// The address of `published.view` (static storage: it never moves), set
/// with it. The plans take the view by address: a global's value passed to
/// a function is copied first (160 bytes, twice per window call).
nonisolated(unsafe) private var publishedView: UnsafePointer<WindowView>? = nil
nonisolated(unsafe) private var publishedWindows: UnsafePointer<WindowRanges>? = nil

/// The engine's configuration, read-only (see EngineConfig).
/// (Read in place: a call's lookups never copy the whole configuration.)
var config: EngineConfig {
    @inline(__always) _read { yield published }
}
