/*
 * difftest.c - differential tester for mapwarden, with the kernel as the oracle.
 *
 * The README's rule that free window pages behave as unmapped memory means
 * that a sequence of mmap-family calls on addresses inside (and around) a
 * window must give the same results, and leave the same memory behind,
 * whether the window is there (under LD_PRELOAD=libmapwarden.so) or not
 * (a plain process, the addresses left unmapped: what Linux does is right).
 *
 * One binary, four jobs:
 *   difftest --replay FILE...        replay case files; PASS/FAIL each
 *   difftest --seed N --time S       random sequences; a difference is
 *                                    minimised (delta debugging over the ops)
 *                                    and written as a case file
 *   difftest --inject                raw system calls behind mapwarden's back
 *                                    must be caught (registry vs maps)
 *   difftest --exec FILE             (internal) run a case in this process and
 *                                    print its trace: each op's result, each
 *                                    page's state at each checkpoint, and,
 *                                    under mapwarden, every mismatch between
 *                                    the registry and /proc/self/smaps
 * Options: --lib PATH (default build/libmapwarden.so), --out DIR (where found
 * cases go), --libc-only (never call through syscall()), --count N, --ops N,
 * --stop-after N (stop fuzzing after N distinct failures), --min-time S
 * (time to minimise each failure, 0: not at all), --verbose, --self (both
 * runs without mapwarden: any difference is the tester's own nondeterminism),
 * --readme-partial (README guarantee 7 instead of the kernel for calls over
 * free window pages: mapwarden fails with ENOMEM and changes nothing, where
 * the kernel changes the mapped part; the kernel's run is then compared no
 * further, the registry still is), --avoid-documented (no op of a
 * difference the README documents: see avoided_class; with --replay, name
 * such ops), --minimise FILE (minimise a failing case file), --all-cases
 * (every failing sequence, not only the first of each kind, written to the
 * --out directory as it ran: sequenceN.case).
 * --count N alone runs exactly N sequences (no time limit): a fixed set.
 *
 * The case file format (one op a line, '#' comments), e.g.
 *     window 0x500000000000:1G      MAPWARDEN_WINDOW for the mapwarden run
 *     base w+16p                    b, the region's base (default w+16p)
 *     threads 2                     optional: each thread runs the ops at b + k*256p
 *     accounting strict             optional: also compare VM_ACCOUNT ("ac") and a
 *                                   forked child's page residency (see smaps_read)
 *     mmap b 8p RW PRIVATE|ANON|FIXED
 *     mprotect b 4p RX
 *     sys mremap b 8p 8p MAYMOVE|FIXED b+32p      (sys: through syscall())
 *     raw munmap b 1p               (raw: a syscall instruction, behind mapwarden's back)
 * Numbers: expressions of b, w (window base), e (window end), NULL and
 * numbers with suffixes p (pages), K, M, G, T; '~' is bitwise not.
 * Ops and their arguments:
 *     mmap ADDR LEN PROT FLAGS [anon|file|filero|memfd|inject|FD [OFFSET]]
 *     munmap ADDR LEN               mprotect ADDR LEN PROT
 *     pkey_mprotect ADDR LEN PROT PKEY
 *     mremap OLD OLDLEN NEWLEN FLAGS [NEWADDR]
 *     madvise ADDR LEN ADVICE       mlock ADDR LEN     mlock2 ADDR LEN FLAGS
 *     munlock ADDR LEN              msync ADDR LEN FLAGS   mincore ADDR LEN
 *     fork                          (the child prints its own state, then writes
 *                                    a marker into every writable page)
 *     write ADDR BYTE               (a plain store; SIGSEGV/SIGBUS are results)
 *     check                         (an extra checkpoint; there is one after every op)
 * The temp file ("file", read-write, "filero" the same file read-only) and
 * the memfd have 64 pages each, page i starting with 'F'/'M' and i.
 *
 * Only libc and mapwarden.h (for struct mapwarden_info; mapwarden_query is
 * looked up with dlsym, so the same binary runs without the preload).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "mapwarden.h"
#include "mapwarden_kernel.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

#define PAGE ((uint64_t)4096)
#define FILE_PAGES 64
#define INJECT_PAGES 1024          /* the inject memfd; injected mappings use offset 1000p */
#define THREAD_STRIDE (256 * PAGE)
#define TRACK_BELOW (48 * PAGE)    /* tracked pages: [b - 48p, b + 112p) */
#define TRACK_ABOVE (112 * PAGE)
#define VEC_BYTES (4u << 20)       /* mincore's vector: 16 GiB of pages, then a guard */
#define MAX_OPS 4096

/* ================================================================ utilities */

typedef struct { char *p; size_t n, cap; } Buf;

static void buf_add(Buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->n + n + 1 > cap) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) { perror("realloc"); _exit(98); }
        b->p = p; b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void __attribute__((format(printf, 2, 3))) bprintf(Buf *b, const char *fmt, ...) {
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof tmp) {
        char *big = malloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        buf_add(b, big, (size_t)n);
        free(big);
        return;
    }
    buf_add(b, tmp, (size_t)n);
}

static void buf_free(Buf *b) { free(b->p); b->p = NULL; b->n = b->cap = 0; }

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return; }
        p += w; n -= (size_t)w;
    }
}

static const char *errname(int e) {
    static __thread char tmp[16];
    const char *s = strerrorname_np(e);
    if (s) return s;
    snprintf(tmp, sizeof tmp, "E%d", e);
    return tmp;
}

static int read_file(const char *path, Buf *b) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char tmp[65536];
    for (;;) {
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r < 0) { if (errno == EINTR) continue; close(fd); return -1; }
        if (r == 0) break;
        buf_add(b, tmp, (size_t)r);
    }
    close(fd);
    if (!b->p) buf_add(b, "", 0);
    return 0;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The raw system call, behind every wrapper (and behind mapwarden's back):
 * the library's own (mapwarden_kernel.h), in the kernel's convention. */
#define raw6 mw_syscall6

/* ============================================================ names tables */

typedef struct { const char *name; long value; } Name;

static const Name prot_names[] = {
    {"NONE", PROT_NONE}, {"GROWSDOWN", PROT_GROWSDOWN}, {"GROWSUP", PROT_GROWSUP}, {"SEM", 0x8}, {NULL, 0}};
static const Name map_names[] = {
    {"PRIVATE", MAP_PRIVATE}, {"SHARED", MAP_SHARED}, {"SHARED_VALIDATE", MAP_SHARED_VALIDATE},
    {"ANON", MAP_ANONYMOUS}, {"ANONYMOUS", MAP_ANONYMOUS}, {"FIXED", MAP_FIXED},
    {"NOREPLACE", MAP_FIXED_NOREPLACE}, {"FIXED_NOREPLACE", MAP_FIXED_NOREPLACE},
    {"LOCKED", MAP_LOCKED}, {"NORESERVE", MAP_NORESERVE}, {"POPULATE", MAP_POPULATE},
    {"HUGETLB", MAP_HUGETLB}, {"GROWSDOWN", MAP_GROWSDOWN}, {"NONBLOCK", MAP_NONBLOCK},
    {"STACK", MAP_STACK}, {"32BIT", MAP_32BIT}, {"SYNC", MAP_SYNC},
    {"HUGE_2MB", 21L << 26}, {"HUGE_1GB", 30L << 26}, {NULL, 0}};
static const Name mremap_names[] = {
    {"MAYMOVE", MREMAP_MAYMOVE}, {"FIXED", MREMAP_FIXED}, {"DONTUNMAP", MREMAP_DONTUNMAP}, {NULL, 0}};
static const Name madv_names[] = {
    {"NORMAL", MADV_NORMAL}, {"RANDOM", MADV_RANDOM}, {"SEQUENTIAL", MADV_SEQUENTIAL},
    {"WILLNEED", MADV_WILLNEED}, {"DONTNEED", MADV_DONTNEED}, {"FREE", MADV_FREE},
    {"REMOVE", MADV_REMOVE}, {"DONTFORK", MADV_DONTFORK}, {"DOFORK", MADV_DOFORK},
    {"MERGEABLE", MADV_MERGEABLE}, {"UNMERGEABLE", MADV_UNMERGEABLE}, {"HUGEPAGE", MADV_HUGEPAGE},
    {"NOHUGEPAGE", MADV_NOHUGEPAGE}, {"DONTDUMP", MADV_DONTDUMP}, {"DODUMP", MADV_DODUMP},
    {"WIPEONFORK", MADV_WIPEONFORK}, {"KEEPONFORK", MADV_KEEPONFORK}, {"COLD", MADV_COLD},
    {"PAGEOUT", MADV_PAGEOUT}, {"POPULATE_READ", MADV_POPULATE_READ},
    {"POPULATE_WRITE", MADV_POPULATE_WRITE}, {"DONTNEED_LOCKED", MADV_DONTNEED_LOCKED},
    {"COLLAPSE", MADV_COLLAPSE}, {"GUARD_INSTALL", MADV_GUARD_INSTALL},
    {"GUARD_REMOVE", MADV_GUARD_REMOVE}, {NULL, 0}};
static const Name mlock2_names[] = {{"ONFAULT", MLOCK_ONFAULT}, {NULL, 0}};
static const Name msync_names[] = {{"ASYNC", MS_ASYNC}, {"SYNC", MS_SYNC}, {"INVALIDATE", MS_INVALIDATE}, {NULL, 0}};

/* ================================================================ the case */

enum { OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_PKEY_MPROTECT, OP_MREMAP, OP_MADVISE, OP_MLOCK,
       OP_MLOCK2, OP_MUNLOCK, OP_MSYNC, OP_MINCORE, OP_FORK, OP_WRITE, OP_CHECK, OP_COUNT };
static const char *op_names[] = {"mmap", "munmap", "mprotect", "pkey_mprotect", "mremap", "madvise", "mlock",
                                 "mlock2", "munlock", "msync", "mincore", "fork", "write", "check"};
enum { VIA_LIBC, VIA_SYSCALL, VIA_RAW };
enum { FD_ANON, FD_FILE, FD_FILERO, FD_MEMFD, FD_INJECT, FD_LITERAL };

typedef struct {
    int kind, via, fd;
    uint64_t a[6];
    char line[400];
} Op;

typedef struct {
    char window[96];          /* as written, for MAPWARDEN_WINDOW */
    uint64_t wbase, wsize, b;
    int threads;
    int accounting;           /* "accounting strict": also compare VM_ACCOUNT and a forked child's residency */
    Buf header;               /* the header lines, to write the case back */
    Op *ops;
    int nops;
} Case;

static int parse_number(const char **sp, uint64_t *out) {
    const char *s = *sp;
    char *end;
    errno = 0;
    uint64_t v = strtoull(s, &end, 0);
    if (end == s || errno) return -1;
    switch (*end) {
    case 'p': v *= PAGE; end++; break;
    case 'K': v <<= 10; end++; break;
    case 'M': v <<= 20; end++; break;
    case 'G': v <<= 30; end++; break;
    case 'T': v <<= 40; end++; break;
    default: break;
    }
    *sp = end;
    *out = v;
    return 0;
}

/* b+3p+883, w-32p, ~0, 0x500000000000, NULL, 1T */
static int eval(const char *s, const Case *c, uint64_t *out) {
    uint64_t total = 0;
    int sign = 1, first = 1;
    if (!*s) return -1;
    while (*s) {
        if (!first) {
            if (*s == '+') sign = 1;
            else if (*s == '-') sign = -1;
            else return -1;
            s++;
        } else if (*s == '-') { sign = -1; s++; }
        first = 0;
        int invert = 0;
        if (*s == '~') { invert = 1; s++; }
        uint64_t v;
        if (!strncmp(s, "NULL", 4)) { v = 0; s += 4; }
        else if (*s == 'b' && c) { v = c->b; s++; }
        else if (*s == 'w' && c) { v = c->wbase; s++; }
        else if (*s == 'e' && c) { v = c->wbase + c->wsize; s++; }
        else if (isdigit((unsigned char)*s)) { if (parse_number(&s, &v)) return -1; }
        else return -1;
        if (invert) v = ~v;
        total += sign > 0 ? v : -v;
    }
    *out = total;
    return 0;
}

static int parse_flags(const char *s, const Name *names, int letters, uint64_t *out) {
    uint64_t v = 0;
    char tok[64];
    while (*s) {
        size_t n = strcspn(s, "|");
        if (n == 0 || n >= sizeof tok) return -1;
        memcpy(tok, s, n);
        tok[n] = 0;
        s += n;
        if (*s == '|') s++;
        int found = 0;
        for (const Name *p = names; p->name; p++)
            if (!strcmp(tok, p->name)) { v |= (uint64_t)p->value; found = 1; break; }
        if (found) continue;
        if (isdigit((unsigned char)tok[0])) {
            uint64_t x;
            const char *t = tok;
            if (parse_number(&t, &x) || *t) return -1;
            v |= x;
            continue;
        }
        if (letters) { /* R, RW, RWX, W, X: PROT letters */
            for (const char *t = tok; *t; t++) {
                if (*t == 'R') v |= PROT_READ;
                else if (*t == 'W') v |= PROT_WRITE;
                else if (*t == 'X') v |= PROT_EXEC;
                else return -1;
            }
            continue;
        }
        return -1;
    }
    *out = v;
    return 0;
}

static int split(char *line, char **tok, int max) {
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t\r\n", &save); t && n < max; t = strtok_r(NULL, " \t\r\n", &save))
        tok[n++] = t;
    return n;
}

/* Parses one op line. Returns 0, or -1 with a message in err. */
static int parse_op(const Case *c, const char *text, Op *op, char *err, size_t errn) {
    char copy[400];
    char *tok[16];
    memset(op, 0, sizeof *op);
    snprintf(op->line, sizeof op->line, "%s", text);
    snprintf(copy, sizeof copy, "%s", text);
    int n = split(copy, tok, 16), i = 0;
    if (n == 0) { snprintf(err, errn, "empty op"); return -1; }
    op->via = VIA_LIBC;
    if (!strcmp(tok[0], "sys")) { op->via = VIA_SYSCALL; i++; }
    else if (!strcmp(tok[0], "raw")) { op->via = VIA_RAW; i++; }
    if (i >= n) { snprintf(err, errn, "no op after %s", tok[0]); return -1; }
    op->kind = -1;
    for (int k = 0; k < OP_COUNT; k++)
        if (!strcmp(tok[i], op_names[k])) op->kind = k;
    if (op->kind < 0) { snprintf(err, errn, "unknown op '%s'", tok[i]); return -1; }
    char **arg = tok + i + 1;
    int na = n - i - 1;
#define NEED(lo, hi) do { if (na < (lo) || na > (hi)) { snprintf(err, errn, "%s takes %d to %d arguments, not %d", op_names[op->kind], lo, hi, na); return -1; } } while (0)
#define EXPR(idx, dst) do { if (eval(arg[idx], c, &(dst))) { snprintf(err, errn, "bad number '%s'", arg[idx]); return -1; } } while (0)
#define FLAGS(idx, dst, names, letters) do { if (parse_flags(arg[idx], names, letters, &(dst))) { snprintf(err, errn, "bad flags '%s'", arg[idx]); return -1; } } while (0)
    if (op->via != VIA_LIBC && (op->kind == OP_FORK || op->kind == OP_WRITE || op->kind == OP_CHECK)) {
        snprintf(err, errn, "%s has no system-call form here", op_names[op->kind]);
        return -1;
    }
    switch (op->kind) {
    case OP_MMAP:
        NEED(4, 6);
        EXPR(0, op->a[0]); EXPR(1, op->a[1]);
        FLAGS(2, op->a[2], prot_names, 1);
        FLAGS(3, op->a[3], map_names, 0);
        op->fd = FD_ANON;
        op->a[4] = (uint64_t)-1;
        if (na >= 5) {
            const char *f = arg[4];
            if (!strcmp(f, "anon")) op->fd = FD_ANON;
            else if (!strcmp(f, "file")) op->fd = FD_FILE;
            else if (!strcmp(f, "filero")) op->fd = FD_FILERO;
            else if (!strcmp(f, "memfd")) op->fd = FD_MEMFD;
            else if (!strcmp(f, "inject")) op->fd = FD_INJECT;
            else { op->fd = FD_LITERAL; char *end; op->a[4] = (uint64_t)strtoll(f, &end, 0); if (*end) { snprintf(err, errn, "bad fd '%s'", f); return -1; } }
        }
        if (na >= 6) EXPR(5, op->a[5]);
        break;
    case OP_MUNMAP: case OP_MLOCK: case OP_MUNLOCK: case OP_MINCORE:
        NEED(2, 2); EXPR(0, op->a[0]); EXPR(1, op->a[1]);
        break;
    case OP_MPROTECT:
        NEED(3, 3); EXPR(0, op->a[0]); EXPR(1, op->a[1]); FLAGS(2, op->a[2], prot_names, 1);
        break;
    case OP_PKEY_MPROTECT:
        NEED(4, 4); EXPR(0, op->a[0]); EXPR(1, op->a[1]); FLAGS(2, op->a[2], prot_names, 1); EXPR(3, op->a[3]);
        break;
    case OP_MREMAP:
        NEED(4, 5); EXPR(0, op->a[0]); EXPR(1, op->a[1]); EXPR(2, op->a[2]); FLAGS(3, op->a[3], mremap_names, 0);
        if (na == 5) EXPR(4, op->a[4]);
        break;
    case OP_MADVISE:
        NEED(3, 3); EXPR(0, op->a[0]); EXPR(1, op->a[1]); FLAGS(2, op->a[2], madv_names, 0);
        break;
    case OP_MLOCK2:
        NEED(3, 3); EXPR(0, op->a[0]); EXPR(1, op->a[1]); FLAGS(2, op->a[2], mlock2_names, 0);
        break;
    case OP_MSYNC:
        NEED(3, 3); EXPR(0, op->a[0]); EXPR(1, op->a[1]); FLAGS(2, op->a[2], msync_names, 0);
        break;
    case OP_WRITE:
        NEED(2, 2); EXPR(0, op->a[0]); EXPR(1, op->a[1]);
        break;
    case OP_FORK: case OP_CHECK:
        NEED(0, 0);
        break;
    }
    return 0;
#undef NEED
#undef EXPR
#undef FLAGS
}

static int parse_window(const char *spec, uint64_t *base, uint64_t *size) {
    char *end;
    errno = 0;
    *base = strtoull(spec, &end, 16);
    if (errno || *end != ':') return -1;
    const char *s = end + 1;
    if (parse_number(&s, size) || (*s && *s != ':')) return -1;
    return (*base % PAGE || *size % PAGE || !*size) ? -1 : 0;
}

static void case_free(Case *c) { buf_free(&c->header); free(c->ops); memset(c, 0, sizeof *c); }

/* Parses a case from text. name is for messages. */
static int case_parse(const char *text, const char *name, Case *c, Buf *err) {
    memset(c, 0, sizeof *c);
    c->threads = 1;
    snprintf(c->window, sizeof c->window, "0x500000000000:1G");
    char base_expr[128] = "w+16p";
    c->ops = calloc(MAX_OPS, sizeof(Op));
    const char *p = text;
    int lineno = 0;
    /* Two passes: header keys may come after comments, ops need b. */
    for (int pass = 0; pass < 2; pass++) {
        p = text;
        lineno = 0;
        if (pass == 1) {
            if (parse_window(c->window, &c->wbase, &c->wsize)) { bprintf(err, "%s: bad window '%s'\n", name, c->window); return -1; }
            Case tmp = *c;
            tmp.b = 0;
            if (eval(base_expr, &tmp, &c->b) || c->b % PAGE) { bprintf(err, "%s: bad base '%s'\n", name, base_expr); return -1; }
        }
        while (*p) {
            size_t n = strcspn(p, "\n");
            char line[400];
            snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), p);
            p += n;
            if (*p) p++;
            lineno++;
            char *hash = strchr(line, '#');
            if (hash) *hash = 0;
            char *s = line;
            while (isspace((unsigned char)*s)) s++;
            size_t len = strlen(s);
            while (len && isspace((unsigned char)s[len - 1])) s[--len] = 0;
            if (!*s) continue;
            if (!strncmp(s, "window ", 7) || !strncmp(s, "base ", 5) || !strncmp(s, "threads ", 8) || !strncmp(s, "accounting ", 11)) {
                if (pass == 1) continue;
                char *v = strchr(s, ' ') + 1;
                while (*v == ' ') v++;
                if (s[0] == 'w') snprintf(c->window, sizeof c->window, "%s", v);
                else if (s[0] == 'b') snprintf(base_expr, sizeof base_expr, "%s", v);
                else if (s[0] == 'a') { if (strcmp(v, "strict") && strcmp(v, "loose")) { bprintf(err, "%s:%d: accounting strict|loose\n", name, lineno); return -1; } c->accounting = !strcmp(v, "strict"); }
                else { c->threads = atoi(v); if (c->threads < 1 || c->threads > 8) { bprintf(err, "%s:%d: threads 1..8\n", name, lineno); return -1; } }
                bprintf(&c->header, "%s\n", s);
                continue;
            }
            if (pass == 0) continue;
            if (c->nops >= MAX_OPS) { bprintf(err, "%s: too many ops\n", name); return -1; }
            char e[200];
            if (parse_op(c, s, &c->ops[c->nops], e, sizeof e)) { bprintf(err, "%s:%d: %s\n", name, lineno, e); return -1; }
            if (c->threads > 1 && c->ops[c->nops].kind == OP_FORK) { bprintf(err, "%s:%d: no fork with threads\n", name, lineno); return -1; }
            c->nops++;
        }
    }
    if (!c->header.p) buf_add(&c->header, "", 0);
    return 0;
}

static void case_text(const Case *c, const int *keep, Buf *out) {
    buf_add(out, c->header.p, c->header.n);
    for (int i = 0; i < c->nops; i++)
        if (!keep || keep[i]) bprintf(out, "%s\n", c->ops[i].line);
}

/* ============================================================== executor */

typedef int (*query_fn)(const void *, struct mapwarden_info *);
static query_fn mw_query;
static int mem_fd = -1;
/* Each thread has its own files (threads work on disjoint ranges; shared
 * files would make their contents race). */
static int file_fd[8], filero_fd[8], memfd_fd[8], inject_fd[8];
static ino_t file_ino[8], memfd_ino[8], inject_ino[8];
static int nfiles;
static int ino_is(unsigned long ino, const ino_t *set) {
    for (int i = 0; i < nfiles; i++) if (set[i] == ino) return 1;
    return 0;
}
static const Case *XC;             /* the case being executed */
static int in_child;               /* in a forked child (op fork) */

typedef struct {
    uint64_t s, e, off;
    char perms[8];
    unsigned long ino;
    char path[128];
    char flags[128];           /* compared: VmFlags without rd wr ex sh sd (and ac unless accounting strict) */
    char allflags[128];        /* every VmFlag, for the reservation check */
    int pkey;
} Vma;

typedef struct { Vma *v; int n, cap; } Smaps;

static void smaps_read(Smaps *sm) {
    Buf b = {0};
    sm->n = 0;
    if (read_file("/proc/self/smaps", &b)) { perror("smaps"); _exit(97); }
    char *p = b.p;
    while (*p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        unsigned long s, e, off, ino;
        char perms[8];
        int pos = 0;
        if (sscanf(p, "%lx-%lx %7s %lx %*s %lu %n", &s, &e, perms, &off, &ino, &pos) == 5 && pos > 0) {
            if (sm->n == sm->cap) {
                sm->cap = sm->cap ? sm->cap * 2 : 256;
                sm->v = realloc(sm->v, sizeof(Vma) * (size_t)sm->cap);
            }
            Vma *v = &sm->v[sm->n++];
            memset(v, 0, sizeof *v);
            v->s = s; v->e = e; v->off = off; v->ino = ino;
            snprintf(v->perms, sizeof v->perms, "%s", perms);
            const char *path = p + pos;
            while (*path == ' ') path++;
            snprintf(v->path, sizeof v->path, "%s", path);
        } else if (sm->n && !strncmp(p, "VmFlags:", 8)) {
            Vma *v = &sm->v[sm->n - 1];
            const char *f = p + 8;
            char out[128] = "", all[128] = "";
            char tok[8];
            int used = 0;
            while (sscanf(f, " %7s%n", tok, &used) == 1) {
                f += used;
                if (all[0]) strcat(all, ",");
                if (strlen(all) + strlen(tok) < sizeof all - 1) strcat(all, tok);
                /* rd wr ex sh repeat the permissions; sd (soft-dirty) is bookkeeping;
                 * ac (VM_ACCOUNT) depends on whether the VMA has an anon_vma, which
                 * mapwarden's moves (a DONTUNMAP copy) always give it: compared only
                 * under "accounting strict" (Tests/fuzz/documented/) */
                if (!strcmp(tok, "rd") || !strcmp(tok, "wr") || !strcmp(tok, "ex") || !strcmp(tok, "sh") || !strcmp(tok, "sd"))
                    continue;
                if (!strcmp(tok, "ac") && !(XC && XC->accounting)) continue;
                if (out[0]) strcat(out, ",");
                if (strlen(out) + strlen(tok) < sizeof out - 1) strcat(out, tok);
            }
            snprintf(v->flags, sizeof v->flags, "%s", out[0] ? out : "none");
            snprintf(v->allflags, sizeof v->allflags, "%s", all[0] ? all : "none");
        } else if (sm->n && !strncmp(p, "ProtectionKey:", 14)) {
            sm->v[sm->n - 1].pkey = atoi(p + 14);
        }
        if (!nl) break;
        p = nl + 1;
    }
    buf_free(&b);
}

static const Vma *vma_at(const Smaps *sm, uint64_t a) {
    int lo = 0, hi = sm->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (a < sm->v[mid].s) hi = mid - 1;
        else if (a >= sm->v[mid].e) lo = mid + 1;
        else return &sm->v[mid];
    }
    return NULL;
}

static int vma_anon(const Vma *v) { return v->ino == 0; }
static int vma_has_flag_in(const char *flags, const char *f) {
    char tmp[140], want[16];
    snprintf(tmp, sizeof tmp, ",%s,", flags);
    snprintf(want, sizeof want, ",%s,", f);
    return strstr(tmp, want) != NULL;
}
static int vma_shmem_anon(const Vma *v) {
    return !strncmp(v->path, "/dev/zero", 9) || !strncmp(v->path, "[anon_shmem", 11) || !strncmp(v->path, "/SYSV", 5);
}
/* Anonymous as the program asked for it: private or shared, hugetlb too. */
static int vma_anon_request(const Vma *v) {
    return v->ino == 0 || vma_shmem_anon(v) || !strncmp(v->path, "/anon_hugepage", 14);
}

/* The reservation: ---p, anonymous, none of the flags a program's calls
 * add, and MAP_NORESERVE ("nr"; the kernel ignores that flag, and shows no
 * "nr", under vm.overcommit_memory=2). */
static int strict_overcommit = -1;
static int reservation_like(const Vma *v) {
    if (strcmp(v->perms, "---p") || !vma_anon(v)) return 0;
    if (v->path[0] && strcmp(v->path, "[anon:mapwarden]")) return 0;
    if (strict_overcommit < 0) {
        Buf b = {0};
        strict_overcommit = read_file("/proc/sys/vm/overcommit_memory", &b) == 0 && b.p[0] == '2';
        buf_free(&b);
    }
    if (!strict_overcommit && !vma_has_flag_in(v->allflags, "nr")) return 0;
    char f[128];
    snprintf(f, sizeof f, "%s", v->allflags);
    char *save = NULL;
    for (char *t = strtok_r(f, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (strcmp(t, "mr") && strcmp(t, "mw") && strcmp(t, "me") && strcmp(t, "nr") && strcmp(t, "sd") && strcmp(t, "none")) return 0;
    return 1;
}

static void backing(const Vma *v, uint64_t page, char *out, size_t n) {
    uint64_t off = v->off + (page - v->s);
    if (vma_anon(v)) { snprintf(out, n, "anon"); return; }
    const char *what;
    char other[160];
    if (ino_is(v->ino, file_ino)) what = "file";
    else if (ino_is(v->ino, memfd_ino)) what = "memfd";
    else if (ino_is(v->ino, inject_ino)) what = "inject";
    else if (vma_shmem_anon(v)) what = "shm";
    else if (!strncmp(v->path, "/anon_hugepage", 14)) what = "hugeanon";
    else { const char *slash = strrchr(v->path, '/'); snprintf(other, sizeof other, "other:%s", slash ? slash + 1 : v->path); what = other; }
    if (off % PAGE) snprintf(out, n, "%s@0x%" PRIx64, what, off);
    else snprintf(out, n, "%s@%" PRIu64 "p", what, off / PAGE);
}

static void content(uint64_t page, char *out, size_t n) {
    unsigned char buf[PAGE];
    ssize_t r = pread(mem_fd, buf, PAGE, (off_t)page);
    if (r < 0) { snprintf(out, n, "c=%s", errname(errno)); return; }
    if (r != (ssize_t)PAGE) { snprintf(out, n, "c=short%zd", r); return; }
    uint32_t h = 2166136261u;
    int first = -1;
    for (size_t i = 0; i < PAGE; i++) {
        h = (h ^ buf[i]) * 16777619u;
        if (first < 0 && buf[i]) first = (int)i;
    }
    if (first < 0) snprintf(out, n, "c=0");
    else snprintf(out, n, "c=%08x/%d:%02x", h, first, buf[first]);
}

/* The kernel's view of one page: "-" or "PERMS BACKING FLAGS RESIDENT CONTENT".
 * Residency (a raw mincore, before the content is read, which faults the
 * page in) shows MAP_POPULATE, MADV_DONTNEED and the like on pages never
 * written. */
static void kernel_state(const Smaps *sm, uint64_t page, char *out, size_t n, int with_content) {
    const Vma *v = vma_at(sm, page);
    if (!v) { snprintf(out, n, "-"); return; }
    char back[160], cont[64] = "", flags[160], res[40];
    backing(v, page, back, sizeof back);
    if (v->pkey) snprintf(flags, sizeof flags, "%s,pkey%d", v->flags, v->pkey);
    else snprintf(flags, sizeof flags, "%s", v->flags);
    unsigned char vec = 0;
    long r = raw6(SYS_mincore, (long)page, (long)PAGE, (long)&vec, 0, 0, 0);
    /* A forked child's never-written anonymous pages are resident when fork
     * copied the page tables, which it does when the VMA has an anon_vma:
     * the same internal detail as VM_ACCOUNT above. */
    if (in_child && !(XC && XC->accounting)) snprintf(res, sizeof res, "res=?");
    else if (r == 0) snprintf(res, sizeof res, "res=%d", vec & 1);
    else snprintf(res, sizeof res, "res=%s", errname((int)-r));
    if (with_content) content(page, cont, sizeof cont);
    snprintf(out, n, "%s %s %s %s %s", v->perms, back, flags, res, with_content ? cont : "c=?");
}

typedef struct {
    const Case *c;
    int tid;                   /* -1: the only thread */
    uint64_t shift;            /* k * THREAD_STRIDE */
    Buf out;
    unsigned char *vec;
    char prefix[16];           /* "" or "t1." */
} Ctx;

static uint64_t ctx_b(const Ctx *x) { return x->c->b + x->shift; }

/* An address as the case would write it: relative to this thread's b
 * (b+3p, b-2p+883, b+17), or in hex when far from it. */
static void fmt_rel(const Ctx *x, uint64_t a, char *out, size_t n) {
    uint64_t b = ctx_b(x);
    int64_t d = (int64_t)(a - b);
    if (d <= -(int64_t)(4ULL << 30) || d >= (int64_t)(4ULL << 30)) { snprintf(out, n, "0x%" PRIx64, a); return; }
    int64_t pages = d >= 0 ? d / (int64_t)PAGE : -((-d + (int64_t)PAGE - 1) / (int64_t)PAGE);
    int64_t rest = d - pages * (int64_t)PAGE; /* 0 .. PAGE-1 */
    char head[32] = "b", tail[24] = "";
    if (pages) snprintf(head, sizeof head, "b%+" PRId64 "p", pages);
    if (rest) snprintf(tail, sizeof tail, "+%" PRId64, rest);
    snprintf(out, n, "%s%s", head, tail);
}

static int in_window(const Case *c, uint64_t a) { return a >= c->wbase && a - c->wbase < c->wsize; }

static void xmsg(Ctx *x, const char *label, int *count, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void xmsg(Ctx *x, const char *label, int *count, const char *fmt, ...) {
    if ((*count)++ >= 6) return;
    char tmp[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    bprintf(&x->out, "X %s%s %s\n", x->prefix, label, tmp);
}

static const char *perm_of_prot(int prot, char *out) {
    out[0] = prot & PROT_READ ? 'r' : '-';
    out[1] = prot & PROT_WRITE ? 'w' : '-';
    out[2] = prot & PROT_EXEC ? 'x' : '-';
    out[3] = 0;
    return out;
}

static int vma_has_flag(const Vma *v, const char *f) {
    char tmp[130];
    snprintf(tmp, sizeof tmp, ",%s,", v->flags);
    char want[16];
    snprintf(want, sizeof want, ",%s,", f);
    return strstr(tmp, want) != NULL;
}

/*
 * Registry against the kernel over [lo, hi) (clipped to the window): every
 * registry run (free or mapped) is compared, piece by piece, with the VMAs
 * under it. Free runs must be the reservation (no hole, nothing else);
 * mapped runs must be mapped with the recorded protection, sharing,
 * anonymity, file offset and don't-fork mark.
 */
static void registry_walk(Ctx *x, const Smaps *sm, const char *label, uint64_t lo, uint64_t hi, int *count) {
    const Case *c = x->c;
    uint64_t wend = c->wbase + c->wsize;
    if (lo < c->wbase) lo = c->wbase;
    if (hi > wend) hi = wend;
    char r1[48], r2[48];
    uint64_t a = lo;
    int guard = 0;
    while (a < hi && guard++ < 100000) {
        struct mapwarden_info q;
        if (mw_query((void *)a, &q) != 0) {
            fmt_rel(x, a, r1, sizeof r1);
            xmsg(x, label, count, "query-failed at %s: %s", r1, errname(errno));
            return;
        }
        if (q.state == MAPWARDEN_OUTSIDE) {
            fmt_rel(x, a, r1, sizeof r1);
            xmsg(x, label, count, "outside %s is inside the window but mapwarden_query says OUTSIDE", r1);
            return;
        }
        uint64_t rs = q.base, re = q.base + q.size;
        if (!(rs <= a && a < re) || q.size == 0) {
            fmt_rel(x, a, r1, sizeof r1);
            xmsg(x, label, count, "query-run the run mapwarden_query gives for %s (base 0x%" PRIx64 ", size 0x%zx) does not hold it", r1, q.base, q.size);
            return;
        }
        uint64_t end = re < hi ? re : hi;
        uint64_t p = a;
        while (p < end) {
            const Vma *v = vma_at(sm, p);
            uint64_t next;
            if (!v) { /* a hole: up to the next VMA */
                next = end;
                for (int i = 0; i < sm->n; i++)
                    if (sm->v[i].s > p) { if (sm->v[i].s < next) next = sm->v[i].s; break; }
            } else {
                next = v->e < end ? v->e : end;
            }
            fmt_rel(x, p, r1, sizeof r1);
            fmt_rel(x, next, r2, sizeof r2);
            if (q.state == MAPWARDEN_FREE) {
                if (!v) xmsg(x, label, count, "hole [%s,%s) is unmapped in the kernel; the registry says free (it must be the reservation)", r1, r2);
                else if (!reservation_like(v)) {
                    char back[200];
                    backing(v, p, back, sizeof back);
                    xmsg(x, label, count, "free-but-mapped [%s,%s): the registry says free, the kernel has %s %s %s", r1, r2, v->perms, back, v->flags);
                }
            } else {
                char want[4];
                if (!v) {
                    xmsg(x, label, count, "mapped-but-none [%s,%s): the registry has a mapping (prot %d), the kernel has no VMA", r1, r2, q.prot);
                } else {
                    if (q.prot >= 0 && strncmp(v->perms, perm_of_prot(q.prot, want), 3))
                        xmsg(x, label, count, "prot [%s,%s): the registry says prot %d (%s), the kernel has %s", r1, r2, q.prot, want, v->perms);
                    int rshared = (q.flags & MAP_SHARED) != 0 || (q.kind & MAPWARDEN_KIND_SHARED) != 0;
                    int kshared = v->perms[3] == 's';
                    if (rshared != kshared)
                        xmsg(x, label, count, "shared [%s,%s): the registry says %s, the kernel has %s", r1, r2, rshared ? "shared" : "private", v->perms);
                    int ranon = (q.flags & MAP_ANONYMOUS) != 0;
                    int kanon = vma_anon_request(v);
                    if (ranon != kanon && !(q.kind & MAPWARDEN_KIND_WINDOW_FILE)) {
                        char back[200];
                        backing(v, p, back, sizeof back);
                        xmsg(x, label, count, "anon [%s,%s): the registry says %s, the kernel has %s", r1, r2, ranon ? "anonymous" : "file-backed", back);
                    } else if (!ranon && !kanon) {
                        uint64_t roff = q.offset + (p - q.base), koff = v->off + (p - v->s);
                        if (roff != koff)
                            xmsg(x, label, count, "offset [%s,%s): the registry says file offset 0x%" PRIx64 ", the kernel 0x%" PRIx64, r1, r2, roff, koff);
                    }
                    int rdc = (q.kind & MAPWARDEN_KIND_DONTFORK) != 0, kdc = vma_has_flag(v, "dc");
                    if (rdc != kdc)
                        xmsg(x, label, count, "dontfork [%s,%s): the registry says %s, the kernel's VmFlags %s", r1, r2, rdc ? "don't-fork" : "fork", v->flags);
                }
            }
            p = next;
        }
        a = re;
    }
}

/* One checkpoint: the state of every tracked page (P lines, runs of equal
 * states), and under mapwarden the registry check (X lines). */
static void checkpoint(Ctx *x, const char *label, int whole_window) {
    Smaps sm = {0};
    smaps_read(&sm);
    uint64_t b = ctx_b(x), lo = b - TRACK_BELOW, hi = b + TRACK_ABOVE;
    int count = 0;
    char prev[400] = "", cur[400];
    int64_t run_start = 0, run_len = 0;
    for (uint64_t pg = lo; pg < hi; pg += PAGE) {
        int64_t idx = (int64_t)(pg - b) / (int64_t)PAGE;
        const Vma *v = vma_at(&sm, pg);
        int shown = 0;
        if (mw_query) {
            struct mapwarden_info q;
            char r1[48];
            fmt_rel(x, pg, r1, sizeof r1);
            if (mw_query((void *)pg, &q) != 0) {
                xmsg(x, label, &count, "query-failed at %s: %s", r1, errname(errno));
            } else if (in_window(x->c, pg) != (q.state != MAPWARDEN_OUTSIDE)) {
                xmsg(x, label, &count, "outside %s: mapwarden_query says state %u", r1, q.state);
            } else if (q.state == MAPWARDEN_FREE && v && reservation_like(v)) {
                snprintf(cur, sizeof cur, "-");   /* free window page = unmapped */
                shown = 1;
            }
        }
        if (!shown) kernel_state(&sm, pg, cur, sizeof cur, 1);
        if (run_len && !strcmp(cur, prev)) { run_len++; continue; }
        if (run_len) bprintf(&x->out, "P %s%s %" PRId64 " %" PRId64 " %s\n", x->prefix, label, run_start, run_len, prev);
        snprintf(prev, sizeof prev, "%s", cur);
        run_start = idx;
        run_len = 1;
    }
    if (run_len) bprintf(&x->out, "P %s%s %" PRId64 " %" PRId64 " %s\n", x->prefix, label, run_start, run_len, prev);
    if (mw_query) {
        if (whole_window) registry_walk(x, &sm, label, x->c->wbase, x->c->wbase + x->c->wsize, &count);
        else registry_walk(x, &sm, label, lo, hi, &count);
        if (count > 6) bprintf(&x->out, "X %s%s (and %d more)\n", x->prefix, label, count - 6);
    }
    free(sm.v);
}

static __thread sigjmp_buf *volatile fault_jmp;
static void on_fault(int sig, siginfo_t *si, void *uc) {
    (void)si; (void)uc;
    if (fault_jmp) siglongjmp(*fault_jmp, sig);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int op_fd(const Op *o, int t) {
    switch (o->fd) {
    case FD_FILE: return file_fd[t];
    case FD_FILERO: return filero_fd[t];
    case FD_MEMFD: return memfd_fd[t];
    case FD_INJECT: return inject_fd[t];
    case FD_LITERAL: return (int)o->a[4];
    default: return -1;
    }
}

/* The kernel convention of a libc answer. */
static long kres(long r, int is_ptr) {
    if (is_ptr ? (void *)r == MAP_FAILED : r == -1) return -(long)errno;
    return r;
}

static long sys_or_raw(int via, long n, long a, long b, long c, long d, long e, long f) {
    if (via == VIA_RAW) return raw6(n, a, b, c, d, e, f);
    long r = syscall(n, a, b, c, d, e, f);
    return r == -1 ? -(long)errno : r;
}

/* Describes where a mapping landed outside the tracked region. */
static void describe_elsewhere(Ctx *x, uint64_t a, char *out, size_t n) {
    (void)x;
    Smaps sm = {0};
    smaps_read(&sm);
    char st[400];
    kernel_state(&sm, a, st, sizeof st, 1);
    snprintf(out, n, "elsewhere(%s)", st);
    free(sm.v);
}

static void do_checkpoints_child(Ctx *x, const char *label);

/* Runs one op; writes its result (in the same words for both runs). */
static void do_op(Ctx *x, const Op *o, int index, char *res, size_t resn) {
    uint64_t a[6];
    memcpy(a, o->a, sizeof a);
    if (x->shift) { /* threads: every nonzero address moves with b */
        if (o->kind != OP_FORK && o->kind != OP_CHECK && a[0]) a[0] += x->shift;
        if (o->kind == OP_MREMAP && a[4]) a[4] += x->shift;
    }
    long r = 0;
    int ptr = 0;
    errno = 0;
    switch (o->kind) {
    case OP_MMAP: {
        int fd = op_fd(o, x->tid < 0 ? 0 : x->tid);
        ptr = 1;
        if (o->via == VIA_LIBC) r = kres((long)mmap((void *)a[0], a[1], (int)a[2], (int)a[3], fd, (off_t)a[5]), 1);
        else r = sys_or_raw(o->via, SYS_mmap, (long)a[0], (long)a[1], (long)a[2], (long)a[3], fd, (long)a[5]);
        break;
    }
    case OP_MUNMAP:
        if (o->via == VIA_LIBC) r = kres(munmap((void *)a[0], a[1]), 0);
        else r = sys_or_raw(o->via, SYS_munmap, (long)a[0], (long)a[1], 0, 0, 0, 0);
        break;
    case OP_MPROTECT:
        if (o->via == VIA_LIBC) r = kres(mprotect((void *)a[0], a[1], (int)a[2]), 0);
        else r = sys_or_raw(o->via, SYS_mprotect, (long)a[0], (long)a[1], (long)a[2], 0, 0, 0);
        break;
    case OP_PKEY_MPROTECT:
        if (o->via == VIA_LIBC) r = kres(pkey_mprotect((void *)a[0], a[1], (int)a[2], (int)a[3]), 0);
        else r = sys_or_raw(o->via, SYS_pkey_mprotect, (long)a[0], (long)a[1], (long)a[2], (long)(int)a[3], 0, 0);
        break;
    case OP_MREMAP:
        ptr = 1;
        if (o->via == VIA_LIBC) r = kres((long)mremap((void *)a[0], a[1], a[2], (int)a[3], (void *)a[4]), 1);
        else r = sys_or_raw(o->via, SYS_mremap, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], 0);
        break;
    case OP_MADVISE:
        if (o->via == VIA_LIBC) r = kres(madvise((void *)a[0], a[1], (int)a[2]), 0);
        else r = sys_or_raw(o->via, SYS_madvise, (long)a[0], (long)a[1], (long)a[2], 0, 0, 0);
        break;
    case OP_MLOCK:
        if (o->via == VIA_LIBC) r = kres(mlock((void *)a[0], a[1]), 0);
        else r = sys_or_raw(o->via, SYS_mlock, (long)a[0], (long)a[1], 0, 0, 0, 0);
        break;
    case OP_MLOCK2:
        if (o->via == VIA_LIBC) r = kres(mlock2((void *)a[0], a[1], (unsigned)a[2]), 0);
        else r = sys_or_raw(o->via, SYS_mlock2, (long)a[0], (long)a[1], (long)a[2], 0, 0, 0);
        break;
    case OP_MUNLOCK:
        if (o->via == VIA_LIBC) r = kres(munlock((void *)a[0], a[1]), 0);
        else r = sys_or_raw(o->via, SYS_munlock, (long)a[0], (long)a[1], 0, 0, 0, 0);
        break;
    case OP_MSYNC:
        if (o->via == VIA_LIBC) r = kres(msync((void *)a[0], a[1], (int)a[2]), 0);
        else r = sys_or_raw(o->via, SYS_msync, (long)a[0], (long)a[1], (long)a[2], 0, 0, 0);
        break;
    case OP_MINCORE: {
        uint64_t pages = (a[1] + (a[0] % PAGE) + PAGE - 1) / PAGE;
        memset(x->vec, 0xee, 4096);
        if (o->via == VIA_LIBC) r = kres(mincore((void *)a[0], a[1], x->vec), 0);
        else r = sys_or_raw(o->via, SYS_mincore, (long)a[0], (long)a[1], (long)x->vec, 0, 0, 0);
        if (r == 0) {
            char v[200];
            size_t k = 0;
            for (uint64_t i = 0; i < pages && i < 160 && k < sizeof v - 1; i++) v[k++] = (char)('0' + (x->vec[i] & 1));
            v[k] = 0;
            snprintf(res, resn, "0 vec=%s%s", v, pages > 160 ? "..." : "");
            return;
        }
        break;
    }
    case OP_FORK: {
        write_all(1, x->out.p ? x->out.p : "", x->out.n);
        x->out.n = 0;
        pid_t pid = fork();
        if (pid < 0) { r = -(long)errno; break; }
        if (pid == 0) {
            char label[32];
            snprintf(label, sizeof label, "op%d.child", index + 1);
            do_checkpoints_child(x, label);
            write_all(1, x->out.p ? x->out.p : "", x->out.n);
            _exit(0);
        }
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0) snprintf(res, resn, "ok");
        else if (WIFEXITED(st)) snprintf(res, resn, "child-exit-%d", WEXITSTATUS(st));
        else snprintf(res, resn, "child-signal-%s", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
        return;
    }
    case OP_WRITE: {
        sigjmp_buf jb;
        int sig = sigsetjmp(jb, 1);
        if (sig == 0) {
            fault_jmp = &jb;
            __asm__ volatile("" ::: "memory");
            *(volatile unsigned char *)a[0] = (unsigned char)a[1];
            __asm__ volatile("" ::: "memory");
            fault_jmp = NULL;
            snprintf(res, resn, "ok");
        } else {
            fault_jmp = NULL;
            snprintf(res, resn, "SIG%s", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
        }
        return;
    }
    case OP_CHECK:
        snprintf(res, resn, "ok");
        return;
    }
    if (r < 0 && r > -4096) { snprintf(res, resn, "-1 %s", errname((int)-r)); return; }
    if (ptr) {
        char rel[48];
        uint64_t u = (uint64_t)r;
        if ((int64_t)(u - ctx_b(x)) > -(int64_t)(4ULL << 30) && (int64_t)(u - ctx_b(x)) < (int64_t)(4ULL << 30)) {
            fmt_rel(x, u, rel, sizeof rel);
            snprintf(res, resn, "%s", rel);
        } else {
            describe_elsewhere(x, u, res, resn);
        }
        return;
    }
    snprintf(res, resn, "%ld", r);
}

/* A forked child: its own state, then a marker in every writable page (so
 * the parent's next checkpoint shows what it shares with the child). */
static void do_checkpoints_child(Ctx *x, const char *label) {
    in_child = 1;
    close(mem_fd);
    mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC); /* the parent's fd reads the parent */
    checkpoint(x, label, 1);
    Smaps sm = {0};
    smaps_read(&sm);
    uint64_t b = ctx_b(x);
    for (uint64_t pg = b - TRACK_BELOW; pg < b + TRACK_ABOVE; pg += PAGE) {
        const Vma *v = vma_at(&sm, pg);
        if (!v || v->perms[1] != 'w') continue;
        unsigned char m = 0xc5;
        if (pwrite(mem_fd, &m, 1, (off_t)(pg + 200)) < 0) {}
    }
    free(sm.v);
}

/* Under mapwarden: does the op's range (as the kernel rounds it) hold a free
 * window page? Printed as an F line, for --readme-partial. */
static int spans_free(Ctx *x, const Op *o) {
    switch (o->kind) {
    case OP_MPROTECT: case OP_PKEY_MPROTECT: case OP_MADVISE: case OP_MLOCK: case OP_MLOCK2:
    case OP_MUNLOCK: case OP_MSYNC: case OP_MINCORE: break;
    default: return 0;
    }
    uint64_t a = o->a[0] + (o->a[0] ? x->shift : 0), lo = a & ~(PAGE - 1);
    uint64_t len = o->a[1] + (a - lo), hi = lo + ((len + PAGE - 1) & ~(PAGE - 1));
    if (hi < lo || len < o->a[1]) return 0; /* overflows: the kernel's EINVAL */
    const Case *c = x->c;
    uint64_t wend = c->wbase + c->wsize;
    for (uint64_t p = lo > c->wbase ? lo : c->wbase; p < hi && p < wend;) {
        struct mapwarden_info q;
        if (mw_query((void *)p, &q) != 0 || q.size == 0) return 0;
        if (q.state == MAPWARDEN_FREE) return 1;
        p = q.base + q.size;
    }
    return 0;
}

/* ============================================ the documented differences */

/*
 * --avoid-documented: the op shapes whose differences from the kernel the
 * README documents ("Where Linux and mapwarden still differ"; the cases in
 * Tests/fuzz/documented/). Whether an op has such a shape depends on the
 * memory it meets (is the mapping at the source hugetlb? does it straddle a
 * window edge?), which the generator does not model: the kernel's run
 * (DIFFTEST_CLASSIFY=1 in its environment) judges each op on its own
 * /proc/self/smaps just before running it, and prints "A opN CLASS"; the
 * fuzzer then runs the sequence again without that op. What is compared
 * never changes, only which ops run. The classes (named in
 * Tests/fuzz/README.md beside their documented cases):
 */
#define HUGE_PAGE (2ULL << 20)     /* MAP_HUGETLB without MAP_HUGE_*: 2 MiB on x86-64 */
#define GUARD_GAP (256 * PAGE)     /* the kernel's stack_guard_gap (default: 256 pages) */
#define TASK_END (1ULL << 47)

static int opt_classify;           /* set in the kernel's run by DIFFTEST_CLASSIFY=1 */

static int vma_hugetlb(const Vma *v) { return vma_has_flag_in(v->allflags, "ht"); }
static int vma_growsdown(const Vma *v) { return vma_has_flag_in(v->allflags, "gd"); }

/* A window edge strictly inside [s, e) and [s2, e2) (pass the same range twice for one). */
static int cuts_edge2(const Case *c, uint64_t s, uint64_t e, uint64_t s2, uint64_t e2) {
    uint64_t w0 = c->wbase, w1 = c->wbase + c->wsize;
    return (s < w0 && w0 < e && s2 < w0 && w0 < e2) || (s < w1 && w1 < e && s2 < w1 && w1 < e2);
}
static int cuts_edge(const Case *c, uint64_t s, uint64_t e) { return cuts_edge2(c, s, e, s, e); }

/* The first VMA that ends above a (the kernel's find_vma), or -1. */
static int vma_from(const Smaps *sm, uint64_t a) {
    for (int i = 0; i < sm->n; i++) if (sm->v[i].e > a) return i;
    return -1;
}

/* Two adjacent VMAs that would be one but for mlock: the same in every
 * respect the registry records (and every VmFlag) but lo/lf. */
static int lock_split(const Vma *l, const Vma *r) {
    if (l->e != r->s || strcmp(l->perms, r->perms) || l->ino != r->ino || strcmp(l->path, r->path) || l->pkey != r->pkey) return 0;
    if (!vma_anon(l) && r->off != l->off + (l->e - l->s)) return 0;
    if (!strcmp(l->allflags, r->allflags)) return 0;
    char f[2][128];
    const Vma *v[2] = {l, r};
    for (int k = 0; k < 2; k++) {
        char tmp[128], *save = NULL;
        snprintf(tmp, sizeof tmp, "%s", v[k]->allflags);
        f[k][0] = 0;
        for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!strcmp(t, "lo") || !strcmp(t, "lf")) continue;
            if (strlen(f[k]) + strlen(t) + 2 < sizeof f[k]) { strcat(f[k], t); strcat(f[k], ","); }
        }
    }
    return !strcmp(f[0], f[1]);
}

/* A hinted placement of [a, a+len) that the kernel refuses only for the
 * guard gap below a MAP_GROWSDOWN mapping (the next VMA above the range). */
static int in_guard_gap(const Smaps *sm, uint64_t a, uint64_t len) {
    a &= ~(PAGE - 1);
    len = (len + PAGE - 1) & ~(PAGE - 1);
    if (!a || !len || a + len < a || a + len > TASK_END) return 0;
    int i = vma_from(sm, a);
    if (i < 0) return 0;
    const Vma *v = &sm->v[i];
    return vma_growsdown(v) && a + len <= v->s && a + len + GUARD_GAP > v->s;
}

static const char *avoided_class(Ctx *x, const Op *o, const Smaps *sm) {
    const Case *c = x->c;
    uint64_t a = o->a[0] ? o->a[0] + x->shift : 0;
    switch (o->kind) {
    case OP_MMAP: {
        /* growsdown-guard-gap: a hint in the guard gap below a MAP_GROWSDOWN
         * mapping (documented/mmap_hint_in_growsdown_guard_gap.case). */
        int flags = (int)o->a[3];
        if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) return NULL;
        return in_guard_gap(sm, a, o->a[1]) ? "growsdown-guard-gap" : NULL;
    }
    case OP_MPROTECT: case OP_PKEY_MPROTECT: {
        /* mprotect-growsdown-crossing-edge: PROT_GROWSDOWN over a range that
         * starts outside a window and crosses its edge (Linux finds the
         * first VMA in the window) (documented/mprotect_growsdown_from_below_window_starts_at_first_vma.case). */
        uint64_t len = (o->a[1] + PAGE - 1) & ~(PAGE - 1);
        if ((o->a[2] & PROT_GROWSDOWN) && len && a + len > a && cuts_edge(c, a, a + len)) return "mprotect-growsdown-crossing-edge";
        return NULL;
    }
    case OP_MADVISE:
    {
        /* guard-install: MADV_GUARD_INSTALL marks a whole VMA, and a
         * program's PROT_NONE private anonymous MAP_NORESERVE mapping can
         * share one with the reservation
         * (documented/madvise_guard_install_leaves_reservation_unmarked.case). */
        /* (any VMA of the range: the one at its start may be a page the
         * run without the window has unmapped) */
        if (o->a[2] != MADV_GUARD_INSTALL) return NULL;
        uint64_t glen = (o->a[1] + PAGE - 1) & ~(PAGE - 1);
        for (uint64_t at = a; at - a < glen && at - a < 4096 * PAGE; at += PAGE) {
            const Vma *v = vma_at(sm, at);
            if (v && !strcmp(v->perms, "---p") && vma_anon(v) && vma_has_flag_in(v->allflags, "nr"))
                return "guard-install";
        }
        return NULL;
    }
    case OP_MUNMAP: {
        /* munmap-edge-refused: an munmap straddling a window edge whose window
         * part the kernel refuses: it would split a hugetlb page
         * (documented/munmap_straddling_edge_failure_changes_nothing.case). */
        uint64_t len = (o->a[1] + PAGE - 1) & ~(PAGE - 1), e = a + len;
        if (a % PAGE || !len || e < a || e > TASK_END || !cuts_edge(c, a, e)) return NULL;
        uint64_t w0 = c->wbase, w1 = c->wbase + c->wsize;
        uint64_t ends[2] = {a > w0 ? a : w0, e < w1 ? e : w1};
        for (int k = 0; k < 2; k++) {
            const Vma *v = vma_at(sm, ends[k]);
            if (v && v->s < ends[k] && vma_hugetlb(v) && ends[k] % HUGE_PAGE) return "munmap-edge-refused";
        }
        return NULL;
    }
    case OP_MREMAP: {
        uint64_t ol = o->a[1], nl = o->a[2], flags = o->a[3];
        uint64_t olr = (ol + PAGE - 1) & ~(PAGE - 1), nlr = (nl + PAGE - 1) & ~(PAGE - 1);
        /* mremap-wrapping-length: an old length that wraps, on a free page
         * (documented/mremap_wrapping_old_length_unmapped_is_efault.case). */
        if (a % PAGE == 0 && (olr < ol || a + olr < a) && !vma_at(sm, a)) return "mremap-wrapping-length";
        if (a % PAGE || olr < ol || nlr < nl) return NULL;      /* the kernel's EINVAL, both runs */
        uint64_t e = a + (olr ? olr : PAGE);
        /* mremap-fixed-past-address-space: MREMAP_FIXED whose source runs
         * past the address space (documented/mremap_fixed_past_address_space_unmaps_destination_first.case). */
        if ((flags & MREMAP_FIXED) && (e < a || e > TASK_END)) return "mremap-fixed-past-address-space";
        if (e < a || e > TASK_END) return NULL;
        /* mremap-straddling-edge: the source range crosses a window edge
         * (documented/mremap_source_crossing_window_edge_over_free_pages.case). */
        if (cuts_edge(c, a, e)) return "mremap-straddling-edge";
        /* dontunmap-hint-straddling-edge: MREMAP_DONTUNMAP's hint whose range
         * crosses a window edge (documented/mremap_dontunmap_hint_straddling_window_edge_taken.case). */
        if ((flags & MREMAP_DONTUNMAP) && !(flags & MREMAP_FIXED) && o->a[4] &&
            cuts_edge(c, o->a[4] + x->shift, o->a[4] + x->shift + nlr))
            return "dontunmap-hint-straddling-edge";
        /* mremap-resize-across-vmas: a resize (or a shrink and move, or a
         * MREMAP_DONTUNMAP copy to a hint, which mapwarden makes
         * MREMAP_FIXED when the hint is free in a window) of a source the
         * kernel holds in several VMAs: splits the registry does not see
         * (madvise flags, MAP_NORESERVE) make mapwarden judge it one VMA
         * (documented/mremap_grow_across_*_split_is_efault.case,
         * documented/mremap_dontunmap_hint_across_madvise_split.case). */
        if (olr && (nlr != olr || ((flags & MREMAP_DONTUNMAP) && !(flags & MREMAP_FIXED)))) {
            uint64_t span = (flags & MREMAP_FIXED) && nlr < olr ? nlr : olr;
            int vmas = 0;
            for (int i = vma_from(sm, a); i >= 0 && i < sm->n && sm->v[i].s < a + span; i++) vmas++;
            if (vmas > 1) return "mremap-resize-across-vmas";
        }
        for (int i = vma_from(sm, a); i >= 0 && i < sm->n && sm->v[i].s < e; i++) {
            const Vma *v = &sm->v[i];
            /* mremap-straddling-edge: the source holds a mapping that
             * straddles a window edge, and the source crosses that edge too
             * (documented/mremap_shrink_straddling_window_edge.case,
             * mremap_straddling_window_edge_shrink_move.case). */
            if (cuts_edge2(c, v->s, v->e, a, e)) return "mremap-straddling-edge";
            /* mremap-hugetlb: a hugetlb source with an address or lengths that
             * are not whole huge pages (documented/hugetlb_mremap_*.case). */
            if (vma_hugetlb(v) && (a % HUGE_PAGE || ol % HUGE_PAGE || nl % HUGE_PAGE)) return "mremap-hugetlb";
        }
        /* mremap-across-mlock-split: growing in place (no MREMAP_MAYMOVE)
         * a source that mlock split (the registry does not track locks, so
         * it takes the source for one VMA) while the growth is blocked: the
         * kernel's EFAULT (not one VMA) comes first, mapwarden answers the
         * blocked growth itself, ENOMEM (documented/mremap_grow_across_mlock_split.case). */
        if (olr && nlr > olr && !(flags & MREMAP_MAYMOVE) && a + nlr > a && a + nlr <= TASK_END) {
            int blocked = 0;
            for (int i = vma_from(sm, a + olr); i >= 0 && i < sm->n && sm->v[i].s < a + nlr && !blocked; i++) blocked = 1;
            for (int i = vma_from(sm, a); blocked && i >= 0 && i + 1 < sm->n && sm->v[i].e < a + olr; i++)
                if (lock_split(&sm->v[i], &sm->v[i + 1])) return "mremap-across-mlock-split";
        }
        /* growsdown-guard-gap: MREMAP_DONTUNMAP without MREMAP_FIXED takes
         * new_addr as a hint, as mmap does. */
        if ((flags & MREMAP_DONTUNMAP) && !(flags & MREMAP_FIXED) && o->a[4] && in_guard_gap(sm, o->a[4] + x->shift, nl))
            return "growsdown-guard-gap";
        return NULL;
    }
    default:
        return NULL;
    }
}

static void *thread_main(void *arg) {
    Ctx *x = arg;
    for (int i = 0; i < x->c->nops; i++) {
        char res[600], label[32];
        int free_in_range = mw_query ? spans_free(x, &x->c->ops[i]) : 0;
        if (opt_classify) {
            Smaps sm = {0};
            smaps_read(&sm);
            const char *cls = avoided_class(x, &x->c->ops[i], &sm);
            if (cls) bprintf(&x->out, "A %sop%d %s\n", x->prefix, i + 1, cls);
            free(sm.v);
        }
        do_op(x, &x->c->ops[i], i, res, sizeof res);
        bprintf(&x->out, "R %sop%d %s\n", x->prefix, i + 1, res);
        if (free_in_range) bprintf(&x->out, "F %sop%d\n", x->prefix, i + 1);
        snprintf(label, sizeof label, "op%d", i + 1);
        checkpoint(x, label, x->tid < 0);
        if (x->tid < 0) { write_all(1, x->out.p, x->out.n); x->out.n = 0; } /* a crash keeps what came before */
    }
    return NULL;
}

static int make_file(const char *what, char tag, int pages, int *ro_fd) {
    int fd;
    if (!strcmp(what, "file")) {
        char path[256];
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/difftest.%d.%d.file", dir && *dir ? dir : "/tmp", (int)getpid(), nfiles);
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) { perror(path); exit(96); }
        *ro_fd = open(path, O_RDONLY | O_CLOEXEC);
        unlink(path);
    } else {
        fd = memfd_create(what, MFD_CLOEXEC);
        if (fd < 0) { perror("memfd_create"); exit(96); }
    }
    unsigned char page[PAGE];
    for (int i = 0; i < pages; i++) {
        memset(page, 0, sizeof page);
        page[0] = (unsigned char)tag;
        page[1] = (unsigned char)i;
        page[2] = (unsigned char)(i >> 8);
        if (pwrite(fd, page, PAGE, (off_t)i * (off_t)PAGE) != (ssize_t)PAGE) { perror("pwrite"); exit(96); }
    }
    return fd;
}

static int exec_case(const Case *c) {
    XC = c;
    alarm(60);
    mw_query = (query_fn)dlsym(RTLD_DEFAULT, "mapwarden_query");
    mem_fd = open("/proc/self/mem", O_RDWR | O_CLOEXEC);
    if (mem_fd < 0) { perror("/proc/self/mem"); return 96; }
    for (int t = 0; t < c->threads; t++) {
        struct stat st;
        file_fd[t] = make_file("file", 'F', FILE_PAGES, &filero_fd[t]);
        memfd_fd[t] = make_file("difftest", 'M', FILE_PAGES, NULL);
        inject_fd[t] = make_file("difftest-inject", 'I', INJECT_PAGES, NULL);
        fstat(file_fd[t], &st); file_ino[t] = st.st_ino;
        fstat(memfd_fd[t], &st); memfd_ino[t] = st.st_ino;
        fstat(inject_fd[t], &st); inject_ino[t] = st.st_ino;
        nfiles = t + 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);

    Buf head = {0};
    if (mw_query) {
        struct mapwarden_info q;
        if (mw_query((void *)c->wbase, &q) != 0) bprintf(&head, "I mapwarden=error:%s\n", errname(errno));
        else if (q.window_base != c->wbase || q.window_size != c->wsize)
            bprintf(&head, "I mapwarden=window:0x%" PRIx64 ":0x%zx\n", (uint64_t)q.window_base, q.window_size);
        else bprintf(&head, "I mapwarden=active\n");
    } else {
        bprintf(&head, "I mapwarden=absent\n");
        /* The oracle's precondition: nothing at the window or the tracked pages. */
        Smaps sm = {0};
        smaps_read(&sm);
        uint64_t lo = c->b - TRACK_BELOW, hi = c->b + (uint64_t)(c->threads - 1) * THREAD_STRIDE + TRACK_ABOVE;
        if (c->wbase < lo) lo = c->wbase;
        if (c->wbase + c->wsize > hi) hi = c->wbase + c->wsize;
        for (int i = 0; i < sm.n; i++)
            if (sm.v[i].s < hi && sm.v[i].e > lo)
                bprintf(&head, "E precondition: 0x%" PRIx64 "-0x%" PRIx64 " is mapped before the first op\n", sm.v[i].s, sm.v[i].e);
        free(sm.v);
    }
    write_all(1, head.p, head.n);
    buf_free(&head);

    int n = c->threads;
    Ctx *ctx = calloc((size_t)n, sizeof(Ctx));
    for (int k = 0; k < n; k++) {
        ctx[k].c = c;
        ctx[k].tid = n > 1 ? k : -1;
        ctx[k].shift = (uint64_t)k * THREAD_STRIDE;
        if (n > 1) snprintf(ctx[k].prefix, sizeof ctx[k].prefix, "t%d.", k);
        void *v = mmap(NULL, VEC_BYTES + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (v == MAP_FAILED) { perror("mmap vec"); return 96; }
        mprotect((char *)v + VEC_BYTES, PAGE, PROT_NONE);
        ctx[k].vec = v;
        checkpoint(&ctx[k], "start", n == 1);
    }
    if (n == 1) {
        thread_main(&ctx[0]);
    } else {
        pthread_t th[8];
        for (int k = 0; k < n; k++) pthread_create(&th[k], NULL, thread_main, &ctx[k]);
        for (int k = 0; k < n; k++) pthread_join(th[k], NULL);
    }
    for (int k = 0; k < n; k++) {
        checkpoint(&ctx[k], "end", k == 0);
        write_all(1, ctx[k].out.p ? ctx[k].out.p : "", ctx[k].out.n);
    }
    return 0;
}

/* ================================================================ the driver */

static const char *opt_lib;
static int opt_verbose;
static int opt_self;            /* --self: both runs without mapwarden (the tester's own determinism) */
static int opt_readme_partial;  /* --readme-partial: README guarantee 7 (a call over free pages changes nothing) */
static int opt_avoid;           /* --avoid-documented: no op of a documented class (see avoided_class) */
static int opt_all_cases;       /* --all-cases: every failing sequence written to --out DIR, as it ran */

typedef struct { Buf out, err; int status; } RunOut;

static void run_pair(const char *casefile, const Case *c, RunOut ro[2]) {
    int pout[2][2], perr[2][2];
    pid_t pid[2];
    extern char **environ;
    for (int m = 0; m < 2; m++) {
        memset(&ro[m], 0, sizeof ro[m]);
        if (pipe2(pout[m], O_CLOEXEC) || pipe2(perr[m], O_CLOEXEC)) { perror("pipe"); exit(2); }
        pid[m] = fork();
        if (pid[m] < 0) { perror("fork"); exit(2); }
        if (pid[m] == 0) {
            dup2(pout[m][1], 1);
            dup2(perr[m][1], 2);
            int ne = 0;
            for (char **e = environ; *e; e++) ne++;
            char **env = calloc((size_t)ne + 8, sizeof(char *));
            int k = 0;
            for (char **e = environ; *e; e++)
                if (strncmp(*e, "LD_PRELOAD=", 11) && strncmp(*e, "MAPWARDEN_", 10) && strncmp(*e, "DIFFTEST_CLASSIFY=", 18)) env[k++] = *e;
            if (m == 0 && opt_avoid) env[k++] = "DIFFTEST_CLASSIFY=1";
            char pre[4200], win[200];
            if (m == 1 && !opt_self) {
                snprintf(pre, sizeof pre, "LD_PRELOAD=%s", opt_lib);
                snprintf(win, sizeof win, "MAPWARDEN_WINDOW=%s", c->window);
                env[k++] = pre;
                env[k++] = win;
                env[k++] = "MAPWARDEN_REPORT=none";
            }
            env[k] = NULL;
            char *argv[] = {"difftest", "--exec", (char *)casefile, NULL};
            execve("/proc/self/exe", argv, env);
            perror("execve");
            _exit(127);
        }
        close(pout[m][1]);
        close(perr[m][1]);
    }
    struct pollfd pf[4] = {{pout[0][0], POLLIN, 0}, {perr[0][0], POLLIN, 0}, {pout[1][0], POLLIN, 0}, {perr[1][0], POLLIN, 0}};
    Buf *dst[4] = {&ro[0].out, &ro[0].err, &ro[1].out, &ro[1].err};
    int open_n = 4;
    double deadline = now_s() + 120;
    while (open_n > 0) {
        int t = (int)((deadline - now_s()) * 1000);
        if (t <= 0) { kill(pid[0], SIGKILL); kill(pid[1], SIGKILL); break; }
        int r = poll(pf, 4, t);
        if (r < 0) { if (errno == EINTR) continue; break; }
        for (int i = 0; i < 4; i++) {
            if (pf[i].fd < 0 || !pf[i].revents) continue;
            char tmp[65536];
            ssize_t n = read(pf[i].fd, tmp, sizeof tmp);
            if (n > 0) buf_add(dst[i], tmp, (size_t)n);
            else if (n == 0 || errno != EINTR) { close(pf[i].fd); pf[i].fd = -1; open_n--; }
        }
    }
    for (int i = 0; i < 4; i++) if (pf[i].fd >= 0) close(pf[i].fd);
    for (int m = 0; m < 2; m++) {
        int st = 0;
        while (waitpid(pid[m], &st, 0) < 0 && errno == EINTR) {}
        ro[m].status = st;
        if (!ro[m].out.p) buf_add(&ro[m].out, "", 0);
        if (!ro[m].err.p) buf_add(&ro[m].err, "", 0);
    }
}

/* A trace, parsed: events in order (results, checkpoints, info, exit), and
 * the consistency messages of the mapwarden run with the event they follow. */
typedef struct {
    char type;               /* 'R' result, 'P' checkpoint, 'I' info, 'E' error, 'Z' exit */
    char label[64];
    char *text;              /* R, I, E, Z */
    int npages;              /* P */
    int64_t first;
    char **pages;
} Event;

typedef struct { Event *e; int n, cap; char **x; int *xat; int nx; char **f; int nf; char **a; int na; } Trace;

static void trace_push(Trace *t, Event ev) {
    if (t->n == t->cap) { t->cap = t->cap ? t->cap * 2 : 64; t->e = realloc(t->e, sizeof(Event) * (size_t)t->cap); }
    t->e[t->n++] = ev;
}

static void trace_parse(const char *text, int status, Trace *t) {
    memset(t, 0, sizeof *t);
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        char *line = strndup(p, n);
        p += n;
        if (*p) p++;
        Event ev;
        memset(&ev, 0, sizeof ev);
        char label[64] = "";
        int pos = 0;
        if (line[0] == 'P' && line[1] == ' ') {
            long long first, count;
            if (sscanf(line + 2, "%63s %lld %lld %n", label, &first, &count, &pos) == 3 && pos > 0) {
                const char *st = line + 2 + pos;
                Event *last = t->n ? &t->e[t->n - 1] : NULL;
                if (!last || last->type != 'P' || strcmp(last->label, label)) {
                    ev.type = 'P';
                    snprintf(ev.label, sizeof ev.label, "%s", label);
                    ev.first = first;
                    trace_push(t, ev);
                    last = &t->e[t->n - 1];
                }
                last->pages = realloc(last->pages, sizeof(char *) * (size_t)(last->npages + count));
                for (long long i = 0; i < count; i++) last->pages[last->npages++] = strdup(st);
            }
        } else if ((line[0] == 'R' || line[0] == 'X') && line[1] == ' ') {
            if (sscanf(line + 2, "%63s %n", label, &pos) == 1) {
                if (line[0] == 'X') {
                    t->x = realloc(t->x, sizeof(char *) * (size_t)(t->nx + 1));
                    t->xat = realloc(t->xat, sizeof(int) * (size_t)(t->nx + 1));
                    t->x[t->nx] = strdup(line + 2);
                    t->xat[t->nx++] = t->n; /* before event n */
                } else {
                    ev.type = 'R';
                    snprintf(ev.label, sizeof ev.label, "%s", label);
                    ev.text = strdup(line + 2 + pos);
                    trace_push(t, ev);
                }
            }
        } else if (line[0] == 'F' && line[1] == ' ') {
            t->f = realloc(t->f, sizeof(char *) * (size_t)(t->nf + 1));
            t->f[t->nf++] = strdup(line + 2);
        } else if (line[0] == 'A' && line[1] == ' ') { /* "A opN CLASS": an op of an avoided class */
            t->a = realloc(t->a, sizeof(char *) * (size_t)(t->na + 1));
            t->a[t->na++] = strdup(line + 2);
        } else if ((line[0] == 'I' || line[0] == 'E') && line[1] == ' ') {
            ev.type = line[0];
            ev.text = strdup(line + 2);
            trace_push(t, ev);
        } else if (line[0]) {
            ev.type = 'E';
            ev.text = malloc(n + 20);
            snprintf(ev.text, n + 20, "stray: %s", line);
            trace_push(t, ev);
        }
        free(line);
    }
    Event z;
    memset(&z, 0, sizeof z);
    z.type = 'Z';
    char s[64];
    if (WIFEXITED(status)) snprintf(s, sizeof s, "exit %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status)) snprintf(s, sizeof s, "killed by SIG%s", sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "?");
    else snprintf(s, sizeof s, "status %d", status);
    z.text = strdup(s);
    trace_push(t, z);
}

static void trace_free(Trace *t) {
    for (int i = 0; i < t->n; i++) {
        free(t->e[i].text);
        for (int k = 0; k < t->e[i].npages; k++) free(t->e[i].pages[k]);
        free(t->e[i].pages);
    }
    for (int i = 0; i < t->nx; i++) free(t->x[i]);
    for (int i = 0; i < t->nf; i++) free(t->f[i]);
    for (int i = 0; i < t->na; i++) free(t->a[i]);
    free(t->e); free(t->x); free(t->xat); free(t->f); free(t->a);
    memset(t, 0, sizeof *t);
}

/* "op12" in a label: op 12 (1-based); 0 when none. */
static int label_op(const char *label) {
    const char *s = strstr(label, "op");
    return s ? atoi(s + 2) : 0;
}

static const char *op_name_at(const Case *c, int op) {
    return op >= 1 && op <= c->nops ? op_names[c->ops[op - 1].kind] : "none";
}

static void fmt_page(int64_t idx, char *out, size_t n) {
    if (idx == 0) snprintf(out, n, "b");
    else snprintf(out, n, "b%s%" PRId64 "p", idx < 0 ? "-" : "+", idx < 0 ? -idx : idx);
}

/* Which field of two page states differs first: mapped, perms, backing, flags, resident, content. */
static const char *state_field(const char *k, const char *m) {
    if ((k[0] == '-' && !k[1]) != (m[0] == '-' && !m[1])) return "mapped";
    static const char *names[] = {"perms", "backing", "flags", "resident", "content"};
    char a[400], b[400];
    snprintf(a, sizeof a, "%s", k);
    snprintf(b, sizeof b, "%s", m);
    char *sa = NULL, *sb = NULL;
    char *ta = strtok_r(a, " ", &sa), *tb = strtok_r(b, " ", &sb);
    for (int i = 0; i < 5; i++) {
        if (!ta || !tb) return "state";
        if (strcmp(ta, tb)) return names[i];
        ta = strtok_r(NULL, " ", &sa);
        tb = strtok_r(NULL, " ", &sb);
    }
    return "state";
}

static const char *result_class(const char *r, char *out, size_t n) {
    if (!strncmp(r, "-1 ", 3)) snprintf(out, n, "%s", r + 3);
    else if (!strncmp(r, "SIG", 3) || !strncmp(r, "child", 5)) snprintf(out, n, "%.24s", r);
    else snprintf(out, n, "ok");
    return out;
}

static int trace_has_f(const Trace *t, const char *label) {
    for (int i = 0; i < t->nf; i++) if (!strcmp(t->f[i], label)) return 1;
    return 0;
}

/* Two page states equal but for residency (which a checkpoint's own read
 * changes: the page read at one checkpoint is resident at the next). */
static int same_but_residency(const char *a, const char *b) {
    const char *ra = strstr(a, " res="), *rb = strstr(b, " res=");
    if (!ra || !rb) return !strcmp(a, b);
    if (ra - a != rb - b || strncmp(a, b, (size_t)(ra - a))) return 0;
    const char *ca = strchr(ra + 1, ' '), *cb = strchr(rb + 1, ' ');
    return ca && cb && !strcmp(ca, cb);
}

typedef struct {
    int failed;
    char sig[160];            /* what kind of difference, for minimising and de-duplicating */
    int op;                   /* the op it shows after (1-based), 0 if none */
    int avoid_op;             /* --avoid-documented: the first op of an avoided class (1-based), 0 if none */
    char avoid_class[48];
    Buf report;
} Verdict;

/* Compares the two runs. */
static void compare(const Case *c, RunOut ro[2], Verdict *v) {
    Trace t[2];
    trace_parse(ro[0].out.p, ro[0].status, &t[0]);
    trace_parse(ro[1].out.p, ro[1].status, &t[1]);
    memset(v, 0, sizeof *v);
    for (int i = 0; i < t[0].na; i++) { /* the kernel's run judged these ops (--avoid-documented) */
        char label[64] = "", cls[48] = "";
        if (sscanf(t[0].a[i], "%63s %47s", label, cls) != 2) continue;
        int op = label_op(label);
        if (op > 0 && (!v->avoid_op || op < v->avoid_op)) { v->avoid_op = op; snprintf(v->avoid_class, sizeof v->avoid_class, "%s", cls); }
    }
    Buf *r = &v->report;
    int n = t[0].n < t[1].n ? t[0].n : t[1].n;
    int diff = -1, cut = -1;
    int64_t page = 0;
    int page_i = -1;
    for (int i = 0; i < n && diff < 0; i++) {
        Event *a = &t[0].e[i], *b = &t[1].e[i];
        if (opt_readme_partial && a->type == 'R' && b->type == 'R' && !strcmp(a->label, b->label) &&
            !strncmp(a->text, "-1 ", 3) && !strcmp(b->text, "-1 ENOMEM") && trace_has_f(&t[1], b->label) && t[1].n > i + 1) {
            /* README guarantee 7: mapwarden fails with ENOMEM and changes nothing
             * (the kernel may have changed the mapped part, and answered first
             * for it): mapwarden's pages after the call must be as before it.
             * The kernel's run is compared no further; the registry still is. */
            Event *after = &t[1].e[i + 1], *before = NULL;
            for (int k = i - 1; k >= 0 && !before; k--)
                if (t[1].e[k].type == 'P') before = &t[1].e[k];
            if (before && after->type == 'P' && before->npages == after->npages) {
                for (int k = 0; k < after->npages; k++)
                    if (!same_but_residency(before->pages[k], after->pages[k])) {
                        v->failed = 1;
                        v->op = label_op(b->label);
                        snprintf(v->sig, sizeof v->sig, "changed-on-enomem:%s", op_name_at(c, v->op));
                        char pg[32];
                        fmt_page(after->first + k, pg, sizeof pg);
                        bprintf(r, "  after op %d: %s\n    kernel    result: %s\n    mapwarden result: %s\n"
                                   "    mapwarden failed with ENOMEM but changed page %s (README guarantee 7: nothing changes):\n"
                                   "      before: %s\n      after:  %s\n",
                                v->op, v->op >= 1 && v->op <= c->nops ? c->ops[v->op - 1].line : "?", a->text, b->text, pg,
                                before->pages[k], after->pages[k]);
                        break;
                    }
            }
            cut = i + 1;
            break;
        }
        if (a->type == 'I' && b->type == 'I') continue; /* checked below */
        if (a->type != b->type || strcmp(a->label, b->label)) { diff = i; break; }
        if (a->type == 'P') {
            if (a->npages != b->npages || a->first != b->first) { diff = i; break; }
            for (int k = 0; k < a->npages; k++)
                if (strcmp(a->pages[k], b->pages[k])) { diff = i; page_i = k; page = a->first + k; break; }
        } else if (a->text && b->text && strcmp(a->text, b->text)) {
            diff = i;
        }
    }
    if (diff < 0 && cut < 0 && t[0].n != t[1].n) diff = n;
    if (cut >= 0) { /* only the registry checks from here on */
        diff = -1;
        if (v->failed) { trace_free(&t[0]); trace_free(&t[1]); return; }
    }
    /* The runs must be what they say: the oracle without mapwarden, the other with it. */
    const char *info[2] = {"", ""};
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < t[m].n; i++)
            if (t[m].e[i].type == 'I') { info[m] = t[m].e[i].text; break; }
    int setup_bad = strcmp(info[0], "mapwarden=absent") || strcmp(info[1], opt_self ? "mapwarden=absent" : "mapwarden=active");
    int xfirst = t[1].nx ? t[1].xat[0] : -1;
    if (setup_bad) {
        v->failed = 1;
        snprintf(v->sig, sizeof v->sig, "setup");
        bprintf(r, "  the runs are not set up as they must be: kernel run '%s', mapwarden run '%s' (is %s the library?)\n", info[0], info[1], opt_lib);
    } else if (diff >= 0 && (xfirst < 0 || diff < xfirst)) {
        v->failed = 1;
        Event *a = diff < t[0].n ? &t[0].e[diff] : NULL, *b = diff < t[1].n ? &t[1].e[diff] : NULL;
        Event *ref = a ? a : b;
        int op = label_op(ref->label);
        v->op = op;
        char ka[32], kb[32];
        if (op >= 1 && op <= c->nops) bprintf(r, "  after op %d: %s\n", op, c->ops[op - 1].line);
        else bprintf(r, "  at %s\n", ref->label[0] ? ref->label : ref->type == 'Z' ? "exit" : "start");
        /* The op's results in both runs. */
        if (op >= 1) {
            char want[64];
            snprintf(want, sizeof want, "%s", ref->label);
            char *dot = strstr(want, ".child");
            if (dot) *dot = 0;
            for (int m = 0; m < 2; m++)
                for (int i = 0; i < t[m].n; i++)
                    if (t[m].e[i].type == 'R' && !strcmp(t[m].e[i].label, want))
                        bprintf(r, "    %-9s result: %s\n", m ? "mapwarden" : "kernel", t[m].e[i].text);
        }
        if (!a || !b || a->type != b->type || strcmp(a->label, b->label)) {
            bprintf(r, "    the traces part: kernel has %c %s %s, mapwarden has %c %s %s\n",
                    a ? a->type : '.', a ? a->label : "(end)", a && a->text ? a->text : "",
                    b ? b->type : '.', b ? b->label : "(end)", b && b->text ? b->text : "");
            snprintf(v->sig, sizeof v->sig, "trace:%s/%s", a && a->text ? a->text : "end", b && b->text ? b->text : "end");
        } else if (a->type == 'R') {
            snprintf(v->sig, sizeof v->sig, "result:%s:%s/%s", op_name_at(c, op), result_class(a->text, ka, sizeof ka), result_class(b->text, kb, sizeof kb));
        } else if (a->type == 'P' && page_i >= 0) {
            char pg[32];
            fmt_page(page, pg, sizeof pg);
            const char *field = state_field(a->pages[page_i], b->pages[page_i]);
            bprintf(r, "    first differing page %s (%s, %s):\n      kernel:    %s\n      mapwarden: %s\n",
                    pg, a->label, field, a->pages[page_i], b->pages[page_i]);
            int more = 0;
            for (int k = page_i + 1; k < a->npages; k++) more += strcmp(a->pages[k], b->pages[k]) != 0;
            if (more) bprintf(r, "    (%d more pages differ at this checkpoint)\n", more);
            snprintf(v->sig, sizeof v->sig, "page:%s:%s%s", field, op_name_at(c, op), strstr(a->label, "child") ? ":child" : "");
        } else {
            bprintf(r, "    kernel:    %s\n    mapwarden: %s\n", a->text ? a->text : "", b->text ? b->text : "");
            snprintf(v->sig, sizeof v->sig, "%c:%s/%s", a->type, a->text ? a->text : "", b->text ? b->text : "");
        }
    } else if (xfirst >= 0) {
        v->failed = 1;
        char label[64] = "";
        sscanf(t[1].x[0], "%63s", label);
        int op = label_op(label);
        v->op = op;
        if (op >= 1 && op <= c->nops) bprintf(r, "  after op %d: %s\n", op, c->ops[op - 1].line);
        else bprintf(r, "  at %s\n", label);
        if (op >= 1) {
            char want[64];
            snprintf(want, sizeof want, "%s", label);
            char *dot = strstr(want, ".child");
            if (dot) *dot = 0;
            for (int m = 0; m < 2; m++)
                for (int i = 0; i < t[m].n; i++)
                    if (t[m].e[i].type == 'R' && !strcmp(t[m].e[i].label, want))
                        bprintf(r, "    %-9s result: %s\n", m ? "mapwarden" : "kernel", t[m].e[i].text);
        }
        bprintf(r, "    the registry does not match the kernel (mapwarden run, %s):\n", label);
        for (int i = 0; i < t[1].nx && i < 8; i++) {
            char l2[64] = "";
            sscanf(t[1].x[i], "%63s", l2);
            if (strcmp(l2, label)) break;
            bprintf(r, "      %s\n", t[1].x[i] + strlen(l2) + 1);
        }
        char code[40] = "";
        sscanf(t[1].x[0] + strlen(label), " %39s", code);
        snprintf(v->sig, sizeof v->sig, "registry:%s:%s%s", code, op_name_at(c, op), strstr(label, "child") ? ":child" : "");
    }
    if (v->failed) {
        for (int m = 0; m < 2; m++)
            if (ro[m].err.n) {
                bprintf(r, "    stderr of the %s run:\n", m ? "mapwarden" : "kernel");
                const char *p = ro[m].err.p;
                int lines = 0;
                while (*p && lines < 12) {
                    size_t k = strcspn(p, "\n");
                    bprintf(r, "      | %.*s\n", (int)k, p);
                    p += k;
                    if (*p) p++;
                    lines++;
                }
            }
    }
    trace_free(&t[0]);
    trace_free(&t[1]);
}

static char tmpdir[256];

static void setup_tmpdir(void) {
    const char *d = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/difftest.XXXXXX", d && *d ? d : "/tmp");
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); exit(2); }
}

static void cleanup_tmpdir(void) {
    char p[300];
    snprintf(p, sizeof p, "%s/case", tmpdir);
    unlink(p);
    rmdir(tmpdir);
}

static long runs_done;

/* Runs a case (given as text) in both modes and compares. */
static int check_text(const char *text, const char *name, Verdict *v, Case *out_case) {
    Case c;
    Buf err = {0};
    if (case_parse(text, name, &c, &err)) {
        memset(v, 0, sizeof *v);
        v->failed = -1;
        bprintf(&v->report, "%s", err.p);
        buf_free(&err);
        return -1;
    }
    char path[300];
    snprintf(path, sizeof path, "%s/case", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    write_all(fd, text, strlen(text));
    close(fd);
    RunOut ro[2];
    run_pair(path, &c, ro);
    runs_done++;
    compare(&c, ro, v);
    if (opt_verbose) {
        fprintf(stderr, "---- kernel trace\n%s---- mapwarden trace\n%s", ro[0].out.p, ro[1].out.p);
    }
    for (int m = 0; m < 2; m++) { buf_free(&ro[m].out); buf_free(&ro[m].err); }
    if (out_case) *out_case = c;
    else case_free(&c);
    return v->failed;
}

/* ===================================================== delta debugging */

/* --avoid-documented: the difference comes at or after an op of an avoided
 * class (so it may be that class's): the sequence does not count as failing. */
static int avoided_before(const Verdict *v) {
    return opt_avoid && v->avoid_op && (v->op == 0 || v->op >= v->avoid_op);
}

static int still_fails(const Case *c, const int *keep, const char *sig) {
    Buf t = {0};
    case_text(c, keep, &t);
    Verdict v;
    check_text(t.p, "candidate", &v, NULL);
    int same = v.failed == 1 && !strcmp(v.sig, sig) && !avoided_before(&v);
    buf_free(&v.report);
    buf_free(&t);
    return same;
}

/* ddmin over the ops (complements), then drops "sys " prefixes one by one. */
static void minimise(Case *c, const char *sig, double budget_s) {
    double until = now_s() + budget_s;
    int n = c->nops;
    int *keep = malloc(sizeof(int) * (size_t)n), *cand = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) keep[i] = 1;
    int live = n, parts = 2;
    while (live >= 2 && now_s() < until) {
        int chunk = (live + parts - 1) / parts, reduced = 0;
        for (int p = 0; p < parts && !reduced && now_s() < until; p++) {
            int lo = p * chunk, hi = lo + chunk, k = 0, kept = 0;
            for (int i = 0; i < n; i++) {
                cand[i] = keep[i];
                if (keep[i]) { if (k >= lo && k < hi) cand[i] = 0; k++; }
                kept += cand[i];
            }
            if (kept == live || kept == 0) continue;
            if (still_fails(c, cand, sig)) {
                memcpy(keep, cand, sizeof(int) * (size_t)n);
                live = kept;
                parts = parts > 2 ? parts - 1 : 2;
                reduced = 1;
            }
        }
        if (!reduced) {
            if (parts >= live) break;
            parts = parts * 2 < live ? parts * 2 : live;
        }
    }
    /* Compact, then try each op through libc instead of syscall(). */
    int m = 0;
    for (int i = 0; i < n; i++) if (keep[i]) c->ops[m++] = c->ops[i];
    c->nops = m;
    for (int i = 0; i < c->nops && now_s() < until; i++) {
        if (strncmp(c->ops[i].line, "sys ", 4)) continue;
        Op saved = c->ops[i];
        memmove(c->ops[i].line, c->ops[i].line + 4, strlen(c->ops[i].line + 4) + 1);
        c->ops[i].via = VIA_LIBC;
        if (!still_fails(c, NULL, sig)) c->ops[i] = saved;
    }
    free(keep);
    free(cand);
}

/* ============================================================ generator */

typedef struct { uint64_t s; } Rng;
static uint64_t rnd(Rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static int rn(Rng *r, int n) { return n <= 0 ? 0 : (int)(rnd(r) % (uint64_t)n); }
static int chance(Rng *r, int pct) { return rn(r, 100) < pct; }

typedef struct {
    Rng r;
    int plo, phi;               /* page range for addresses, relative to b */
    int live_lo[64], live_hi[64], nlive;
    int marker;
    int growsdown;              /* a MAP_GROWSDOWN mapping was asked for: no more stores */
    int threads;
    int libc_only;
    int for_inject;
} Gen;

static void add_live(Gen *g, int lo, int hi) {
    if (hi <= lo) return;
    int i = g->nlive < 64 ? g->nlive++ : rn(&g->r, 64);
    g->live_lo[i] = lo;
    g->live_hi[i] = hi;
}

static int pick_page(Gen *g) {
    if (g->nlive && chance(&g->r, 70)) {
        int i = rn(&g->r, g->nlive);
        return g->live_lo[i] + rn(&g->r, g->live_hi[i] - g->live_lo[i] + 2) - 1;
    }
    return g->plo + rn(&g->r, g->phi - g->plo);
}

static void addr_expr(char *o, size_t n, int page, int byte) {
    char tail[24] = "";
    if (byte) snprintf(tail, sizeof tail, "+%d", byte);
    if (page == 0) snprintf(o, n, "b%s", tail);
    else snprintf(o, n, "b%+dp%s", page, tail);
}

static int gen_addr(Gen *g, char *o, size_t n, int *page) {
    int p = pick_page(g), byte = 0;
    if (chance(&g->r, 6)) byte = chance(&g->r, 50) ? 883 : 1 + rn(&g->r, 4095);
    addr_expr(o, n, p, byte);
    *page = p;
    return byte;
}

/* Lengths: mostly a few pages; sometimes odd, zero or huge (from the op's own list). */
static int gen_len(Gen *g, char *o, size_t n, const char *const *huge) {
    int r = rn(&g->r, 100);
    if (r < 76) { int p = 1 + rn(&g->r, 8); snprintf(o, n, "%dp", p); return p; }
    if (r < 86) { int p = 9 + rn(&g->r, 32); snprintf(o, n, "%dp", p); return p; }
    if (r < 94) { int p = rn(&g->r, 8); snprintf(o, n, "%d", p * 4096 + 1 + rn(&g->r, 4095)); return p + 1; }
    if (r < 96 || g->threads > 1 || !huge) { snprintf(o, n, "0"); return 0; }
    int k = 0;
    while (huge[k]) k++;
    snprintf(o, n, "%s", huge[rn(&g->r, k)]);
    return 0;
}

static const char *gen_prot(Gen *g) {
    static const char *p[] = {"RW", "RW", "RW", "RW", "R", "R", "NONE", "RX", "RWX", "W", "X", "WX"};
    if (chance(&g->r, 2)) return chance(&g->r, 50) ? "RW|GROWSDOWN" : "0x10";
    return p[rn(&g->r, 12)];
}

static const char *const huge_mmap[] = {"128T", "~0", "~4095", "0x8000000000000000", NULL};
static const char *const huge_unmap[] = {"1T", "128T", "~0", "~4095", "0x8000000000000000", NULL};
static const char *const huge_walk[] = {"1T", "128T", "~0", "~4095", "0x8000000000000000", NULL};
static const char *const huge_madvise[] = {"1T", "~0", "~4095", NULL};
static const char *const huge_mincore[] = {"1T", "~0", NULL};

static void gen_op(Gen *g, Buf *out) {
    char a[64], l[64], l2[64], na[64];
    int page, page2, pages;
    const char *via = !g->libc_only && chance(&g->r, 30) ? "sys " : "";
    int r = rn(&g->r, 100);
    if (r < 24) { /* mmap */
        int where = rn(&g->r, 100);
        int kind = rn(&g->r, 100);
        const char *fd = kind < 60 ? "anon" : kind < 80 ? "file" : kind < 95 ? "memfd" : "filero";
        const char *share = chance(&g->r, 70) ? "PRIVATE" : chance(&g->r, 90) ? "SHARED" : "SHARED_VALIDATE";
        char flags[160];
        snprintf(flags, sizeof flags, "%s%s", share, !strcmp(fd, "anon") ? "|ANON" : "");
        int fixed = 0;
        if (where < 55) { strcat(flags, "|FIXED"); fixed = 1; }
        else if (where < 75) { strcat(flags, "|NOREPLACE"); fixed = 1; }
        gen_addr(g, a, sizeof a, &page);
        if (where >= 95) snprintf(a, sizeof a, "NULL");
        pages = gen_len(g, l, sizeof l, huge_mmap);
        if (chance(&g->r, 5)) strcat(flags, "|LOCKED");
        if (chance(&g->r, 10)) strcat(flags, "|NORESERVE");
        if (chance(&g->r, 8)) strcat(flags, "|POPULATE");
        /* MAP_GROWSDOWN only fixed, and no store after it: the README documents
         * that such a mapping never grows in the window (the reservation sits
         * below it) and that a hint with it is left to the kernel. */
        if (fixed && g->threads == 1 && chance(&g->r, 2)) { strcat(flags, "|GROWSDOWN"); g->growsdown = 1; }
        if (chance(&g->r, 1)) strcat(flags, "|0x40000000");
        if (g->threads == 1 && chance(&g->r, 2)) { /* a hugetlb mapping at a 2 MiB boundary near the window */
            snprintf(a, sizeof a, "%s", chance(&g->r, 70) ? "0x500000000000" : "0x500000200000");
            snprintf(l, sizeof l, "%s", chance(&g->r, 50) ? "1p" : "2M");
            snprintf(flags, sizeof flags, "PRIVATE|ANON|FIXED|HUGETLB%s", chance(&g->r, 50) ? "|NORESERVE" : "");
            fd = "anon";
            fixed = 0;
        }
        char off[32] = "";
        if (strcmp(fd, "anon")) {
            int op = rn(&g->r, 72);
            if (chance(&g->r, 4)) snprintf(off, sizeof off, " %dp+%d", op, 1 + rn(&g->r, 4095));
            else snprintf(off, sizeof off, " %dp", op);
        }
        bprintf(out, "%smmap %s %s %s %s %s%s\n", via, a, l, gen_prot(g), flags, fd, off);
        if (fixed || where < 95) add_live(g, page, page + (pages ? pages : 1));
        if (chance(&g->r, 40) && pages && !g->growsdown) { /* mark the new pages */
            int p = page + rn(&g->r, pages);
            addr_expr(a, sizeof a, p, rn(&g->r, 4096));
            bprintf(out, "write %s %d\n", a, 1 + (g->marker++ % 255));
        }
    } else if (r < 31) {
        gen_addr(g, a, sizeof a, &page);
        gen_len(g, l, sizeof l, huge_unmap);
        bprintf(out, "%smunmap %s %s\n", via, a, l);
    } else if (r < 40) {
        gen_addr(g, a, sizeof a, &page);
        gen_len(g, l, sizeof l, huge_walk);
        bprintf(out, "%smprotect %s %s %s\n", via, a, l, gen_prot(g));
    } else if (r < 42) {
        static const char *keys[] = {"-1", "-1", "-1", "0", "1", "16"};
        gen_addr(g, a, sizeof a, &page);
        gen_len(g, l, sizeof l, huge_walk);
        bprintf(out, "%spkey_mprotect %s %s %s %s\n", via, a, l, gen_prot(g), keys[rn(&g->r, 6)]);
    } else if (r < 58) { /* mremap */
        int old_pages;
        if (g->nlive && chance(&g->r, 70)) {
            int i = rn(&g->r, g->nlive);
            page = g->live_lo[i];
            old_pages = g->live_hi[i] - g->live_lo[i];
            if (chance(&g->r, 30)) { page += rn(&g->r, old_pages); old_pages = 1 + rn(&g->r, old_pages); }
            addr_expr(a, sizeof a, page, chance(&g->r, 3) ? 1 + rn(&g->r, 4095) : 0);
            snprintf(l, sizeof l, "%dp", old_pages);
        } else {
            gen_addr(g, a, sizeof a, &page);
            old_pages = gen_len(g, l, sizeof l, huge_mmap);
        }
        int k = rn(&g->r, 100), new_pages = old_pages;
        if (k < 30) snprintf(l2, sizeof l2, "%s", l);
        else if (k < 55) { new_pages = old_pages > 1 ? 1 + rn(&g->r, old_pages - 1) : 1; snprintf(l2, sizeof l2, "%dp", new_pages); }
        else if (k < 92) { new_pages = old_pages + 1 + rn(&g->r, 12); snprintf(l2, sizeof l2, "%dp", new_pages); }
        else new_pages = gen_len(g, l2, sizeof l2, huge_mmap);
        int f = rn(&g->r, 100);
        const char *flags = f < 28 ? "0" : f < 50 ? "MAYMOVE" : f < 80 ? "MAYMOVE|FIXED" : f < 86 ? "MAYMOVE|DONTUNMAP"
                          : f < 96 ? "MAYMOVE|FIXED|DONTUNMAP" : f < 98 ? "FIXED" : "DONTUNMAP";
        na[0] = 0;
        if (strstr(flags, "FIXED") || strstr(flags, "DONTUNMAP")) {
            gen_addr(g, na, sizeof na, &page2);
            if (strstr(flags, "FIXED")) add_live(g, page2, page2 + new_pages);
        } else if (chance(&g->r, 10)) {
            gen_addr(g, na, sizeof na, &page2);
        }
        bprintf(out, "%smremap %s %s %s %s%s%s\n", via, a, l, l2, flags, na[0] ? " " : "", na);
    } else if (r < 68) {
        static const char *adv[] = {"DONTNEED", "DONTNEED", "FREE", "DONTFORK", "DONTFORK", "DOFORK", "WIPEONFORK",
                                    "KEEPONFORK", "NORMAL", "RANDOM", "SEQUENTIAL", "WILLNEED", "DONTDUMP", "DODUMP",
                                    "REMOVE", "HUGEPAGE", "NOHUGEPAGE", "COLD", "POPULATE_READ", "POPULATE_WRITE",
                                    "DONTNEED_LOCKED", "MERGEABLE", "GUARD_INSTALL", "GUARD_REMOVE", "77"};
        gen_addr(g, a, sizeof a, &page);
        gen_len(g, l, sizeof l, huge_madvise);
        bprintf(out, "%smadvise %s %s %s\n", via, a, l, adv[rn(&g->r, 25)]);
    } else if (r < 76) {
        gen_addr(g, a, sizeof a, &page);
        gen_len(g, l, sizeof l, huge_walk);
        int k = rn(&g->r, 3);
        if (k == 0) bprintf(out, "%smlock %s %s\n", via, a, l);
        else if (k == 1) bprintf(out, "%smunlock %s %s\n", via, a, l);
        else bprintf(out, "%smlock2 %s %s %s\n", via, a, l, chance(&g->r, 60) ? "ONFAULT" : chance(&g->r, 80) ? "0" : "2");
    } else if (r < 79) {
        static const char *fl[] = {"ASYNC", "SYNC", "INVALIDATE", "ASYNC|INVALIDATE", "SYNC|INVALIDATE", "ASYNC|SYNC", "8"};
        gen_addr(g, a, sizeof a, &page);
        gen_len(g, l, sizeof l, huge_walk);
        bprintf(out, "%smsync %s %s %s\n", via, a, l, fl[rn(&g->r, 7)]);
    } else if (r < 82) {
        gen_addr(g, a, sizeof a, &page);
        gen_len(g, l, sizeof l, huge_mincore);
        bprintf(out, "%smincore %s %s\n", via, a, l);
    } else if (r < 85 && g->threads == 1) {
        bprintf(out, "fork\n");
    } else if (g->growsdown) {
        gen_addr(g, a, sizeof a, &page);
        bprintf(out, "%smsync %s 1p ASYNC\n", via, a);
    } else {
        page = pick_page(g);
        addr_expr(a, sizeof a, page, rn(&g->r, 4096));
        bprintf(out, "write %s %d\n", a, 1 + (g->marker++ % 255));
    }
}

/* A random case: a window profile, then 5..40 ops. */
static void gen_case(uint64_t seed, int max_ops, int libc_only, Buf *out) {
    Gen g;
    memset(&g, 0, sizeof g);
    g.r.s = seed;
    g.libc_only = libc_only;
    g.threads = 1;
    int prof = rn(&g.r, 100);
    bprintf(out, "# difftest --seed-case %" PRIu64 "\n", seed);
    if (prof < 60) {          /* a large window; b 16 pages in: the lower edge is b-16p */
        bprintf(out, "window 0x500000000000:1G\nbase w+16p\n");
        g.plo = -24; g.phi = 80;
        if (chance(&g.r, 12)) { g.threads = 2 + rn(&g.r, 2); bprintf(out, "threads %d\n", g.threads); g.plo = -8; }
    } else if (prof < 85) {   /* a 48-page window inside the region: both edges */
        bprintf(out, "window 0x500000000000:192K\nbase w-8p\n");
        g.plo = -8; g.phi = 72;
    } else {                  /* the window starts 32 pages above a 2 MiB boundary */
        bprintf(out, "window 0x500000020000:1G\nbase w+16p\n");
        g.plo = -40; g.phi = 80;
    }
    int n = 5 + rn(&g.r, max_ops - 4);
    for (int i = 0; i < n; i++) gen_op(&g, out);
}

/* ============================================================ the modes */

static const char *opt_out = "difftest-found";
static double opt_min_time = 90;

static void slug(const char *sig, char *out, size_t n) {
    size_t k = 0;
    for (const char *s = sig; *s && k + 1 < n; s++) out[k++] = isalnum((unsigned char)*s) ? (char)tolower((unsigned char)*s) : '-';
    out[k] = 0;
}

/* --minimise FILE: a failing case, minimised against its own difference. */
static int minimise_file(const char *path) {
    Buf text = {0};
    if (read_file(path, &text)) { fprintf(stderr, "difftest: cannot read %s: %s\n", path, strerror(errno)); return 2; }
    Verdict v;
    Case c;
    int r = check_text(text.p, path, &v, &c);
    if (r < 0) { printf("ERROR %s\n%s", path, v.report.p); return 2; }
    if (r == 0) { printf("PASS %s: nothing to minimise\n", path); case_free(&c); return 0; }
    if (avoided_before(&v)) printf("(op %d is of the avoided class %s; candidates that reach one are rejected)\n", v.avoid_op, v.avoid_class);
    printf("minimising %s [%s], %d ops\n", path, v.sig, c.nops);
    fflush(stdout);
    minimise(&c, v.sig, opt_min_time);
    Buf min = {0};
    case_text(&c, NULL, &min);
    Verdict fv;
    check_text(min.p, "minimised", &fv, NULL);
    printf("# difference: %s\n%s%s", fv.failed == 1 ? fv.sig : "(no longer fails)", min.p, fv.report.p);
    buf_free(&min);
    buf_free(&fv.report);
    buf_free(&v.report);
    case_free(&c);
    buf_free(&text);
    return 1;
}

static int replay(int argc, char **argv) {
    int failed = 0, total = 0;
    for (int i = 0; i < argc; i++) {
        Buf text = {0};
        if (read_file(argv[i], &text)) { fprintf(stderr, "difftest: cannot read %s: %s\n", argv[i], strerror(errno)); failed++; continue; }
        Verdict v;
        total++;
        int r = check_text(text.p, argv[i], &v, NULL);
        if (r < 0) { printf("ERROR %s\n%s", argv[i], v.report.p); failed++; }
        else if (r) { printf("FAIL %s  [%s]%s%s\n%s", argv[i], v.sig, v.avoid_op ? "  avoided: " : "", v.avoid_class, v.report.p); failed++; }
        else printf("PASS %s%s%s\n", argv[i], v.avoid_op ? "  avoided: " : "", v.avoid_class);
        if (v.avoid_op) printf("  op %d is of the avoided class %s (--avoid-documented)\n", v.avoid_op, v.avoid_class);
        fflush(stdout);
        buf_free(&v.report);
        buf_free(&text);
    }
    printf("replay: %d cases, %d passed, %d failed\n", total, total - failed, failed);
    return failed ? 1 : 0;
}

static int fuzz(uint64_t seed, double seconds, long count, int max_ops, int libc_only, int stop_after) {
    double start = now_s();
    if (count > 0) printf("difftest: fuzzing with --seed %" PRIu64 " --count %ld%s (library %s)\n", seed, count, opt_avoid ? " --avoid-documented" : "", opt_lib);
    else printf("difftest: fuzzing with --seed %" PRIu64 " for %.0f s%s (library %s)\n", seed, seconds, opt_avoid ? " --avoid-documented" : "", opt_lib);
    fflush(stdout);
    char sigs[64][160], avoided[16][48];
    int nsig = 0, hits[64] = {0}, failures = 0, navoided = 0, avoided_n[16] = {0};
    long n = 0;
    mkdir(opt_out, 0755);
    for (n = 0; (count <= 0 || n < count) && now_s() - start < seconds; n++) {
        uint64_t cs = seed * 1000003ULL + (uint64_t)n;
        Buf text = {0};
        gen_case(cs, max_ops, libc_only, &text);
        Verdict v;
        Case c;
        int r;
        for (;;) {
            r = check_text(text.p, "generated", &v, &c);
            if (r < 0) { printf("generator produced a bad case (seed-case %" PRIu64 "):\n%s%s", cs, v.report.p, text.p); buf_free(&text); return 2; }
            /* --avoid-documented: run the sequence again without the first op
             * of an avoided class, unless a difference came before it. */
            if (!opt_avoid || !v.avoid_op || (r > 0 && !avoided_before(&v))) break;
            int k;
            for (k = 0; k < navoided && strcmp(avoided[k], v.avoid_class); k++) {}
            if (k == navoided && navoided < 16) snprintf(avoided[navoided++], sizeof avoided[0], "%s", v.avoid_class);
            if (k < 16) avoided_n[k]++;
            int *keep = malloc(sizeof(int) * (size_t)c.nops);
            for (int i = 0; i < c.nops; i++) keep[i] = i != v.avoid_op - 1;
            Buf pruned = {0};
            case_text(&c, keep, &pruned);
            free(keep);
            case_free(&c);
            buf_free(&v.report);
            buf_free(&text);
            text = pruned;
        }
        if (r > 0) {
            failures++;
            if (opt_all_cases) { /* every failing sequence as it ran, unminimised */
                char path[400];
                snprintf(path, sizeof path, "%s/sequence%05ld.case", opt_out, n);
                Buf all = {0};
                bprintf(&all, "# difftest --seed %" PRIu64 " (sequence %ld)%s\n# difference: %s\n", seed, n, opt_avoid ? " --avoid-documented" : "", v.sig);
                case_text(&c, NULL, &all);
                int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                write_all(fd, all.p, all.n);
                close(fd);
                buf_free(&all);
                printf("sequence %ld [%s]: %s\n", n, v.sig, path);
            }
            int known = -1;
            for (int i = 0; i < nsig; i++) if (!strcmp(sigs[i], v.sig)) known = i;
            if (known >= 0) { hits[known]++; }
            else {
                if (nsig < 64) { snprintf(sigs[nsig], sizeof sigs[nsig], "%s", v.sig); hits[nsig++] = 1; }
                printf("\nFAIL sequence %ld (seed-case %" PRIu64 ") [%s], %d ops; minimising...\n", n, cs, v.sig, c.nops);
                int original_ops = c.nops;
                fflush(stdout);
                /* Reproducible? */
                Verdict again;
                check_text(text.p, "again", &again, NULL);
                int same = again.failed == 1 && !strcmp(again.sig, v.sig) && !avoided_before(&again);
                buf_free(&again.report);
                if (!same) printf("  (not reproduced on a second run: kept unminimised)\n");
                else if (opt_min_time > 0) minimise(&c, v.sig, opt_min_time);
                Buf min = {0}, final = {0};
                case_text(&c, NULL, &min);
                Verdict fv;
                check_text(min.p, "minimised", &fv, NULL);
                char sl[120], path[400];
                slug(v.sig, sl, sizeof sl);
                snprintf(path, sizeof path, "%s/%s.seed%" PRIu64 ".case", opt_out, sl, cs);
                bprintf(&final, "# found by: difftest --seed %" PRIu64 "%s (sequence %ld), minimised from %d ops\n# difference: %s\n", seed, opt_avoid ? " --avoid-documented" : "", n, original_ops, fv.failed == 1 ? fv.sig : v.sig);
                const char *body = min.p;
                if (!strncmp(body, "# difftest", 10)) body = strchr(body, '\n') + 1;
                buf_add(&final, body, strlen(body));
                int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                write_all(fd, final.p, final.n);
                close(fd);
                printf("minimised case (%s):\n%s", path, final.p);
                printf("%s", fv.failed == 1 ? fv.report.p : v.report.p);
                fflush(stdout);
                buf_free(&fv.report);
                buf_free(&min);
                buf_free(&final);
            }
        }
        case_free(&c);
        buf_free(&v.report);
        buf_free(&text);
        if (stop_after > 0 && nsig >= stop_after) { n++; break; }
    }
    if (count > 0 && n < count && !(stop_after > 0 && nsig >= stop_after))
        printf("\ndifftest: the time limit (--time %.0f) stopped the run before --count %ld", seconds, count);
    printf("\ndifftest: %ld sequences in %.1f s (%ld runs), %d differed", n, now_s() - start, runs_done, failures);
    if (nsig) {
        printf(", %d distinct:\n", nsig);
        for (int i = 0; i < nsig; i++) printf("  %4d x %s\n", hits[i], sigs[i]);
    } else {
        printf("\n");
    }
    if (opt_avoid) {
        int total = 0;
        for (int i = 0; i < navoided; i++) total += avoided_n[i];
        printf("avoided (--avoid-documented): %d ops%s", total, navoided ? ":" : "\n");
        for (int i = 0; i < navoided; i++) printf(" %d %s%s", avoided_n[i], avoided[i], i + 1 < navoided ? "," : "\n");
    }
    printf("replay with: difftest --seed %" PRIu64 " %s%.0f%s\n", seed, count > 0 ? "--count " : "--time ",
           count > 0 ? (double)count : seconds, opt_avoid ? " --avoid-documented" : "");
    return failures ? 1 : 0;
}

/* Injection: a raw system call behind mapwarden's back must be caught by the
 * registry check at the checkpoint right after it. */
static const char *inject_fixed[] = {
    "window 0x500000000000:1G\nmmap b 4p RW PRIVATE|ANON|FIXED\nwrite b+1p 7\nraw munmap b+1p 1p\n",
    "window 0x500000000000:1G\nmmap b 4p RW PRIVATE|ANON|FIXED\nraw mmap b+8p 1p RW PRIVATE|ANON|FIXED\n",
    "window 0x500000000000:1G\nmmap b 4p RW PRIVATE|ANON|FIXED\nraw mprotect b+2p 1p R\n",
    "window 0x500000000000:1G\nraw munmap b+20p 2p\n",
    "window 0x500000000000:1G\nmmap b 2p RW SHARED|FIXED memfd 3p\nraw mmap b 1p RW SHARED|FIXED memfd 4p\n",
};

static int inject_one(const char *text, int raw_op, Buf *why) {
    Case c;
    Buf err = {0};
    if (case_parse(text, "inject", &c, &err)) { bprintf(why, "%s", err.p); buf_free(&err); return -1; }
    char path[300];
    snprintf(path, sizeof path, "%s/case", tmpdir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    write_all(fd, text, strlen(text));
    close(fd);
    RunOut ro[2];
    run_pair(path, &c, ro);
    Trace t;
    trace_parse(ro[1].out.p, ro[1].status, &t);
    int caught = 0, early = 0;
    for (int i = 0; i < t.nx; i++) {
        char label[64] = "";
        sscanf(t.x[i], "%63s", label);
        int op = label_op(label);
        if (op && op < raw_op) { early = 1; continue; }
        if (!caught) bprintf(why, "%s", t.x[i]);
        caught = 1;
    }
    trace_free(&t);
    for (int m = 0; m < 2; m++) { buf_free(&ro[m].out); buf_free(&ro[m].err); }
    case_free(&c);
    if (early) return -2;
    return caught;
}

static int inject_mode(uint64_t seed, long count) {
    int missed = 0, caught = 0;
    printf("difftest: fault injection (raw syscall instructions behind mapwarden's back), --seed %" PRIu64 "\n", seed);
    for (size_t i = 0; i < sizeof inject_fixed / sizeof *inject_fixed; i++) {
        Buf why = {0};
        const char *t = inject_fixed[i];
        int nops = 0;
        for (const char *p = strchr(t, '\n') + 1; *p; p++) nops += *p == '\n';
        int r = inject_one(t, nops, &why);
        const char *last = t + strlen(t) - 1;
        while (last > t && last[-1] != '\n') last--;
        if (r == 1) { caught++; printf("caught   %.*s    -> %s\n", (int)(strlen(last) - 1), last, why.p); }
        else { missed++; printf("MISSED   %.*s    (%s)\n---\n%s---\n", (int)(strlen(last) - 1), last, r == -2 ? "the prefix already mismatched" : "no registry mismatch reported", t); }
        buf_free(&why);
    }
    /* Random prefixes (libc only, no known-trouble ops), then one raw call on a window page. */
    Rng r = {seed};
    long done = 0, tries = 0;
    while (done < count && tries < count * 10) {
        tries++;
        Gen g;
        memset(&g, 0, sizeof g);
        g.r.s = rnd(&r);
        g.libc_only = 1;
        g.threads = 1;
        g.plo = 0; g.phi = 64;
        Buf text = {0};
        bprintf(&text, "window 0x500000000000:1G\nbase w+16p\n");
        int n = 3 + rn(&g.r, 10);
        for (int i = 0; i < n; i++) {
            char a[48];
            int p = rn(&g.r, 48), len = 1 + rn(&g.r, 8);
            addr_expr(a, sizeof a, p, 0);
            int k = rn(&g.r, 10);
            if (k < 5) bprintf(&text, "mmap %s %dp %s PRIVATE|ANON|FIXED\n", a, len, chance(&g.r, 50) ? "RW" : "R");
            else if (k < 7) bprintf(&text, "munmap %s %dp\n", a, len);
            else if (k < 9) bprintf(&text, "mprotect %s %dp %s\n", a, len, chance(&g.r, 50) ? "RW" : "R");
            else bprintf(&text, "write %s %d\n", a, 1 + rn(&g.r, 255));
        }
        char a[48];
        addr_expr(a, sizeof a, rn(&g.r, 64), 0);
        if (chance(&g.r, 50)) bprintf(&text, "raw munmap %s 1p\n", a);
        else bprintf(&text, "raw mmap %s 1p RW SHARED|FIXED inject 1000p\n", a); /* an offset no other op uses */
        Buf why = {0};
        int res = inject_one(text.p, n + 1, &why);
        if (res == -2) { buf_free(&text); buf_free(&why); continue; } /* a prefix that mismatches on its own */
        done++;
        const char *last = text.p + text.n - 1;
        while (last > text.p && last[-1] != '\n') last--;
        if (res == 1) caught++;
        else { missed++; printf("MISSED (random %ld)   %.*s\n---\n%s---\n", done, (int)(strlen(last) - 1), last, text.p); }
        if (opt_verbose && res == 1) printf("caught   %.*s    -> %s\n", (int)(strlen(last) - 1), last, why.p);
        buf_free(&why);
        buf_free(&text);
    }
    printf("difftest: injection: %d caught, %d missed (%ld random cases after %ld tries)\n", caught, missed, done, tries);
    return missed || done < count ? 1 : 0;
}

static void usage(void) {
    fprintf(stderr,
            "usage: difftest --replay FILE...          replay case files (kernel vs mapwarden)\n"
            "       difftest --seed N --time S [--count N] [--ops N] [--out DIR] [--stop-after N] [--libc-only]\n"
            "       difftest --inject [--seed N] [--count N]\n"
            "       difftest --minimise FILE [--min-time S]  a failing case, minimised\n"
            "       difftest --exec FILE                (internal: run one case, print its trace)\n"
            "       common: --lib PATH (default $LIB, build/libmapwarden.so, or ../libmapwarden.so beside difftest), --verbose\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "--exec")) {
        Buf text = {0}, err = {0};
        if (read_file(argv[2], &text)) { perror(argv[2]); return 2; }
        Case c;
        if (case_parse(text.p, argv[2], &c, &err)) { fprintf(stderr, "%s", err.p); return 2; }
        opt_classify = getenv("DIFFTEST_CLASSIFY") != NULL;
        return exec_case(&c);
    }
    opt_lib = getenv("LIB") ? getenv("LIB") : "build/libmapwarden.so";
    uint64_t seed = (uint64_t)time(NULL);
    double seconds = 20;
    int seconds_given = 0;
    const char *min_file = NULL;
    long count = 0;
    int max_ops = 30, libc_only = 0, stop_after = 0, mode = 0, nfiles = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--replay")) mode = 'r';
        else if (a[0] != '-' && mode == 'r') argv[nfiles++] = argv[i]; /* files, in place */
        else if (!strcmp(a, "--inject")) mode = 'i';
        else if (!strcmp(a, "--minimise") && i + 1 < argc) { mode = 'm'; min_file = argv[++i]; }
        else if (!strcmp(a, "--seed") && i + 1 < argc) { seed = strtoull(argv[++i], NULL, 0); if (!mode) mode = 'f'; }
        else if (!strcmp(a, "--time") && i + 1 < argc) { seconds = atof(argv[++i]); seconds_given = 1; if (!mode) mode = 'f'; }
        else if (!strcmp(a, "--count") && i + 1 < argc) count = atol(argv[++i]);
        else if (!strcmp(a, "--ops") && i + 1 < argc) max_ops = atoi(argv[++i]);
        else if (!strcmp(a, "--lib") && i + 1 < argc) opt_lib = argv[++i];
        else if (!strcmp(a, "--out") && i + 1 < argc) opt_out = argv[++i];
        else if (!strcmp(a, "--stop-after") && i + 1 < argc) stop_after = atoi(argv[++i]);
        else if (!strcmp(a, "--libc-only")) libc_only = 1;
        else if (!strcmp(a, "--min-time") && i + 1 < argc) opt_min_time = atof(argv[++i]);
        else if (!strcmp(a, "--verbose")) opt_verbose = 1;
        else if (!strcmp(a, "--self")) opt_self = 1;
        else if (!strcmp(a, "--readme-partial")) opt_readme_partial = 1;
        else if (!strcmp(a, "--avoid-documented")) opt_avoid = 1;
        else if (!strcmp(a, "--all-cases")) opt_all_cases = 1;
        else if (!strcmp(a, "--gen") && i + 1 < argc) { /* print one generated case */
            Buf t = {0};
            gen_case(strtoull(argv[++i], NULL, 0), max_ops, libc_only, &t);
            fputs(t.p, stdout);
            return 0;
        } else usage();
    }
    if (max_ops < 6) max_ops = 6;
    if (count > 0 && !seconds_given) seconds = 1e9; /* --count alone: exactly that many sequences, however long */
    static char beside[4200];
    if (!getenv("LIB") && access(opt_lib, R_OK)) { /* build/fuzz/difftest: the library is build/libmapwarden.so */
        char self[4096];
        ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
        if (k > 0) {
            self[k] = 0;
            char *slash = strrchr(self, '/');
            if (slash) { *slash = 0; snprintf(beside, sizeof beside, "%s/../libmapwarden.so", self); opt_lib = beside; }
        }
    }
    if (access(opt_lib, R_OK)) { fprintf(stderr, "difftest: cannot read the library %s (--lib)\n", opt_lib); return 2; }
    char *abs = realpath(opt_lib, NULL);
    if (abs) opt_lib = abs;
    setup_tmpdir();
    int rc;
    if (mode == 'r') rc = replay(nfiles - 1, argv + 1);
    else if (mode == 'm') rc = minimise_file(min_file);
    else if (mode == 'i') rc = inject_mode(seed, count > 0 ? count : 20);
    else if (mode == 'f') rc = fuzz(seed, seconds, count, max_ops, libc_only, stop_after);
    else usage(), rc = 2;
    cleanup_tmpdir();
    return rc;
}
