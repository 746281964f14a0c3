import Foundation

/// What `mapwarden check` says about MAPWARDEN_RAW_SYSCALLS=trap
/// (docs/raw-syscalls.md): whether this kernel lets the library install a
/// seccomp filter that answers SECCOMP_RET_TRAP, and what that costs the
/// process. Read from /proc, changing nothing: the Seccomp and NoNewPrivs
/// fields of /proc/self/status (their presence says the kernel has seccomp
/// and reports no_new_privs) and /proc/sys/kernel/seccomp/actions_avail
/// (filter mode, and whether `trap` is one of its actions).
struct RawSyscallsCheck {
    var supported: Bool
    var lines: [String]

    static func probe(enabled: Bool,
                      status: String? = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
                      actions: String? = try? String(contentsOfFile: "/proc/sys/kernel/seccomp/actions_avail",
                                                     encoding: .utf8)) -> RawSyscallsCheck {
        func field(_ name: String) -> String? {
            status?.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
        }
        var lines: [String] = []
        let seccomp = field("Seccomp")
        let actionWords = actions.map { $0.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init) }
        let trap = actionWords?.contains("trap") ?? false
        switch (seccomp, actionWords) {
        case (nil, _):
            lines.append("seccomp: NOT available (no Seccomp field in /proc/self/status: a kernel without CONFIG_SECCOMP)")
        case (let mode?, nil):
            lines.append("seccomp filters: NOT available (Seccomp: \(mode), but no /proc/sys/kernel/seccomp/actions_avail: a kernel without CONFIG_SECCOMP_FILTER, or before 4.14)")
        case (let mode?, let words?):
            let already = mode == "2" ? "; this process is already filtered, and filters stack" : mode == "1" ? "; strict mode here: no filter can be added" : ""
            lines.append("seccomp filters: available (Seccomp: \(mode); actions: \(words.joined(separator: " ")))\(already)")
            if !trap { lines.append("SECCOMP_RET_TRAP: NOT among the kernel's actions") }
        }
        let noNewPrivs = field("NoNewPrivs")
        if let n = noNewPrivs {
            lines.append("no_new_privs: can be set without privileges (NoNewPrivs: \(n)); the library sets it, and it stays set across exec: setuid and file-capability programs started later run without their privileges")
        } else {
            lines.append("no_new_privs: not reported by this kernel (before 4.10); the library sets it all the same")
        }
        let supported = seccomp != nil && seccomp != "1" && trap
        lines.append(supported ? (enabled ? "verdict: supported, and on in this configuration"
                                          : "verdict: supported (off in this configuration; MAPWARDEN_RAW_SYSCALLS=trap turns it on)")
                               : "verdict: NOT supported here; with MAPWARDEN_RAW_SYSCALLS=trap the library says so at start-up and runs without the trap")
        return RawSyscallsCheck(supported: supported, lines: lines)
    }
}
