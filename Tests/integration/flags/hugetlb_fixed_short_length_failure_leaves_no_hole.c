// Rule 9 with a length below the huge page size: MAP_FIXED|MAP_HUGETLB (and
// MAP_FIXED_NOREPLACE|MAP_HUGETLB) at a 2 MiB aligned window address with
// len 4 KiB, or 2 MiB + 4 KiB. The kernel rounds the length up to whole
// huge pages, unmaps that much, and then (no huge pages configured) fails;
// checked first on a PROT_NONE range outside the window. Inside the window
// the failure must leave no hole over the whole rounded range, and a live
// mapping in the rounded part is either intact with its data or reserved
// again, never a hole and never a stale record. (Before the fix only the
// 4 KiB-rounded length was re-reserved.)
#include "common.h"
#include "win_helpers.h"

#define RW (PROT_READ | PROT_WRITE)
#define HUGE (2UL << 20)
#define HFLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB)


/* After the call at p (len bytes asked, rounded to huge pages): either it
 * succeeded (then it is recorded) or nothing in [p, p+rounded) is a hole. */
static void after(void *r, char *p, size_t rounded, int err) {
    if (r == MAP_FAILED) {
        fprintf(stderr, "  failed, errno %d (%s)\n", err, strerror(err));
        CHECK(kernel_mapped((uintptr_t)p, (uintptr_t)p + rounded));
        CHECK_FREE(p);
        CHECK_FREE(p + rounded - PAGE);
    } else {
        CHECK(r == p);
        CHECK(query_state(p) == MAPWARDEN_MAPPED);
        CHECK(registry_consistent() >= 1);
        CHECK(munmap(p, rounded) == 0);
    }
    CHECK(kernel_mapped(window_base(), window_end()));
    CHECK(registry_consistent() >= 0);
}

int main(void) {
    CHECK_WHOLE();
    fprintf(stderr, "HugePages_Free: %ld\n", meminfo("HugePages_Free"));
    /* the kernel, on a PROT_NONE range outside the window */
    char *res = mmap(NULL, 8 * HUGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(res != MAP_FAILED && !in_window(res));
    char *u = (char *)(((uintptr_t)res + 2 * HUGE) & ~(HUGE - 1));
    errno = 0;
    long raw = raw_syscall(SYS_mmap, u, PAGE, RW, HFLAGS | MAP_FIXED, -1, 0);
    fprintf(stderr, "raw MAP_FIXED|MAP_HUGETLB len 4K over PROT_NONE: %ld errno %d; 2 MiB %s\n", raw, errno,
            kernel_unmapped((uintptr_t)u, (uintptr_t)u + HUGE) ? "unmapped" : "still mapped");
    if (raw != -1) CHECK(raw_syscall(SYS_munmap, u, HUGE) == 0);
    CHECK(munmap(res, 8 * HUGE) == 0);

    char *p;
    void *r;
    int e;
    /* free window space, len 4 KiB */
    p = W(2 * HUGE);
    fprintf(stderr, "MAP_FIXED|MAP_HUGETLB %p len 4K:\n", (void *)p);
    errno = 0; r = mmap(p, PAGE, RW, HFLAGS | MAP_FIXED, -1, 0); e = errno;
    after(r, p, HUGE, e);
    fprintf(stderr, "MAP_FIXED_NOREPLACE|MAP_HUGETLB %p len 4K:\n", (void *)p);
    errno = 0; r = mmap(p, PAGE, RW, HFLAGS | MAP_FIXED_NOREPLACE, -1, 0); e = errno;
    after(r, p, HUGE, e);
    /* len 2 MiB + 4 KiB: rounded to 4 MiB */
    p = W(4 * HUGE);
    fprintf(stderr, "MAP_FIXED|MAP_HUGETLB %p len 2M+4K:\n", (void *)p);
    errno = 0; r = mmap(p, HUGE + PAGE, RW, HFLAGS | MAP_FIXED, -1, 0); e = errno;
    after(r, p, 2 * HUGE, e);
    CHECK_WHOLE();

    /* a live mapping inside the rounded part */
    p = W(8 * HUGE);
    char *live = map_fixed(p + 16 * PAGE, 4 * PAGE, RW);
    fill(live, 4 * PAGE, 4);
    fprintf(stderr, "MAP_FIXED|MAP_HUGETLB %p len 4K, live mapping at %p:\n", (void *)p, (void *)live);
    errno = 0; r = mmap(p, PAGE, RW, HFLAGS | MAP_FIXED, -1, 0); e = errno;
    if (r == MAP_FAILED) {
        CHECK(kernel_mapped((uintptr_t)p, (uintptr_t)p + HUGE));
        for (size_t off = 0; off < 4 * PAGE; off += PAGE) {
            if (query_state(live + off) == MAPWARDEN_MAPPED) {
                CHECK(strcmp(perms_at(live + off), "rw-p") == 0);
                for (size_t i = off; i < off + PAGE; i++) CHECK(((unsigned char *)live)[i] == pattern_byte(4, i));
            } else CHECK_FREE(live + off);
        }
        CHECK(registry_consistent() >= 0);
        munmap(live, 4 * PAGE);
    } else {
        CHECK(r == p);
        CHECK(registry_consistent() >= 1);
        CHECK(munmap(p, HUGE) == 0);
    }
    fprintf(stderr, "  errno %d\n", e);
    CHECK_WHOLE();
    return 0;
}
