// An mlock that reaches a free window page fails with ENOMEM and locks
// nothing (README rule 7), also when its start is not page-aligned: the
// kernel rounds mlock(addr, 0) up to addr's page, so the argument check
// mapwarden makes first must start at the page, or it would lock it.
#include "common.h"
#include "win_helpers.h"

/* Whether the VMA at addr has VM_LOCKED ("lo" in smaps' VmFlags). */
static int locked(const void *addr) {
    FILE *f = fopen("/proc/self/smaps", "r");
    CHECK(f != NULL);
    char line[512];
    int in = 0;
    int lo = -1;
    while (fgets(line, sizeof line, f)) {
        uintptr_t s, e;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s ", &s, &e, perms) == 3) {
            in = (uintptr_t)addr >= s && (uintptr_t)addr < e;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) { lo = strstr(line, " lo") != NULL; break; }
    }
    fclose(f);
    return lo;
}

int main(void) {
    char *b = W(0x400000);
    map_fixed(b, 2 * PAGE, PROT_READ);
    CHECK_FREE(b + 2 * PAGE);
    CHECK_ERRNO(mlock(b + 883, 8192), ENOMEM);        /* [b, b+3p): the third page is free */
    CHECK(locked(b) == 0);
    CHECK_ERRNO(mlock2(b + 883, 8192, 0), ENOMEM);
    CHECK(locked(b) == 0);
    CHECK_ERRNO(mlock(b + PAGE + 1, 2 * PAGE), ENOMEM);
    CHECK(locked(b + PAGE) == 0);
    /* inside the mapping it locks, as the kernel does */
    CHECK(mlock(b + 883, 4096) == 0);
    CHECK(locked(b) == 1 && locked(b + PAGE) == 1);
    CHECK(munmap(b, 2 * PAGE) == 0);
    CHECK_WHOLE();
    return 0;
}
