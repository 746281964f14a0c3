// A MAP_32BIT hint inside a window below 2 GiB is served as the kernel
// serves it on unmapped memory: at the hint when the hinted range is free
// and ends at or below 2 GiB (x86-64's arch_get_unmapped_area honours the
// hint then), elsewhere below 2 GiB otherwise (range taken, or ending above
// 2 GiB). SBCL asks for its immobile spaces this way (0x50000000 and
// 0x50100000, MAP_32BIT hints through syscall(SYS_mmap)) and aborts when a
// space is not where it asked. The oracle: a forked child returns the
// window to the kernel (raw munmap) and makes the same calls raw; the
// preloaded calls must land at the hint exactly when the kernel's did.
// ENV: MAPWARDEN_WINDOW=0x70000000:512M
#include "common.h"
#include "win_helpers.h"
#include <sys/wait.h>

#ifndef MAP_32BIT
#define MAP_32BIT 0x40
#endif
#define RW (PROT_READ | PROT_WRITE)
#define FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT | MAP_NORESERVE)
#define TWO_GIB ((uintptr_t)2 << 30)

/* The calls in order, every mapping kept: the second one asks for a range
 * the first one holds. */
static const struct { uintptr_t hint; size_t len; int via_syscall; const char *what; } calls[] = {
    { 0x70010000, 0x4000,   0, "free, below 2 GiB" },
    { 0x70010000, 0x4000,   0, "taken by the first" },
    { 0x7ff00000, 0x100000, 0, "free, ends exactly at 2 GiB" },
    { 0x7fd00000, 0x300000, 0, "free, ends above 2 GiB" },
    { 0x88000000, 0x1000,   0, "free, above 2 GiB" },
    { 0x70100000, 0x100000, 1, "free, below 2 GiB, through syscall()" },
};
#define N (sizeof calls / sizeof calls[0])

int main(void) {
    CHECK(window_base() == 0x70000000 && window_end() == 0x90000000);
    CHECK_WHOLE();

    /* The kernel's answers, with the window's range unmapped. */
    int kernel_at_hint[N];
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char at[N];
        if (raw_syscall(SYS_munmap, window_base(), window_size()) != 0) _exit(2);
        for (size_t i = 0; i < N; i++) {
            long r = raw_syscall(SYS_mmap, calls[i].hint, calls[i].len, RW, FLAGS, -1, 0);
            at[i] = r == (long)calls[i].hint;
        }
        _exit(write(fds[1], at, N) == (ssize_t)N ? 0 : 3);
    }
    char at[N];
    CHECK(read(fds[0], at, N) == (ssize_t)N);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    for (size_t i = 0; i < N; i++) kernel_at_hint[i] = at[i];
    /* What x86-64 does, which the rest of the test relies on. */
    CHECK(kernel_at_hint[0] && !kernel_at_hint[1] && kernel_at_hint[2] && !kernel_at_hint[3] && !kernel_at_hint[4]);

    /* The same calls under the preload. */
    char *got[N];
    for (size_t i = 0; i < N; i++) {
        errno = 0;
        got[i] = calls[i].via_syscall
                     ? (char *)syscall(SYS_mmap, calls[i].hint, calls[i].len, RW, FLAGS, -1, 0)
                     : mmap((void *)calls[i].hint, calls[i].len, RW, FLAGS, -1, 0);
        int at_hint = got[i] == (char *)calls[i].hint;
        fprintf(stderr, "MAP_32BIT hint %#lx+%#zx (%s): %p, kernel %s\n", calls[i].hint, calls[i].len,
                calls[i].what, (void *)got[i], kernel_at_hint[i] ? "at the hint" : "elsewhere");
        CHECK(got[i] != MAP_FAILED);
        CHECK(at_hint == kernel_at_hint[i]);
        CHECK((uintptr_t)got[i] + calls[i].len <= TWO_GIB);
        if (at_hint) {
            CHECK_MAPPED(got[i], got[i], calls[i].len, RW);
        } else {
            CHECK(!in_window(got[i]) && !in_window(got[i] + calls[i].len - 1));
        }
        got[i][0] = (char)i; /* usable */
        got[i][calls[i].len - 1] = (char)i;
    }
    for (size_t i = 0; i < N; i++) CHECK(got[i][0] == (char)i && got[i][calls[i].len - 1] == (char)i);
    for (size_t i = 0; i < N; i++) CHECK(munmap(got[i], calls[i].len) == 0);
    CHECK_WHOLE();
    return 0;
}
