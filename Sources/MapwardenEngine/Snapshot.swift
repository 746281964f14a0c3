import CShim
import MapwardenLogic

/// Snapshots of the live mappings of a running process: the exit report's
/// content, as JSON, marked `"ended_by": "snapshot"`, written without
/// stopping the program (mapwarden_report_now, MAPWARDEN_SNAPSHOT_SIGNAL,
/// `mapwarden snapshot PID`). A snapshot never sets the exit status.
///
/// One report at a time (platform/report_gate.h): a snapshot asked for
/// while another is being written, or once the end's report has begun, is
/// not taken (EAGAIN). The file appears whole: it is written under a
/// `.part` name and renamed.
enum Snapshot {
    /// Writes a snapshot to `path` (a template: %p, %e, as MAPWARDEN_REPORT),
    /// or to the next default name (`Snapshot.defaultTemplate`). 0, or -errno.
    /// `demangling`: false from a signal handler (the demanglers allocate).
    static func write(to path: UnsafePointer<CChar>?, demangling: Bool) -> Int {
        guard let state = engine else { return -Int(ENOSYS) }
        guard mw_report_gate_try_snapshot() != 0 else { return -Int(EAGAIN) }
        defer { mw_report_gate_end_snapshot() }
        let template: Bytes
        if let path {
            template = Bytes(cString: UnsafeRawPointer(path).assumingMemoryBound(to: UInt8.self))
        } else {
            state.pointee.snapshots += 1
            template = defaultTemplate(number: state.pointee.snapshots)
        }
        // The final path, then the same with ".part", both NUL-terminated.
        let buffer = StaticBuffer.reportPath
        var text = TextBuffer(buffer.base, capacity: buffer.size)
        let expanded = Process.withExecutable { ReportPath.expand(template, pid: Process.id, executable: $0, into: &text) }
        let length = text.count
        guard expanded, length > 0, length <= Settings.maximumPathLength else { return -Int(ENAMETOOLONG) }
        text.append(byte: 0)
        text.append(Bytes(UnsafePointer(buffer.base), count: length))
        text.append(".part")
        text.append(byte: 0)
        let final = UnsafeRawPointer(buffer.base).assumingMemoryBound(to: CChar.self)
        let part = final + length + 1
        let fd = Kernel.create(part, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0o644)
        if fd.failed { return -Int(fd.errno) }
        if FileFacts.type(of: Int32(fd.raw)).raw != Int(FileType.regular) {
            Kernel.close(Int32(fd.raw))
            return -Int(EINVAL)
        }
        let r = LeakReport.writeSnapshot(to: Int32(fd.raw), demangling: demangling)
        Kernel.close(Int32(fd.raw))
        if r != 0 {
            _ = Kernel.unlink(part)
            return -Int(r)
        }
        let renamed = Kernel.rename(part, final)
        if renamed.failed {
            _ = Kernel.unlink(part)
            return -Int(renamed.errno)
        }
        return 0
    }

    /// Where snapshot n goes by default: beside the report file, its name
    /// with `.snapshot-N.json` in place of its extension
    /// (`mapwarden.prog.%p.json` → `mapwarden.prog.%p.snapshot-1.json`);
    /// without a report file, `mapwarden.%e.%p.snapshot-N.json` in the
    /// current directory.
    static func defaultTemplate(number n: Int) -> Bytes {
        let buffer = StaticBuffer.snapshotTemplate
        var text = TextBuffer(buffer.base, capacity: buffer.size)
        if case .file(let report) = config.report.destination {
            let t = Bytes(cString: UnsafeRawPointer(report).assumingMemoryBound(to: UInt8.self))
            var stem = t.count
            // The extension: after the last dot of the last path component.
            var i = t.count - 1
            while i > 0 && t[i] != 0x2F {
                if t[i] == 0x2E { stem = i; break }
                i -= 1
            }
            text.append(t.slice(0, stem))
            text.append(".snapshot-")
        } else {
            text.append("mapwarden.%e.%p.snapshot-")
        }
        text.append(decimal: n)
        text.append(".json")
        return text.bytes
    }
}

extension LeakReport {
    /// A snapshot's content, as JSON, to fd. 0, or an errno.
    static func writeSnapshot(to fd: Int32, demangling: Bool) -> Int32 {
        guard let state = engine else { return ENOSYS }
        // (Never called with the lock held by this thread: a handler that
        // interrupted the engine deferred its snapshot to the unlock.)
        mw_lock()
        guard var report = LeakReport(&state.pointee) else {
            mw_unlock()
            return ENOMEM
        }
        var settings = config.report
        settings.snapshot = true
        settings.demangles = demangling
        settings.format = .json
        if config.backtraceDepth > 0, let why = mw_backtrace_error() { settings.stacksMissing = why }
        let events = state.pointee.events
        // What a handler logged meanwhile goes in now, in order (a snapshot
        // it asked for is this one).
        if mw_deferred_count() != 0 { _ = Deferral.apply(&state.pointee) }
        mw_unlock()
        report.complete(settings)
        report.write(to: fd, settings, &state.pointee, events: events)
        return 0
    }
}
