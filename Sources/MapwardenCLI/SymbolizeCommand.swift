import ArgumentParser
import Foundation

/// `mapwarden symbolize`: the library's symbolizer process (ExternalNames
/// in the engine). Reads `MODULE\tOFFSET_HEX\tBUILD_ID` lines on standard
/// input and answers each with one line: the frames at that address,
/// innermost inlined function first, separated by 0x1E, each
/// `FUNCTION\tFILE:LINE:COLUMN\tSYMBOL_OFFSET_HEX`; an empty line when
/// nothing is known. Not for people: hidden from the help.
struct SymbolizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "symbolize",
        abstract: "Name return addresses for the library's report at exit (its protocol, on standard input).",
        shouldDisplay: false
    )

    func run() throws {
        let symbolizer = Symbolizer()
        var out = FileHandle.standardOutput
        while let line = readLine(strippingNewline: true) {
            print(SymbolizeCommand.answer(line, symbolizer), to: &out)
        }
    }

    static func answer(_ line: String, _ symbolizer: Symbolizer?) -> String {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
        guard let symbolizer, fields.count >= 2, let offset = UInt64(fields[1], radix: 16) else { return "" }
        let buildId = fields.count > 2 && !fields[2].isEmpty ? String(fields[2]) : nil
        guard case .resolved(let locations) = symbolizer.resolve(module: String(fields[0]), offset: offset, buildId: buildId)
        else { return "" }
        return locations.map { l in
            let clean = { (s: String) in String(s.map { $0 == "\t" || $0 == "\n" || $0 == "\u{1E}" ? " " : $0 }) }
            return clean(l.function ?? "??") + "\t" + clean(l.source) + "\t" + String(l.symbolOffset ?? 0, radix: 16)
        }.joined(separator: "\u{1E}")
    }
}

extension FileHandle: @retroactive TextOutputStream {
    public func write(_ string: String) { write(Data(string.utf8)) }
}
