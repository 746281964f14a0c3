import CShim
import MapwardenLogic

/// MAPWARDEN_RAW_SYSCALLS=trap: the seccomp filter for the windows held,
/// built by RawSyscallFilter (the logic decides which calls are trapped)
/// into the hooks' buffer (rawsyscalls.c installs it). A trapped call then
/// comes back through the same mw_engine_* entry points as a libc call.

/// Writes the filter into buf (capacity instructions, laid out as struct
/// sock_filter) with [textLo, textHi), the library's executable segment,
/// exempt. Returns its length, or 0 when nothing was built.
@_cdecl("mw_engine_raw_syscall_filter")
func mw_engine_raw_syscall_filter(_ buf: UnsafeMutableRawPointer, _ capacity: Int, _ textLo: UInt,
                                  _ textHi: UInt) -> Int {
    guard engine != nil, config.rawSyscalls == .trap else { return 0 }
    let abi = RawSyscallFilter.ABI(
        audit: UInt32(mw_audit_arch), mmap: UInt32(mw_nr_mmap), munmap: UInt32(mw_nr_munmap),
        mprotect: UInt32(mw_nr_mprotect), pkeyMprotect: UInt32(mw_nr_pkey_mprotect), mremap: UInt32(mw_nr_mremap),
        madvise: UInt32(mw_nr_madvise), mlock: UInt32(mw_nr_mlock), mlock2: UInt32(mw_nr_mlock2),
        munlock: UInt32(mw_nr_munlock), msync: UInt32(mw_nr_msync), mincore: UInt32(mw_nr_mincore),
        mapFixedFlags: UInt32(MAP_FIXED | MAP_FIXED_NOREPLACE), remapFixed: UInt32(MREMAP_FIXED),
        allow: UInt32(mw_seccomp_ret_allow), trap: UInt32(mw_seccomp_ret_trap),
        ownCall: UInt32(truncatingIfNeeded: MW_OWN_CALL))
    let out = UnsafeMutableBufferPointer(start: buf.bindMemory(to: RawSyscallFilter.Instruction.self,
                                                               capacity: capacity), count: capacity)
    return RawSyscallFilter.build(windows: config.view.windows, exempt: (UInt64(textLo), UInt64(textHi)), abi: abi,
                                  into: out)
}
