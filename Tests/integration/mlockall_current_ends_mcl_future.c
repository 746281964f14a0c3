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

/* Whether smaps' VmFlags for the VMA holding p has "lo" (VM_LOCKED). */
static int smaps_locked(const void *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    char line[512];
    int in = 0, r = -1;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char c;
        if (sscanf(line, "%lx-%lx%c", &s, &e, &c) == 3 && c == ' ') {
            in = (uintptr_t)p >= s && (uintptr_t)p < e;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            r = strstr(line, " lo") != NULL;
            break;
        }
    }
    if (f) fclose(f);
    return r;
}

static int recorded_locked(const void *p) {
    struct mapwarden_info info;
    CHECK(mapwarden_query(p, &info) == 0 && info.state == MAPWARDEN_MAPPED);
    return (info.kind & MAPWARDEN_KIND_LOCKED) != 0;
}

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
    CHECK(smaps_locked(a) == 0);
    CHECK(recorded_locked(a) == smaps_locked(a));
    CHECK(recorded_locked(a + 8 * PAGE) == smaps_locked(a + 8 * PAGE));
    /* One VMA of 16 pages in the kernel's view: munlock of the first half
     * changes nothing, and growing the whole in place works. */
    CHECK(munlock(a, 8 * PAGE) == 0);
    void *r = mremap(a, 16 * PAGE, 32 * PAGE, 0);
    CHECK(r == a);
    CHECK(registry_consistent() >= 1);
    munlockall();
    return 0;
}
