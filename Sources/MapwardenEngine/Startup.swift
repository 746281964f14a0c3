import CShim
import MapwardenLogic

/// Start-up: read the configuration, reserve the window, set up the
/// registry. Runs once, before main or on the first interposed call.
enum Startup {
    /// The address space of this process.
    static func detectAddressSpace() -> AddressSpace {
        var space: AddressSpace
        #if arch(x86_64)
        space = .x86_64
        #else
        // aarch64: the stack sits near the top of user space; below 2^39
        // means a 39-bit kernel.
        space = UInt64(mw_stack_address()) < (1 << 39) ? .aarch64VA39 : .aarch64VA48
        #endif
        space.pageSize = UInt64(mw_page_size())
        return space
    }

    static func run() -> Bool {
        // setuid/setgid programs: trust nothing from the environment.
        if mw_at_secure() != 0 { return false }

        let space = detectAddressSpace()
        var settings = Settings(space: space)
        // Read once quietly to learn the policy and the log level, then, if
        // anything was wrong and it is worth saying, again aloud.
        let configErrors = readConfiguration(into: &settings, reporting: false)
        if configErrors > 0 && settings.saysFailures {
            var again = Settings(space: space)
            _ = readConfiguration(into: &again, reporting: true)
        }
        // Before the reservation: the early environment copy (if any) must
        // not sit in a configured window.
        mw_release_initial_environment()
        if configErrors > 0 {
            return giveUp(settings, status: ExitStatus.badConfig, because: "the configuration is invalid")
        }

        guard let window = Reservation.reserve(settings.window, space: settings.space, explaining: settings.saysFailures) else {
            return giveUp(settings, status: ExitStatus.reservationFailed, because: "the window cannot be reserved")
        }
        guard let arena = MetadataArena.create() else {
            _ = Kernel.munmap(window.base, window.size)
            Output.line { $0.append("mapwarden: cannot map memory for the registry (ENOMEM)") }
            return giveUp(settings, status: ExitStatus.reservationFailed, because: "mapwarden has no memory for its registry")
        }
        let stateMemory = UnsafeMutableRawPointer(bitPattern: UInt(arena.base))!
        let nodes = stateMemory + Int(EngineState.nodesOffset)
        let capacity = EngineState.registryCapacity(arena)
        Probe.page = arena.base + MetadataArena.reservedBytes - settings.space.pageSize
        let state = stateMemory.bindMemory(to: EngineState.self, capacity: 1)
        state.initialize(to: EngineState(
            window: window, space: settings.space, log: settings.log, arena: arena,
            registry: MappingRegistry(storage: nodes, capacity: capacity)))
        engine = state
        windowBase = window.base
        windowEnd = window.end
        Debug.enabled = settings.log >= .debug
        pageSize = settings.space.pageSize
        userEnd = settings.space.userEnd
        if settings.log >= .debug {
            Output.line { out in
                out.append("mapwarden: window ")
                out.append(window: window)
                out.append(" reserved")
            }
        }
        return true
    }

    /// The config file, then the environment (which wins). Returns how many
    /// problems there were, printing each when `reporting`.
    static func readConfiguration(into settings: inout Settings, reporting: Bool) -> Int {
        var errors = 0
        let configPath = mw_getenv(SettingKey.config.cName)
        if let configPath, configPath[0] != 0 {
            errors += loadFile(configPath, into: &settings, reporting: reporting)
        }
        for key in SettingKey.allCases where key != .config {
            guard let value = mw_getenv(key.cName) else { continue }
            let raw = UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self)
            do {
                try settings.apply(key: Bytes(key.name), value: Bytes(cString: raw), origin: .environment)
            } catch {
                if reporting { report(error, file: .empty) }
                errors += 1
            }
        }
        return errors
    }

    static let configFileLimit: UInt64 = 1 << 20

    /// Applies every entry of the config file; returns how many were wrong.
    static func loadFile(_ path: UnsafePointer<CChar>, into settings: inout Settings, reporting: Bool) -> Int {
        let name = Bytes(cString: UnsafeRawPointer(path).assumingMemoryBound(to: UInt8.self))
        let file = ScratchFile(path: path, limit: configFileLimit + 1)
        defer { file.release() }
        if file.buffer == nil || file.errno != 0 || UInt64(file.count) > configFileLimit {
            if reporting {
                Output.line { out in
                    out.append("mapwarden: MAPWARDEN_CONFIG=")
                    out.appendQuoted(name)
                    out.append(": cannot read the config file: ")
                    if file.buffer != nil && file.errno == 0 {
                        out.append("it is larger than 1 MiB")
                    } else {
                        ErrnoText.describe(file.errno, into: &out)
                    }
                }
            }
            return 1
        }
        var errors = 0
        var reader = EnvFileReader(file.bytes)
        while true {
            do {
                guard let entry = try reader.next() else { break }
                do {
                    try settings.apply(key: entry.key, value: entry.value, origin: .file(line: entry.line))
                } catch {
                    if reporting { report(error, file: name) }
                    errors += 1
                }
            } catch {
                if reporting { report(error, file: name) }
                errors += 1
            }
        }
        return errors
    }

    static func report(_ error: ConfigError, file: Bytes) {
        Output.line { error.describe(into: &$0, fileName: file) }
    }

    /// Under `abort`, exits with status; under `warn`, runs without a window.
    static func giveUp(_ settings: Settings, status: Int32, because reason: StaticString) -> Bool {
        if settings.onReserveFailure == .abort {
            Output.line { out in
                out.append("mapwarden: ")
                out.append(reason)
                out.append("; exiting with status ")
                out.append(decimal: Int(status))
                out.append(" (MAPWARDEN_ON_RESERVE_FAILURE=abort)")
            }
            Kernel.exit(status)
        }
        if settings.saysFailures {
            Output.line { out in
                out.append("mapwarden: ")
                out.append(reason)
                out.append("; the program runs without a window (MAPWARDEN_ON_RESERVE_FAILURE=warn)")
            }
        }
        return false
    }
}

extension Settings {
    /// Whether a failure is worth printing: always when it is fatal (abort),
    /// otherwise unless MAPWARDEN_LOG=quiet.
    var saysFailures: Bool { onReserveFailure == .abort || log >= .info }
}

extension SettingKey {
    var cName: UnsafePointer<CChar> { cString(name) }
}
