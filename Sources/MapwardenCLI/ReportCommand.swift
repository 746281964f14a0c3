import ArgumentParser
import Foundation
import MapwardenLogic

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Show leak reports: one, or many merged (e.g. every process of a forking program).",
        discussion: """
            Reads JSON reports written by the library (MAPWARDEN_REPORT_FORMAT=json, the \
            default of mapwarden run) and prints them in the library's text format. With \
            several reports, leaks with the same stack are merged across processes: frames \
            are compared by module and offset (or symbol and offset), since ASLR gives \
            each process other addresses. Groups are ordered by bytes, largest first; \
            mappings a forked child inherited are listed apart and not counted.

            Frames are named by function, file and line, inlined frames included, \
            with elfutils' libdw: DWARF in the module or in a separate debug file \
            (.gnu_debuglink, or by build-id under /usr/lib/debug and each --debug-dir), \
            else the symbol table (.symtab). A module rebuilt since the run (another \
            build-id) is not trusted.

            --svg draws each window: a bar to scale with every leaked range marked, and \
            a detail bar where nearby ranges are grouped and drawn to their own scale, \
            with the free gaps shortened and their sizes written on them (hover over a \
            range for its address, size and top frame).

            EXAMPLES:
              mapwarden report mapwarden.myprog.1234.json
              mapwarden report mapwarden.*.json --top 3
              mapwarden report mapwarden.*.json --format json > merged.json
              mapwarden report mapwarden.*.json --svg window.svg && xdg-open window.svg
              mapwarden report --debug-dir ./debug mapwarden.myprog.1234.json
              mapwarden report mapwarden.*.json --flamegraph leaks.svg --folded leaks.folded
              mapwarden report --diff server.snapshot-1.json server.snapshot-5.json
            """
    )

    @Argument(help: ArgumentHelp("JSON reports to read.", valueName: "file"))
    var files: [String]

    @Option(name: .long, help: ArgumentHelp("Output format: text (as the library writes it) or json (merged).", valueName: "text|json"))
    var format: ReportFormat = .text

    @Option(name: .long, help: ArgumentHelp("Show only the N largest groups (0: all).", valueName: "n"))
    var top: Int = 0

    @Option(name: .long, help: ArgumentHelp("Also draw the window(s) as an SVG picture into this file.", valueName: "out.svg"))
    var svg: String?

    @Option(name: .long, help: ArgumentHelp(
        "Also draw the leaked bytes by stack as a flame graph (self-contained SVG) into this file.", valueName: "out.svg"))
    var flamegraph: String?

    @Option(name: .long, help: ArgumentHelp(
        "Also write the leaked bytes by stack as collapsed stacks (flamegraph.pl, inferno, speedscope) into this file; - for standard output.",
        valueName: "out.folded"))
    var folded: String?
    @Flag(name: .long, help: "Compare two reports (OLD NEW), by stack: what grew and what shrank, largest growth first.")
    var diff = false

    @Option(name: .customLong("debug-dir"), help: ArgumentHelp(
        "Also look for separate debug files here (DIR/.build-id/xx/rest.debug, as under /usr/lib/debug). Repeatable.",
        valueName: "dir"))
    var debugDirs: [String] = []

    @Flag(name: .customLong("no-symbolize"), help: "Name frames only as the library wrote them (no files and lines).")
    var noSymbolize = false

    func validate() throws {
        if files.isEmpty { throw ValidationError("Give at least one report file.") }
        if top < 0 { throw ValidationError("--top \(top): expected 0 or more") }
        if diff && files.count != 2 { throw ValidationError("--diff compares two reports: OLD NEW (got \(files.count))") }
    }

    func run() throws {
        var sources: [MergedReport.Source] = []
        var failed = false
        for file in files {
            do {
                sources.append(.init(file: file, report: try LeakReport.load(file)))
            } catch {
                Out.note(error.description)
                failed = true
            }
        }
        if failed { throw ExitCode(65) }
        if diff {
            let symbolizer = noSymbolize ? nil : Symbolizer(debugDirectories: debugDirs.map(Paths.absolute))
            print(ReportDiff(old: sources[0], new: sources[1]).render(symbolizer: symbolizer), terminator: "")
            return
        }
        sources.sort { ($0.report.exitTimeUnix ?? 0, $0.report.pid) < ($1.report.exitTimeUnix ?? 0, $1.report.pid) }
        let merged = MergedReport(sources)
        let limit = top == 0 ? nil : top
        // (`--folded -` takes standard output for itself.)
        switch folded == "-" ? nil : format {
        case nil: break
        case .text?:
            var text = ReportText(merged: merged, top: limit)
            if !noSymbolize { text.symbolizer = Symbolizer(debugDirectories: debugDirs.map(Paths.absolute)) }
            print(text.render(), terminator: "")
        case .json?: print(try MergedJSON(merged, top: limit).render(), terminator: "")
        }
        if flamegraph != nil || folded != nil {
            let symbolizer = noSymbolize ? nil : Symbolizer(debugDirectories: debugDirs.map(Paths.absolute))
            let profile = StackProfile(merged, symbolizer: symbolizer)
            if let folded {
                if folded == "-" {
                    print(profile.folded(), terminator: "")
                } else if let e = Paths.write(folded, profile.folded()) {
                    Out.note("--folded \(folded): cannot write: \(e)")
                    throw ExitCode(73)
                }
            }
            if let flamegraph {
                let name = merged.sources.count == 1 ? "\(Paths.basename(merged.sources[0].report.executable ?? "?")) (pid \(merged.sources[0].report.pid))"
                                                     : "\(merged.sources.count) reports"
                let svg = FlameGraph(profile: profile, title: "mapwarden: leaked bytes by stack, \(name)").render()
                if let e = Paths.write(flamegraph, svg) {
                    Out.note("--flamegraph \(flamegraph): cannot write: \(e)")
                    throw ExitCode(73)
                }
                Out.note("flame graph written to \(flamegraph)")
            }
        }
        if let svg {
            if let e = Paths.write(svg, SVGPicture(merged: merged).render()) {
                Out.note("--svg \(svg): cannot write: \(e)")
                throw ExitCode(73)
            }
            Out.note("picture written to \(svg)")
        }
    }
}
