/*
 * A forked child inherits no memory locks: Linux clears VM_LOCKED on every
 * VMA it copies and resets the mm's default flags, so mlock'ed mappings
 * and mlockall(MCL_FUTURE) do not carry over (mlock(2), mlockall(2)). The
 * child's registry must agree: mappings the parent locked, and mappings the
 * child makes after the parent's MCL_FUTURE, are unlocked. Recorded as
 * locked, they look like a separate VMA from an adjacent unlocked mapping
 * that the kernel merged with them, and growing the merged VMA in place
 * fails with EFAULT where Linux grows it.
 */
#include "common.h"
#include "win_helpers.h"
#define SMAPS_LOCKED(p) smaps_has_flag((p), "lo")
#include <sys/wait.h>


static const int RW = PROT_READ | PROT_WRITE, ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

int main(void) {
    char *locked = W(0x100000), *future = W(0x200000);
    CHECK(mmap(locked, 8 * PAGE, RW, ANON, -1, 0) == locked);
    if (mlock(locked, 8 * PAGE) != 0 || mlockall(MCL_FUTURE) != 0) {
        fprintf(stderr, "mlock refused (errno %d): nothing to check\n", errno);
        return 0;
    }
    CHECK(SMAPS_LOCKED(locked) == 1 && recorded_locked(locked) == 1);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        /* The parent's lock is gone here. */
        CHECK(SMAPS_LOCKED(locked) == 0);
        CHECK(recorded_locked(locked) == 0);
        /* A mapping made after the parent's MCL_FUTURE is not locked. */
        CHECK(mmap(future, 8 * PAGE, RW, ANON, -1, 0) == future);
        CHECK(SMAPS_LOCKED(future) == 0);
        CHECK(recorded_locked(future) == 0);
        /* Its neighbour merges with it: one VMA, which grows in place. */
        CHECK(mmap(future + 8 * PAGE, 8 * PAGE, RW, ANON, -1, 0) == future + 8 * PAGE);
        CHECK(munlock(future + 8 * PAGE, 8 * PAGE) == 0);
        CHECK(mremap(future, 16 * PAGE, 32 * PAGE, 0) == future);
        CHECK(registry_consistent() >= 2);
        _exit(0);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    munlockall();
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return 0;
}
