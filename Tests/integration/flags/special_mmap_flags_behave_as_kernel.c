// Special mmap flags inside the window:
//  - MAP_POPULATE: the pages are resident at once (mincore, interposed and
//    raw), fixed and hinted;
//  - MAP_LOCKED: VmLck grows by the mapping and shrinks back on munmap;
//    mlock/munlock on it work;
//  - MAP_GROWSDOWN: behaves as the kernel treats a MAP_GROWSDOWN mapping
//    right above another mapping (the reservation): touching the page below
//    does not grow it. Compared with the same layout made by hand outside
//    the window, in a child process each;
//  - MAP_32BIT with a hint in the window: the kernel only honours hints
//    below 2 GiB for MAP_32BIT, so the mapping must land below 2 GiB (or
//    fail as the kernel would), never at the window hint;
//  - MAP_NORESERVE (a large writable mapping) and MAP_SHARED_VALIDATE
//    (file mappings served and recorded as shared; anonymous ones refused
//    with EINVAL as the kernel does; an unknown flag or MAP_SYNC on a
//    non-DAX file gets EOPNOTSUPP and changes nothing).
#include "common.h"
#include "win_helpers.h"
#include <signal.h>

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

#ifndef MAP_32BIT
#define MAP_32BIT 0x40
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif

static long status_kb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':') v = strtol(line + n + 1, NULL, 10);
    fclose(f);
    CHECK(v >= 0);
    return v;
}

static int resident(void *p, size_t len, int raw) {
    unsigned char vec[64];
    CHECK(len / P <= sizeof vec);
    int r = raw ? (int)raw_syscall(SYS_mincore, p, len, vec) : mincore(p, len, vec);
    CHECK(r == 0);
    for (size_t i = 0; i < len / P; i++) if (!(vec[i] & 1)) return 0;
    return 1;
}

static void populate(void) {
    char *a = mmap(W(0x100000), 16 * P, RW, ANON | MAP_FIXED | MAP_POPULATE, -1, 0);
    CHECK(a == W(0x100000));
    CHECK(resident(a, 16 * P, 0) && resident(a, 16 * P, 1));
    CHECK_MAPPED(a, a, 16 * P, RW);
    /* a plain fixed mapping next to it is not resident (the check can fail) */
    char *b = map_fixed(W(0x120000), 4 * P, RW);
    CHECK(!resident(b, 4 * P, 1));
    /* hinted, shared */
    char *h = mmap(W(0x140000), 8 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    CHECK(h == W(0x140000));
    CHECK(resident(h, 8 * P, 0));
    CHECK_MAPPED(h, h, 8 * P, RW);
    CHECK(all_zero(a, 16 * P) && all_zero(h, 8 * P));
    CHECK_CONSISTENT(3);
    CHECK(munmap(W(0x100000), 0x50000) == 0);
    CHECK_WHOLE();
}

static void locked(void) {
    long before = status_kb("VmLck");
    char *a = mmap(W(0x200000), 8 * P, RW, ANON | MAP_FIXED | MAP_LOCKED, -1, 0);
    CHECK(a == W(0x200000));
    long with = status_kb("VmLck");
    fprintf(stderr, "VmLck: %ld kB before, %ld kB with 32 kB MAP_LOCKED\n", before, with);
    CHECK(with - before == 8 * (long)P / 1024);
    CHECK(resident(a, 8 * P, 1)); /* MAP_LOCKED populates */
    CHECK_MAPPED(a, a, 8 * P, RW);
    CHECK(strcmp(perms_at(a), "rw-p") == 0);
    CHECK_CONSISTENT(1);
    /* munlock/mlock on it act on the kernel's mapping */
    CHECK(munlock(a, 4 * P) == 0);
    CHECK(status_kb("VmLck") - before == 4 * (long)P / 1024);
    CHECK(mlock(a, 4 * P) == 0);
    CHECK(status_kb("VmLck") - before == 8 * (long)P / 1024);
    /* replacing half of it with a plain mapping drops that half's lock */
    map_fixed(a + 4 * P, 4 * P, RW);
    CHECK(status_kb("VmLck") - before == 4 * (long)P / 1024);
    CHECK(munmap(a, 8 * P) == 0);
    CHECK(status_kb("VmLck") == before);
    CHECK_WHOLE();
}

/*
 * In a child: g is a 1-page MAP_GROWSDOWN mapping; touch the page below it.
 * Returns 1 when the touch grew the mapping, 0 when it died of SIGSEGV.
 */
static int touch_below(char *g) {
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(5);
        volatile char *below = g - 1;
        *below = 1;
        _exit(*below == 1 ? 0 : 3);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (WIFSIGNALED(st)) { CHECK(WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS); return 0; }
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return 1;
}

static void growsdown(void) {
    /* in the window: the reservation is right below */
    char *g = mmap(W(0x400000), P, RW, ANON | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
    CHECK(g == W(0x400000));
    g[0] = 1;
    CHECK_MAPPED(g, g, P, RW);
    CHECK_CONSISTENT(1);
    int in_window_grows = touch_below(g);

    /* the same layout made by hand outside the window: a PROT_NONE mapping
     * right below a MAP_GROWSDOWN one (what the kernel sees in the window) */
    char *area = mmap(NULL, 1024 * P, PROT_NONE, ANON | MAP_NORESERVE, -1, 0);
    CHECK(area != MAP_FAILED && !in_window(area));
    char *og = mmap(area + 1000 * P, P, RW, ANON | MAP_FIXED | MAP_GROWSDOWN, -1, 0);
    CHECK(og == area + 1000 * P);
    int outside_grows = touch_below(og);
    /* and with free space below (more than the stack guard gap): grows */
    CHECK(munmap(area, 1000 * P) == 0);
    int free_grows = touch_below(og);
    CHECK(munmap(og, P) == 0);

    fprintf(stderr, "MAP_GROWSDOWN touch below: in the window %s; above a PROT_NONE mapping outside %s; "
            "above free space %s\n", in_window_grows ? "grows" : "SIGSEGV", outside_grows ? "grows" : "SIGSEGV",
            free_grows ? "grows" : "SIGSEGV");
    CHECK(in_window_grows == outside_grows);
    CHECK(free_grows); /* the control can tell the two apart */
    /* the parent's mapping is unchanged, the page below still reserved */
    CHECK_MAPPED(g, g, P, RW);
    CHECK_FREE(g - P);
    CHECK(munmap(g, P) == 0);

    /* a hinted MAP_GROWSDOWN inside the window */
    char *hg = mmap(W(0x500000), 2 * P, RW, ANON | MAP_GROWSDOWN, -1, 0);
    CHECK(hg != MAP_FAILED);
    if (in_window(hg)) CHECK_MAPPED(hg, hg, 2 * P, RW);
    CHECK(munmap(hg, 2 * P) == 0);
    CHECK_WHOLE();
}

static void map32(void) {
    const uintptr_t two_gib = (uintptr_t)2 << 30;
    /* what the kernel itself does with such a hint, outside any window:
     * a high hint outside the window with MAP_32BIT */
    void *k = mmap((void *)(window_end() + ((uintptr_t)1 << 30)), P, RW, ANON | MAP_32BIT, -1, 0);
    fprintf(stderr, "MAP_32BIT, hint above the window: %p\n", k);
    CHECK(k != MAP_FAILED && (uintptr_t)k < two_gib);
    CHECK(munmap(k, P) == 0);

    void *p = mmap(W(0x600000), 4 * P, RW, ANON | MAP_32BIT, -1, 0);
    fprintf(stderr, "MAP_32BIT, hint in the window: %p\n", p);
    if (p == MAP_FAILED) {
        CHECK(errno == ENOMEM);
    } else {
        CHECK((uintptr_t)p + 4 * P <= two_gib);
        CHECK(!in_window(p));
        ((char *)p)[0] = 1;
        CHECK(munmap(p, 4 * P) == 0);
    }
    /* MAP_32BIT with MAP_FIXED: the kernel ignores MAP_32BIT, served in place */
    char *f = mmap(W(0x600000), 4 * P, RW, ANON | MAP_32BIT | MAP_FIXED, -1, 0);
    CHECK(f == W(0x600000));
    CHECK_MAPPED(f, f, 4 * P, RW);
    CHECK(munmap(f, 4 * P) == 0);
    CHECK_WHOLE();
}

static void noreserve_validate(void) {
    /* a 1 GiB writable MAP_NORESERVE mapping, touched sparsely */
    size_t big = (size_t)1 << 30;
    char *n = mmap(W(0x40000000), big, RW, ANON | MAP_FIXED | MAP_NORESERVE, -1, 0);
    CHECK(n == W(0x40000000));
    for (size_t off = 0; off < big; off += 64 << 20) n[off] = (char)(off >> 20);
    for (size_t off = 0; off < big; off += 64 << 20) CHECK(n[off] == (char)(off >> 20));
    CHECK_MAPPED(n + big - 1, n, big, RW);
    CHECK(strcmp(perms_at(n), "rw-p") == 0);
    CHECK_CONSISTENT(1);
    CHECK(munmap(n, big) == 0);
    CHECK_WHOLE();

    /* MAP_SHARED_VALIDATE is for files: with MAP_ANONYMOUS this kernel
     * refuses it (EINVAL) without the preload; the same inside the window,
     * fixed (over free space and over a mapping) and hinted */
    char *s = map_fixed(W(0x700000), 4 * P, RW);
    s[3 * P] = 0x42;
    CHECK_ERRNO(mmap(W(0x710000), 4 * P, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
    CHECK_ERRNO(mmap(s, 4 * P, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
    CHECK_ERRNO(mmap(W(0x710000), 4 * P, RW, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0), EINVAL);
    CHECK(s[3 * P] == 0x42);
    CHECK_MAPPED(s, s, 4 * P, RW);
    CHECK_FREE(W(0x710000));
    CHECK_CONSISTENT(1);

    char path[] = "/tmp/mw_edge_flags_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK(ftruncate(fd, 8 * P) == 0);
    /* a file mapping through MAP_SHARED_VALIDATE, fixed: served, recorded
     * as shared, writes reach the file and a child's writes are seen */
    char *fm = mmap(W(0x720000), 4 * P, RW, MAP_SHARED_VALIDATE | MAP_FIXED, fd, 0);
    CHECK(fm == W(0x720000));
    fm[5] = 'v';
    char c;
    CHECK(pread(fd, &c, 1, 5) == 1 && c == 'v');
    CHECK_MAPPED(fm + 3 * P, fm, 4 * P, RW);
    CHECK(info_at(fm).kind == MAPWARDEN_KIND_SHARED);
    CHECK(strcmp(perms_at(fm), "rw-s") == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { fm[3 * P] = 0x42; _exit(0); }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(fm[3 * P] == 0x42);
    /* hinted, with a file offset */
    char *h = mmap(W(0x730000), 2 * P, PROT_READ, MAP_SHARED_VALIDATE, fd, 2 * P);
    CHECK(h == W(0x730000));
    CHECK(h[P] == 0x42);
    CHECK_MAPPED(h, h, 2 * P, PROT_READ);
    CHECK(info_at(h).kind == MAPWARDEN_KIND_SHARED && info_at(h).offset == 2 * P);
    CHECK_CONSISTENT(3);
    /* an unknown flag under MAP_SHARED_VALIDATE: EOPNOTSUPP and nothing
     * changes, over free space and over a mapping */
    const int unknown = 0x800000; /* not a MAP_* flag the kernel knows */
    CHECK_ERRNO(mmap(W(0x740000), 4 * P, RW, MAP_SHARED_VALIDATE | MAP_FIXED | unknown, fd, 0), EOPNOTSUPP);
    CHECK_ERRNO(mmap(fm, 4 * P, RW, MAP_SHARED_VALIDATE | MAP_FIXED | unknown, fd, 0), EOPNOTSUPP);
    CHECK_ERRNO(mmap(W(0x740000), 4 * P, RW, MAP_SHARED_VALIDATE | unknown, fd, 0), EOPNOTSUPP);
    CHECK(fm[5] == 'v' && fm[3 * P] == 0x42);
    CHECK_MAPPED(fm, fm, 4 * P, RW);
    CHECK_FREE(W(0x740000));
    CHECK_CONSISTENT(3);
    /* MAP_SYNC on a file that is not on DAX: EOPNOTSUPP from the file's
     * mmap method, after the kernel has already unmapped the target (without
     * the preload that leaves a hole where the old mapping was). Inside the
     * window: free space stays reserved, and an old mapping is gone as in the
     * kernel, its range back in the reservation (rule 9: no hole). */
    CHECK_ERRNO(mmap(W(0x740000), 4 * P, RW, MAP_SHARED_VALIDATE | MAP_SYNC | MAP_FIXED, fd, 0), EOPNOTSUPP);
    CHECK_FREE(W(0x740000));
    CHECK_CONSISTENT(3);
    CHECK_ERRNO(mmap(fm, 4 * P, RW, MAP_SHARED_VALIDATE | MAP_SYNC | MAP_FIXED, fd, 0), EOPNOTSUPP);
    int gone = kernel_mapped((uintptr_t)fm, (uintptr_t)fm + 4 * P) && query_state(fm) == MAPWARDEN_FREE;
    fprintf(stderr, "failed MAP_SYNC|MAP_FIXED over a mapping: the old mapping %s\n", gone ? "is gone, range reserved" : "survived");
    if (gone) { CHECK_FREE(fm); CHECK_FREE(fm + 3 * P); CHECK_CONSISTENT(2); }
    else { CHECK(fm[5] == 'v'); CHECK_MAPPED(fm, fm, 4 * P, RW); CHECK_CONSISTENT(3); }
    close(fd);
    CHECK(munmap(W(0x700000), 0x40000) == 0);
    CHECK_WHOLE();
}

int main(void) {
    CHECK_WHOLE();
    populate();
    locked();
    growsdown();
    noreserve_validate();
    map32();
    return 0;
}
