/*
 * rawsyscalls.c - MAPWARDEN_RAW_SYSCALLS=trap: mmap-family system calls
 * made without libc's symbols (inline `syscall` instructions: Go, JITs,
 * emulators) whose range meets a window are trapped by a seccomp filter
 * and served here, from the SIGSYS handler, by the same engine entry
 * points as the libc hooks (docs/raw-syscalls.md).
 *
 * Layer: hooks. Calls the engine (mw_engine_traps_raw_syscalls,
 * mw_engine_raw_syscall_filter), startup.c (mw_start), interpose.c
 * (mw_serve_trapped), faults.c (SIGSYS's disposition), all through
 * hooks.h, and the platform (system calls, the thread id).
 *
 * The design, stated plainly:
 *
 *  - The filter is the logic's (RawSyscallFilter): it traps only the mmap
 *    family, only when the call's range meets a window, and never a call
 *    whose instruction pointer lies in this library's executable segment
 *    (every system call mapwarden makes is an inline `syscall` of
 *    mapwarden_kernel.h, compiled into that segment; found here from the
 *    library's own ELF header, __ehdr_start, without libc).
 *  - It is installed by this file's constructor, right after the library's
 *    own (which starts mapwarden if no call did before): before main,
 *    normally before any thread, with SECCOMP_FILTER_FLAG_TSYNC for
 *    threads that exist already, after
 *    PR_SET_NO_NEW_PRIVS (needed without CAP_SYS_ADMIN). Neither can be
 *    undone: both are inherited by fork and survive exec.
 *  - The SIGSYS handler (SA_NODEFER: a trapped call from a signal handler
 *    that interrupted this one is served too) takes the number and the six
 *    arguments from the saved registers, hands them to mw_serve_trapped
 *    (interpose.c: the do_* functions behind the mmap symbols, with the
 *    reentrancy guard, the nesting count and the stack retry), and writes
 *    the answer, in the kernel's convention, where the system call's would
 *    have been. If the trap interrupted the engine on this thread (a
 *    program's signal handler making a raw call), the engine sees its own
 *    thread's lock and takes the deferred path, as for a libc call.
 *  - A program's own SIGSYS handler: sigaction and signal for SIGSYS are
 *    interposed (faults.c) while the trap is on. The kernel
 *    keeps mapwarden's handler; what the program sets is remembered and
 *    every query answers with it. A SIGSYS that is not mapwarden's
 *    (si_code not SYS_SECCOMP, or another filter's SECCOMP_RET_DATA) goes
 *    to the program's handler; with SIG_DFL the process dies of SIGSYS as
 *    it would have, with SIG_IGN it is ignored.
 */
#include <elf.h>
#include <link.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "hooks.h"
#include "include/mapwarden_constants.h"
#include "include/mapwarden_engine.h"
#include "include/mapwarden_kernel.h"
#include "include/platform/thread.h"

/* This library's ELF header, as loaded (the linker defines it). */
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

/* RawSyscallFilter.capacity, and its trapData ("MW"). */
#define MW_FILTER_CAPACITY 1024
#define MW_TRAP_DATA 0x4D57
_Static_assert(sizeof(struct sock_filter) == 8, "struct sock_filter is RawSyscallFilter.Instruction");

static struct sock_filter filter[MW_FILTER_CAPACITY];

/* The library's executable segment(s), [lo, hi). */
static int text_range(uintptr_t *lo, uintptr_t *hi) {
    const ElfW(Ehdr) *eh = &__ehdr_start;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
    uintptr_t header_vaddr = 0;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0) header_vaddr = ph[i].p_vaddr;
    uintptr_t bias = (uintptr_t)eh - header_vaddr;
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_X)) continue;
        uintptr_t s = bias + ph[i].p_vaddr, e = s + ph[i].p_memsz;
        if (s < *lo) *lo = s;
        if (e > *hi) *hi = e;
    }
    return *lo < *hi;
}

/* One line on standard error: why the trap is not in (err: -errno, or 0). */
static void say(const char *what, long err) {
    static const char head[] = "mapwarden: MAPWARDEN_RAW_SYSCALLS=trap: ", tail[] = "; raw system calls are not trapped\n";
    char num[24];
    int k = (int)sizeof num;
    if (err < 0) {
        num[--k] = ')';
        for (unsigned long v = (unsigned long)-err; v || k == (int)sizeof num - 1; v /= 10) num[--k] = (char)('0' + v % 10);
        static const char open[] = " (errno ";
        for (int i = (int)sizeof open - 2; i >= 0; i--) num[--k] = open[i];
    }
    mw_sys_write(2, head, sizeof head - 1);
    mw_sys_write(2, what, strlen(what));
    mw_sys_write(2, num + k, sizeof num - (size_t)k);
    mw_sys_write(2, tail, sizeof tail - 1);
}

static void chain(int sig, siginfo_t *info, void *context) {
    struct sigaction a;
    mw_sigsys_program(&a);
    /* (SIG_DFL and SIG_IGN first: they are sa_handler values whatever
     * SA_SIGINFO says. Another filter's trap kills as the kernel would even
     * when ignored: it resets an ignored forced signal to SIG_DFL.) */
    if (a.sa_handler == SIG_DFL || (a.sa_handler == SIG_IGN && info->si_code == SYS_SECCOMP)) {
        /* The death the program would have died. */
        mw_sigsys_give_back();
        mw_sys_tgkill(mw_sys_getpid(), mw_thread_id(), sig);
    } else if (a.sa_handler == SIG_IGN) {
        return;
    } else if (a.sa_flags & SA_SIGINFO) {
        a.sa_sigaction(sig, info, context);
    } else {
        a.sa_handler(sig);
    }
}

static void on_sigsys(int sig, siginfo_t *info, void *context) {
    if (info->si_code != SYS_SECCOMP || info->si_errno != MW_TRAP_DATA) {
        chain(sig, info, context);
        return;
    }
    int saved_errno = errno;
    mcontext_t *m = &((ucontext_t *)context)->uc_mcontext;
#if defined(__x86_64__)
    m->gregs[REG_RAX] = mw_serve_trapped((uintptr_t)m->gregs[REG_RIP], info->si_syscall, m->gregs[REG_RDI],
                                         m->gregs[REG_RSI], m->gregs[REG_RDX], m->gregs[REG_R10], m->gregs[REG_R8],
                                         m->gregs[REG_R9]);
#elif defined(__aarch64__)
    m->regs[0] = (unsigned long long)mw_serve_trapped((uintptr_t)m->pc, info->si_syscall, (long)m->regs[0],
                                                      (long)m->regs[1], (long)m->regs[2], (long)m->regs[3],
                                                      (long)m->regs[4], (long)m->regs[5]);
#endif
    errno = saved_errno;
}

static void install(void) {
    if (!mw_engine_traps_raw_syscalls()) return;
    uintptr_t lo, hi;
    if (!text_range(&lo, &hi)) {
        say("the library's code range is unknown", 0);
        return;
    }
    long n = mw_engine_raw_syscall_filter(filter, MW_FILTER_CAPACITY, lo, hi);
    if (n <= 0) {
        say("the filter could not be built", 0);
        return;
    }
    if (mw_sigsys_take((void *)on_sigsys) != 0) {
        say("cannot install the SIGSYS handler", 0);
        return;
    }
    struct sock_fprog prog = {.len = (unsigned short)n, .filter = filter};
    long r = mw_sys_prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (r == 0) r = mw_sys_seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
    if (r != 0) {
        mw_sigsys_give_back();
        say(r > 0 ? "another thread could not take the filter (TSYNC)" : "the kernel refused the seccomp filter", r);
    }
}

/* After startup.c's constructor (101): mapwarden is started by then. */
__attribute__((constructor(102))) static void mw_raw_syscalls_constructor(void) {
    if (mw_start()) install();
}
