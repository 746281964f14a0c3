/*
 * fault_helpers.h - the faults/ tests: a program that crashes on purpose,
 * run as a child (this same program, re-executed with `child`) under the
 * preload, and what it left behind: how it ended (wait status), what it
 * wrote to standard error, and the report written at the crash.
 *
 * A test's main: `if (argc > 1) return crash(argv[1]);` for the child, then
 * run_child() and the checks. Build the test with `// CFLAGS: -rdynamic`
 * so that its functions are named in the stacks.
 */
#ifndef MW_TEST_FAULT_HELPERS_H
#define MW_TEST_FAULT_HELPERS_H
#include "common.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

struct outcome {
    int status;           /* from waitpid */
    int pid;
    char err[32768];      /* the child's standard error */
    char report[65536];   /* the report file it left (empty when none) */
    char out[16384];      /* its standard output */
    char dir[64];
};

static inline void read_file(const char *path, char *buf, size_t cap) {
    buf[0] = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0) n += (size_t)r;
    buf[n] = 0;
    close(fd);
}

/* Runs `self child WHAT` with MAPWARDEN_REPORT in a fresh directory and the
 * extra environment entries (KEY=VALUE, or -KEY to remove KEY, such as
 * -LD_PRELOAD; NULL-terminated), and collects. Its standard output goes
 * to out.txt in that directory, read into `out`. */
static inline void run_child(const char *what, struct outcome *o, const char *const *extra_env) {
    snprintf(o->dir, sizeof o->dir, "/tmp/mw-faults-XXXXXX");
    CHECK(mkdtemp(o->dir) != NULL);
    char report[128], err[128], out[128], self[4096];
    snprintf(report, sizeof report, "%s/report.txt", o->dir);
    snprintf(out, sizeof out, "%s/out.txt", o->dir);
    snprintf(err, sizeof err, "%s/stderr.txt", o->dir);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = 0;
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (chdir(o->dir) != 0) _exit(119); /* a core file (core_pattern "core") lands there */
        int fd = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0) _exit(120);
        dup2(fd, 2);
        int ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (ofd < 0) _exit(120);
        dup2(ofd, 1);
        setenv("MAPWARDEN_REPORT", report, 1);
        for (const char *const *e = extra_env; e && *e; e++) {
            if (**e == '-') unsetenv(*e + 1); /* "-KEY": without KEY */
            else putenv((char *)*e);
        }
        char *argv[] = {self, "child", (char *)what, NULL};
        execv(self, argv);
        _exit(121);
    }
    CHECK(waitpid(pid, &o->status, 0) == pid);
    o->pid = pid;
    read_file(err, o->err, sizeof o->err);
    read_file(report, o->report, sizeof o->report);
    read_file(out, o->out, sizeof o->out);
    DIR *d = opendir(o->dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[sizeof o->dir + 260];
        snprintf(path, sizeof path, "%s/%s", o->dir, e->d_name);
        unlink(path);
    }
    if (d) closedir(d);
    rmdir(o->dir);
}

#define CHECK_HAS(text, needle) do { if (!strstr((text), (needle))) { \
    fprintf(stderr, "%s:%d: expected to find\n  %s\nin:\n%s\n", __FILE__, __LINE__, (needle), (text)); exit(1); } } while (0)
#define CHECK_HASNT(text, needle) do { if (strstr((text), (needle))) { \
    fprintf(stderr, "%s:%d: did not expect\n  %s\nin:\n%s\n", __FILE__, __LINE__, (needle), (text)); exit(1); } } while (0)

/* The child died of sig, as it would have without mapwarden. */
static inline void check_killed_by(const struct outcome *o, int sig) {
    if (!WIFSIGNALED(o->status) || WTERMSIG(o->status) != sig) {
        fprintf(stderr, "expected death by signal %d, got status 0x%x; stderr:\n%s\n", sig, o->status, o->err);
        exit(1);
    }
}

/* The text after `needle` up to the end of its line, or "" (for checking
 * what follows a line: the first frame of a stack). */
static inline const char *line_after(const char *text, const char *needle) {
    const char *at = strstr(text, needle);
    if (!at) return "";
    at = strchr(at, '\n');
    return at ? at + 1 : "";
}

/* The first frame line after the line containing `needle` names `function`. */
#define CHECK_STACK_AFTER(text, needle, function) do { \
    const char *next_ = line_after((text), (needle)); \
    const char *eol_ = strchr(next_, '\n'); \
    char first_[512]; size_t len_ = eol_ ? (size_t)(eol_ - next_) : strlen(next_); \
    if (len_ >= sizeof first_) len_ = sizeof first_ - 1; \
    memcpy(first_, next_, len_); first_[len_] = 0; \
    if (!strstr(first_, "#0 ") || !strstr(first_, (function))) { \
        fprintf(stderr, "%s:%d: the stack after \"%s\" should start in %s, is:\n  %s\nfull text:\n%s\n", \
                __FILE__, __LINE__, (needle), (function), first_, (text)); exit(1); } } while (0)

/* In the child: core dumps up to the hard limit, so that the death can be
 * compared with one without mapwarden, core dump included. */
static inline void allow_core_dump(void) {
    struct rlimit core;
    if (getrlimit(RLIMIT_CORE, &core) == 0) {
        core.rlim_cur = core.rlim_max;
        setrlimit(RLIMIT_CORE, &core);
    }
}

/* A mapping left in place on purpose: the crash report has a leak to list. */
static inline void leave_a_leak(void) {
    void *p = mmap(W(0x7000000), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) _exit(122);
}

/* The report written at the crash: the text report's head says so. */
static inline void check_crash_report(const struct outcome *o) {
    CHECK_HAS(o->report, "leaked mapping");
    CHECK_HAS(o->report, " at crash of ");
}

#endif
