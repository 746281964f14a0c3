import CShim
import MapwardenLogic

/// Answers to "would the kernel refuse these arguments?" that a zero-length
/// call cannot give, asked of a page the engine owns: the last page of its
/// metadata arena, which is never committed (PROT_NONE) and never used
/// (`config.probePage`).
enum Probe {
    /// EINVAL when pkey is not a key this process allocated, as
    /// pkey_mprotect checks it before looking at the range.
    static func pkey(_ pkey: Int32) -> Int32? {
        if pkey == -1 { return nil }
        let page = config.probePage
        if page == 0 { return pkey < -1 || pkey >= 16 ? EINVAL : nil }
        return Kernel.pkeyMprotect(page, UInt64(mw_page_size()), PROT_NONE, pkey).failure
    }
}
