#if canImport(Glibc)
import Glibc
#endif
import MapwardenLogic

/// Reads a configuration exactly as the library does, with the library's own
/// code (MapwardenLogic's Settings.read: config file, then the environment,
/// which wins), and keeps every problem with the library's own wording.
struct ConfigCheck {
    /// Where the effective window came from.
    enum WindowOrigin: CustomStringConvertible {
        case builtInDefault
        case file(path: String, line: Int)
        case environment
        case option

        var description: String {
            switch self {
            case .builtInDefault: return "the built-in default"
            case .file(let path, let line): return "\(Paths.display(path)):\(line)"
            case .environment: return "the environment (MAPWARDEN_WINDOW)"
            case .option: return "--window"
            }
        }
    }

    /// One configured window, as the library will reserve it.
    struct WindowInfo {
        /// "default", or the lowercase name of MAPWARDEN_WINDOW_<NAME>.
        var name: String
        var window: Window
        var backing: Backing
        /// The backing file (absolute) of a shared or persistent window.
        var path: String?
        /// The key that configured it (MAPWARDEN_WINDOW, MAPWARDEN_WINDOW_IPC).
        var key: String
        /// The value as written (empty for the built-in default).
        var value: String
        /// Where it was configured.
        var origin: String
        /// Set by an option of this command rather than the environment.
        var fromOption: Bool

        var isDefault: Bool { name == "default" }
        /// `window "ipc"`.
        var title: String { "window \"\(name)\"" }
        var backingText: String { backing.word }
        /// The value with its range only: the same window, private.
        var privateValue: String { "\(Fmt.hex(window.base)):\(Fmt.sizeSpec(window.size))" }
        /// `:OPTIONS` as written in the value, or "".
        var optionsSuffix: String {
            let parts = value.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            return parts.count == 3 ? ":" + parts[2] : ""
        }
    }

    var space: AddressSpace
    var window: Window
    var windowOrigin: WindowOrigin = .builtInDefault
    /// Every window, the default one first, then the named ones in the order
    /// the library configures them (the config file's, then the environment's).
    var windows: [WindowInfo] = []
    /// Every problem, each one line in the library's words.
    var problems: [String] = []
    /// The config file read, if any.
    var configPath: String?
    /// The effective value of each key that was set, and where.
    var values: [String: (value: String, origin: String)] = [:]
    /// Copies of the text the library's parser points into (WindowSpec keeps
    /// pointers to its key, value and path), alive as long as this check.
    private let store = ByteStore()

    var isValid: Bool { problems.isEmpty }

    /// The process's address space, as the library detects it (from the
    /// same facts: the page size and where the stack is).
    static func detectAddressSpace() -> AddressSpace {
        var probe = 0
        let stack = withUnsafePointer(to: &probe) { UInt64(UInt(bitPattern: $0)) }
        return AddressSpace.detect(pageSize: UInt64(sysconf(Int32(_SC_PAGESIZE))), stackAddress: stack)
    }

    /// The prefix of a named window's key.
    static let namedPrefix = Settings.namedWindowPrefix.description

    /// The window name a MAPWARDEN_WINDOW_<NAME> key is for, in lowercase (nil: not such a key).
    static func windowName(ofKey key: String) -> String? {
        guard key.hasPrefix(namedPrefix) else { return nil }
        return String(key.dropFirst(namedPrefix.count)).lowercased()
    }

    /// The environment a program gets when options set `overrides`: a named
    /// window set by an option replaces the environment's entries for the
    /// same window in any case (MAPWARDEN_WINDOW_ipc and _IPC are one window,
    /// and the library would apply both, in the environment's order).
    static func merged(_ environment: [String: String], _ overrides: [String: String]) -> [String: String] {
        var env = environment
        let names = Set(overrides.keys.compactMap(windowName(ofKey:)))
        for key in env.keys where overrides[key] == nil {
            if let n = windowName(ofKey: key), names.contains(n) { env.removeValue(forKey: key) }
        }
        for (k, v) in overrides { env[k] = v }
        return env
    }

    /// - Parameters:
    ///   - configPath: the config file (nil: none).
    ///   - environment: the MAPWARDEN_* variables the program would see.
    ///   - overrides: values set by options (they reach the library through the
    ///     environment, so they are applied as environment values).
    init(configPath: String?, environment: [String: String], overrides: [String: String] = [:]) {
        space = ConfigCheck.detectAddressSpace()
        var settings = Settings(space: space)
        window = settings.window
        self.configPath = configPath
        let env = ConfigCheck.merged(environment, overrides)

        var file = ConfigFile.none
        if let path = configPath, !path.isEmpty {
            switch Paths.read(path, limit: 1 << 20) {
            case .success(let data):
                file = .text(store.copy(data))
            case .failure(let e):
                var line = "mapwarden: MAPWARDEN_CONFIG=" + ConfigCheck.quoted(path) + ": cannot read the config file: "
                line += e.notRegular != 0 ? e.description : e.code == EFBIG ? "it is larger than 1 MiB" : ConfigCheck.errnoText(e.code)
                problems.append(line)
                file = .unreadable
            }
        }
        // The library's own reading, in its order; here each value is also
        // noted with where it came from, and each problem an option of this
        // command caused says so.
        var seenProblems = problems, seenValues = values, seenWindowOrigin = windowOrigin
        let windowKey = ConfigCheck.name(.window)
        _ = settings.read(file: file, environment: CommandEnvironment(env, store), applied: { k, v, origin in
            let key = ConfigCheck.string(k), value = ConfigCheck.string(v)
            switch origin {
            case .file(let line):
                seenValues[key] = (value, "\(Paths.display(configPath ?? "")):\(line)")
                if key == windowKey { seenWindowOrigin = .file(path: configPath ?? "", line: line) }
            case .environment:
                let fromOption = overrides[key] != nil
                seenValues[key] = (value, fromOption ? "option" : "environment")
                if key == windowKey { seenWindowOrigin = fromOption ? .option : .environment }
            }
        }, problem: { error in
            var line = ConfigCheck.describe(error, file: configPath ?? "")
            let own = error.origin == .environment && overrides[ConfigCheck.string(error.key)] != nil
            if own || ConfigCheck.overlapKeys(error).contains(where: { overrides[$0] != nil }) {
                line += " (from the command line)"
            }
            seenProblems.append(line)
        })
        (problems, values, windowOrigin) = (seenProblems, seenValues, seenWindowOrigin)
        window = settings.window
        windows = ConfigCheck.windowInfos(settings.windows, configPath: configPath, overrides: overrides)
    }

    /// The other window's key in an overlap error.
    static func overlapKeys(_ error: ConfigError) -> [String] {
        if case .windowsOverlap(_, let key, _) = error.problem { return [string(key)] }
        return []
    }

    static func string(_ b: Bytes) -> String {
        guard let base = b.base else { return "" }
        return String(decoding: UnsafeBufferPointer(start: base, count: b.count), as: UTF8.self)
    }

    static func windowInfos(_ table: WindowTable, configPath: String?, overrides: [String: String]) -> [WindowInfo] {
        let cwd = Array(Paths.currentDirectory().utf8)
        var out: [WindowInfo] = []
        for i in 0..<table.count {
            let spec = table[i]
            let capacity = 64
            let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            var text = TextBuffer(storage, capacity: capacity)
            text.append(name: spec.name)
            let name = String(decoding: UnsafeBufferPointer(start: storage, count: text.count), as: UTF8.self)
            storage.deallocate()
            var path: String?
            if spec.backing != .private {
                let room = 8192
                let p = UnsafeMutablePointer<UInt8>.allocate(capacity: room)
                var t = TextBuffer(p, capacity: room)
                cwd.withUnsafeBufferPointer { BackingHeader.appendPath(of: spec, cwd: Bytes($0), into: &t) }
                path = String(decoding: UnsafeBufferPointer(start: p, count: t.count), as: UTF8.self)
                p.deallocate()
            }
            let key = string(spec.key), value = string(spec.value)
            let fromOption = overrides[key] != nil
            let origin: String
            switch spec.origin {
            case .file(let line):
                origin = "\(Paths.display(configPath ?? "")):\(line)"
            case .environment:
                if fromOption {
                    origin = i == 0 ? "--window" : "--named-window"
                } else if i == 0 && value.isEmpty {
                    origin = "the built-in default"
                } else {
                    origin = "the environment (\(key))"
                }
            }
            out.append(WindowInfo(name: name, window: spec.window, backing: spec.backing, path: path, key: key,
                                  value: value, origin: origin, fromOption: fromOption))
        }
        return out
    }

    static func name(_ key: SettingKey) -> String {
        let s = key.name
        return s.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }

    /// `ConfigError.describe`, into a String.
    static func describe(_ error: ConfigError, file: String) -> String {
        let capacity = 4096
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { storage.deallocate() }
        var out = TextBuffer(storage, capacity: capacity)
        let name = Array(file.utf8)
        name.withUnsafeBufferPointer { error.describe(into: &out, fileName: Bytes($0)) }
        return String(decoding: UnsafeBufferPointer(start: storage, count: out.count), as: UTF8.self)
    }

    /// `ErrnoText.describe`, into a String: "ENOENT (no such file or directory)".
    static func errnoText(_ code: Int32) -> String {
        text { ErrnoText.describe(code, into: &$0) }
    }

    /// A value in double quotes as the library's messages echo it (escaped,
    /// a long one cut to its first bytes and its length).
    static func quoted(_ value: String) -> String {
        Array(value.utf8).withUnsafeBufferPointer { b in text { $0.appendQuoted(Bytes(b)) } }
    }

    /// What body writes into a TextBuffer.
    static func text(_ body: (inout TextBuffer) -> Void) -> String {
        let capacity = 1024
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { storage.deallocate() }
        var out = TextBuffer(storage, capacity: capacity)
        body(&out)
        return String(decoding: UnsafeBufferPointer(start: storage, count: out.count), as: UTF8.self)
    }

    /// Parses BASE:SIZE as the library does (nil and the message when invalid).
    static func parseWindow(_ text: String) -> Result<Window, Message> {
        let check = ConfigCheck(configPath: nil, environment: [:], overrides: ["MAPWARDEN_WINDOW": text])
        if let p = check.problems.first { return .failure(Message(p)) }
        return .success(check.window)
    }

    /// `NAME=VALUE` as the key MAPWARDEN_WINDOW_<NAME> (NAME in capitals, as
    /// environment variables are written) and the value; nil without '='.
    static func splitNamedWindow(_ text: String) -> (key: String, value: String)? {
        guard let eq = text.firstIndex(of: "=") else { return nil }
        return (namedPrefix + text[..<eq].uppercased(), String(text[text.index(after: eq)...]))
    }

    /// `NAME=BASE:SIZE[:OPTIONS]` of --named-window: the MAPWARDEN_WINDOW_<NAME>
    /// key and the value, or the library's message when it is wrong on its
    /// own (overlaps are judged with the whole configuration). An empty
    /// value removes the window so named (one the config file declares).
    static func parseNamedWindow(_ text: String) -> Result<(key: String, value: String), Message> {
        guard let (key, value) = splitNamedWindow(text) else {
            return .failure(Message("\(text): expected NAME=BASE:SIZE[:OPTIONS], e.g. ipc=0x500000000000:1G:shared"))
        }
        var settings = Settings(space: detectAddressSpace())
        let store = ByteStore()
        do throws(ConfigError) {
            try settings.apply(key: store.copy(key), value: store.copy(value), origin: .environment)
        } catch {
            return .failure(Message(describe(error, file: "")))
        }
        return .success((key, value))
    }

    /// The value a key has in a config file, without judging the rest (nil: not set).
    static func fileValue(_ key: String, inFile path: String) -> String? {
        guard case .success(let data) = Paths.read(path, limit: 1 << 20) else { return nil }
        return data.withUnsafeBufferPointer { buf -> String? in
            var reader = EnvFileReader(Bytes(buf))
            var found: String?
            while true {
                do {
                    guard let entry = try reader.next() else { break }
                    let k = String(decoding: UnsafeBufferPointer(start: entry.key.base, count: entry.key.count), as: UTF8.self)
                    if k == key {
                        found = String(decoding: UnsafeBufferPointer(start: entry.value.base, count: entry.value.count), as: UTF8.self)
                    }
                } catch {
                    continue // a bad line: the reader has moved past it
                }
            }
            return found
        }
    }
}

/// The environment a program is given, as the library reads it: the named
/// windows in sorted order (the library takes them in the environment's
/// order, and run and check give programs their environment sorted).
struct CommandEnvironment: ConfigEnvironment {
    let values: [String: String]
    let store: ByteStore

    init(_ values: [String: String], _ store: ByteStore) {
        self.values = values
        self.store = store
    }

    func value(of key: SettingKey) -> Bytes? {
        values[ConfigCheck.name(key)].map(store.copy)
    }

    func forEachEntry(_ body: (Bytes, Bytes) -> Void) {
        for (key, value) in values.sorted(by: { $0.key < $1.key }) { body(store.copy(key), store.copy(value)) }
    }
}

/// Byte copies that live as long as their store (the library's parser keeps
/// pointers into the text it parsed).
final class ByteStore {
    private var blocks: [UnsafeMutablePointer<UInt8>] = []

    func copy(_ s: String) -> Bytes { copy(Array(s.utf8)) }

    func copy(_ bytes: [UInt8]) -> Bytes {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        p.initialize(from: bytes, count: bytes.count)
        blocks.append(p)
        return Bytes(UnsafePointer(p), count: bytes.count)
    }

    deinit { for p in blocks { p.deallocate() } }
}
