#if canImport(Glibc)
import Glibc
#endif

/// Starting a program and waiting for it as its stand-in: the program's
/// signals are forwarded to it and its end becomes ours.
enum Launch {
    /// Signals sent to mapwarden that are passed on to the program.
    static let forwarded: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT]

    /// How the program ended.
    enum Outcome: Equatable {
        case exited(Int32)
        case signaled(Int32, coreDumped: Bool)

        init(waitStatus st: Int32) {
            let low = st & 0x7F
            if low == 0 {
                self = .exited((st >> 8) & 0xFF)
            } else {
                self = .signaled(low, coreDumped: st & 0x80 != 0)
            }
        }

        var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signaled(let sig, let core):
                return "was killed by \(Fmt.signalName(sig))" + (core ? " (core dumped)" : "")
            }
        }
    }

    enum SpawnError: Error {
        case notFound(String)
        case notExecutable(String, Errno)
        case other(String, Errno)

        /// The shell's status for the failure (127 not found, 126 cannot execute).
        var status: Int32 {
            switch self {
            case .notFound: return 127
            case .notExecutable, .other: return 126
            }
        }

        var message: String {
            switch self {
            case .notFound(let p): return "\(p): command not found"
            case .notExecutable(let p, let e): return "\(p): cannot execute: \(e)"
            case .other(let p, let e): return "\(p): cannot start: \(e)"
            }
        }
    }

    /// Signals that were ignored when mapwarden started: the program keeps
    /// them ignored, as it would across exec (nohup relies on it), and they
    /// are not forwarded.
    nonisolated(unsafe) private static var ignoredAtStart: Set<Int32> = []

    /// Blocks the forwarded signals and SIGCHLD in this thread (call before
    /// any thread exists, so that every later thread inherits the mask), so
    /// that `waitForwarding` receives them with sigwaitinfo.
    static func takeSignals() {
        for sig in forwarded + [SIGCHLD] {
            var old = sigaction()
            if sigaction(sig, nil, &old) == 0 {
                let handler = unsafeBitCast(old.__sigaction_handler.sa_handler, to: Int.self)
                if handler == 1 { ignoredAtStart.insert(sig) } // SIG_IGN
            }
        }
        // An inherited SIGCHLD=SIG_IGN would reap the program behind our back.
        if ignoredAtStart.contains(SIGCHLD) { _ = signal(SIGCHLD, nil) }
        var set = signalSet(forwarded + [SIGCHLD])
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    static func signalSet(_ sigs: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for s in sigs { sigaddset(&set, s) }
        return set
    }

    /// Starts `argv[0]` (searched in PATH when it has no slash) with exactly
    /// `environment`, default signal dispositions (but for signals ignored
    /// when mapwarden started) and an empty signal mask.
    static func spawn(_ argv: [String], environment: [String], stdoutFD: Int32? = nil,
                      stderrFD: Int32? = nil) throws(SpawnError) -> pid_t {
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in Int32(1)..<Int32(65) where sig != SIGKILL && sig != SIGSTOP && !ignoredAtStart.contains(sig) {
            sigaddset(&defaults, sig)
        }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let fd = stdoutFD { posix_spawn_file_actions_adddup2(&actions, fd, 1) }
        if let fd = stderrFD { posix_spawn_file_actions_adddup2(&actions, fd, 2) }

        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        if rc != 0 {
            switch rc {
            case ENOENT: throw .notFound(argv[0])
            case EACCES, ENOEXEC, EISDIR: throw .notExecutable(argv[0], Errno(rc))
            default: throw .other(argv[0], Errno(rc))
            }
        }
        return pid
    }

    /// Waits for `pid`, passing every forwarded signal on to it. A signal the
    /// terminal sent (to the whole foreground process group, so the program
    /// has it already) is not sent a second time.
    static func waitForwarding(_ pid: pid_t) -> Outcome {
        var set = signalSet(forwarded + [SIGCHLD])
        while true {
            var info = siginfo_t()
            let sig = sigwaitinfo(&set, &info)
            if sig < 0 {
                if errno == EINTR { continue }
                return waitBlocking(pid)
            }
            if sig == SIGCHLD {
                var st: Int32 = 0
                let r = waitpid(pid, &st, WNOHANG)
                if r == pid { return Outcome(waitStatus: st) }
                if r < 0 && errno == ECHILD { return .exited(127) }
                continue
            }
            if ignoredAtStart.contains(sig) { continue }
            let fromKernel = info.si_code == 0x80 // SI_KERNEL: the terminal's, sent to the group
            if fromKernel { continue }
            kill(pid, sig)
        }
    }

    /// Waits without forwarding anything.
    static func waitBlocking(_ pid: pid_t) -> Outcome {
        var st: Int32 = 0
        while waitpid(pid, &st, 0) < 0 {
            if errno != EINTR { return .exited(127) }
        }
        return Outcome(waitStatus: st)
    }

    /// Ends mapwarden the way the program ended: the same exit status, or
    /// the same signal (with the default action, without a second core dump).
    static func endLike(_ outcome: Outcome) -> Never {
        Out.flush()
        switch outcome {
        case .exited(let code):
            exit(code)
        case .signaled(let sig, _):
            var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
            var current = rlimit()
            if getrlimit(Int32(RLIMIT_CORE.rawValue), &current) == 0 { noCore.rlim_max = current.rlim_max }
            setrlimit(Int32(RLIMIT_CORE.rawValue), &noCore)
            _ = signal(sig, nil)
            var set = signalSet([sig])
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            raise(sig)
            // Not fatal by default (it should have been): say it as the shell would.
            _exit(128 + sig)
        }
    }
}
