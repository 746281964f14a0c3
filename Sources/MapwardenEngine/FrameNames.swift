import CShim
import MapwardenLogic

/// The name of one return address, found at exit with dladdr over the
/// modules loaded then.
struct FrameName {
    var address: UInt64
    /// The object's path, or empty when the address is in none.
    var module: Bytes = .empty
    var moduleBase: UInt64 = 0
    /// The object's GNU build-id in hex, or empty.
    var buildId: Bytes = .empty
    /// The symbol as the object names it (mangled), or empty.
    var symbol: Bytes = .empty
    var symbolAddress: UInt64 = 0

    init(_ address: UInt64) {
        self.address = address
        var info = mw_frame_name()
        guard mw_symbolize(address, &info) != 0 else { return }
        if let m = info.module, m[0] != 0 {
            module = Bytes(cString: UnsafeRawPointer(m).assumingMemoryBound(to: UInt8.self))
            moduleBase = UInt64(info.module_base)
            if let id = mw_build_id(address &- 1) {
                buildId = Bytes(cString: UnsafeRawPointer(id).assumingMemoryBound(to: UInt8.self))
            }
        }
        if let s = info.symbol, s[0] != 0 {
            symbol = Bytes(cString: UnsafeRawPointer(s).assumingMemoryBound(to: UInt8.self))
            symbolAddress = UInt64(info.symbol_address)
        }
    }

    var hasModule: Bool { module.count > 0 }
    var hasSymbol: Bool { symbol.count > 0 }
    var moduleOffset: UInt64 { hasModule ? address &- moduleBase : 0 }
    var symbolOffset: UInt64 { address &- symbolAddress }

    /// Runs body with the readable form of the symbol: demangled (C++ if
    /// libstdc++ is loaded, Swift if a Swift runtime is), else as it is.
    func withName<R>(demangling: Bool = true, _ body: (Bytes) -> R) -> R {
        guard hasSymbol else { return body(.empty) }
        if !demangling { return body(symbol) }
        let buffer = StaticBuffer.demangled
        let n = mw_demangle(UnsafeRawPointer(symbol.base!).assumingMemoryBound(to: CChar.self),
                            UnsafeMutableRawPointer(buffer.base).assumingMemoryBound(to: CChar.self), buffer.size)
        if n == 0 { return body(symbol) }
        return body(Bytes(UnsafePointer(buffer.base), count: n))
    }
}
