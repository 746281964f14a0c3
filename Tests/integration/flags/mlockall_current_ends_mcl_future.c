/*
 * mlockall(MCL_CURRENT) without MCL_FUTURE ends an earlier
 * mlockall(MCL_FUTURE): Linux clears the mm's default VM_LOCKED first
 * (mm/mlock.c, apply_mlockall_flags), so the mappings made after it are not
 * locked. The registry must follow: a new mapping recorded as locked would
 * make two adjacent mappings the kernel merged into one VMA look like two
 * (one locked, one not), and growing them in place would fail with EFAULT
 * where Linux grows them.
 */
#include "common.h"
#include "win_helpers.h"
#define SMAPS_LOCKED(p) smaps_has_flag((p), "lo")


int main(void) {
    if (mlockall(MCL_FUTURE) != 0 || mlockall(MCL_CURRENT) != 0) {
        /* (unprivileged with a small RLIMIT_MEMLOCK: nothing to compare) */
        fprintf(stderr, "mlockall refused (errno %d): nothing to check\n", errno);
        return 0;
    }
    char *a = W(0x100000);
    CHECK(mmap(a, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a);
    CHECK(mmap(a + 8 * PAGE, 8 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
          a + 8 * PAGE);
    /* Linux: not locked (MCL_CURRENT ended MCL_FUTURE). */
    CHECK(SMAPS_LOCKED(a) == 0);
    CHECK(recorded_locked(a) == SMAPS_LOCKED(a));
    CHECK(recorded_locked(a + 8 * PAGE) == SMAPS_LOCKED(a + 8 * PAGE));
    /* One VMA of 16 pages in the kernel's view: munlock of the first half
     * changes nothing, and growing the whole in place works. */
    CHECK(munlock(a, 8 * PAGE) == 0);
    void *r = mremap(a, 16 * PAGE, 32 * PAGE, 0);
    CHECK(r == a);
    CHECK(registry_consistent() >= 1);
    munlockall();
    return 0;
}
