#if canImport(Glibc)
import Glibc
#endif

/// Running the probe in a fresh process and collecting what it printed.
struct ProbeRun {
    /// The (undocumented) argument that makes mapwarden print its maps and exit.
    static let flag = "--internal-probe-layout"

    /// What the probe does: print /proc/self/maps.
    static func printMaps() -> Never {
        guard let text = Paths.readText("/proc/self/maps") else { exit(74) }
        Out.flush()
        var t = text
        t.withUTF8 { buf in _ = write(1, buf.baseAddress, buf.count) }
        exit(0)
    }

    var outcome: Launch.Outcome
    var stdout: String
    var stderr: String

    var maps: [MapsEntry] { MapsEntry.parse(stdout) }

    static func run(environment: [String: String]) -> Result<ProbeRun, Message> {
        guard let exe = Paths.executable() else { return .failure(Message("cannot find this executable (/proc/self/exe)")) }
        let out = tempFile(), err = tempFile()
        guard out >= 0, err >= 0 else { return .failure(Message("cannot create a temporary file: \(Errno(errno))")) }
        defer { close(out); close(err) }
        // Sorted, as run gives it: the library applies MAPWARDEN_WINDOW_<NAME>
        // entries in the environment's order, and ConfigCheck in this one.
        let env = environment.map { "\($0.key)=\($0.value)" }.sorted()
        let pid: pid_t
        do {
            pid = try Launch.spawn([exe, flag], environment: env, stdoutFD: out, stderrFD: err)
        } catch {
            return .failure(Message(error.message))
        }
        let outcome = Launch.waitBlocking(pid)
        return .success(ProbeRun(outcome: outcome, stdout: readAll(out), stderr: readAll(err)))
    }

    /// An anonymous temporary file (O_TMPFILE, or created and unlinked).
    static func tempFile() -> Int32 {
        let fd = open("/tmp", Int32(0o20000000) | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o600)
        if fd >= 0 { return fd }
        var template = Array("/tmp/mapwarden-probe.XXXXXX".utf8CString)
        let made = mkstemp(&template)
        if made >= 0 { unlink(template) }
        return made
    }

    static func readAll(_ fd: Int32) -> String {
        lseek(fd, 0, SEEK_SET)
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            data.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }
}
