// Free window pages behave as unmapped
// memory (rule 7), and that includes the argument checks the kernel makes
// before it looks at the range. pkey_mprotect with a protection key this
// process never allocated (9; or out of range) fails with EINVAL on
// unmapped memory, before any ENOMEM; mapwarden answered ENOMEM. Every
// answer below is compared with the raw kernel's on a range outside the
// window that is unmapped (or mapped, or half and half) the same way:
//  - pkey_mprotect, unallocated key 9, keys 16 and -2: free page, free+mapped
//    span, mapped page (nothing changes);
//  - pkey_mprotect key -1 and an allocated key: ENOMEM on free pages, works
//    on mapped ones;
//  - mlock/mlock2 (also with unknown flags)/munlock on a free page with
//    RLIMIT_MEMLOCK 0 (as root here: CAP_IPC_LOCK; the unprivileged EPERM
//    case is mlock_unprivileged_zero_memlock_is_eperm.sh, beside this file).
#include "common.h"
#include "win_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif

/* errno of a raw call (0 on success) */
#define RAW_ERR(expr) (errno = 0, (long)(expr) == -1 ? errno : 0)

/* The interposed call gives the same result as the raw one did. */
#define SAME(raw_err, call) do { errno = 0; long _r = (long)(call); int _e = _r == -1 ? errno : 0; \
    if (_e != (raw_err) || (_r != 0 && _r != -1)) { \
        fprintf(stderr, "%s:%d: %s returned %ld errno %d (%s); the raw kernel: errno %d (%s)\n", __FILE__, __LINE__, \
                #call, _r, _e, strerror(_e), (raw_err), strerror(raw_err)); dump_window(); exit(1); } } while (0)

int main(void) {
    CHECK_WHOLE();
    /* outside: a hole, and a mapped page followed by a hole, just above the
     * window where mmap(NULL) (top-down) will not put anything meanwhile */
    char *hole = (char *)window_end() + 0x100000;
    char *mapped = mmap((char *)window_end() + 0x200000, P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(mapped == (char *)window_end() + 0x200000);
    CHECK(kernel_unmapped((uintptr_t)hole, (uintptr_t)hole + P));
    CHECK(kernel_unmapped((uintptr_t)mapped + P, (uintptr_t)mapped + 2 * P));

    /* inside: a free page, a mapped page followed by a free one */
    char *wfree = W(0x200000);
    char *wmap = map_fixed(W(0x100000), P, RW);
    wmap[0] = 1;
    CHECK_FREE(wmap + P);

    errno = 0;
    int allocated = (int)raw_syscall(SYS_pkey_alloc, 0, 0);
    int unalloc = allocated == 9 ? 10 : 9;
    fprintf(stderr, "pkey_alloc: %d (errno %d); unallocated key used: %d\n", allocated, allocated < 0 ? errno : 0,
            unalloc);

    int keys[] = { unalloc, 16, -2 };
    for (int k = 0; k < 3; k++) {
        int key = keys[k];
        int e_hole = RAW_ERR(raw_syscall(SYS_pkey_mprotect, hole, P, PROT_READ, key));
        int e_span = RAW_ERR(raw_syscall(SYS_pkey_mprotect, mapped, 2 * P, PROT_READ, key));
        int e_map = RAW_ERR(raw_syscall(SYS_pkey_mprotect, mapped, P, PROT_READ, key));
        fprintf(stderr, "raw pkey_mprotect key %d: hole errno %d, mapped+hole %d, mapped %d\n", key, e_hole, e_span, e_map);
        if (allocated >= 0 || key != unalloc) CHECK(e_hole == EINVAL); /* the kernel's answer this test relies on */
        SAME(e_hole, pkey_mprotect(wfree, P, PROT_READ, key));
        SAME(e_span, pkey_mprotect(wmap, 2 * P, PROT_READ, key));
        SAME(e_map, pkey_mprotect(wmap, P, PROT_READ, key));
        if (e_map) {
            CHECK(strcmp(perms_at(wmap), "rw-p") == 0);
            CHECK_MAPPED(wmap, wmap, P, RW);
        }
        CHECK_FREE(wfree);
        CHECK_FREE(wmap + P);
        CHECK_CONSISTENT(1);
    }
    CHECK(mprotect(mapped, P, RW) == 0);
    CHECK(mprotect(wmap, P, RW) == 0);

    /* key -1 (plain mprotect) and an allocated key: free pages are unmapped memory */
    int good[] = { -1, allocated };
    for (int k = 0; k < (allocated >= 0 ? 2 : 1); k++) {
        int key = good[k];
        int e_hole = RAW_ERR(raw_syscall(SYS_pkey_mprotect, hole, P, PROT_READ, key));
        int e_span = RAW_ERR(raw_syscall(SYS_pkey_mprotect, mapped, 2 * P, PROT_READ, key));
        fprintf(stderr, "raw pkey_mprotect key %d: hole errno %d, mapped+hole %d\n", key, e_hole, e_span);
        CHECK(e_hole == ENOMEM && e_span == ENOMEM);
        SAME(e_hole, pkey_mprotect(wfree, P, PROT_READ, key));
        SAME(e_span, pkey_mprotect(wmap, 2 * P, PROT_READ, key));
        /* the mapped page before the hole changed as the kernel changed its twin */
        CHECK(strcmp(perms_at(wmap), perms_at(mapped)) == 0);
        CHECK(info_at(wmap).prot == (perms_at(mapped)[1] == 'w' ? RW : PROT_READ));
        CHECK(mprotect(mapped, P, RW) == 0 && mprotect(wmap, P, RW) == 0);
        CHECK_FREE(wfree);
        CHECK_FREE(wmap + P);
        /* on a mapped page it works, and the registry follows */
        CHECK(pkey_mprotect(wmap, P, PROT_READ, key) == 0);
        CHECK(strcmp(perms_at(wmap), "r--p") == 0);
        CHECK_MAPPED(wmap, wmap, P, PROT_READ);
        CHECK(wmap[0] == 1);
        CHECK(pkey_mprotect(wmap, P, RW, key) == 0);
        CHECK_CONSISTENT(1);
    }
    if (allocated >= 0) {
        CHECK(pkey_mprotect(wmap, P, RW, 0) == 0); /* back to the default key */
        CHECK(raw_syscall(SYS_pkey_free, allocated) == 0);
    }

    /* mlock family with RLIMIT_MEMLOCK 0, whatever the privileges */
    struct rlimit zero = { 0, 0 };
    CHECK(setrlimit(RLIMIT_MEMLOCK, &zero) == 0);
    int e;
    e = RAW_ERR(raw_syscall(SYS_mlock, hole, P));            SAME(e, mlock(wfree, P));
    fprintf(stderr, "raw mlock on a hole with RLIMIT_MEMLOCK 0 (euid %d): errno %d\n", (int)geteuid(), e);
    e = RAW_ERR(raw_syscall(SYS_mlock2, hole, P, 0));        SAME(e, mlock2(wfree, P, 0));
    e = RAW_ERR(raw_syscall(SYS_mlock2, hole, P, MLOCK_ONFAULT)); SAME(e, mlock2(wfree, P, MLOCK_ONFAULT));
    e = RAW_ERR(raw_syscall(SYS_mlock2, hole, P, 0x40));     SAME(e, mlock2(wfree, P, 0x40));
    CHECK(e == EINVAL); /* unknown flag: checked first */
    e = RAW_ERR(raw_syscall(SYS_mlock, mapped, 2 * P));      SAME(e, mlock(wmap, 2 * P));
    e = RAW_ERR(raw_syscall(SYS_munlock, hole, P));          SAME(e, munlock(wfree, P));
    CHECK_FREE(wfree);
    CHECK_FREE(wmap + P);
    CHECK(strcmp(perms_at(wmap), "rw-p") == 0);
    CHECK_CONSISTENT(1);
    CHECK(kernel_unmapped((uintptr_t)hole, (uintptr_t)hole + P));
    CHECK(kernel_unmapped((uintptr_t)mapped + P, (uintptr_t)mapped + 2 * P));

    CHECK(munmap(wmap, P) == 0);
    CHECK(munmap(mapped, P) == 0);
    CHECK_WHOLE();
    return 0;
}
