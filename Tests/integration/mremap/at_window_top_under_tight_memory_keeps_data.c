// mremap growing a mapping at the very top of the
// window with MREMAP_MAYMOVE when memory is tight. Growth in place would
// leave the window, so the mapping must move; RLIMIT_AS (soft limit) is
// set just above the current size, with a range of slacks, so the copy or
// placeholder the move needs may be refused. Each attempt runs in a child.
// Whatever happens, the result is either a valid mapping of the new size
// that holds the old data (and is usable for the new page), or -1 with the
// old mapping intact (data, registry, maps). Never success followed by
// SIGSEGV, or lost data. The registry is consistent afterwards (after
// raising the limit again), and no hole is left in the window.
#include "common.h"
#include "win_helpers.h"
#include "rob_helpers.h"

#define OLD (64 * 1024)
#define RW (PROT_READ | PROT_WRITE)

static long vmsize_bytes(void) {
    /* raw read: no stdio buffer mapped between measuring and calling */
    static char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *v = strstr(buf, "VmSize:");
    return v ? atol(v + 7) * 1024 : -1;
}

static int attempt(void *arg) {
    long slack = (long)(intptr_t)arg;
    size_t ws = window_size();
    char *p = W(ws - OLD);
    if (map_fixed(p, OLD, RW) != p) return 2;
    fill(p, OLD, 5);
    if (registry_consistent() != 1) return 3;
    struct rlimit old_rl, rl;
    getrlimit(RLIMIT_AS, &old_rl);
    long vm = vmsize_bytes();
    if (vm < 0) return 4;
    rl.rlim_cur = (rlim_t)(vm + slack);
    rl.rlim_max = old_rl.rlim_max;
    if (setrlimit(RLIMIT_AS, &rl) != 0) return 5;
    errno = 0;
    char *q = mremap(p, OLD, OLD + PAGE, MREMAP_MAYMOVE);
    int err = errno;
    setrlimit(RLIMIT_AS, &old_rl);
    if (q == MAP_FAILED) {
        fprintf(stderr, "slack %ld: mremap failed, errno %d (%s)\n", slack, err, strerror(err));
        CHECK(err == ENOMEM);
        CHECK(holds(p, OLD, 5));
        CHECK_MAPPED(p, p, OLD, RW);
        CHECK(strcmp(perms_at(p), "rw-p") == 0);
        struct maps_hit h = maps_at(p);
        CHECK(h.start == (uintptr_t)p && h.end == window_end());
        CHECK_CONSISTENT(1);
        CHECK(munmap(p, OLD) == 0);
    } else {
        fprintf(stderr, "slack %ld: mremap gave %p\n", slack, (void *)q);
        /* look before touching: the old engine returned success with the
         * range left as reservation (reading it was a SIGSEGV) */
        CHECK(strcmp(perms_at(q), "rw-p") == 0);
        CHECK(strcmp(perms_at(q + OLD), "rw-p") == 0);
        CHECK(kernel_mapped((uintptr_t)q, (uintptr_t)q + OLD + PAGE));
        CHECK(holds(q, OLD, 5));
        CHECK(all_zero(q + OLD, PAGE));
        q[OLD + 1] = 9; q[0] ^= 1;
        if (q != p) {
            /* moved: where the kernel places it, never elsewhere inside the window */
            CHECK(!in_window(q));
            CHECK_FREE(p);
            CHECK_FREE(p + OLD - PAGE);
        } else {
            /* grown in place across the window's end: the in-window part stays recorded */
            CHECK_MAPPED(p, p, OLD, RW);
        }
        CHECK(munmap(q, OLD + PAGE) == 0);
    }
    CHECK_WHOLE();
    return 0;
}

int main(void) {
    CHECK_WHOLE();
    static const long slacks[] = { 0, 4096, 8192, 16384, 32768, 61440, 65536, 69632, 73728, 81920,
                                   98304, 131072, 139264, 262144, 1 << 20 };
    int failed = 0;
    for (size_t i = 0; i < sizeof slacks / sizeof *slacks; i++) {
        int st = rob_in_child(attempt, (void *)(intptr_t)slacks[i], 5);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fprintf(stderr, "slack %ld: child status %#x (%s %d)\n", slacks[i], st,
                    WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            failed++;
        }
    }
    CHECK(failed == 0);
    CHECK_WHOLE();
    return 0;
}
