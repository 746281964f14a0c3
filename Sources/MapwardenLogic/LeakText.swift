/// The lines of the text report (LeakSanitizer's shape) that the library
/// writes at exit and the `mapwarden` command writes again from JSON
/// reports: defined once here. What only one of them writes stays with it:
/// the library's group heads and clobber lines, the command's merged forms
/// (pids, counts of alike events, the Windows block).
public enum LeakText {
    /// How a clean report's one line begins (`mapwarden run` looks for it).
    public static let noLeaksStart: StaticString = "mapwarden: no leaks"
    /// How the summary line begins (`mapwarden run` reads its totals).
    public static let summaryStart: StaticString = "SUMMARY: mapwarden: "

    /// `mapwarden: no leaks (pid 4242, 5 mappings tracked, all unmapped)`, or
    /// `...tracked; N kept in shared or persistent windows (B bytes, not leaks))`.
    public static func noLeaks(pid: Int, tracked: Int, kept: ReportCount, _ out: inout TextBuffer) {
        out.append(noLeaksStart)
        out.append(" (pid ")
        out.append(decimal: pid)
        out.append(", ")
        out.append(count: tracked, "mapping tracked", "mappings tracked")
        if kept.mappings > 0 {
            keptClause(kept, &out)
            out.append(")")
        } else {
            out.append(tracked == 1 ? ", unmapped)" : ", all unmapped)")
        }
    }

    /// `==4242== mapwarden: 3 leaked mappings (12288 bytes) at exit of leaky`
    /// (`3 live mappings (12288 bytes) at snapshot of server` for a snapshot).
    public static func head(pid: Int, leaked: ReportCount, endedBy: ReportSchema.EndedBy, program: Bytes,
                            _ out: inout TextBuffer) {
        out.append("==")
        out.append(decimal: pid)
        out.append("== mapwarden: ")
        if endedBy == .snapshot {
            out.append(count: leaked.mappings, "live mapping", "live mappings")
        } else {
            out.append(count: leaked.mappings, "leaked mapping", "leaked mappings")
        }
        out.append(" (")
        out.append(unsigned: leaked.bytes)
        out.append(" bytes) at ")
        out.append(endedBy.name)
        out.append(" of ")
        out.append(program)
    }

    /// `#0 0x55d1c0a1b2c3 in leak_two+0x1c (/tmp/t/leaky)`, `#1 0x... in ?? (MODULE+0xOFF)`
    /// or `#2 0x... in ??` (without the indent); with the source known,
    /// `#0 0x55d1c0a1b2c3 in leak_two /src/leaky.c:12:5` as LeakSanitizer writes it.
    public static func frame(_ n: Int, _ f: ReportFrameFacts, _ out: inout TextBuffer) {
        out.append("#")
        out.append(decimal: n)
        out.append(" ")
        out.append(hex: f.address)
        out.append(" in ")
        if f.source.count > 0 {
            if f.hasSymbol { out.append(f.readable) } else { out.append("??") }
            out.append(" ")
            out.append(f.source)
        } else if f.hasSymbol {
            out.append(f.readable)
            out.append("+")
            out.append(hex: f.symbolOffset)
            if f.hasModule {
                out.append(" (")
                out.append(f.module)
                out.append(")")
            }
        } else if f.hasModule {
            out.append("?? (")
            out.append(f.module)
            out.append("+")
            out.append(hex: f.moduleOffset)
            out.append(")")
        } else {
            out.append("??")
        }
    }

    /// `4096 bytes, rw-, private anonymous, thread 1234` (in the parentheses
    /// of an `at` line), with `, in window "NAME"` when `namingWindow` (the
    /// process has several windows).
    public static func details(_ l: ReportLeakFacts, namingWindow: Bool, _ out: inout TextBuffer) {
        out.append(unsigned: l.size)
        out.append(" bytes, ")
        out.append(protection: l.protection)
        out.append(l.shared ? ", shared" : ", private")
        if l.anonymous {
            out.append(" anonymous")
        } else if l.moved && l.path.count == 0 {
            out.append(" (moved by mremap)")
        } else {
            out.append(" file ")
            out.append(l.path)
            out.append(" offset ")
            out.append(hex: l.offset)
        }
        if !l.inWindow {
            out.append(", outside the window")
        } else if namingWindow, let name = l.window {
            out.append(", in window \"")
            out.append(name: name)
            out.append("\"")
        }
        if l.thread != 0 {
            out.append(", thread ")
            out.append(unsigned: UInt64(l.thread))
        }
        if l.inherited { out.append(", inherited") }
    }

    /// The heading of the suppressions table (two lines, no newline after).
    public static let suppressionsHeading: StaticString = "Suppressions used:\n  mappings        bytes  pattern"

    /// `         3        24576  leak:known_leak`: a row of the table.
    public static func suppression(_ pattern: Bytes, _ hidden: ReportCount, _ out: inout TextBuffer) {
        out.append(unsigned: UInt64(hidden.mappings), width: 10, fill: 0x20)
        out.append(" ")
        out.append(unsigned: hidden.bytes, width: 12, fill: 0x20)
        out.append("  ")
        out.append(pattern)
    }

    /// What an event names first, in the report and in the line said at
    /// once: `clobber: mmap MAP_FIXED 0x...+0x...`.
    public static func eventHead(_ kind: ReportSchema.EventKind, _ call: StaticString, _ address: UInt64, _ size: UInt64,
                                 _ out: inout TextBuffer) {
        out.append(kind.title)
        out.append(call)
        out.append(kind == .clobber ? " MAP_FIXED " : " ")
        out.append(hex: address)
        out.append("+")
        out.append(hex: size)
    }

    /// The heading of the clobbers section.
    public static let clobbersHeading: StaticString = "Clobbers and misuse:"

    /// `clobber: mmap MAP_FIXED 0x...+0x... over [heap], thread 7: denied (EEXIST)`.
    public static func event(_ e: ReportEventFacts, _ out: inout TextBuffer) {
        eventHead(e.kind, e.call, e.address, e.size, &out)
        if e.victim.count > 0 {
            out.append(" over ")
            out.append(e.victim)
        }
        if e.thread != 0 {
            out.append(", thread ")
            out.append(unsigned: UInt64(e.thread))
        }
        switch e.kind {
        case .clobber: out.append(e.denied ? ": denied (EEXIST)" : ": reported")
        case .freeWindowCall: out.append(": refused (ENOMEM)")
        case .unmappedWindowMunmap: out.append(": nothing to unmap")
        }
    }

    /// `SUMMARY: mapwarden: 12288 bytes leaked in 3 mappings; 0 suppressed
    /// (0 bytes); 0 inherited (0 bytes); 0 clobbers` and the kept clause
    /// (the caller ends it with "." or adds to it).
    public static func summary(_ t: ReportTotals, _ out: inout TextBuffer) {
        out.append(summaryStart)
        out.append(unsigned: t.leaked.bytes)
        out.append(" bytes leaked in ")
        out.append(count: t.leaked.mappings, "mapping", "mappings")
        out.append("; ")
        out.append(decimal: t.suppressed.mappings)
        out.append(" suppressed (")
        out.append(unsigned: t.suppressed.bytes)
        out.append(" bytes); ")
        out.append(decimal: t.inherited.mappings)
        out.append(" inherited (")
        out.append(unsigned: t.inherited.bytes)
        out.append(" bytes); ")
        out.append(count: t.clobbers, "clobber", "clobbers")
        if t.kept.mappings > 0 { keptClause(t.kept, &out) }
    }

    /// `; N kept in shared or persistent windows (B bytes, not leaks)`.
    public static func keptClause(_ kept: ReportCount, _ out: inout TextBuffer) {
        out.append("; ")
        out.append(decimal: kept.mappings)
        out.append(" kept in shared or persistent windows (")
        out.append(unsigned: kept.bytes)
        out.append(" bytes, not leaks)")
    }

}
