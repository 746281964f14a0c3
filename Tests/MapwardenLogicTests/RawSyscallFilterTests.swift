import Testing
@testable import MapwardenLogic

/// The seccomp filter of MAPWARDEN_RAW_SYSCALLS=trap, run here by a small
/// classic-BPF interpreter (the kernel's semantics for the opcodes the
/// builder uses) against sample seccomp_data: which calls are trapped.
@Suite struct RawSyscallFilterTests {
    typealias I = RawSyscallFilter.Instruction

    static let x86 = RawSyscallFilter.ABI(
        audit: 0xC000_003E, mmap: 9, munmap: 11, mprotect: 10, pkeyMprotect: 329, mremap: 25, madvise: 28,
        mlock: 149, mlock2: 325, munlock: 150, msync: 26, mincore: 27, mapFixedFlags: 0x10 | 0x100000,
        remapFixed: 2, allow: 0x7FFF_0000, trap: 0x0003_0000, ownCall: 0x4D57_4D57)
    static let trap = 0x0003_0000 | RawSyscallFilter.trapData
    static let allow: UInt32 = 0x7FFF_0000
    static let text: (lo: UInt64, hi: UInt64) = (0x7F00_1234_5000, 0x7F00_1240_0000)
    static let P: UInt64 = 4096

    struct Call {
        var nr: UInt32
        var arch: UInt32 = 0xC000_003E
        var ip: UInt64 = 0x5555_0000_1000
        var args: [UInt64]
    }

    /// Runs a program the way the kernel's BPF interpreter does.
    static func run(_ prog: [I], _ c: Call) -> UInt32 {
        var data = [UInt32](repeating: 0, count: 16)
        data[0] = c.nr
        data[1] = c.arch
        data[2] = UInt32(truncatingIfNeeded: c.ip)
        data[3] = UInt32(truncatingIfNeeded: c.ip >> 32)
        for (i, v) in (c.args + [UInt64](repeating: 0, count: 6 - c.args.count)).enumerated() {
            data[4 + 2 * i] = UInt32(truncatingIfNeeded: v)
            data[5 + 2 * i] = UInt32(truncatingIfNeeded: v >> 32)
        }
        var a: UInt32 = 0, x: UInt32 = 0
        var mem = [UInt32](repeating: 0, count: 16)
        var pc = 0
        while pc < prog.count {
            let ins = prog[pc]
            pc += 1
            switch ins.code {
            case 0x20: a = data[Int(ins.k) / 4]
            case 0x60: a = mem[Int(ins.k)]
            case 0x00: a = ins.k
            case 0x61: x = mem[Int(ins.k)]
            case 0x02: mem[Int(ins.k)] = a
            case 0x0C: a = a &+ x
            case 0x05: pc += Int(ins.k)
            case 0x15: pc += Int(a == ins.k ? ins.jt : ins.jf)
            case 0x25: pc += Int(a > ins.k ? ins.jt : ins.jf)
            case 0x35: pc += Int(a >= ins.k ? ins.jt : ins.jf)
            case 0x3D: pc += Int(a >= x ? ins.jt : ins.jf)
            case 0x45: pc += Int(a & ins.k != 0 ? ins.jt : ins.jf)
            case 0x06: return ins.k
            default: Issue.record("unexpected opcode \(ins.code)"); return 0
            }
        }
        Issue.record("ran off the end")
        return 0
    }

    static func program(_ windows: [Window]) -> [I] {
        var ranges = WindowRanges()
        for w in windows { ranges.insert(w) }
        var buf = [I](repeating: I(0, 0, 0, 0), count: RawSyscallFilter.capacity)
        let n = buf.withUnsafeMutableBufferPointer { RawSyscallFilter.build(windows: ranges, exempt: text, abi: x86, into: $0) }
        #expect(n > 0)
        // Every jump lands inside the program (the kernel's check).
        for (i, ins) in buf[0..<n].enumerated() where ins.code & 0x07 == 0x05 {
            let far = ins.code == 0x05 ? Int(ins.k) : Int(max(ins.jt, ins.jf))
            #expect(i + 1 + far < n)
        }
        return Array(buf[0..<n])
    }

    static let w1 = Window(base: 0x4000_0000_0000, size: 1 << 40)
    static let w2 = Window(base: 0x1_0000_0000, size: 0x1000_0000) // low half crosses into the high half's 1

    @Test func ordinarySystemCallsAreAllowed() {
        let p = Self.program([Self.w1])
        #expect(Self.run(p, Call(nr: 39, args: [])) == Self.allow) // getpid
        #expect(Self.run(p, Call(nr: 0, args: [3, Self.w1.base, 100])) == Self.allow) // read into the window
        // another architecture (i386's audit value), even for number 11 over the window
        #expect(Self.run(p, Call(nr: 11, arch: 0x4000_0003, args: [Self.w1.base, Self.P])) == Self.allow)
    }

    @Test func rangedCallsMeetingAWindowAreTrapped() {
        let p = Self.program([Self.w1])
        let b = Self.w1.base, e = Self.w1.end
        for nr: UInt32 in [11, 10, 329, 28, 149, 325, 150, 26, 27] {
            #expect(Self.run(p, Call(nr: nr, args: [b, Self.P])) == Self.trap)
            #expect(Self.run(p, Call(nr: nr, args: [e - Self.P, Self.P])) == Self.trap)
            // straddling the base, from below
            #expect(Self.run(p, Call(nr: nr, args: [b - Self.P, 2 * Self.P])) == Self.trap)
            // ending exactly at the base, starting exactly at the end: outside
            #expect(Self.run(p, Call(nr: nr, args: [b - Self.P, Self.P])) == Self.allow)
            #expect(Self.run(p, Call(nr: nr, args: [e, Self.P])) == Self.allow)
            // far away
            #expect(Self.run(p, Call(nr: nr, args: [0x5555_0000_0000, 16 * Self.P])) == Self.allow)
            // around the whole window
            #expect(Self.run(p, Call(nr: nr, args: [b - Self.P, Self.w1.size + 2 * Self.P])) == Self.trap)
        }
    }

    @Test func theEndsCarryCrossesTheHalves() {
        // a range whose end's low half wraps: 0xFFFF_F000 + 0x2000 = 0x1_0000_1000
        let p = Self.program([Self.w2])
        #expect(Self.run(p, Call(nr: 11, args: [0xFFFF_F000, 0x2000])) == Self.trap)
        #expect(Self.run(p, Call(nr: 11, args: [0xFFFF_F000, 0x1000])) == Self.allow)
        #expect(Self.run(p, Call(nr: 11, args: [0xFFFF_E000, 0x1000])) == Self.allow)
        #expect(Self.run(p, Call(nr: 11, args: [0x1_0FFF_F000, 0x1000])) == Self.trap)
        #expect(Self.run(p, Call(nr: 11, args: [0x1_1000_0000, 0x1000])) == Self.allow)
    }

    @Test func callsFromMapwardensOwnCodeAreAllowed() {
        let p = Self.program([Self.w1])
        let inside = Call(nr: 11, ip: Self.text.lo, args: [Self.w1.base, Self.P])
        #expect(Self.run(p, inside) == Self.allow)
        #expect(Self.run(p, Call(nr: 9, ip: Self.text.hi - 2, args: [Self.w1.base, Self.P, 3, 0x32, ~0, 0])) == Self.allow)
        #expect(Self.run(p, Call(nr: 25, ip: Self.text.lo + 0x100, args: [Self.w1.base, Self.P, Self.P, 0, 0])) == Self.allow)
        // one byte outside the library's text on either side: trapped
        #expect(Self.run(p, Call(nr: 11, ip: Self.text.hi, args: [Self.w1.base, Self.P])) == Self.trap)
        #expect(Self.run(p, Call(nr: 11, ip: Self.text.lo - 1, args: [Self.w1.base, Self.P])) == Self.trap)
    }

    @Test func callsCarryingMapwardensMarkAreAllowedFromAnywhere() {
        // (after exec: the parent's filter, the child's mapwarden elsewhere)
        let p = Self.program([Self.w1])
        let b = Self.w1.base, mark: UInt64 = 0x4D57_4D57
        #expect(Self.run(p, Call(nr: 11, args: [b, Self.P, 0, 0, 0, mark])) == Self.allow)
        #expect(Self.run(p, Call(nr: 10, args: [b, Self.P, 1, 0, 0, mark])) == Self.allow)
        #expect(Self.run(p, Call(nr: 25, args: [b, Self.P, Self.P, 0, 0, mark])) == Self.allow)
        // mmap: in the high half of fd (the kernel reads an int)
        #expect(Self.run(p, Call(nr: 9, args: [b, Self.P, 0, 0x32, mark << 32 | 0xFFFF_FFFF, 0])) == Self.allow)
        // fd -1 as a 64-bit value, or the mark where mmap has its offset: trapped
        #expect(Self.run(p, Call(nr: 9, args: [b, Self.P, 0, 0x32, ~0, 0])) == Self.trap)
        #expect(Self.run(p, Call(nr: 9, args: [b, Self.P, 0, 0x32, ~0, mark])) == Self.trap)
        // another value in the sixth argument: trapped
        #expect(Self.run(p, Call(nr: 11, args: [b, Self.P, 0, 0, 0, mark + 1])) == Self.trap)
    }

    @Test func mmapIsTrappedWhenFixedOrHintedIntoAWindow() {
        let p = Self.program([Self.w1])
        let b = Self.w1.base
        let anon: UInt64 = 0x22, fixed: UInt64 = 0x10, noreplace: UInt64 = 0x100000
        #expect(Self.run(p, Call(nr: 9, args: [b, Self.P, 3, anon | fixed, ~0, 0])) == Self.trap)
        #expect(Self.run(p, Call(nr: 9, args: [b, Self.P, 3, anon | noreplace, ~0, 0])) == Self.trap)
        #expect(Self.run(p, Call(nr: 9, args: [b + 5 * Self.P, Self.P, 3, anon, ~0, 0])) == Self.trap) // a hint
        #expect(Self.run(p, Call(nr: 9, args: [0, Self.P, 3, anon, ~0, 0])) == Self.allow)
        // address 0 with a length into the window: placed by the kernel, never there
        #expect(Self.run(p, Call(nr: 9, args: [0, b + Self.P, 3, anon, ~0, 0])) == Self.allow)
        // MAP_FIXED at 0 over the window's base: trapped
        #expect(Self.run(p, Call(nr: 9, args: [0, b + Self.P, 3, anon | fixed, ~0, 0])) == Self.trap)
        #expect(Self.run(p, Call(nr: 9, args: [0x1000_0000, Self.P, 3, anon | fixed, ~0, 0])) == Self.allow)
    }

    @Test func mremapLooksAtTheOldRangeItsGrowthAndAFixedTarget() {
        let p = Self.program([Self.w1])
        let b = Self.w1.base, out: UInt64 = 0x1000_0000
        #expect(Self.run(p, Call(nr: 25, args: [b, Self.P, 2 * Self.P, 1, 0])) == Self.trap)
        #expect(Self.run(p, Call(nr: 25, args: [b, 0, Self.P, 1, 0])) == Self.trap) // length 0 in the window
        // growing in place from just below the window
        #expect(Self.run(p, Call(nr: 25, args: [b - Self.P, Self.P, 2 * Self.P, 0, 0])) == Self.trap)
        #expect(Self.run(p, Call(nr: 25, args: [out, Self.P, 2 * Self.P, 1, 0])) == Self.allow)
        // MREMAP_FIXED into the window; the same target without the flag is not read
        #expect(Self.run(p, Call(nr: 25, args: [out, Self.P, Self.P, 3, b])) == Self.trap)
        #expect(Self.run(p, Call(nr: 25, args: [out, Self.P, Self.P, 1, b])) == Self.allow)
    }

    @Test func eachWindowIsCheckedAndTheGapsBetweenThemAreNot() {
        let a = Window(base: 0x2000_0000_0000, size: 1 << 30), c = Window(base: 0x3000_0000_0000, size: 1 << 30)
        var ws = [a, c]
        for i in 0..<6 { ws.append(Window(base: 0x5000_0000_0000 + UInt64(i) << 36, size: 1 << 32)) }
        let p = Self.program(ws)
        #expect(p.count <= RawSyscallFilter.capacity)
        for w in ws {
            #expect(Self.run(p, Call(nr: 10, args: [w.base, Self.P, 1])) == Self.trap)
            #expect(Self.run(p, Call(nr: 10, args: [w.end - 1, 1, 1])) == Self.trap)
            #expect(Self.run(p, Call(nr: 10, args: [w.end, Self.P, 1])) == Self.allow)
        }
        #expect(Self.run(p, Call(nr: 10, args: [0x2800_0000_0000, Self.P, 1])) == Self.allow)
    }

    @Test func aBufferTooSmallBuildsNothing() {
        var ranges = WindowRanges()
        ranges.insert(Self.w1)
        var buf = [I](repeating: I(0, 0, 0, 0), count: 40)
        let n = buf.withUnsafeMutableBufferPointer {
            RawSyscallFilter.build(windows: ranges, exempt: Self.text, abi: Self.x86, into: $0)
        }
        #expect(n == 0)
    }
}
