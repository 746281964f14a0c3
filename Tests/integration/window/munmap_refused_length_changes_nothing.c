// munmap(W, len) with a live mapping at W and a
// length the kernel refuses (1<<62; beyond TASK_SIZE without wrapping;
// wrapping) fails with EINVAL, exactly as the raw syscall does, and changes
// nothing: the data, the registry record and the maps line stay. The old
// engine cut its records (and re-reserved the window) before the kernel
// refused.
#include "common.h"
#include "win_helpers.h"

#define RW (PROT_READ | PROT_WRITE)

int main(void) {
    CHECK_WHOLE();
    char *p = map_fixed(W(0), 4 * PAGE, RW);
    fill(p, 4 * PAGE, 3);
    char *q = map_fixed(W(0x100000), PAGE, PROT_READ);
    CHECK_CONSISTENT(2);
    /* lengths the kernel refuses before looking at the address space:
     * beyond any TASK_SIZE (4- or 5-level paging) without wrapping, and
     * wrapping around */
    size_t lens[] = { (size_t)1 << 62, (size_t)1 << 57, (size_t)1 << 63, (size_t)-PAGE, SIZE_MAX - 4 * PAGE + 1 };
    char *o = mmap(NULL, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(o != MAP_FAILED && !in_window(o));
    o[0] = 'o';
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        /* raw, at the same address: the kernel refuses before looking */
        errno = 0;
        long r = raw_syscall(SYS_munmap, p, lens[i]);
        CHECK(r == -1 && errno == EINVAL);
        CHECK(holds(p, 4 * PAGE, 3));
        /* through the preload */
        CHECK_ERRNO(munmap(p, lens[i]), EINVAL);
        CHECK(strcmp(perms_at(p), "rw-p") == 0);
        CHECK(strcmp(perms_at(p + 3 * PAGE), "rw-p") == 0);
        CHECK(holds(p, 4 * PAGE, 3));
        CHECK_MAPPED(p + 2 * PAGE, p, 4 * PAGE, RW);
        CHECK_MAPPED(q, q, PAGE, PROT_READ);
        CHECK(strcmp(perms_at(q), "r--p") == 0);
        CHECK_CONSISTENT(2);
        /* and from the middle of the mapping */
        CHECK_ERRNO(munmap(p + PAGE, lens[i]), EINVAL);
        CHECK(holds(p, 4 * PAGE, 3));
        CHECK_MAPPED(p + PAGE, p, 4 * PAGE, RW);
        CHECK_CONSISTENT(2);
    }
    CHECK(o[0] == 'o');
    /* an unaligned start is EINVAL too, before anything changes */
    CHECK_ERRNO(munmap(p + 1, PAGE), EINVAL);
    CHECK(holds(p, 4 * PAGE, 3));
    CHECK_CONSISTENT(2);
    /* the mappings still unmap normally */
    CHECK(munmap(p, 4 * PAGE) == 0);
    CHECK(munmap(q, PAGE) == 0);
    CHECK_WHOLE();
    return 0;
}
