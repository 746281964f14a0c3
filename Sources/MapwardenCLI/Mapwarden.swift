import ArgumentParser

/// The entry point: the hidden probe that `check` runs in a fresh process,
/// else the command line.
@main
enum Entry {
    static func main() {
        let args = CommandLine.arguments
        if args.count == 2 && args[1] == ProbeRun.flag {
            ProbeRun.printMaps()
        }
        Mapwarden.main()
    }
}

struct Mapwarden: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapwarden",
        abstract: "Reliable fixed-address memory for unmodified Linux programs.",
        discussion: """
            mapwarden reserves an address window before a program's main() and serves \
            MAP_FIXED and hinted mmap calls inside it, so that nothing else lands there \
            and nothing there is clobbered. It also tracks what the program leaves mapped \
            at exit (leak reports).

            This command runs programs with the preload library (run), checks that a \
            window can be had and explains why not (check), and renders the reports \
            (report).

            EXAMPLES:
              mapwarden run -- ./my-emulator game.rom
              mapwarden run --window 0x566000000000:64G -- ./tsan-built-program
              mapwarden run --leak-exitcode 23 --report leaks.%p.json -- ./tests
              mapwarden check --config /usr/local/share/mapwarden/emulator.env
              mapwarden report mapwarden.*.json --top 5 --svg window.svg

            Every option of run is also a MAPWARDEN_* environment variable or a line in \
            a config file (see share/mapwarden/*.env); explicit options win over the \
            environment, which wins over the config file.
            """,
        version: Version.string,
        subcommands: [RunCommand.self, CheckCommand.self, ReportCommand.self, SnapshotCommand.self, SymbolizeCommand.self]
    )
}
