import CShim
import MapwardenLogic

/// The report as one JSON object (schema "mapwarden-report", version 1,
/// documented in docs/leak-reports.md), then a newline.
enum JSONReport {
    static let version = 1

    static func write(_ r: LeakReport, _ c: ReportContext, _ out: inout ReportSink) {
        let s = c.settings
        out.text.append("{\"schema\": \"mapwarden-report\", \"version\": ")
        out.text.append(decimal: version)
        out.text.append(",\n \"pid\": ")
        out.text.append(decimal: Process.id)
        out.text.append(", \"parent_pid\": ")
        out.text.append(decimal: Process.parentID)
        out.text.append(", \"forked\": ")
        out.text.append(c.generation > 0 ? "true" : "false")
        out.text.append(",\n \"executable\": ")
        Process.withExecutable { out.text.appendJSONString($0) }
        let now = Int64(WallClock.secondsSinceEpoch)
        out.text.append(", \"exit_time\": \"")
        out.text.append(isoTime: now)
        out.text.append("\", \"exit_time_unix\": ")
        out.text.append(decimal: Int(now))
        out.text.append(", \"ended_by\": ")
        out.text.append("\"")
        out.text.append(s.endedByName)
        out.text.append("\"")
        out.text.append(",\n \"settings\": {\"track\": ")
        out.text.append(config.track == .all ? "\"all\"" : "\"window\"")
        out.text.append(", \"backtrace_depth\": ")
        out.text.append(decimal: config.backtraceDepth)
        out.text.append(", \"clobber\": ")
        switch config.clobber {
        case .allow: out.text.append("\"allow\"")
        case .report: out.text.append("\"report\"")
        case .deny: out.text.append("\"deny\"")
        }
        out.text.append(", \"leak_exitcode\": ")
        out.text.append(decimal: Int(s.leakExitCode))
        out.text.append("},\n \"stacks\": {\"available\": ")
        out.text.append(s.stacksMissing == nil && config.backtraceDepth > 0 ? "true" : "false")
        out.text.append(", \"reason\": ")
        if let why = s.stacksMissing {
            out.text.appendJSONString(Bytes(cString: UnsafeRawPointer(why).assumingMemoryBound(to: UInt8.self)))
        } else if config.backtraceDepth == 0 {
            out.text.append("\"MAPWARDEN_BACKTRACE_DEPTH=0\"")
        } else {
            out.text.append("null")
        }
        out.text.append(", \"unique\": ")
        out.text.append(decimal: c.depot.count)
        out.text.append(", \"dropped\": ")
        out.text.append(decimal: c.droppedStacks)
        out.text.append("},\n \"windows\": [")
        for i in 0..<Windows.count {
            let w = config.windows[i], d = config.windowDetails[i]
            if i > 0 { out.text.append(", ") }
            out.text.append("{\"name\": \"")
            out.text.append(name: d.name)
            out.text.append("\", \"base\": ")
            out.text.appendJSONHex(w.base)
            out.text.append(", \"size\": ")
            out.text.append(unsigned: w.size)
            out.text.append(", \"backing\": ")
            switch d.backing {
            case .private: out.text.append("\"private\"")
            case .shared: out.text.append("\"shared\"")
            case .persistent: out.text.append("\"persistent\"")
            }
            out.text.append(", \"path\": ")
            if let path = d.path {
                out.text.appendJSONString(Bytes(cString: UnsafeRawPointer(path).assumingMemoryBound(to: UInt8.self)))
            } else {
                out.text.append("null")
            }
            out.text.append(", \"mappings\": ")
            out.text.append(decimal: r.perWindow.count(i))
            out.text.append(", \"mapped_bytes\": ")
            out.text.append(unsigned: r.perWindow.size(i))
            out.text.append("}")
            out.room()
        }
        out.text.append("],\n \"statistics\": {\"window_calls\": ")
        let k = c.calls
        out.text.append(decimal: k.mmap + k.munmap + k.mprotect + k.mremap + k.other)
        out.text.append(", \"mmap\": ")
        out.text.append(decimal: k.mmap)
        out.text.append(", \"munmap\": ")
        out.text.append(decimal: k.munmap)
        out.text.append(", \"mprotect\": ")
        out.text.append(decimal: k.mprotect)
        out.text.append(", \"mremap\": ")
        out.text.append(decimal: k.mremap)
        out.text.append(", \"other\": ")
        out.text.append(decimal: k.other)
        out.text.append(", \"tracked_mappings\": ")
        out.text.append(decimal: k.recorded)
        out.text.append(", \"outside_calls\": ")
        out.text.append(decimal: k.outside)
        out.text.append("},\n \"leaks\": [")
        var first = true
        for i in 0..<r.count where r.leaks[i].suppressedBy < 0 {
            out.room()
            let l = r.leaks[i]
            out.text.append(first ? "\n  " : ",\n  ")
            first = false
            leak(l, r, c, &out)
        }
        out.text.append(first ? "],\n" : "\n ],\n")
        out.text.append(" \"suppressed\": [")
        first = true
        if r.suppressed.mappings > 0 {
            let list = s.suppressions
            for i in 0..<Swift.min(list.count, LeakReport.suppressionLimit) where r.suppressionUses[i].0 > 0 {
                out.room()
                out.text.append(first ? "{\"pattern\": " : ", {\"pattern\": ")
                first = false
                out.text.appendJSONString(list.rule(at: i))
                out.text.append(", \"mappings\": ")
                out.text.append(decimal: r.suppressionUses[i].0)
                out.text.append(", \"bytes\": ")
                out.text.append(unsigned: r.suppressionUses[i].1)
                out.text.append("}")
            }
        }
        out.text.append("],\n \"clobbers\": [")
        for i in 0..<c.events.count {
            out.room()
            out.text.append(i == 0 ? "\n  " : ",\n  ")
            event(c.events[i], c, &out)
        }
        out.text.append(c.events.count == 0 ? "],\n" : "\n ],\n")
        out.text.append(" \"summary\": {\"leaked_mappings\": ")
        out.text.append(decimal: r.leaked.mappings)
        out.text.append(", \"leaked_bytes\": ")
        out.text.append(unsigned: r.leaked.bytes)
        out.text.append(", \"suppressed_mappings\": ")
        out.text.append(decimal: r.suppressed.mappings)
        out.text.append(", \"suppressed_bytes\": ")
        out.text.append(unsigned: r.suppressed.bytes)
        out.text.append(", \"inherited_mappings\": ")
        out.text.append(decimal: r.inherited.mappings)
        out.text.append(", \"inherited_bytes\": ")
        out.text.append(unsigned: r.inherited.bytes)
        out.text.append(", \"kept_mappings\": ")
        out.text.append(decimal: r.kept.mappings)
        out.text.append(", \"kept_bytes\": ")
        out.text.append(unsigned: r.kept.bytes)
        out.text.append(", \"clobbers\": ")
        out.text.append(decimal: c.events.total)
        out.text.append("}}\n")
    }

    static func leak(_ l: Leak, _ r: LeakReport, _ c: ReportContext, _ out: inout ReportSink) {
        out.text.append("{\"address\": ")
        out.text.appendJSONHex(l.start)
        out.text.append(", \"size\": ")
        out.text.append(unsigned: l.size)
        out.text.append(", \"protection\": \"")
        out.text.append(protection: l.prot)
        out.text.append("\", \"shared\": ")
        out.text.append(l.kind & MappingKind.shared != 0 ? "true" : "false")
        out.text.append(", \"anonymous\": ")
        out.text.append(l.kind & MappingKind.anonymous != 0 ? "true" : "false")
        out.text.append(", \"moved\": ")
        out.text.append(l.kind & MappingKind.moved != 0 ? "true" : "false")
        out.text.append(", \"path\": ")
        let path = r.path(l)
        if path.count > 0 { out.text.appendJSONString(path) } else { out.text.append("null") }
        out.text.append(", \"offset\": ")
        out.text.append(unsigned: l.offset)
        out.text.append(", \"thread\": ")
        out.text.append(unsigned: UInt64(l.thread))
        out.text.append(", \"inherited\": ")
        out.text.append(l.inherited ? "true" : "false")
        out.text.append(", \"in_window\": ")
        if l.inWindow, let name = Windows.name(containing: l.start) {
            out.text.append("true, \"window\": \"")
            out.text.append(name: name)
            out.text.append("\"")
        } else {
            out.text.append("false, \"window\": null")
        }
        out.text.append(", \"stack_id\": ")
        out.text.append(unsigned: UInt64(l.stack))
        out.text.append(",\n   \"stack\": ")
        stack(l.stack, c, &out)
        out.text.append("}")
    }

    static func event(_ e: GuardEvent, _ c: ReportContext, _ out: inout ReportSink) {
        out.text.append("{\"kind\": ")
        switch e.kind {
        case .clobber: out.text.append("\"clobber\"")
        case .freeWindowCall: out.text.append("\"free-window-call\"")
        case .unmappedWindowMunmap: out.text.append("\"unmapped-window-munmap\"")
        }
        out.text.append(", \"call\": \"")
        out.text.append(e.call)
        out.text.append("\", \"address\": ")
        out.text.appendJSONHex(e.address)
        out.text.append(", \"size\": ")
        out.text.append(unsigned: e.size)
        out.text.append(", \"action\": ")
        out.text.append(e.denied ? "\"denied\"" : "\"reported\"")
        out.text.append(", \"victim\": ")
        e.withVictim { v in
            if v.count > 0 { out.text.appendJSONString(v) } else { out.text.append("null") }
        }
        out.text.append(", \"thread\": ")
        out.text.append(unsigned: UInt64(e.thread))
        out.text.append(",\n   \"stack\": ")
        stack(e.stack, c, &out)
        out.text.append("}")
    }

    static func stack(_ id: UInt32, _ c: ReportContext, _ out: inout ReportSink) {
        let (frames, depth) = c.depot.frames(id)
        out.text.append("[")
        guard let frames else {
            out.text.append("]")
            return
        }
        for f in 0..<depth {
            out.room()
            let name = FrameName(frames[f])
            out.text.append(f == 0 ? "{\"address\": " : ", {\"address\": ")
            out.text.appendJSONHex(name.address)
            out.text.append(", \"module\": ")
            if name.hasModule { out.text.appendJSONString(name.module) } else { out.text.append("null") }
            out.text.append(", \"module_offset\": ")
            out.text.append(unsigned: name.moduleOffset)
            out.text.append(", \"symbol\": ")
            if name.hasSymbol {
                name.withName { out.text.appendJSONString($0) }
                out.text.append(", \"mangled\": ")
                out.text.appendJSONString(name.symbol.slice(0, Swift.min(name.symbol.count, 8192)))
            } else {
                out.text.append("null")
            }
            out.text.append(", \"offset\": ")
            out.text.append(unsigned: name.hasSymbol ? name.symbolOffset : name.moduleOffset)
            out.text.append("}")
        }
        out.text.append("]")
    }
}
