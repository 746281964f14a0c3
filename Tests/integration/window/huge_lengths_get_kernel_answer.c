// Huge lengths (above 2^63, or wrapping) must get the kernel's own answer
// through the preload, outside the window and inside it: every interposed
// call is compared with the raw system call on the same arguments (each in
// its own child process), and must neither crash nor disturb the window.
#include "common.h"
#include "win_helpers.h"

enum { MMAP, MMAP_FIXED, MMAP_NOREPLACE, MUNMAP, MPROTECT, PKEY_MPROTECT, MADVISE, MLOCK, MLOCK2, MUNLOCK, MSYNC,
       MINCORE, MREMAP_GROW, MREMAP_OLD, MREMAP_FIXED_TO };
static const char *names[] = { "mmap hint", "mmap MAP_FIXED", "mmap MAP_FIXED_NOREPLACE", "munmap", "mprotect",
    "pkey_mprotect", "madvise", "mlock", "mlock2", "munlock", "msync", "mincore", "mremap new_len", "mremap old_len",
    "mremap MREMAP_FIXED" };

static unsigned char vec[1 << 16];

static long call(int op, int raw, char *a, size_t len) {
    const int AP = MAP_PRIVATE | MAP_ANONYMOUS;
    char *t = W(0x800000);
    switch (op) {
    case MMAP: return raw ? raw_syscall(SYS_mmap, a, len, PROT_READ, AP, -1, 0) : (long)mmap(a, len, PROT_READ, AP, -1, 0);
    case MMAP_FIXED: return raw ? raw_syscall(SYS_mmap, a, len, PROT_READ, AP | MAP_FIXED, -1, 0)
                                : (long)mmap(a, len, PROT_READ, AP | MAP_FIXED, -1, 0);
    case MMAP_NOREPLACE: /* just after the mapping: over it the preload may answer EEXIST first */
        return raw ? raw_syscall(SYS_mmap, a + PAGE, len, PROT_READ, AP | MAP_FIXED_NOREPLACE, -1, 0)
                   : (long)mmap(a + PAGE, len, PROT_READ, AP | MAP_FIXED_NOREPLACE, -1, 0);
    case MUNMAP: return raw ? raw_syscall(SYS_munmap, a, len) : munmap(a, len);
    case MPROTECT: return raw ? raw_syscall(SYS_mprotect, a, len, PROT_READ) : mprotect(a, len, PROT_READ);
    case PKEY_MPROTECT: return raw ? raw_syscall(SYS_pkey_mprotect, a, len, PROT_READ, -1) : pkey_mprotect(a, len, PROT_READ, -1);
    case MADVISE: return raw ? raw_syscall(SYS_madvise, a, len, MADV_NORMAL) : madvise(a, len, MADV_NORMAL);
    case MLOCK: return raw ? raw_syscall(SYS_mlock, a, len) : mlock(a, len);
    case MLOCK2: return raw ? raw_syscall(SYS_mlock2, a, len, 0) : mlock2(a, len, 0);
    case MUNLOCK: return raw ? raw_syscall(SYS_munlock, a, len) : munlock(a, len);
    case MSYNC: return raw ? raw_syscall(SYS_msync, a, len, MS_ASYNC) : msync(a, len, MS_ASYNC);
    case MINCORE: return raw ? raw_syscall(SYS_mincore, a, len, vec) : mincore(a, len, vec);
    case MREMAP_GROW: return raw ? raw_syscall(SYS_mremap, a, PAGE, len, MREMAP_MAYMOVE, 0) : (long)mremap(a, PAGE, len, MREMAP_MAYMOVE);
    case MREMAP_OLD: return raw ? raw_syscall(SYS_mremap, a, len, PAGE, 0, 0) : (long)mremap(a, len, PAGE, 0);
    case MREMAP_FIXED_TO: return raw ? raw_syscall(SYS_mremap, a, PAGE, len, MREMAP_MAYMOVE | MREMAP_FIXED, t)
                                     : (long)mremap(a, PAGE, len, MREMAP_MAYMOVE | MREMAP_FIXED, t);
    }
    return 0;
}

/* Runs one call in a child: exit 0 on success, the errno on failure, 120
 * when the window is disturbed afterwards (a hole, or the registry and the
 * kernel disagree), a negative signal number if it was killed. */
static int outcome(int op, int raw, int in_win, size_t len) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (raw) dup2(open("/dev/null", O_WRONLY), 2); /* the raw calls' own disturbance is expected */
        char *a = in_win ? map_fixed(W(0x100000), PAGE, PROT_READ | PROT_WRITE)
                         : mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (a == MAP_FAILED) _exit(121);
        long r = call(op, raw, a, len);
        int e = r == -1 ? errno : 0; /* syscall() and libc both report -1 and errno */
        if (!kernel_mapped(window_base(), window_end()) || registry_consistent() < 0) _exit(120);
        _exit(e);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (WIFSIGNALED(st)) return -WTERMSIG(st);
    return WEXITSTATUS(st);
}

int main(void) {
    CHECK_WHOLE();
    size_t lens[] = { (size_t)-1, (size_t)-PAGE, (size_t)1 << 63, ((size_t)1 << 63) + PAGE, (size_t)1 << 62 };
    int failures = 0;
    for (int in_win = 0; in_win < 2; in_win++)
        for (int op = 0; op <= MREMAP_FIXED_TO; op++)
            for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
                int want = outcome(op, 1, in_win, lens[k]);
                int got = outcome(op, 0, in_win, lens[k]);
                if (getenv("BIGLEN_VERBOSE")) fprintf(stderr, "%s %d %#zx: %d %d\n", names[op], in_win, lens[k], want, got);
                /* Where the raw call itself disturbs the window (the kernel
                 * changes the reservation before it finds the end of the
                 * range), the preload must refuse cleanly instead (rule 7). */
                if (want < 0) continue; /* the raw call kills the process (mprotect PROT_READ over the stack) */
                int ok = want == 120 ? got > 0 && got < 120 : got == want;
                if (!ok) {
                    fprintf(stderr, "%s %s, len %#zx: kernel %s %d, through the preload %s %d\n", names[op],
                            in_win ? "in the window" : "outside", lens[k],
                            want < 0 ? "signal" : want == 120 ? "disturbs the window, errno" : "errno", want < 0 ? -want : want,
                            got < 0 ? "signal" : got == 120 ? "window disturbed" : "errno", got < 0 ? -got : got);
                    failures++;
                }
            }
    CHECK(failures == 0);
    CHECK_WHOLE();
    return 0;
}
