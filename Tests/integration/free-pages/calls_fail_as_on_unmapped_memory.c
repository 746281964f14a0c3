// Rule 7: free window pages behave as unmapped memory. mprotect,
// pkey_mprotect, madvise, mlock, mlock2, munlock, msync and mincore fail
// with ENOMEM on them, and on ranges spanning mapped and free parts, where
// they change exactly what Linux changes with those pages unmapped (checked
// against a twin layout outside the window: mprotect and mlock act up to
// the first free page, madvise on every mapped part); on mapped parts they
// work, and mprotect splits the record. The reservation can never be made
// accessible.
#include "common.h"
#include "win_helpers.h"
#include <signal.h>

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

static long vm_lck_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f)) if (sscanf(line, "VmLck: %ld", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

static int pkey = -1;

/* Every call on [lo, lo+len) must fail with ENOMEM. */
static void all_enomem(char *lo, size_t len) {
    unsigned char vec[64];
    CHECK_ERRNO(mprotect(lo, len, PROT_READ), ENOMEM);
    CHECK_ERRNO(mprotect(lo, len, RW), ENOMEM);
    CHECK_ERRNO(mprotect(lo, len, PROT_NONE), ENOMEM);
    CHECK_ERRNO(pkey_mprotect(lo, len, RW, pkey), ENOMEM);
    CHECK_ERRNO(pkey_mprotect(lo, len, PROT_READ, -1), ENOMEM);
    CHECK_ERRNO(madvise(lo, len, MADV_DONTNEED), ENOMEM);
    CHECK_ERRNO(madvise(lo, len, MADV_NORMAL), ENOMEM);
    CHECK_ERRNO(madvise(lo, len, MADV_WILLNEED), ENOMEM);
    CHECK_ERRNO(mlock(lo, len), ENOMEM);
    CHECK_ERRNO(mlock2(lo, len, 0), ENOMEM);
    CHECK_ERRNO(mlock2(lo, len, MLOCK_ONFAULT), ENOMEM);
    CHECK_ERRNO(munlock(lo, len), ENOMEM);
    CHECK_ERRNO(msync(lo, len, MS_SYNC), ENOMEM);
    CHECK_ERRNO(msync(lo, len, MS_ASYNC), ENOMEM);
    CHECK_ERRNO(mincore(lo, len, vec), ENOMEM);
}

int main(void) {
    CHECK_WHOLE();
    pkey = pkey_alloc(0, 0);
    fprintf(stderr, "pkey %d\n", pkey);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_MEMLOCK, &rl) == 0);
    int can_lock = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= 64 * 1024;

    char *m = map_fixed(W(0x100000), 4 * P, RW);
    fill(m, 4 * P, 1);
    char *f = W(0x200000);
    CHECK_FREE(f);
    long lck0 = vm_lck_kb();

    /* free pages: one, several, the whole window */
    all_enomem(f, P);
    all_enomem(f, 16 * P);
    all_enomem(W(0), window_size());
    CHECK_FREE(f);
    /* spanning mapped and free parts, either way round: ENOMEM, and the
     * mapped part ends as the kernel leaves a twin whose free pages are
     * really unmapped: [t, t+P) hole, [t+P, t+5P) mapped, then a hole */
    char *t = fresh_hole(8 * P);
    CHECK(mmap(t + P, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == t + P);
    fill(t + P, 4 * P, 1);
    fill(m, 4 * P, 1); /* (madvise(DONTNEED) over the whole window above zeroed it, as Linux would) */
    const size_t spans[][2] = {{3, 4}, {0, 2}, {0, 6}}; /* (first page, pages) from one page below the mapping */
    for (int k = 0; k < 3; k++) {
        all_enomem(m - P + spans[k][0] * P, spans[k][1] * P);
        all_enomem(t + spans[k][0] * P, spans[k][1] * P);
        for (int i = 0; i < 4; i++) {
            char *a = m + i * P, *b = t + P + i * P;
            if (strcmp(perms_at(a), perms_at(b)) != 0 || info_at(a).prot != (int)((perms_at(b)[0] == 'r' ? PROT_READ : 0) | (perms_at(b)[1] == 'w' ? PROT_WRITE : 0))) {
                fprintf(stderr, "span %d page %d: window %s (registry prot %d), twin %s\n", k, i, perms_at(a), info_at(a).prot, perms_at(b));
                exit(1);
            }
            if (perms_at(b)[0] == 'r') CHECK(memcmp(a, b, P) == 0);
        }
        CHECK_FREE(m - P);
        CHECK_FREE(m + 4 * P);
    }
    CHECK(munmap(t, 8 * P) == 0);
    /* start again from a fresh mapping */
    CHECK(munmap(m, 4 * P) == 0);
    map_fixed(m, 4 * P, RW);
    fill(m, 4 * P, 1);
    CHECK_MAPPED(m, m, 4 * P, RW);
    struct maps_hit h = maps_at(m);
    CHECK(h.found && h.start == (uintptr_t)m && h.end == (uintptr_t)m + 4 * P && strcmp(h.perms, "rw-p") == 0);
    CHECK_FREE(m - P); CHECK_FREE(m + 4 * P);
    CHECK(vm_lck_kb() == lck0);
    m[0] = 1; m[4 * P - 1] = 2; /* still writable */
    fill(m, 4 * P, 1);
    CHECK_CONSISTENT(1);
    CHECK_LINES(3);

    /* on mapped parts they work */
    unsigned char vec[8];
    CHECK(msync(m, 4 * P, MS_SYNC) == 0);
    CHECK(msync(m + P, 2 * P, MS_ASYNC | MS_INVALIDATE) == 0);
    CHECK(mincore(m, 4 * P, vec) == 0);
    for (int i = 0; i < 4; i++) CHECK(vec[i] & 1);
    CHECK(madvise(m, 4 * P, MADV_WILLNEED) == 0);
    CHECK(madvise(m + 3 * P, P, MADV_DONTNEED) == 0);
    CHECK(all_zero(m + 3 * P, P));
    CHECK(holds(m, 3 * P, 1));
    if (can_lock) {
        CHECK(mlock(m, 2 * P) == 0);
        CHECK(vm_lck_kb() == lck0 + 8);
        CHECK(munlock(m, 2 * P) == 0);
        CHECK(vm_lck_kb() == lck0);
        CHECK(mlock2(m + P, P, MLOCK_ONFAULT) == 0);
        CHECK(vm_lck_kb() == lck0 + 4);
        CHECK(munlock(m, 4 * P) == 0);
        CHECK(vm_lck_kb() == lck0);
    } else {
        fprintf(stderr, "RLIMIT_MEMLOCK too small: lock checks skipped\n");
    }
    CHECK(holds(m, 3 * P, 1));
    CHECK_CONSISTENT(1);

    /* mprotect of the middle splits the record into three */
    CHECK(mprotect(m + P, 2 * P, PROT_READ) == 0);
    CHECK_MAPPED(m, m, P, RW);
    CHECK_MAPPED(m + P, m + P, 2 * P, PROT_READ);
    CHECK_MAPPED(m + 2 * P, m + P, 2 * P, PROT_READ);
    CHECK_MAPPED(m + 3 * P, m + 3 * P, P, RW);
    CHECK(strcmp(perms_at(m + P), "r--p") == 0);
    CHECK(strcmp(perms_at(m), "rw-p") == 0 && strcmp(perms_at(m + 3 * P), "rw-p") == 0);
    CHECK(holds(m, 3 * P, 1));
    CHECK_CONSISTENT(3);
    /* a spanning mprotect fails at the free page, after changing the three
     * pieces before it (as Linux does VMA by VMA), and the registry follows */
    CHECK_ERRNO(mprotect(m, 5 * P, PROT_NONE), ENOMEM);
    CHECK_MAPPED(m, m, P, PROT_NONE);
    CHECK_MAPPED(m + P, m + P, 2 * P, PROT_NONE);
    CHECK_MAPPED(m + 3 * P, m + 3 * P, P, PROT_NONE);
    CHECK(strcmp(perms_at(m + P), "---p") == 0 && strcmp(perms_at(m), "---p") == 0);
    CHECK_FREE(m + 4 * P);
    /* an mprotect over all pieces works and is recorded everywhere */
    CHECK(mprotect(m, 4 * P, PROT_READ | PROT_EXEC) == 0);
    for (int i = 0; i < 4; i++) CHECK(info_at(m + i * P).prot == (PROT_READ | PROT_EXEC));
    CHECK(strcmp(perms_at(m), "r-xp") == 0 && strcmp(perms_at(m + 3 * P), "r-xp") == 0);
    CHECK(registry_consistent() >= 1);
    /* pkey_mprotect on mapped pages (pkey -1 = plain mprotect) */
    CHECK(pkey_mprotect(m, 2 * P, RW, pkey) == 0);
    CHECK(info_at(m).prot == RW && info_at(m + P).prot == RW);
    CHECK(info_at(m + 2 * P).prot == (PROT_READ | PROT_EXEC));
    CHECK(strcmp(perms_at(m), "rw-p") == 0 && strcmp(perms_at(m + 2 * P), "r-xp") == 0);
    m[5] = (char)pattern_byte(1, 5);
    CHECK(holds(m, 3 * P, 1));
    CHECK(registry_consistent() >= 2);
    /* the kernel's own EINVAL for an unaligned start */
    CHECK_ERRNO(mprotect(m + 1, P, PROT_READ), EINVAL);

    /* the reservation can never be made accessible */
    CHECK_ERRNO(mprotect(f, P, RW), ENOMEM);
    CHECK_ERRNO(mprotect(f, P, PROT_READ | PROT_WRITE | PROT_EXEC), ENOMEM);
    CHECK_ERRNO(pkey_mprotect(f, P, RW, -1), ENOMEM);
    CHECK_ERRNO(mprotect((void *)(window_base() - P), 2 * P, RW), ENOMEM);
    CHECK_ERRNO(mprotect((void *)(window_end() - P), 2 * P, RW), ENOMEM);
    CHECK_FREE(f);
    CHECK(strcmp(perms_at(W(0)), "---p") == 0);
    CHECK(strcmp(perms_at((void *)(window_end() - P)), "---p") == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { signal(SIGSEGV, SIG_DFL); volatile char c = *(volatile char *)f; (void)c; _exit(0); }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);

    CHECK(munmap(m, 4 * P) == 0);
    CHECK_WHOLE();
    if (pkey >= 0) pkey_free(pkey);
    return 0;
}
