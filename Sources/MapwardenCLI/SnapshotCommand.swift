import ArgumentParser
import Foundation
import MapwardenLogic

/// `mapwarden snapshot PID`: asks a running process for a snapshot of its
/// live mappings (its MAPWARDEN_SNAPSHOT_SIGNAL) and waits for the file.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Ask a running process for a snapshot of its live mappings, and wait for the file.",
        discussion: """
            The process must run under mapwarden with MAPWARDEN_SNAPSHOT_SIGNAL set (for \
            example mapwarden run --snapshot-signal SIGUSR2 -- ./server). mapwarden sends it \
            that signal, waits for the new snapshot file (beside its report, named \
            NAME.snapshot-N.json, or mapwarden.PROGRAM.PID.snapshot-N.json in its working \
            directory) and prints its path. Compare two with mapwarden report --diff.

            EXAMPLES:
              mapwarden snapshot 4242
              a=$(mapwarden snapshot 4242); sleep 600; b=$(mapwarden snapshot 4242)
              mapwarden report --diff "$a" "$b"
            """
    )

    @Argument(help: ArgumentHelp("The process.", valueName: "pid"))
    var pid: Int32

    @Option(name: .long, help: ArgumentHelp("Give up after this many seconds.", valueName: "seconds"))
    var timeout: Double = 10

    func validate() throws {
        if pid <= 0 { throw ValidationError("pid \(pid): expected a process id above 0") }
        if !(timeout > 0) { throw ValidationError("--timeout \(timeout): expected more than 0 seconds") }
    }

    func run() throws {
        guard let environ = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")) else {
            Out.note("pid \(pid): no such process, or not one of yours (cannot read /proc/\(pid)/environ)")
            throw ExitCode(69)
        }
        var env: [String: String] = [:]
        for entry in environ.split(separator: 0) {
            let s = String(decoding: entry, as: UTF8.self)
            if let eq = s.firstIndex(of: "=") { env[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
        }
        let cwd = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) ?? "/"
        // The setting as the library read it: the environment, else the config file.
        let configPath = env[SettingKey.config.word].map { $0.hasPrefix("/") ? $0 : cwd + "/" + $0 }
        let setting = { (key: SettingKey) in env[key.word] ?? configPath.flatMap { ConfigCheck.fileValue(key.word, inFile: $0) } }
        let signalKey = SettingKey.snapshotSignal.word
        let signalWord = setting(.snapshotSignal) ?? ""
        let store = ByteStore()
        guard let sig = Settings.parseSnapshotSignal(store.copy(signalWord)), sig > 0 else {
            Out.note("pid \(pid) was not started with \(signalKey) (\(signalWord.isEmpty ? "not set" : "\"\(signalWord)\"")): it takes no snapshots; start it with mapwarden run --snapshot-signal SIGUSR2")
            throw ExitCode(69)
        }
        let exe = Paths.basename((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe")) ?? "?")
        let (directory, prefix) = SnapshotCommand.where(report: setting(.report), pid: Int(pid), executable: exe, cwd: cwd)
        let before = Set(SnapshotCommand.snapshots(in: directory, prefix: prefix))
        guard kill(pid, sig) == 0 else {
            Out.note("pid \(pid): cannot send it signal \(sig): \(String(cString: strerror(errno)))")
            throw ExitCode(69)
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let new = SnapshotCommand.snapshots(in: directory, prefix: prefix).first(where: { !before.contains($0) }) {
                print(directory + "/" + new)
                return
            }
            usleep(20_000)
        }
        Out.note("pid \(pid): no new snapshot \(directory)/\(prefix)N.json after \(timeout) s (is its handler for signal \(sig) still mapwarden's?)")
        throw ExitCode(75)
    }

    /// The directory of the snapshots and their names' start
    /// (Snapshot.defaultTemplate in the library).
    static func `where`(report: String?, pid: Int, executable: String, cwd: String) -> (String, String) {
        var template = "mapwarden.%e.%p"
        if let r = report, r != "stderr", r != "none", !r.isEmpty {
            template = r
            if let dot = r.lastIndex(of: "."), !r[dot...].contains("/") { template = String(r[..<dot]) }
        }
        let expanded = Rendered.text { store, out in
            _ = ReportPath.expand(store.copy(template), pid: pid, executable: store.copy(executable), into: &out)
        }
        let full = expanded.hasPrefix("/") ? expanded : cwd + "/" + expanded
        let slash = full.lastIndex(of: "/")!
        return (String(full[..<slash]), String(full[full.index(after: slash)...]) + ".snapshot-")
    }

    static func snapshots(in directory: String, prefix: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }
    }
}
