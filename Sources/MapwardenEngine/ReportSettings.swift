import CShim
import MapwardenLogic

/// What the exit report needs to know, fixed at start-up.
struct ReportSettings {
    enum Destination {
        case standardError
        case none
        /// A path template (%p, %e), absolute, in the engine's text area.
        case file(UnsafePointer<CChar>)
    }

    var destination: Destination = .standardError
    /// Whether MAPWARDEN_REPORT was given (else a process that tracked
    /// nothing prints nothing).
    var requested = false
    var format: ReportFormat = .text
    var track: TrackScope = .window
    var clobber: ClobberPolicy = .allow
    var leakExitCode: Int32 = 0
    var depth = 0
    /// A copy of standard error made at start-up (programs close fd 2
    /// before exit), and what it referred to then.
    var standardError: Int32 = 2
    var standardErrorIdentity: UInt = 0
    /// Why there are no stacks, when there are none.
    var stacksMissing: UnsafePointer<CChar>? = nil
    /// The suppressions, over their file kept mapped for the process's life.
    var suppressions: SuppressionList = .none
    /// The process ends through _exit, _Exit or exit_group rather than exit().
    var endedAtOnce = false
}
