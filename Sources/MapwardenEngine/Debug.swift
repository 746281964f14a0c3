import CShim
import MapwardenLogic

/// MAPWARDEN_LOG=debug: one line per call that touched a window, e.g.
/// `mapwarden: mmap 0x400000010000+0x3000 prot 3 flags 0x32 -> 0x400000010000`.
/// (Whether they are wanted: `config.debug`.)
enum Debug {
    @inline(never) // (cold: kept out of the calls that check config.debug)
    static func call(_ name: StaticString, _ addr: UInt64, _ len: UInt64, _ a: Int64? = nil, _ aName: StaticString = "",
                     _ b: Int64? = nil, _ bName: StaticString = "", result r: KernelResult) {
        Output.line { out in
            out.append("mapwarden: ")
            out.append(name)
            out.append(" ")
            out.append(hex: addr)
            out.append("+")
            out.append(hex: len)
            if let a {
                out.append(" ")
                out.append(aName)
                out.append(" ")
                out.append(hex: UInt64(bitPattern: a))
            }
            if let b {
                out.append(" ")
                out.append(bName)
                out.append(" ")
                out.append(hex: UInt64(bitPattern: b))
            }
            out.append(" -> ")
            if r.failed {
                ErrnoText.describe(r.errno, into: &out)
            } else {
                out.append(hex: r.address)
            }
        }
    }
}
