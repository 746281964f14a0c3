// Rule 9: failed kernel calls leave no hole. A MAP_FIXED|MAP_HUGETLB with
// no huge pages configured fails (ENOMEM or EINVAL) and the window stays
// fully covered (the kernel punches a hole here on its own); failed fixed
// file mappings (EBADF, EACCES, EINVAL) leave an earlier mapping intact and
// free space reserved; a failed mremap into the window leaves no hole.
#include "common.h"
#include "win_helpers.h"
#include <fcntl.h>

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define HUGE (2UL << 20)


/* Either the earlier mapping is still there with its data, or its range is
 * reserved again; never a hole, never a record of something gone. */
static void intact_or_reserved(char *p, size_t len, unsigned seed) {
    for (size_t off = 0; off < len; off += P) {
        if (query_state(p + off) == MAPWARDEN_MAPPED) {
            for (size_t i = off; i < off + P; i++) CHECK(((unsigned char *)p)[i] == pattern_byte(seed, i));
        }
        else CHECK_FREE(p + off);
    }
}

int main(void) {
    CHECK_WHOLE();
    long huge_free = meminfo("HugePages_Free");
    fprintf(stderr, "HugePages_Free: %ld\n", huge_free);

    /* MAP_FIXED|MAP_HUGETLB over free window space */
    char *h = W(16 * HUGE);
    void *r = mmap(h, HUGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_HUGETLB, -1, 0);
    if (r == MAP_FAILED) {
        CHECK(errno == ENOMEM || errno == EINVAL);
        CHECK(kernel_mapped(window_base(), window_end()));
        CHECK_FREE(h); CHECK_FREE(h + HUGE - P);
        CHECK_WHOLE();
    } else {
        CHECK(huge_free > 0); /* only with a huge page pool */
        CHECK(r == h);
        CHECK_CONSISTENT(1);
        CHECK(munmap(h, HUGE) == 0);
        CHECK_WHOLE();
    }
    /* the same through mmap64, NOREPLACE, a hint, and a shared mapping */
    errno = 0;
    r = mmap64(h, HUGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_HUGETLB, -1, 0);
    if (r != MAP_FAILED) CHECK(munmap(r, HUGE) == 0); else CHECK(errno == ENOMEM || errno == EINVAL);
    r = mmap(h, HUGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_HUGETLB, -1, 0);
    if (r != MAP_FAILED) CHECK(munmap(r, HUGE) == 0); else CHECK(errno == ENOMEM || errno == EINVAL);
    r = mmap(h, HUGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (r != MAP_FAILED) CHECK(munmap(r, HUGE) == 0); else CHECK(errno == ENOMEM || errno == EINVAL);
    r = mmap(h, HUGE, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED | MAP_HUGETLB, -1, 0);
    if (r != MAP_FAILED) CHECK(munmap(r, HUGE) == 0); else CHECK(errno == ENOMEM || errno == EINVAL);
    CHECK_WHOLE();

    /* MAP_FIXED|MAP_HUGETLB over an earlier mapping and across its edge */
    char *e = map_fixed(W(20 * HUGE), HUGE, RW);
    fill(e, HUGE, 1);
    char *f2 = map_fixed(W(22 * HUGE) + HUGE / 2, HUGE / 2, RW); /* half of the next huge page */
    fill(f2, HUGE / 2, 2);
    CHECK_CONSISTENT(2);
    for (int k = 0; k < 2; k++) {
        char *at = k == 0 ? e : W(22 * HUGE);
        errno = 0;
        r = mmap(at, HUGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_HUGETLB, -1, 0);
        if (r != MAP_FAILED) { CHECK(huge_free > 0); CHECK(munmap(r, HUGE) == 0); continue; }
        CHECK(errno == ENOMEM || errno == EINVAL);
        CHECK(kernel_mapped(window_base(), window_end()));
        CHECK(registry_consistent() >= 0);
        if (k == 0) intact_or_reserved(e, HUGE, 1);
        else { CHECK_FREE(at); intact_or_reserved(f2, HUGE / 2, 2); }
    }
    CHECK(munmap(W(0), 64 * HUGE) == 0);
    CHECK_WHOLE();

    /* failed fixed file mappings: the kernel refuses before touching anything */
    char path[] = "/tmp/mw_win_failed_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 4 * P) == 0);
    int rdonly = open(path, O_RDONLY), wronly = open(path, O_WRONLY);
    CHECK(rdonly >= 0 && wronly >= 0);
    unlink(path);
    char *m = map_fixed(W(0x100000), 4 * P, RW);
    fill(m, 4 * P, 3);
    char *fr = W(0x200000);
    CHECK_CONSISTENT(1);
    struct { const char *what; void *at; size_t len; int prot, flags, fd; off_t off; int err; } bad[] = {
        { "bad fd over a mapping",       m,         2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, 12345, 0, EBADF },
        { "bad fd over free space",      fr,        2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, 12345, 0, EBADF },
        { "bad fd past a mapping end",      m + 2 * P, 4 * P, PROT_READ, MAP_SHARED | MAP_FIXED, 12345, 0, EBADF },
        { "closed fd, mmap64",           m,         4 * P, RW, MAP_SHARED | MAP_FIXED, -7, 0, EBADF },
        { "write-only fd",               m,         2 * P, PROT_READ, MAP_SHARED | MAP_FIXED, 0, 0, EACCES },
        { "shared writable, read-only",  m + P,     2 * P, RW, MAP_SHARED | MAP_FIXED, 0, 0, EACCES },
        { "write-only fd, free space",   fr,        2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, 0, 0, EACCES },
        { "unaligned offset",            m,         2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, 0, 100, EINVAL },
    };
    bad[4].fd = wronly; bad[5].fd = rdonly; bad[6].fd = wronly; bad[7].fd = rdonly;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        fprintf(stderr, "-- %s\n", bad[k].what);
        if (k == 3) CHECK_ERRNO(mmap64(bad[k].at, bad[k].len, bad[k].prot, bad[k].flags, bad[k].fd, bad[k].off), bad[k].err);
        else CHECK_ERRNO(mmap(bad[k].at, bad[k].len, bad[k].prot, bad[k].flags, bad[k].fd, bad[k].off), bad[k].err);
        CHECK(holds(m, 4 * P, 3));
        CHECK_MAPPED(m, m, 4 * P, RW);
        CHECK(strcmp(perms_at(m), "rw-p") == 0);
        CHECK_FREE(fr); CHECK_FREE(fr + P); CHECK_FREE(m + 4 * P);
        CHECK_CONSISTENT(1);
        CHECK_LINES(3);
    }

    /* a failed mremap into the window: the source is not mapped (EFAULT) */
    char *gone = mmap(NULL, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(gone != MAP_FAILED && munmap(gone, 2 * P) == 0);
    CHECK_ERRNO(mremap(gone, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, fr), EFAULT);
    CHECK_FREE(fr); CHECK_FREE(fr + P);
    CHECK(kernel_mapped(window_base(), window_end()));
    CHECK_CONSISTENT(1);
    CHECK_ERRNO(mremap(gone, 2 * P, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, m), EFAULT);
    CHECK(kernel_mapped(window_base(), window_end()));
    intact_or_reserved(m, 4 * P, 3);
    CHECK(registry_consistent() >= 0);

    close(fd); close(rdonly); close(wronly);
    CHECK(munmap(W(0), 0x400000) == 0);
    CHECK_WHOLE();
    return 0;
}
