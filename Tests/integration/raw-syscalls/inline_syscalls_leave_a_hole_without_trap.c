// The documented contrast to inline_syscalls_are_served_under_trap: without
// MAPWARDEN_RAW_SYSCALLS=trap (the default, off), the same inline `syscall`
// instructions bypass mapwarden entirely (docs/raw-syscalls.md):
//  - no seccomp filter is installed;
//  - a raw MAP_FIXED in the window maps in the kernel but the registry
//    still says FREE;
//  - a raw munmap in the window leaves a hole in the reservation, which
//    the next mmap(NULL) of the right size may fill with anything;
//  - an interposed munmap of the range repairs both.
#include "common.h"
#include "win_helpers.h"
#include "inline_syscall.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

int main(void) {
    CHECK(seccomp_mode() == 0);
    CHECK_WHOLE();

    char *m = W(0x200000);
    long r = own_syscall(SYS_mmap, (long)m, 4 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(r == (long)m);
    CHECK(strcmp(perms_at(m), "rw-p") == 0);
    CHECK(query_state(m) == MAPWARDEN_FREE); /* unrecorded */
    CHECK(munmap(m, 4 * P) == 0);
    CHECK_WHOLE();

    /* the hole a raw munmap leaves */
    char *h = W(0x600000);
    CHECK(own_syscall(SYS_munmap, (long)h, 2 * P, 0, 0, 0, 0) == 0);
    CHECK(kernel_unmapped((uintptr_t)h, (uintptr_t)h + 2 * P));
    CHECK(query_state(h) == MAPWARDEN_FREE);
    fprintf(stderr, "expected complaint from registry_consistent() follows:\n");
    CHECK(registry_consistent() == -1);
    CHECK(munmap(h, 2 * P) == 0); /* the interposed munmap fills it again */
    CHECK_WHOLE();
    return 0;
}
