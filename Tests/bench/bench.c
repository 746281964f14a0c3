/*
 * bench.c - the mapwarden micro-benchmark (driven by Tests/bench/run.sh).
 *
 *   bench CASE...              measure each case in this process
 *   bench loop N CASE...       run each case's operation N times, untimed
 *                              (run.sh counts system calls with strace)
 *   bench startup LIB RUNS     fork+exec+wait /bin/true RUNS times without
 *                              and RUNS times with LD_PRELOAD=LIB, alternating
 *
 * The same binary runs with and without LD_PRELOAD. It finds out which by
 * looking up mapwarden_query (a weak symbol, resolved only when the library
 * is preloaded). In-window cases then either use mapwarden's window or,
 * without the preload, reserve the same range themselves (PROT_NONE,
 * MAP_NORESERVE, MAP_FIXED_NOREPLACE) and return pages to it by a MAP_FIXED
 * PROT_NONE overmap: the fair equivalent of what mapwarden does.
 *
 * Each case is timed with CLOCK_MONOTONIC over N iterations (N calibrated to
 * about 10 ms), REPS times; one line per case goes to stdout:
 *   <mode> <case> <min ns/op> <median ns/op> <N>
 * Any unexpected kernel answer prints a message and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "mapwarden.h"
#include "../integration/include/raw_syscall.h"

#pragma weak mapwarden_query

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define PAGE 4096UL
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)
#define RESERVE_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

static int preloaded;
static const char *mode;
static uintptr_t wbase = 0x400000000000UL;
static size_t wsize = (size_t)1 << 40;
static int reserved_here; /* native mode: our own reservation is in place */
static int reservation_named;

static int reps = 9;
static double target_ns = 5e6; /* per repetition */

#define DIE(...) do { fprintf(stderr, "bench (%s): ", mode); fprintf(stderr, __VA_ARGS__); \
    fprintf(stderr, " (errno %d: %s)\n", errno, strerror(errno)); exit(1); } while (0)

static inline double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* ---- the operations (one call = one op) --------------------------------- */

static char *op_addr; /* the page (or mapping) the current case works on */
#define EINVAL_ADDR 0x10001UL /* unaligned, far from the window */

__attribute__((noinline)) static void op_anon4k(void) {
    void *p = mmap(NULL, PAGE, RW, ANON, -1, 0);
    if (p == MAP_FAILED) DIE("mmap 4K");
    if (munmap(p, PAGE)) DIE("munmap 4K");
}

/* raw_*: the kernel floor, a syscall instruction of our own (libc's
 * syscall() is interposed under the preload); sc_*: through libc's
 * syscall(), which mapwarden serves (mmap family) or passes through. */
__attribute__((noinline)) static void op_raw_anon4k(void) {
    long p = raw_syscall(SYS_mmap, 0L, PAGE, RW, ANON, -1, 0L);
    if (p == -1) DIE("raw mmap 4K");
    if (raw_syscall(SYS_munmap, p, PAGE)) DIE("raw munmap 4K");
}

__attribute__((noinline)) static void op_sc_anon4k(void) {
    long p = syscall(SYS_mmap, 0L, PAGE, RW, ANON, -1, 0L);
    if (p == -1) DIE("syscall() mmap 4K");
    if (syscall(SYS_munmap, p, PAGE)) DIE("syscall() munmap 4K");
}

__attribute__((noinline)) static void op_einval(void) {
    if (mmap(NULL, 0, RW, ANON, -1, 0) != MAP_FAILED) DIE("mmap len 0 succeeded");
    if (munmap((void *)EINVAL_ADDR, PAGE) != -1) DIE("unaligned munmap succeeded");
}

__attribute__((noinline)) static void op_raw_einval(void) {
    if (raw_syscall(SYS_mmap, 0L, 0L, RW, ANON, -1, 0L) != -1) DIE("raw mmap len 0 succeeded");
    if (raw_syscall(SYS_munmap, EINVAL_ADDR, PAGE) != -1) DIE("raw unaligned munmap succeeded");
}

/* A number syscall() passes straight through: two getppid calls. */
__attribute__((noinline)) static void op_sc_getppid(void) {
    if (syscall(SYS_getppid) <= 0 || syscall(SYS_getppid) <= 0) DIE("syscall(SYS_getppid)");
}

/* An ordinary system call made by the program's own instruction: what a
 * seccomp filter (MAPWARDEN_RAW_SYSCALLS=trap) costs every such call. */
__attribute__((noinline)) static void op_raw_getpid(void) {
    if (raw_syscall(SYS_getpid) <= 0 || raw_syscall(SYS_getpid) <= 0) DIE("raw getpid");
}

__attribute__((noinline)) static void op_raw_getppid(void) {
    if (raw_syscall(SYS_getppid) <= 0 || raw_syscall(SYS_getppid) <= 0) DIE("raw getppid");
}

/* In the window: MAP_FIXED one page, then give it back. With the preload the
 * give-back is munmap (mapwarden re-reserves); without it, the program's own
 * overmap with the reservation's flags (optionally also naming it, as
 * mapwarden does with PR_SET_VMA_ANON_NAME). */
__attribute__((noinline)) static void op_win(void) {
    if (mmap(op_addr, PAGE, RW, ANON | MAP_FIXED, -1, 0) != op_addr) DIE("MAP_FIXED in window");
    if (preloaded) {
        if (munmap(op_addr, PAGE)) DIE("munmap in window");
    } else {
        if (mmap(op_addr, PAGE, PROT_NONE, RESERVE_FLAGS | MAP_FIXED, -1, 0) != op_addr) DIE("re-reserve");
        if (reservation_named && prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, op_addr, PAGE, "mapwarden"))
            DIE("prctl name");
    }
}

/* The kernel floor of op_win in the preloaded process: the same two kernel
 * calls mapwarden makes (MAP_FIXED, then the overmap with the reservation's
 * flags, and its name where the kernel names VMAs) as raw syscall
 * instructions, behind mapwarden's back, on the same page of its window. */
static int window_is_named;
__attribute__((noinline)) static void op_win_raw(void) {
    if (raw_syscall(SYS_mmap, (long)op_addr, PAGE, RW, ANON | MAP_FIXED, -1, 0L) != (long)op_addr) DIE("raw MAP_FIXED in window");
    if (raw_syscall(SYS_mmap, (long)op_addr, PAGE, PROT_NONE, RESERVE_FLAGS | MAP_FIXED, -1, 0L) != (long)op_addr)
        DIE("raw re-reserve");
    if (window_is_named && raw_syscall(SYS_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, (long)op_addr, PAGE, (long)"mapwarden"))
        DIE("raw prctl name");
}

/* The same pair called 16 frames deep: with the preload, a tracked call
 * whose stack (MAPWARDEN_BACKTRACE_DEPTH=16 in run.sh) libunwind walks. */
__attribute__((noinline)) static void deep_win(int n) {
    if (n == 0) op_win();
    else deep_win(n - 1);
    __asm__ volatile("" ::: "memory"); /* not a tail call: every frame stays */
}

__attribute__((noinline)) static void op_win_stack16(void) { deep_win(15); }

/* Toggle one page in the middle of a 16-page mapping RW -> R -> RW.
 * One op = two mprotect calls (run.sh halves it to ns per call). */
__attribute__((noinline)) static void op_mprot(void) {
    if (mprotect(op_addr + 8 * PAGE, PAGE, PROT_READ)) DIE("mprotect R");
    if (mprotect(op_addr + 8 * PAGE, PAGE, RW)) DIE("mprotect RW");
}

/* ---- timing -------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static long loop_count = -1; /* bench loop N CASE...: run each op N times, untimed */

static void measure(const char *name, void (*op)(void)) {
    if (loop_count >= 0) {
        for (long i = 0; i < loop_count; i++) op();
        return;
    }
    /* Warm up and calibrate N to about target_ns per repetition. */
    long n = 64;
    double t;
    for (;;) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++) op();
        t = now_ns() - t0;
        if (t > 2e6 || n >= (1L << 24)) break;
        n *= 2;
    }
    long iters = (long)(n * target_ns / t);
    if (iters < 100) iters = 100;
    double v[64];
    int r = reps < 64 ? reps : 64;
    for (int k = 0; k < r; k++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) op();
        v[k] = (now_ns() - t0) / iters;
    }
    qsort(v, r, sizeof v[0], cmp_double);
    printf("%s %s %.1f %.1f %ld\n", mode, name, v[0], v[r / 2], iters);
    fflush(stdout);
}

/* Two cases timed in interleaved rounds in this process (A, B, A, B...),
 * each calibrated alone first: the ratio A/B is then free of the drift
 * between processes. One line per case, as measure() prints. */
static void measure_pair(const char *na, void (*a)(void), const char *nb, void (*b)(void)) {
    if (loop_count >= 0) {
        for (long i = 0; i < loop_count; i++) { a(); b(); }
        return;
    }
    long n = 64;
    double t;
    for (;;) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++) { a(); b(); }
        t = now_ns() - t0;
        if (t > 2e6 || n >= (1L << 24)) break;
        n *= 2;
    }
    long iters = (long)(n * target_ns / t);
    if (iters < 100) iters = 100;
    double va[64], vb[64];
    int r = reps < 64 ? reps : 64;
    for (int k = 0; k < r; k++) {
        double t0 = now_ns();
        for (long i = 0; i < iters; i++) a();
        double t1 = now_ns();
        for (long i = 0; i < iters; i++) b();
        va[k] = (t1 - t0) / iters;
        vb[k] = (now_ns() - t1) / iters;
    }
    qsort(va, r, sizeof va[0], cmp_double);
    qsort(vb, r, sizeof vb[0], cmp_double);
    printf("%s %s %.1f %.1f %ld\n", mode, na, va[0], va[r / 2], iters);
    printf("%s %s %.1f %.1f %ld\n", mode, nb, vb[0], vb[r / 2], iters);
    fflush(stdout);
}

/* ---- the window ---------------------------------------------------------- */

static void window_setup(void) {
    if (preloaded) {
        struct mapwarden_info info;
        if (mapwarden_query((void *)wbase, &info) != 0) DIE("mapwarden_query: no window held");
        if (info.window_base != wbase || info.window_size != wsize)
            DIE("window is %#lx+%#zx, expected the default %#lx+%#zx", (unsigned long)info.window_base,
                info.window_size, (unsigned long)wbase, wsize);
        return;
    }
    if (reserved_here) return;
    void *p = mmap((void *)wbase, wsize, PROT_NONE, RESERVE_FLAGS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)wbase) DIE("cannot reserve %#lx+%#zx myself", (unsigned long)wbase, wsize);
    reserved_here = 1;
}

/* Names the whole native reservation as mapwarden names its window.
 * False when the kernel has no CONFIG_ANON_VMA_NAME (mapwarden then skips
 * naming too). */
static int window_name(void) {
    if (reservation_named) return 1;
    if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (void *)wbase, wsize, "mapwarden")) return 0;
    return reservation_named = 1;
}

static char *map_fixed(uintptr_t at, size_t len) {
    void *p = mmap((void *)at, len, RW, ANON | MAP_FIXED, -1, 0);
    if (p != (void *)at) DIE("MAP_FIXED %#lx", (unsigned long)at);
    return p;
}

/* Offsets in the window used by the cases (far apart from each other). */
#define OFF_WIN    (256UL << 20)
#define OFF_MPROT  (512UL << 20)
#define OFF_MANY   (1UL << 30)
#define MANY       30000
#define MANY_STRIDE (4 * PAGE) /* mapping, 3 free pages: every mapping is isolated */

static int count_window_vmas(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) DIE("open maps");
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < wbase + wsize && e > wbase) n++;
    }
    fclose(f);
    return n;
}

/* mmap(NULL, len) lands in the highest free gap below mmap_base, and where
 * that is differs with and without the preload (the library's own segments
 * move the holes). Merging with an adjacent RW anonymous neighbour (on
 * mmap) and splitting it again (on munmap) costs more than an isolated
 * mapping, which alone made the "without" figure 25 % slower. So make the
 * landing spot the same kind on both sides: while the new mapping would
 * merge with a neighbour, plug that spot with a one-page PROT_READ cap
 * (which cannot merge with RW) and try again. */
static void isolate_landing_spot(size_t len) {
    for (int caps = 0; caps < 64; caps++) {
        char *p = mmap(NULL, len, RW, ANON, -1, 0);
        if (p == MAP_FAILED) DIE("mmap");
        FILE *f = fopen("/proc/self/maps", "r");
        if (!f) DIE("open maps");
        char line[512];
        unsigned long s = 0, e = 0;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s <= (unsigned long)p && (unsigned long)p < e) break;
        fclose(f);
        if (munmap(p, len)) DIE("munmap");
        if (s == (unsigned long)p && e == (unsigned long)p + len) return; /* a VMA of its own */
        /* Plug the page next to the neighbour it merged with. */
        char *at = s < (unsigned long)p ? p : p + len - PAGE;
        if (mmap(at, PAGE, PROT_READ, ANON | MAP_FIXED_NOREPLACE, -1, 0) != at) DIE("cap at %p", (void *)at);
    }
    errno = 0;
    DIE("no isolated landing spot for mmap(NULL, %zu) after 64 caps", len);
}

/* ---- start-up ------------------------------------------------------------ */

extern char **environ;

static double run_true(char **envp) {
    char *argv[] = {"/bin/true", NULL};
    double t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) DIE("fork");
    if (pid == 0) {
        execve("/bin/true", argv, envp);
        _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) DIE("waitpid");
    double t = now_ns() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        errno = 0;
        DIE("/bin/true exited with status %#x", status);
    }
    return t;
}

static int startup(const char *lib, int runs) {
    /* Two environments: ours without LD_PRELOAD, and the same plus it. */
    int n = 0;
    for (char **e = environ; *e; e++) n++;
    char **plain = calloc(n + 1, sizeof *plain), **pre = calloc(n + 2, sizeof *pre);
    int k = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) != 0) plain[k] = pre[k] = *e, k++;
    char *ld = malloc(strlen(lib) + 12);
    sprintf(ld, "LD_PRELOAD=%s", lib);
    pre[k] = ld;
    double *a = calloc(runs, sizeof *a), *b = calloc(runs, sizeof *b);
    for (int i = 0; i < 20; i++) run_true(i & 1 ? pre : plain); /* warm up */
    for (int i = 0; i < runs; i++) {
        if (i & 1) { b[i] = run_true(pre); a[i] = run_true(plain); }
        else       { a[i] = run_true(plain); b[i] = run_true(pre); }
    }
    double sa = 0, sb = 0;
    for (int i = 0; i < runs; i++) sa += a[i], sb += b[i];
    qsort(a, runs, sizeof *a, cmp_double);
    qsort(b, runs, sizeof *b, cmp_double);
    /* startup <without|with> <min us> <median us> <mean us> <runs> */
    printf("startup native %.1f %.1f %.1f %d\n", a[0] / 1e3, a[runs / 2] / 1e3, sa / runs / 1e3, runs);
    printf("startup preload %.1f %.1f %.1f %d\n", b[0] / 1e3, b[runs / 2] / 1e3, sb / runs / 1e3, runs);
    return 0;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv) {
    preloaded = &mapwarden_query != NULL;
    mode = preloaded ? "preload" : "native";
    /* run.sh's trap mode: the preload with MAPWARDEN_RAW_SYSCALLS=trap */
    if (preloaded && getenv("BENCH_MODE") && strcmp(getenv("BENCH_MODE"), "trap") == 0) mode = "trap";
    if (argc < 2) {
        fprintf(stderr, "usage: bench CASE... | bench loop N CASE... | bench startup LIB RUNS\n"
                        "cases: anon4k raw_anon4k sc_anon4k einval raw_einval sc_getppid raw_getppid raw_getpid win win_named win_stack16 win_before win30k mprot_win mprot_out\n"
                        "(win_before is win under another name, for the process that then runs win30k)\n");
        return 2;
    }
    if (getenv("BENCH_REPS")) reps = atoi(getenv("BENCH_REPS"));
    if (getenv("BENCH_TARGET_MS")) target_ns = atof(getenv("BENCH_TARGET_MS")) * 1e6;
    if (strcmp(argv[1], "startup") == 0) {
        mode = "startup";
        if (argc != 4) DIE("usage: bench startup LIB RUNS");
        return startup(argv[2], atoi(argv[3]));
    }

    int first = 1;
    if (strcmp(argv[1], "loop") == 0) { /* for counting system calls with strace */
        if (argc < 4) DIE("usage: bench loop N CASE...");
        loop_count = atol(argv[2]);
        first = 3;
    }
    for (int i = first; i < argc; i++) {
        const char *c = argv[i];
        if (strcmp(c, "anon4k") == 0) {
            isolate_landing_spot(PAGE);
            measure(c, op_anon4k);
        } else if (strcmp(c, "raw_anon4k") == 0) {
            isolate_landing_spot(PAGE);
            measure(c, op_raw_anon4k);
        } else if (strcmp(c, "einval") == 0) {
            errno = 0;
            if (mmap(NULL, 0, RW, ANON, -1, 0) != MAP_FAILED || errno != EINVAL) DIE("mmap(len 0) is not EINVAL");
            errno = 0;
            if (munmap((void *)EINVAL_ADDR, PAGE) != -1 || errno != EINVAL) DIE("unaligned munmap is not EINVAL");
            measure(c, op_einval);
        } else if (strcmp(c, "raw_einval") == 0) {
            measure(c, op_raw_einval);
        } else if (strcmp(c, "sc_anon4k") == 0) {
            isolate_landing_spot(PAGE);
            measure(c, op_sc_anon4k);
        } else if (strcmp(c, "sc_getppid") == 0) {
            measure(c, op_sc_getppid);
        } else if (strcmp(c, "raw_getpid") == 0) {
            measure(c, op_raw_getpid);
        } else if (strcmp(c, "raw_getppid") == 0) {
            measure(c, op_raw_getppid);
        } else if (strcmp(c, "win") == 0 || strcmp(c, "win_named") == 0 || strcmp(c, "win_before") == 0) {
            window_setup();
            if (strcmp(c, "win_named") == 0) {
                if (preloaded) continue; /* mapwarden names when it can; nothing to add */
                if (!window_name()) {
                    fprintf(stderr, "bench (%s): win_named skipped: this kernel cannot name anonymous VMAs\n", mode);
                    continue;
                }
            }
            op_addr = (char *)(wbase + OFF_WIN);
            if (preloaded) { /* mapwarden really serves (and records) the page */
                struct mapwarden_info info;
                map_fixed((uintptr_t)op_addr, PAGE);
                if (mapwarden_query(op_addr, &info) || info.state != MAPWARDEN_MAPPED) DIE("page not MAPPED");
                if (munmap(op_addr, PAGE)) DIE("munmap");
            }
            measure(c, op_win);
            if (preloaded) {
                struct mapwarden_info info;
                if (mapwarden_query(op_addr, &info) || info.state != MAPWARDEN_FREE) DIE("page not FREE after win");
            }
        } else if (strcmp(c, "win_vs_raw") == 0) {
            /* Preloaded only: mapwarden's in-window pair against its kernel floor. */
            if (!preloaded) continue;
            window_setup();
            op_addr = (char *)(wbase + OFF_WIN);
            FILE *maps = fopen("/proc/self/maps", "r");
            char line[512];
            while (maps && fgets(line, sizeof line, maps))
                if (strstr(line, "[anon:mapwarden]")) window_is_named = 1;
            if (maps) fclose(maps);
            measure_pair("win_lib", op_win, "win_raw", op_win_raw);
            struct mapwarden_info info;
            if (mapwarden_query(op_addr, &info) || info.state != MAPWARDEN_FREE) DIE("page not FREE after win_vs_raw");
        } else if (strcmp(c, "win_stack16") == 0) {
            window_setup();
            op_addr = (char *)(wbase + OFF_WIN);
            measure(c, op_win_stack16);
            if (preloaded) {
                struct mapwarden_info info;
                if (mapwarden_query(op_addr, &info) || info.state != MAPWARDEN_FREE) DIE("page not FREE after win_stack16");
            }
        } else if (strcmp(c, "win30k") == 0) {
            window_setup();
            int before = count_window_vmas();
            for (long k = 0; k < MANY; k++) map_fixed(wbase + OFF_MANY + k * MANY_STRIDE, PAGE);
            int after = count_window_vmas();
            if (after - before < 2 * MANY) {
                errno = 0;
                DIE("expected >= %d more VMAs in the window, got %d", 2 * MANY, after - before);
            }
            /* A free page between mapping 15000 and 15001, with free pages on both sides. */
            op_addr = (char *)(wbase + OFF_MANY + (MANY / 2) * MANY_STRIDE + 2 * PAGE);
            measure(c, op_win);
            fprintf(stderr, "bench (%s): window VMAs %d -> %d with %d mappings\n", mode, before, after, MANY);
        } else if (strcmp(c, "mprot_win") == 0) {
            window_setup();
            op_addr = map_fixed(wbase + OFF_MPROT, 16 * PAGE);
            measure(c, op_mprot);
        } else if (strcmp(c, "mprot_out") == 0) {
            isolate_landing_spot(16 * PAGE);
            op_addr = mmap(NULL, 16 * PAGE, RW, ANON, -1, 0);
            if (op_addr == MAP_FAILED) DIE("mmap 16 pages");
            if ((uintptr_t)op_addr >= wbase && (uintptr_t)op_addr < wbase + wsize) DIE("mmap(NULL) landed in the window");
            measure(c, op_mprot);
        } else {
            errno = 0;
            DIE("unknown case %s", c);
        }
    }
    return 0;
}
