import CSymbolizer
import Glibc

/// Names return addresses by function, file and line, with their inlined
/// frames, from the ELF files of a report's modules: elfutils' libdwfl, the
/// library behind perf, systemd-coredump and `eu-addr2line -i`.
///
/// It reads the full symbol table (`.symtab`) as well as the dynamic one,
/// DWARF where present, and separate debug files found through
/// `.gnu_debuglink` or by build-id under `/usr/lib/debug/.build-id/` (and
/// under each extra directory given). A module whose file has changed since
/// the report (another build-id) is not trusted: its frames keep the names
/// the library wrote.
final class Symbolizer {
    /// One source-level frame. A return address yields one or more:
    /// the functions inlined at it, innermost first, then the real one.
    struct Location: Hashable {
        var function: String?
        var file: String?
        var line: Int
        var column: Int
        /// From the symbol table: the function's name and this offset in it
        /// (when no line is known).
        var symbolOffset: UInt64?

        /// `FILE:LINE:COLUMN` (as much of it as is known), empty without a file.
        var source: String {
            guard let file else { return "" }
            guard line > 0 else { return file }
            return column > 0 ? "\(file):\(line):\(column)" : "\(file):\(line)"
        }
    }

    enum Answer {
        case resolved([Location])
        /// The file at that path is not the one the process ran.
        case otherBuild(expected: String, found: String)
        /// No file, or nothing known at that address.
        case unknown
    }

    private struct Module {
        let handle: OpaquePointer
        let start: UInt64
        let buildId: String?
    }

    private let dwfl: OpaquePointer
    private let callbacks: UnsafeMutablePointer<Dwfl_Callbacks>
    private let searchPath: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private var modules: [String: Module?] = [:]
    /// Roots of separate debug files (the given ones, then /usr/lib/debug).
    private let debugDirectories: [String]
    private var cache: [String: Answer] = [:]
    /// Modules whose file is another build than the report's, said once each.
    private var otherBuilds: Set<String> = []
    /// Where the next module is placed in libdwfl's address space (each its own
    /// range: the report's modules come from one process, but their paths
    /// are all this symbolizer knows).
    private var nextBase: UInt64 = 1 << 40

    /// `debugDirectories`: more roots for separate debug files, searched
    /// like /usr/lib/debug (DIR/.build-id/xx/rest.debug, DIR/path/debuglink).
    init?(debugDirectories: [String] = []) {
        self.debugDirectories = debugDirectories + ["/usr/lib/debug"]
        let path = ([":.debug", "/usr/lib/debug"] + debugDirectories).joined(separator: ":")
        searchPath = .allocate(capacity: 1)
        searchPath.initialize(to: strdup(path))
        callbacks = .allocate(capacity: 1)
        callbacks.initialize(to: Dwfl_Callbacks(
            find_elf: dwfl_build_id_find_elf,
            find_debuginfo: dwfl_standard_find_debuginfo,
            section_address: dwfl_offline_section_address,
            debuginfo_path: searchPath))
        guard let d = dwfl_begin(callbacks) else {
            free(searchPath.pointee)
            searchPath.deallocate()
            callbacks.deallocate()
            return nil
        }
        dwfl = d
    }

    deinit {
        dwfl_end(dwfl)
        free(searchPath.pointee)
        searchPath.deallocate()
        callbacks.deallocate()
    }

    /// The frames at `offset` from the start of the module at `path` (the
    /// report's module_offset of a return address). `buildId`: the one the
    /// process saw, checked against the file's.
    func resolve(module path: String, offset: UInt64, buildId: String?) -> Answer {
        let key = "\(path)\u{0}\(offset)\u{0}\(buildId ?? "")"
        if let known = cache[key] { return known }
        let answer = lookUp(path, offset, buildId)
        cache[key] = answer
        return answer
    }

    /// Says once per module that its file is not the one the process ran.
    func noteOtherBuild(_ module: String, expected: String, found: String) {
        guard otherBuilds.insert(module).inserted else { return }
        Out.note("\(module) is not the file the process ran (build-id \(found), the report's \(expected)): its frames keep the names the library wrote")
    }

    private func lookUp(_ path: String, _ offset: UInt64, _ buildId: String?) -> Answer {
        guard offset > 0 else { return .unknown }
        let file = module(path)
        var chosen = file
        if let expected = buildId, !expected.isEmpty, file?.buildId != expected {
            // The file changed or went away since the report: a separate
            // debug file of the build the process ran still names its code.
            if let debug = debugFile(expected).flatMap({ self.module($0) }), debug.buildId == expected {
                chosen = debug
            } else if let file {
                return .otherBuild(expected: expected, found: file.buildId ?? "none")
            }
        }
        guard let chosen else { return .unknown }
        // A return address: the call is the instruction before it.
        let pc = chosen.start &+ offset &- 1
        var frames = inlinedFrames(chosen.handle, pc)
        if frames.isEmpty, let symbol = symbol(chosen.handle, pc) {
            frames = [Location(function: symbol.name, file: nil, line: 0, column: 0, symbolOffset: symbol.offset + 1)]
        }
        return frames.isEmpty ? .unknown : .resolved(frames)
    }

    /// DIR/.build-id/xx/rest.debug for the build-id, in the debug directories.
    private func debugFile(_ buildId: String) -> String? {
        guard buildId.count > 2 else { return nil }
        let name = "/.build-id/\(buildId.prefix(2))/\(buildId.dropFirst(2)).debug"
        return debugDirectories.map { $0 + name }.first { access($0, R_OK) == 0 }
    }

    private func module(_ path: String) -> Module? {
        if let known = modules[path] { return known }
        var result: Module?
        defer { modules[path] = result }
        guard access(path, R_OK) == 0 else { return nil }
        dwfl_report_begin_add(dwfl)
        let handle = dwfl_report_elf(dwfl, path, path, -1, nextBase, false)
        dwfl_report_end(dwfl, nil, nil)
        guard let handle else { return nil }
        var start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        _ = dwfl_module_info(handle, nil, &start, &end, nil, nil, nil, nil)
        // The next module goes above this one, on a fresh 4 GiB boundary.
        nextBase = (Swift.max(nextBase, end) + (1 << 32)) & ~((1 << 32) - 1)
        result = Module(handle: handle, start: start, buildId: Symbolizer.buildId(handle))
        return result
    }

    private static func buildId(_ module: OpaquePointer) -> String? {
        var bits: UnsafePointer<UInt8>?
        var vaddr: GElf_Addr = 0
        let n = dwfl_module_build_id(module, &bits, &vaddr)
        guard n > 0, let bits else { return nil }
        return hex(UnsafeBufferPointer(start: bits, count: Int(n)))
    }

    static func hex(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The symbol table's name for pc and pc's offset in it.
    private func symbol(_ module: OpaquePointer, _ pc: UInt64) -> (name: String, offset: UInt64)? {
        var offset: GElf_Off = 0
        var sym = GElf_Sym()
        guard let name = dwfl_module_addrinfo(module, pc, &offset, &sym, nil, nil, nil) else { return nil }
        return (Symbolizer.demangle(String(cString: name)), offset)
    }

    /// The source frames at pc from DWARF, innermost inlined function first;
    /// empty without debug information for pc.
    private func inlinedFrames(_ module: OpaquePointer, _ pc: UInt64) -> [Location] {
        var bias: Dwarf_Addr = 0
        guard let cu = dwfl_module_addrdie(module, pc, &bias) else { return [] }
        var here = Location(function: nil, file: nil, line: 0, column: 0)
        if let line = dwfl_module_getsrc(module, pc) {
            var lineNo: Int32 = 0, column: Int32 = 0
            if let file = dwfl_lineinfo(line, nil, &lineNo, &column, nil, nil) {
                here.file = String(cString: file)
                here.line = Int(lineNo)
                here.column = Int(column)
            }
        }
        // The innermost scope at pc, then the DIEs that physically hold it:
        // an inlined instance sits inside the function it was inlined into
        // (dwarf_getscopes alone would follow the abstract definition).
        var scopes: UnsafeMutablePointer<Dwarf_Die>?
        let n = dwarf_getscopes(cu, pc &- bias, &scopes)
        defer { free(scopes) }
        var chain: UnsafeMutablePointer<Dwarf_Die>?
        let depth = n > 0 && scopes != nil ? dwarf_getscopes_die(scopes!, &chain) : 0
        defer { free(chain) }
        var frames: [Location] = []
        var files: OpaquePointer?
        var fileCount = 0
        _ = dwarf_getsrcfiles(cu, &files, &fileCount)
        if depth > 0, let chain {
            for i in 0..<Int(depth) {
                let die = chain + i
                let tag = dwarf_tag(die)
                guard tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram else { continue }
                here.function = Symbolizer.name(die)
                frames.append(here)
                if tag == DW_TAG_subprogram { break }
                // The next frame out is where this one was inlined.
                here = Location(function: nil, file: nil, line: Symbolizer.attribute(die, DW_AT_call_line),
                                column: Symbolizer.attribute(die, DW_AT_call_column))
                let index = Symbolizer.attribute(die, DW_AT_call_file)
                if let files, index < fileCount, let name = dwarf_filesrc(files, index, nil, nil) {
                    here.file = String(cString: name)
                }
            }
        }
        if frames.isEmpty && here.file != nil {
            // Lines but no function DIE (assembly): name it from the symbols.
            here.function = symbol(module, pc)?.name
            frames.append(here)
        }
        return frames
    }

    /// The function's linkage name demangled, else its plain name.
    private static func name(_ die: UnsafeMutablePointer<Dwarf_Die>) -> String? {
        var attr = Dwarf_Attribute()
        for at in [DW_AT_linkage_name, DW_AT_MIPS_linkage_name, DW_AT_name] {
            if dwarf_attr_integrate(die, UInt32(at), &attr) != nil, let s = dwarf_formstring(&attr) {
                return demangle(String(cString: s))
            }
        }
        return nil
    }

    private static func attribute(_ die: UnsafeMutablePointer<Dwarf_Die>, _ at: Int) -> Int {
        var attr = Dwarf_Attribute()
        var value: Dwarf_Word = 0
        guard dwarf_attr(die, UInt32(at), &attr) != nil, dwarf_formudata(&attr, &value) == 0 else { return 0 }
        return Int(value)
    }

    /// A C++ (`_Z…`) or Swift (`$s…`, `_$s…`) name in readable form; any
    /// other name as it is.
    static func demangle(_ name: String) -> String {
        var text: UnsafeMutablePointer<CChar>?
        if name.hasPrefix("_Z") {
            var status: Int32 = -1
            text = __cxa_demangle(name, nil, nil, &status)
            if status != 0 { text = nil }
        } else if name.hasPrefix("$s") || name.hasPrefix("$S") || name.hasPrefix("_$s") || name.hasPrefix("_$S") {
            text = swift_demangle(name, name.utf8.count, nil, nil, 0)
        }
        guard let text else { return name }
        defer { free(text) }
        return String(cString: text)
    }
}
