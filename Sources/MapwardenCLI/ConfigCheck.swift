#if canImport(Glibc)
import Glibc
#endif
import MapwardenLogic

/// Reads a configuration exactly as the library does (config file, then the
/// environment, which wins) with MapwardenLogic's own parser, and keeps every
/// problem with the library's own wording.
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

    var space: AddressSpace
    var window: Window
    var windowOrigin: WindowOrigin = .builtInDefault
    /// Every problem, each one line in the library's words.
    var problems: [String] = []
    /// The config file read, if any.
    var configPath: String?
    /// The effective value of each key that was set, and where.
    var values: [String: (value: String, origin: String)] = [:]

    var isValid: Bool { problems.isEmpty }

    /// The process's address space, as the library detects it.
    static func detectAddressSpace() -> AddressSpace {
        var space: AddressSpace
        #if arch(x86_64)
        space = .x86_64
        #else
        var probe = 0
        let stack = withUnsafePointer(to: &probe) { UInt64(UInt(bitPattern: $0)) }
        space = stack < (1 << 39) ? .aarch64VA39 : .aarch64VA48
        #endif
        space.pageSize = UInt64(sysconf(Int32(_SC_PAGESIZE)))
        return space
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

        if let path = configPath, !path.isEmpty {
            readFile(path, into: &settings)
        }
        for key in SettingKey.allCases where key != .config {
            let name = ConfigCheck.name(key)
            let fromOption = overrides[name]
            guard let value = fromOption ?? environment[name] else { continue }
            let ok = apply(name: name, value: value, origin: .environment, file: "", to: &settings)
            if ok {
                values[name] = (value, fromOption != nil ? "option" : "environment")
                if key == .window { windowOrigin = fromOption != nil ? .option : .environment }
            } else if fromOption != nil, let last = problems.last {
                problems[problems.count - 1] = last + " (from the command line)"
            }
        }
        window = settings.window
    }

    static func name(_ key: SettingKey) -> String {
        let s = key.name
        return s.withUTF8Buffer { String(decoding: $0, as: UTF8.self) }
    }

    private mutating func readFile(_ path: String, into settings: inout Settings) {
        let data: [UInt8]
        switch Paths.read(path, limit: 1 << 20) {
        case .success(let d): data = d
        case .failure(let e):
            var line = "mapwarden: MAPWARDEN_CONFIG=\"\(path)\": cannot read the config file: "
            line += e.code == EFBIG ? "it is larger than 1 MiB" : ConfigCheck.errnoText(e.code)
            problems.append(line)
            return
        }
        data.withUnsafeBufferPointer { buf in
            var reader = EnvFileReader(Bytes(buf))
            while true {
                do throws(ConfigError) {
                    guard let entry = try reader.next() else { break }
                    let key = String(decoding: UnsafeBufferPointer(start: entry.key.base, count: entry.key.count), as: UTF8.self)
                    let value = String(decoding: UnsafeBufferPointer(start: entry.value.base, count: entry.value.count), as: UTF8.self)
                    if apply(name: key, value: value, origin: .file(line: entry.line), file: path, to: &settings) {
                        values[key] = (value, "\(Paths.display(path)):\(entry.line)")
                        if key == "MAPWARDEN_WINDOW" { windowOrigin = .file(path: path, line: entry.line) }
                    }
                } catch {
                    problems.append(ConfigCheck.describe(error, file: path))
                }
            }
        }
    }

    /// Applies one assignment; on failure records the library's message.
    private mutating func apply(name: String, value: String, origin: ConfigError.Origin, file: String,
                                to settings: inout Settings) -> Bool {
        let k = Array(name.utf8), v = Array(value.utf8)
        var failure: ConfigError?
        k.withUnsafeBufferPointer { kb in
            v.withUnsafeBufferPointer { vb in
                do throws(ConfigError) {
                    try settings.apply(key: Bytes(kb), value: Bytes(vb), origin: origin)
                } catch {
                    failure = error
                }
            }
        }
        if let failure {
            problems.append(ConfigCheck.describe(failure, file: file))
            return false
        }
        return true
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
        let capacity = 256
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { storage.deallocate() }
        var out = TextBuffer(storage, capacity: capacity)
        ErrnoText.describe(code, into: &out)
        return String(decoding: UnsafeBufferPointer(start: storage, count: out.count), as: UTF8.self)
    }

    /// Parses BASE:SIZE as the library does (nil and the message when invalid).
    static func parseWindow(_ text: String) -> Result<Window, Message> {
        let check = ConfigCheck(configPath: nil, environment: [:], overrides: ["MAPWARDEN_WINDOW": text])
        if let p = check.problems.first { return .failure(Message(p)) }
        return .success(check.window)
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
