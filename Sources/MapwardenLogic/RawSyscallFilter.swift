/// MAPWARDEN_RAW_SYSCALLS=trap: the seccomp filter (classic BPF) that sends
/// a raw mmap-family system call to mapwarden's SIGSYS handler when its
/// range meets a window, and lets every other call through
/// (docs/raw-syscalls.md). Which calls can change a window is decided here,
/// once; what a trapped call then does is decided by the same plans as a
/// call through libc's symbols (the handler calls the same engine entry
/// points).
///
/// The program, in order:
///  - another architecture (the audit value): allowed;
///  - a number outside the family: allowed (the kernel's per-number cache
///    of "always allowed" answers, Linux 5.11+, then skips the filter for
///    it: nothing before this point reads the instruction pointer or an
///    argument);
///  - a call made from mapwarden's own code (the instruction pointer in
///    the library's executable segment, `exempt`): allowed;
///  - a call that carries mapwarden's mark (`abi.ownCall`, in a register the
///    kernel ignores for that call: the sixth argument's low half, or for
///    mmap the high half of fd): allowed. (After exec the filter inherited
///    from the parent knows only the parent's code range; the mark is what
///    lets the new process's mapwarden reserve its windows.)
///  - munmap, mprotect, pkey_mprotect, madvise, mlock, mlock2, munlock,
///    msync, mincore: trapped when [addr, addr + len) meets a window;
///  - mmap: the same, but a call with address 0 and neither MAP_FIXED nor
///    MAP_FIXED_NOREPLACE is allowed at once (the kernel places it, never in
///    a reserved window);
///  - mremap: trapped when [old, old + old_len), [old, old + new_len) (a
///    growth in place) or, with MREMAP_FIXED, [new, new + new_len) meets a
///    window.
///
/// "Meets" is `addr < window.end && (addr >= window.base || addr + len >
/// window.base)`: an empty range that starts inside a window meets it (an
/// mremap of length 0), and the kernel's page rounding (down for the
/// start, up for the length) never widens a range that does not meet it
/// by this test into one that does. 64-bit values are compared as two
/// 32-bit halves (seccomp's BPF is 32-bit; little-endian layout of
/// seccomp_data, as on x86-64 and aarch64), the end computed with the carry
/// in scratch memory. A trapped call returns `trap | trapData`: the handler
/// knows its own SIGSYS by si_errno == trapData.
public enum RawSyscallFilter {
    /// One BPF instruction, laid out as the kernel's `struct sock_filter`.
    public struct Instruction: Equatable, Sendable {
        public var code: UInt16
        public var jt: UInt8
        public var jf: UInt8
        public var k: UInt32
        public init(_ code: UInt16, _ jt: UInt8, _ jf: UInt8, _ k: UInt32) {
            self.code = code
            self.jt = jt
            self.jf = jf
            self.k = k
        }
    }

    /// The facts of the ABI the filter runs under, from the system headers
    /// (the engine gives them; the unit tests give x86-64's).
    public struct ABI: Sendable {
        public var audit: UInt32
        public var mmap: UInt32, munmap: UInt32, mprotect: UInt32, pkeyMprotect: UInt32, mremap: UInt32
        public var madvise: UInt32, mlock: UInt32, mlock2: UInt32, munlock: UInt32, msync: UInt32, mincore: UInt32
        /// MAP_FIXED | MAP_FIXED_NOREPLACE, and MREMAP_FIXED.
        public var mapFixedFlags: UInt32, remapFixed: UInt32
        /// SECCOMP_RET_ALLOW, SECCOMP_RET_TRAP.
        public var allow: UInt32, trap: UInt32
        /// The mark of mapwarden's own calls (MW_OWN_CALL).
        public var ownCall: UInt32
        public init(audit: UInt32, mmap: UInt32, munmap: UInt32, mprotect: UInt32, pkeyMprotect: UInt32,
                    mremap: UInt32, madvise: UInt32, mlock: UInt32, mlock2: UInt32, munlock: UInt32, msync: UInt32,
                    mincore: UInt32, mapFixedFlags: UInt32, remapFixed: UInt32, allow: UInt32, trap: UInt32,
                    ownCall: UInt32) {
            self.audit = audit
            self.mmap = mmap
            self.munmap = munmap
            self.mprotect = mprotect
            self.pkeyMprotect = pkeyMprotect
            self.mremap = mremap
            self.madvise = madvise
            self.mlock = mlock
            self.mlock2 = mlock2
            self.munlock = munlock
            self.msync = msync
            self.mincore = mincore
            self.mapFixedFlags = mapFixedFlags
            self.remapFixed = remapFixed
            self.allow = allow
            self.trap = trap
            self.ownCall = ownCall
        }
    }

    /// The SECCOMP_RET_DATA of mapwarden's traps ("MW"), the handler's si_errno.
    public static let trapData: UInt32 = 0x4D57

    /// Classic BPF's opcodes (<linux/bpf_common.h>; the ABI, fixed).
    static let ldAbs: UInt16 = 0x20 // BPF_LD | BPF_W | BPF_ABS
    static let ldMem: UInt16 = 0x60 // BPF_LD | BPF_MEM
    static let ldImm: UInt16 = 0x00 // BPF_LD | BPF_IMM
    static let ldxMem: UInt16 = 0x61 // BPF_LDX | BPF_MEM
    static let st: UInt16 = 0x02 // BPF_ST
    static let addX: UInt16 = 0x0C // BPF_ALU | BPF_ADD | BPF_X
    static let ja: UInt16 = 0x05 // BPF_JMP | BPF_JA
    static let jeqK: UInt16 = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
    static let jgtK: UInt16 = 0x25 // BPF_JMP | BPF_JGT | BPF_K
    static let jgeK: UInt16 = 0x35 // BPF_JMP | BPF_JGE | BPF_K
    static let jgeX: UInt16 = 0x3D // BPF_JMP | BPF_JGE | BPF_X
    static let jsetK: UInt16 = 0x45 // BPF_JMP | BPF_JSET | BPF_K
    static let retK: UInt16 = 0x06 // BPF_RET | BPF_K

    /// seccomp_data's offsets: nr, arch, instruction_pointer, args[6].
    static let nrOffset: UInt32 = 0, archOffset: UInt32 = 4, ipOffset: UInt32 = 8
    static func argOffset(_ i: UInt32) -> UInt32 { 16 + 8 * i }
    /// Scratch memory: the range's start (lo, hi), end (lo, hi), the carry.
    static let startLo: UInt32 = 0, startHi: UInt32 = 1, endLo: UInt32 = 2, endHi: UInt32 = 3, carry: UInt32 = 4

    /// The largest program (8 windows): well under BPF_MAXINSNS (4096).
    public static let capacity = 1024

    /// Writes the filter for windows (in address order) and the exempt
    /// code range [exempt.lo, exempt.hi) into out; returns its length, or 0
    /// when out is too small.
    public static func build(windows: WindowRanges, exempt: (lo: UInt64, hi: UInt64), abi: ABI,
                             into out: UnsafeMutableBufferPointer<Instruction>) -> Int {
        var a = Assembler(out: out)
        let n = windows.count
        let rangeChecks = rangeCheckSize(n)
        let exemptSize = 11 + 3
        let rangeBlock = exemptSize + rangeChecks + 1
        let mmapBlock = exemptSize + 7 + rangeChecks + 1
        let remapBlock = exemptSize + 3 * rangeChecks + 4

        a.emit(ldAbs, 0, 0, archOffset)
        a.emit(jeqK, 1, 0, abi.audit)
        a.emit(retK, 0, 0, abi.allow)
        a.emit(ldAbs, 0, 0, nrOffset)
        // The calls on [arg0, arg0 + arg1): one block, entered from any of them.
        for i in 0..<rangedCount {
            a.emit(jeqK, UInt8(rangedCount - i), 0, ranged(i, abi))
        }
        a.emit(ja, 0, 0, UInt32(rangeBlock))
        a.exempt(exempt, abi)
        a.marked(argOffset(5), abi)
        a.rangeChecks(addr: 0, len: 1, windows, abi)
        a.emit(retK, 0, 0, abi.allow)

        a.emit(jeqK, 1, 0, abi.mmap)
        a.emit(ja, 0, 0, UInt32(mmapBlock))
        a.exempt(exempt, abi)
        a.marked(argOffset(4) + 4, abi)
        // Address 0 without a fixed flag: the kernel places it.
        a.emit(ldAbs, 0, 0, argOffset(0))
        a.emit(jeqK, 0, 5, 0)
        a.emit(ldAbs, 0, 0, argOffset(0) + 4)
        a.emit(jeqK, 0, 3, 0)
        a.emit(ldAbs, 0, 0, argOffset(3))
        a.emit(jsetK, 1, 0, abi.mapFixedFlags)
        a.emit(retK, 0, 0, abi.allow)
        a.rangeChecks(addr: 0, len: 1, windows, abi)
        a.emit(retK, 0, 0, abi.allow)

        a.emit(jeqK, 1, 0, abi.mremap)
        a.emit(ja, 0, 0, UInt32(remapBlock))
        a.exempt(exempt, abi)
        a.marked(argOffset(5), abi)
        a.rangeChecks(addr: 0, len: 1, windows, abi)
        a.rangeChecks(addr: 0, len: 2, windows, abi)
        a.emit(ldAbs, 0, 0, argOffset(3))
        a.emit(jsetK, 1, 0, abi.remapFixed)
        a.emit(ja, 0, 0, UInt32(rangeChecks))
        a.rangeChecks(addr: 4, len: 2, windows, abi)
        a.emit(retK, 0, 0, abi.allow)

        a.emit(retK, 0, 0, abi.allow)
        return a.overflow ? 0 : a.count
    }

    /// The calls whose range is [arg0, arg0 + arg1).
    static let rangedCount = 9
    static func ranged(_ i: Int, _ abi: ABI) -> UInt32 {
        switch i {
        case 0: return abi.munmap
        case 1: return abi.mprotect
        case 2: return abi.pkeyMprotect
        case 3: return abi.madvise
        case 4: return abi.mlock
        case 5: return abi.mlock2
        case 6: return abi.munlock
        case 7: return abi.msync
        default: return abi.mincore
        }
    }

    /// The end's computation (19) and one block of 17 per window.
    static func rangeCheckSize(_ windows: Int) -> Int { 19 + 17 * windows }

    struct Assembler {
        let out: UnsafeMutableBufferPointer<Instruction>
        var count = 0
        var overflow = false

        mutating func emit(_ code: UInt16, _ jt: UInt8, _ jf: UInt8, _ k: UInt32) {
            guard count < out.count else {
                overflow = true
                return
            }
            out[count] = Instruction(code, jt, jf, k)
            count += 1
        }

        /// Five instructions: is the 64-bit value (its halves loaded by
        /// `code` from hi and lo) below k? Then skip `ifTrue` instructions
        /// after the sequence, else `ifFalse`.
        mutating func below(_ code: UInt16, hi: UInt32, lo: UInt32, _ k: UInt64, ifTrue t: Int, ifFalse f: Int) {
            let khi = UInt32(truncatingIfNeeded: k >> 32), klo = UInt32(truncatingIfNeeded: k)
            emit(code, 0, 0, hi)
            emit(jgtK, UInt8(3 + f), 0, khi)
            emit(jeqK, 0, UInt8(2 + t), khi)
            emit(code, 0, 0, lo)
            emit(jgeK, UInt8(f), UInt8(t), klo)
        }

        /// Eleven instructions: allowed at once when the instruction pointer
        /// lies in [lo, hi).
        mutating func exempt(_ range: (lo: UInt64, hi: UInt64), _ abi: ABI) {
            below(ldAbs, hi: ipOffset + 4, lo: ipOffset, range.lo, ifTrue: 6, ifFalse: 0)
            below(ldAbs, hi: ipOffset + 4, lo: ipOffset, range.hi, ifTrue: 0, ifFalse: 1)
            emit(retK, 0, 0, abi.allow)
        }

        /// Three instructions: allowed at once when the 32 bits at offset
        /// hold mapwarden's mark.
        mutating func marked(_ offset: UInt32, _ abi: ABI) {
            emit(ldAbs, 0, 0, offset)
            emit(jeqK, 0, 1, abi.ownCall)
            emit(retK, 0, 0, abi.allow)
        }

        /// rangeCheckSize(n): trapped when [args[addr], args[addr] + args[len])
        /// meets a window; else on to what follows.
        mutating func rangeChecks(addr: UInt32, len: UInt32, _ windows: WindowRanges, _ abi: ABI) {
            emit(ldAbs, 0, 0, argOffset(addr))
            emit(st, 0, 0, startLo)
            emit(ldAbs, 0, 0, argOffset(addr) + 4)
            emit(st, 0, 0, startHi)
            emit(ldAbs, 0, 0, argOffset(len))
            emit(ldxMem, 0, 0, startLo)
            emit(addX, 0, 0, 0)
            emit(st, 0, 0, endLo)
            emit(jgeX, 2, 0, 0) // no wrap of the low half: no carry
            emit(ldImm, 0, 0, 1)
            emit(ja, 0, 0, 1)
            emit(ldImm, 0, 0, 0)
            emit(st, 0, 0, carry)
            emit(ldAbs, 0, 0, argOffset(len) + 4)
            emit(ldxMem, 0, 0, startHi)
            emit(addX, 0, 0, 0)
            emit(ldxMem, 0, 0, carry)
            emit(addX, 0, 0, 0)
            emit(st, 0, 0, endHi)
            let trap = abi.trap | RawSyscallFilter.trapData
            for i in 0..<windows.count {
                let w = windows[i]
                // start < end of the window, else the next window (12 on)
                below(ldMem, hi: startHi, lo: startLo, w.end, ifTrue: 0, ifFalse: 12)
                // start at or above the base: inside
                below(ldMem, hi: startHi, lo: startLo, w.base, ifTrue: 1, ifFalse: 0)
                emit(retK, 0, 0, trap)
                // below the base: it meets the window if it ends above it
                below(ldMem, hi: endHi, lo: endLo, w.base + 1, ifTrue: 1, ifFalse: 0)
                emit(retK, 0, 0, trap)
            }
        }
    }
}
