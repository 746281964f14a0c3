/*
 * rob_helpers.h - shared helpers for the robustness tests (threads, fork,
 * exec, exit, signals, the random model check): a seeded PRNG, maps lines
 * over a range, and running a child that must not deadlock. Include after
 * common.h.
 */
#ifndef MW_ROB_HELPERS_H
#define MW_ROB_HELPERS_H
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

/* A small deterministic PRNG (xorshift64*). */
static inline uint64_t rob_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static inline uint64_t rob_below(uint64_t *s, uint64_t n) { return rob_next(s) % n; }

static inline double rob_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One line of /proc/self/maps over the window. */
struct rob_line { uintptr_t start, end; char perms[8]; char rest[160]; };

/*
 * Reads /proc/self/maps with raw read(2) into a static buffer (no malloc,
 * no stdio: usable while other threads map and unmap) and collects the lines
 * overlapping [lo, hi). Returns the number of lines, or -1.
 */
static inline int rob_maps_lines(uintptr_t lo, uintptr_t hi, struct rob_line *out, int max) {
    static char buf[1 << 20]; /* one caller at a time */
    size_t len = 0;
    /* While other threads change mappings, a read of /proc/self/maps can end
     * early (seen on 6.18, which reads it without mmap_lock): the text then
     * lacks the main stack's line. That is the reader's artifact, not a hole
     * in the window: read again. */
    for (int attempt = 0; attempt < 5; attempt++) {
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return -1;
        len = 0;
        for (;;) {
            ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
            if (r < 0) { if (errno == EINTR) continue; close(fd); return -1; }
            if (r == 0) break;
            len += (size_t)r;
            if (len >= sizeof buf - 1) break;
        }
        close(fd);
        buf[len] = 0;
        if (strstr(buf, "[stack]")) break;
    }
    int n = 0;
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        uintptr_t s, e; char perms[8];
        int used = 0;
        if (sscanf(line, "%lx-%lx %7s %n", &s, &e, perms, &used) >= 3 && s < hi && e > lo) {
            if (n < max) {
                out[n].start = s; out[n].end = e;
                memcpy(out[n].perms, perms, sizeof perms);
                snprintf(out[n].rest, sizeof out[n].rest, "%s", line + used);
            }
            n++;
        }
        line = nl ? nl + 1 : NULL;
    }
    return n;
}

static inline void rob_print_lines(const struct rob_line *l, int n) {
    for (int i = 0; i < n; i++)
        fprintf(stderr, "    %lx-%lx %s %s\n", l[i].start, l[i].end, l[i].perms, l[i].rest);
}

/*
 * The lines cover [lo, hi) with no gap. A read of /proc/self/maps racing
 * with other threads' map changes (kernel 6.17+ reads it under per-VMA
 * locks) may show a VMA in its old and its new shape, so consecutive lines
 * may overlap; but whatever stays mapped during the whole read is shown, so
 * a gap is a real hole.
 */
static inline int rob_lines_tile(const struct rob_line *l, int n, uintptr_t lo, uintptr_t hi) {
    if (n <= 0 || l[0].start > lo) return 0;
    uintptr_t covered = l[0].end;
    for (int i = 1; i < n; i++) {
        if (l[i].start > covered) return 0;
        if (l[i].end > covered) covered = l[i].end;
    }
    return covered >= hi;
}

/* A line is the reservation: private PROT_NONE anonymous memory. */
static inline int rob_is_reservation(const struct rob_line *l) {
    return strcmp(l->perms, "---p") == 0 && strncmp(l->rest, "00000000 00:00 0", 16) == 0;
}

/* The state letter of /proc/PID/stat (R running or runnable, S sleeping,
 * D, Z, ...), or 0 when it cannot be read. */
static inline char rob_proc_state(pid_t pid) {
    char path[64], text[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return 0;
    text[n] = 0;
    char *paren = strrchr(text, ')'); /* the command name may hold spaces */
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

/*
 * Waits for a child whose code never sleeps while healthy (one thread, no
 * I/O, no waits: it computes, maps and is signalled). It is deadlocked
 * when it sleeps (S: on the registry lock's futex, which nothing in it
 * will release) for `asleep_s` in a row; slowness on a loaded machine (R,
 * runnable) is not a hang. Between polls, every `poll_us` microseconds,
 * `each` (may be NULL) is called with the child's pid; the state is read
 * every 10 ms. Returns waitpid's pid with *st set, or 0 when the child was
 * found deadlocked or still runs at the `cap_s` backstop (*why says which;
 * the caller kills it).
 */
static inline pid_t rob_wait_unless_deadlocked(pid_t c, int *st, void (*each)(pid_t), unsigned poll_us,
                                               double asleep_s, double cap_s, const char **why) {
    double t0 = rob_now(), looked = 0, asleep_since = -1;
    pid_t w;
    while ((w = waitpid(c, st, WNOHANG)) == 0) {
        double now = rob_now();
        if (now - looked >= 0.01) {
            looked = now;
            if (rob_proc_state(c) == 'S') { if (asleep_since < 0) asleep_since = now; }
            else asleep_since = -1;
            const char *bad = asleep_since >= 0 && now - asleep_since > asleep_s ? "asleep (deadlocked)"
                            : now - t0 > cap_s ? "still running at the backstop" : NULL;
            if (bad) {
                if (why) *why = bad;
                return 0;
            }
        }
        if (each) each(c);
        usleep(poll_us);
    }
    return w;
}

/* Runs fn(arg) in a forked child with an alarm; returns its wait status. */
static inline int rob_in_child(int (*fn)(void *), void *arg, unsigned timeout_s) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) { alarm(timeout_s); _exit(fn(arg)); }
    int st;
    while (waitpid(pid, &st, 0) < 0) if (errno != EINTR) return -1;
    return st;
}

#endif
