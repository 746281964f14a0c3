// The child's fork cleanup must not cost
// time quadratic in the number of window mappings. With 30,000 separate
// MADV_DONTFORK window mappings (60,000 VMAs with the reservation gaps;
// vm.max_map_count is 65,530), fork until the child has exited took 11 s
// before the fix; now the fork and the child together must cost at most
// 2 s of CPU time (the parent's time in fork() plus the child's own user
// and system time, as wait4 reports it: the work done, whatever else the
// machine runs; wall-clock time on a loaded machine says nothing about it).
// A child still running after 60 s is taken for hung, killed, and the test
// fails. The same with the 30,000 mappings copied normally (after
// MADV_DOFORK). A second child each time checks the result: DONTFORK
// mappings gone (the window is one reservation again, registry empty), or
// all 30,000 present and consistent.
#include "common.h"
#include "win_helpers.h"
#include "rob_helpers.h"
#include <sys/resource.h>

#define N 30000
#define LIMIT 2.0 /* s of CPU time */
#define HUNG 60.0 /* s of wall-clock time */
#define AT(i) W(0x100000 + (size_t)(i) * 2 * PAGE)
/* CHECK without the window dump (60,000 lines here) */
#define REQUIRE(cond) do { if (!(cond)) { \
    fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); exit(1); } } while (0)

static double cpu_s(const struct rusage *r) {
    return r->ru_utime.tv_sec + r->ru_utime.tv_usec / 1e6 + r->ru_stime.tv_sec + r->ru_stime.tv_usec / 1e6;
}

/* fork; the child runs fn (or exits at once when fn is NULL); returns the
 * CPU seconds of the fork (the parent's side) and of the whole child, or
 * -1 when that exceeds `limit`, when the child did not exit 0, or after
 * killing a child still running after HUNG s. */
static double timed_fork(int (*fn)(void), double limit) {
    fflush(NULL);
    struct rusage before, after, child;
    CHECK(getrusage(RUSAGE_THREAD, &before) == 0);
    double t0 = rob_now();
    pid_t c = fork();
    CHECK(c >= 0);
    if (c == 0) _exit(fn ? fn() : 0);
    CHECK(getrusage(RUSAGE_THREAD, &after) == 0);
    int st;
    pid_t w;
    while ((w = wait4(c, &st, WNOHANG, &child)) == 0) {
        if (rob_now() - t0 > HUNG) {
            fprintf(stderr, "child still running after %.0f s: killed\n", HUNG);
            kill(c, SIGKILL);
            waitpid(c, &st, 0);
            return -1;
        }
        usleep(1000);
    }
    CHECK(w == c);
    double wall = rob_now() - t0, cpu = cpu_s(&after) - cpu_s(&before) + cpu_s(&child);
    fprintf(stderr, "  (%.3f s of CPU time in fork and the child, %.3f s wall-clock)\n", cpu, wall);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) { fprintf(stderr, "child status %#x\n", st); return -1; }
    if (cpu > limit) { fprintf(stderr, "fork and child took %.3f s of CPU time, more than %.1f s\n", cpu, limit); return -1; }
    return cpu;
}

static int child_none(void) {
    if (!kernel_mapped(window_base(), window_end())) { fprintf(stderr, "child: hole in the window\n"); return 1; }
    for (int i = 0; i < N; i += 1499)
        if (query_state(AT(i)) != MAPWARDEN_FREE) { fprintf(stderr, "child: mapping %d not FREE\n", i); return 2; }
    int n = registry_consistent();
    if (n != 0) { fprintf(stderr, "child: registry_consistent() = %d, expected 0\n", n); return 3; }
    if (window_lines() != 1) { fprintf(stderr, "child: %d lines over the window\n", window_lines()); return 4; }
    return 0;
}

static int child_all(void) {
    for (int i = 0; i < N; i += 1499)
        if (AT(i)[0] != (char)(i & 0x7f) || query_state(AT(i)) != MAPWARDEN_MAPPED) {
            fprintf(stderr, "child: mapping %d lost\n", i); return 1;
        }
    int n = registry_consistent();
    if (n != N) { fprintf(stderr, "child: registry_consistent() = %d, expected %d\n", n, N); return 2; }
    return 0;
}

int main(void) {
    CHECK_WHOLE();
    double s0 = rob_now();
    for (int i = 0; i < N; i++) {
        char *p = mmap(AT(i), PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        CHECK(p == AT(i));
        p[0] = (char)(i & 0x7f);
        CHECK(madvise(p, PAGE, MADV_DONTFORK) == 0);
    }
    fprintf(stderr, "set-up of %d DONTFORK mappings: %.3f s\n", N, rob_now() - s0);

    double t = timed_fork(NULL, LIMIT);
    fprintf(stderr, "fork, %d MADV_DONTFORK window mappings, until the child exited: %.3f s of CPU time\n", N, t);
    REQUIRE(t >= 0);
    t = timed_fork(child_none, 5.0);
    fprintf(stderr, "  (a child that checks its window: %.3f s of CPU time)\n", t);
    REQUIRE(t >= 0);
    CHECK(AT(N - 1)[0] == (char)((N - 1) & 0x7f));

    for (int i = 0; i < N; i++) CHECK(madvise(AT(i), PAGE, MADV_DOFORK) == 0);
    t = timed_fork(NULL, LIMIT);
    fprintf(stderr, "fork, %d plain window mappings, until the child exited: %.3f s of CPU time\n", N, t);
    REQUIRE(t >= 0);
    t = timed_fork(child_all, 5.0);
    fprintf(stderr, "  (a child that checks its window: %.3f s of CPU time)\n", t);
    REQUIRE(t >= 0);

    CHECK(registry_consistent() == N);
    CHECK(munmap(W(0), 2 * N * PAGE + 0x100000) == 0);
    CHECK_WHOLE();
    return 0;
}
