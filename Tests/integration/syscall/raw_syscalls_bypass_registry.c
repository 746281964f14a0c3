// Bypasses: raw system calls never reach mapwarden, so the
// registry does not see them. Documented behaviour, checked here:
//  - a raw raw_syscall(SYS_mmap, W+x, MAP_FIXED) inside the window maps in the
//    kernel, but mapwarden_query still says FREE and registry_consistent()
//    reports free window space that is not the reservation;
//  - interposed calls on that range answer from the registry (mprotect:
//    ENOMEM, as on free space);
//  - a later interposed munmap of the range returns it to the reservation:
//    no hole, one maps line, the registry consistent again;
//  - a raw munmap of a registered mapping leaves the registry saying MAPPED
//    over a hole; an interposed munmap of it fills the hole again; a raw
//    munmap of free window space punches a hole that an interposed munmap
//    (0, as Linux answers for unmapped space) fills again.
#include "common.h"
#include "win_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

int main(void) {
    CHECK_WHOLE();
    char *x = W(0x200000);
    long r = raw_syscall(SYS_mmap, x, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(r == (long)x);
    x[100] = 'b'; /* the kernel has it mapped read-write */
    CHECK(strcmp(perms_at(x), "rw-p") == 0);
    CHECK(query_state(x) == MAPWARDEN_FREE); /* the registry never saw it */
    CHECK(query_state(x + 3 * P) == MAPWARDEN_FREE);
    fprintf(stderr, "expected complaint from registry_consistent() follows:\n");
    CHECK(registry_consistent() == -1); /* free window space is not ---p */
    CHECK(window_lines() == 3);
    /* interposed calls answer from the registry: free space is unmapped */
    CHECK_ERRNO(mprotect(x, P, PROT_READ), ENOMEM);
    CHECK_ERRNO(msync(x, P, MS_ASYNC), ENOMEM);
    CHECK(strcmp(perms_at(x), "rw-p") == 0); /* and changed nothing */
    /* an interposed munmap returns the range to the reservation */
    CHECK(munmap(x, 4 * P) == 0);
    CHECK_FREE(x);
    CHECK_WHOLE();

    /* the same, half under a registered mapping: munmap over both */
    char *m = map_fixed(W(0x300000), 4 * P, RW);
    r = raw_syscall(SYS_mmap, m + 4 * P, 2 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(r == (long)(m + 4 * P));
    CHECK(query_state(m + 4 * P) == MAPWARDEN_FREE);
    CHECK_MAPPED(m, m, 4 * P, RW);
    CHECK(munmap(m, 6 * P) == 0);
    CHECK_WHOLE();

    /* a raw MAP_FIXED over a registered mapping: the registry keeps the old
     * record (prot RW) while the kernel has PROT_READ there */
    m = map_fixed(W(0x400000), 2 * P, RW);
    r = raw_syscall(SYS_mmap, m, 2 * P, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(r == (long)m);
    CHECK_MAPPED(m, m, 2 * P, RW);
    CHECK(strcmp(perms_at(m), "r--p") == 0);
    CHECK(munmap(m, 2 * P) == 0);
    CHECK_WHOLE();

    /* a raw munmap of a registered mapping: a hole the registry calls MAPPED */
    m = map_fixed(W(0x500000), 3 * P, RW);
    CHECK(raw_syscall(SYS_munmap, m, 3 * P) == 0);
    CHECK(!kernel_mapped((uintptr_t)m, (uintptr_t)m + P));
    CHECK(query_state(m) == MAPWARDEN_MAPPED);
    CHECK(registry_consistent() == -1); /* hole in the window */
    CHECK(munmap(m, 3 * P) == 0);
    CHECK(kernel_mapped((uintptr_t)m, (uintptr_t)m + 3 * P));
    CHECK_FREE(m);
    CHECK_WHOLE();

    /* a raw munmap of free window space: a hole; interposed munmap fills it */
    char *f = W(0x600000);
    CHECK(raw_syscall(SYS_munmap, f, 2 * P) == 0);
    CHECK(kernel_unmapped((uintptr_t)f, (uintptr_t)f + 2 * P));
    CHECK(query_state(f) == MAPWARDEN_FREE);
    CHECK(munmap(f, 2 * P) == 0);
    CHECK_WHOLE();
    return 0;
}
