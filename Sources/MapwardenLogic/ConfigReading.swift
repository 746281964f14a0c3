/// Reading the whole configuration, in one order for the library and for
/// the `mapwarden` command (which explains a configuration before a program
/// runs with it): each gives the config file's text and its environment.

/// The environment the configuration is read from: the process's own (the
/// library), or the one the `mapwarden` command gives a program.
public protocol ConfigEnvironment {
    /// The value of a key, nil when it is not set.
    func value(of key: SettingKey) -> Bytes?
    /// Every `KEY=VALUE` entry, in the order the program sees them (the
    /// named windows, MAPWARDEN_WINDOW_<NAME>, are picked from these).
    func forEachEntry(_ body: (_ key: Bytes, _ value: Bytes) -> Void)
}

/// The config file named by MAPWARDEN_CONFIG.
public enum ConfigFile {
    /// MAPWARDEN_CONFIG is not set (or empty).
    case none
    /// It cannot be read: the caller has said why; it counts as a problem.
    case unreadable
    /// Its text. The settings point into it: keep it while they are used.
    case text(Bytes)
}

extension Settings {
    /// Applies the configuration in the library's order: the config file's
    /// entries in file order; then the environment's keys in `SettingKey`
    /// order (MAPWARDEN_CONFIG is only read from the environment, by the
    /// caller); then its MAPWARDEN_WINDOW_<NAME> entries in environment
    /// order. A later entry wins, so the environment wins over the file.
    /// When every entry was right, what only the whole configuration shows
    /// (`validate`: overlapping windows, too many).
    ///
    /// Each entry applied is passed to `applied`, each problem to `problem`
    /// (a problem with `.file` origin is in the config file: its name is the
    /// caller's to give). Returns the number of problems, the unreadable
    /// file included.
    public mutating func read<E: ConfigEnvironment>(
        file: ConfigFile, environment: E,
        applied: (_ key: Bytes, _ value: Bytes, _ origin: ConfigError.Origin) -> Void = { _, _, _ in },
        problem: (ConfigError) -> Void
    ) -> Int {
        var problems = 0
        switch file {
        case .none:
            break
        case .unreadable:
            problems += 1
        case .text(let text):
            var reader = EnvFileReader(text)
            while true {
                do {
                    guard let entry = try reader.next() else { break }
                    do {
                        try apply(key: entry.key, value: entry.value, origin: .file(line: entry.line))
                        applied(entry.key, entry.value, .file(line: entry.line))
                    } catch {
                        problem(error)
                        problems += 1
                    }
                } catch {
                    problem(error)
                    problems += 1
                }
            }
        }
        for key in SettingKey.allCases where key != .config {
            guard let value = environment.value(of: key) else { continue }
            let name = Bytes(key.name)
            do {
                try apply(key: name, value: value, origin: .environment)
                applied(name, value, .environment)
            } catch {
                problem(error)
                problems += 1
            }
        }
        environment.forEachEntry { key, value in
            guard key.hasPrefix(Settings.namedWindowPrefix) else { return }
            do throws(ConfigError) {
                try apply(key: key, value: value, origin: .environment)
                applied(key, value, .environment)
            } catch {
                problem(error)
                problems += 1
            }
        }
        if problems == 0 {
            do {
                try validate()
            } catch {
                problem(error)
                problems += 1
            }
        }
        return problems
    }
}
