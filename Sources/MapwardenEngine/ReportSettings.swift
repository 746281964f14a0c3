import CShim
import MapwardenLogic

/// What the exit report needs to know, fixed at start-up (part of
/// `config`; what it covers, the stack depth and the clobber policy are
/// `config.track`, `config.backtraceDepth`, `config.clobber`). The last
/// two fields are filled in at exit, on the report's own copy.
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
    var leakExitCode: Int32 = 0
    /// A copy of standard error made at start-up (programs close fd 2
    /// before exit), and what it referred to then.
    var standardError: Int32 = 2
    var standardErrorIdentity: UInt = 0
    /// Why there are no stacks, when there are none.
    var stacksMissing: UnsafePointer<CChar>? = nil
    /// The suppressions, over their file kept mapped for the process's life.
    var suppressions: SuppressionList = .none
    /// How the process ends (enum mw_end): exit(), or at once.
    var endedBy: Int32 = 0
    /// Who names frames by file and line in the text report at exit.
    enum SymbolizerChoice {
        case none
        /// The `mapwarden` command installed beside the library.
        case beside
        case path(UnsafePointer<CChar>)
    }
    var symbolizer: SymbolizerChoice = .beside
    /// A snapshot of a running process, not its end.
    var snapshot = false
    /// Whether frame names may be demangled (the demanglers allocate: not
    /// when the report runs in a signal handler or at an immediate end).
    var demangles = true
    /// The function or system call that ends it, as the reports name it.
    var endedByValue: ReportSchema.EndedBy {
        if snapshot { return .snapshot }
        return switch UInt32(endedBy) {
        case MW_END__EXIT.rawValue: ._exit
        case MW_END__EXIT_C99.rawValue: ._Exit
        case MW_END_QUICK_EXIT.rawValue: .quickExit
        case MW_END_EXIT_GROUP.rawValue: .exitGroup
        case MW_END_CRASH.rawValue: .crash
        default: .exit
        }
    }
}
