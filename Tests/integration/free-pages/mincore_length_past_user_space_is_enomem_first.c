/*
 * mincore checks that [addr, addr+len) lies in user space before anything
 * else (mm/mincore.c: access_ok on the range, ENOMEM), then the vector
 * (EFAULT), and only then walks the VMAs. A range that starts on a window
 * mapping and runs past the end of user space is ENOMEM at once, with
 * nothing written to the vector, whatever the vector is; mapwarden must not
 * first call mincore on the mapped prefix (EFAULT for a NULL vector, or the
 * prefix's bytes written).
 */
#include "common.h"

int main(void) {
    char *a = W(0x10000);
    CHECK(mmap(a, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a);
    a[0] = 1;
    size_t past = ((size_t)1 << 47) - (uintptr_t)a + PAGE; /* ends a page past 47-bit user space */
    unsigned char vec[8];
    memset(vec, 0xAA, sizeof vec);
    CHECK_ERRNO(mincore(a, past, NULL), ENOMEM);
    CHECK_ERRNO(mincore(a, past, vec), ENOMEM);
    for (size_t i = 0; i < sizeof vec; i++) CHECK(vec[i] == 0xAA);
    CHECK_ERRNO(mincore(a, (size_t)1 << 63, NULL), ENOMEM);
    CHECK_ERRNO(syscall(SYS_mincore, a, past, NULL), ENOMEM);
    /* (within user space the prefix is reported, then ENOMEM: as Linux) */
    CHECK_ERRNO(mincore(a, 8 * PAGE, vec), ENOMEM);
    CHECK(vec[0] == 1);
    return 0;
}
