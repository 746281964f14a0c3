// API 2, mapwarden_windows(buf, n): returns the number of windows (n = 0,
// buf NULL: just the count); fills buf[0 .. min(n, count) - 1] in address
// order and nothing past it (canaries); buf NULL with n > 0 -> EINVAL.
// The default window is "default"; MAPWARDEN_WINDOW_IPC is "ipc"; backing
// and path follow the options; mappings / mapped / largest_free follow
// mmap, munmap and mapwarden_alloc. Three runs of this program (re-exec,
// same pid): the default window alone; default + ipc; five windows,
// including a moved default window, a shared and a persistent one.
#include "common.h"
#include "win_helpers.h"
#include "api_helpers.h"

#define MIB ((size_t)1 << 20)
#define GIB ((size_t)1 << 30)
#define IPC ((uintptr_t)0x500000000000ULL)
#define MAXW (MAPWARDEN_WINDOWS_MAX + 2)

static char shm_name[64], shm_path[96], disk_path[96];
static void cleanup(void) { if (shm_path[0]) unlink(shm_path); if (disk_path[0]) unlink(disk_path); }

static int canary_intact(const struct mapwarden_window *w) {
    const unsigned char *c = (const unsigned char *)w;
    for (size_t i = 0; i < sizeof *w; i++) if (c[i] != 0x5A) return 0;
    return 1;
}
static void fill_canary(struct mapwarden_window *w, size_t n) { memset(w, 0x5A, n * sizeof *w); }

static void check_entry(const struct mapwarden_window *w, const char *name, uintptr_t base, size_t size,
                        uint32_t backing, const char *path) {
    CHECKF(memchr(w->name, 0, MAPWARDEN_NAME_MAX) != NULL, "a name without its NUL");
    CHECKF(strcmp(w->name, name) == 0, "name '%s', expected '%s'", w->name, name);
    CHECKF(w->base == base && w->size == size, "%s: %#lx+%#zx, expected %#lx+%#zx", name, w->base, w->size, base, size);
    CHECKF(w->backing == backing, "%s: backing %u, expected %u", name, w->backing, backing);
    if (path) CHECKF(w->path && strcmp(w->path, path) == 0, "%s: path '%s', expected '%s'", name, w->path ? w->path : "(null)", path);
    else CHECKF(w->path == NULL, "%s: private window with path %p", name, (const void *)w->path);
}
#define CHECK_USE(w, nmap, bytes, largest) CHECKF((w).mappings == (nmap) && (w).mapped == (bytes) && (w).largest_free == (largest), \
    "%s: mappings %u mapped %#zx largest_free %#zx, expected %u %#zx %#zx", (w).name, (w).mappings, (w).mapped, \
    (w).largest_free, (unsigned)(nmap), (size_t)(bytes), (size_t)(largest))

static void phase_default(void) {
    CHECK(mapwarden_windows(NULL, 0) == 1);
    struct mapwarden_window w[3];
    fill_canary(w, 3);
    CHECK(mapwarden_windows(w, 3) == 1);
    check_entry(&w[0], "default", 0x400000000000UL, (size_t)1 << 40, MAPWARDEN_BACKING_PRIVATE, NULL);
    CHECK_USE(w[0], 0, 0, (size_t)1 << 40);
    CHECKF(canary_intact(&w[1]) && canary_intact(&w[2]), "entries past the count were written");
    /* a mapping and an alloc count in the default window */
    char *a = map_fixed(W(0x100000), 2 * PAGE, PROT_READ | PROT_WRITE);
    char *b = mapwarden_alloc(NULL, PAGE, 0, PROT_READ, MAP_PRIVATE);
    CHECK(b == W(0));
    CHECK(mapwarden_windows(w, 1) == 1);
    CHECK_USE(w[0], 2, 3 * PAGE, ((size_t)1 << 40) - 0x100000 - 2 * PAGE);
    CHECK(munmap(a, 2 * PAGE) == 0 && munmap(b, PAGE) == 0);
    CHECK(mapwarden_windows(w, 1) == 1);
    CHECK_USE(w[0], 0, 0, (size_t)1 << 40);
}

static void phase_two(void) {
    CHECKF(mapwarden_windows(NULL, 0) == 2, "count %d with MAPWARDEN_WINDOW_IPC set", mapwarden_windows(NULL, 0));
    CHECK_ERRNO(mapwarden_windows(NULL, 1), EINVAL);
    CHECK_ERRNO(mapwarden_windows(NULL, 5), EINVAL);
    struct mapwarden_window w[MAXW];
    fill_canary(w, MAXW);
    CHECK(mapwarden_windows(w, MAXW) == 2);
    check_entry(&w[0], "default", 0x400000000000UL, (size_t)1 << 40, MAPWARDEN_BACKING_PRIVATE, NULL);
    check_entry(&w[1], "ipc", IPC, GIB, MAPWARDEN_BACKING_PRIVATE, NULL);
    for (int k = 2; k < MAXW; k++) CHECKF(canary_intact(&w[k]), "entry %d past the count was written", k);
    CHECK_USE(w[1], 0, 0, GIB);

    /* n = 1: only buf[0] */
    fill_canary(w, MAXW);
    CHECK(mapwarden_windows(w, 1) == 2);
    check_entry(&w[0], "default", 0x400000000000UL, (size_t)1 << 40, MAPWARDEN_BACKING_PRIVATE, NULL);
    CHECKF(canary_intact(&w[1]), "n = 1 wrote buf[1]");

    /* usage follows mmap and munmap in the named window, not in the other */
    char *a = map_fixed((void *)(IPC + MIB), 3 * PAGE, PROT_READ | PROT_WRITE);
    CHECK(mapwarden_windows(w, 2) == 2);
    CHECK_USE(w[1], 1, 3 * PAGE, GIB - MIB - 3 * PAGE);
    CHECK_USE(w[0], 0, 0, (size_t)1 << 40);
    char *b = map_fixed((void *)IPC, 2 * PAGE, PROT_READ);
    CHECK(strcmp(window_of(b), "ipc") == 0);
    CHECK(mapwarden_windows(w, 2) == 2);
    CHECK_USE(w[1], 2, 5 * PAGE, GIB - MIB - 3 * PAGE);
    /* a big mapping at the tail makes the head the largest free run */
    char *t = map_fixed((void *)(IPC + GIB - 768 * MIB), 768 * MIB, PROT_NONE);
    CHECK(mapwarden_windows(w, 2) == 2);
    CHECK_USE(w[1], 3, 5 * PAGE + 768 * MIB, GIB - 768 * MIB - MIB - 3 * PAGE);
    CHECK(munmap(t, 768 * MIB) == 0);
    /* munmap of a middle page: two mappings */
    CHECK(munmap(a + PAGE, PAGE) == 0);
    CHECK(mapwarden_windows(w, 2) == 2);
    CHECK_USE(w[1], 3, 4 * PAGE, GIB - MIB - 3 * PAGE);
    /* an alloc in the named window */
    char *c = mapwarden_alloc("ipc", 4 * PAGE, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
    CHECK(c == (char *)IPC + 2 * PAGE);
    CHECK(mapwarden_windows(w, 2) == 2);
    CHECK_USE(w[1], 4, 8 * PAGE, GIB - MIB - 3 * PAGE);
    CHECK(munmap((void *)IPC, GIB) == 0);
    CHECK(mapwarden_windows(w, 2) == 2);
    CHECK_USE(w[1], 0, 0, GIB);
    CHECK_USE(w[0], 0, 0, (size_t)1 << 40);
}

static void phase_five(void) {
    snprintf(shm_name, sizeof shm_name, "mw-api-windows-%d", (int)getpid());
    snprintf(shm_path, sizeof shm_path, "/dev/shm/%s", shm_name);
    snprintf(disk_path, sizeof disk_path, "/tmp/mw-api-windows-%d.mw", (int)getpid());
    atexit(cleanup);
    CHECKF(mapwarden_windows(NULL, 0) == 5, "count %d, expected 5", mapwarden_windows(NULL, 0));
    struct mapwarden_window w[MAXW];
    fill_canary(w, MAXW);
    CHECK(mapwarden_windows(w, MAXW) == 5);
    check_entry(&w[0], "zlow", 0x300000000000UL, 16 * MIB, MAPWARDEN_BACKING_PRIVATE, NULL);
    check_entry(&w[1], "ipc", IPC, GIB, MAPWARDEN_BACKING_PRIVATE, NULL);
    check_entry(&w[2], "shm", 0x510000000000UL, 16 * MIB, MAPWARDEN_BACKING_SHARED, shm_path);
    check_entry(&w[3], "disk", 0x520000000000UL, 16 * MIB, MAPWARDEN_BACKING_PERSISTENT, disk_path);
    check_entry(&w[4], "default", 0x600000000000UL, GIB, MAPWARDEN_BACKING_PRIVATE, NULL);
    for (int k = 5; k < MAXW; k++) CHECKF(canary_intact(&w[k]), "entry %d past the count was written", k);
    for (int k = 0; k < 5; k++) CHECK_USE(w[k], 0, 0, w[k].size);
    /* n = 3: the three lowest */
    fill_canary(w, MAXW);
    CHECK(mapwarden_windows(w, 3) == 5);
    CHECK(strcmp(w[0].name, "zlow") == 0 && strcmp(w[2].name, "shm") == 0 && canary_intact(&w[3]));
    /* the backing files exist */
    struct stat st;
    CHECKF(stat(shm_path, &st) == 0, "%s", shm_path);
    CHECKF(stat(disk_path, &st) == 0, "%s", disk_path);
    /* a mapping in the shared window counts there */
    char *p = map_fixed((void *)0x510000010000UL, 2 * PAGE, PROT_READ | PROT_WRITE);
    p[0] = 1;
    CHECK(mapwarden_windows(w, MAXW) == 5);
    CHECK_USE(w[2], 1, 2 * PAGE, 16 * MIB - 0x10000 - 2 * PAGE);
    CHECK_USE(w[3], 0, 0, 16 * MIB);
    CHECK(munmap(p, 2 * PAGE) == 0);
    /* the default window moved: query agrees */
    struct mapwarden_info i;
    CHECK(mapwarden_query((void *)0x600000000000UL, &i) == 0 && strcmp(i.window, "default") == 0);
    CHECK(mapwarden_query((void *)0x400000000000UL, &i) == 0 && i.state == MAPWARDEN_OUTSIDE);
}

int main(int argc, char **argv) {
    api_require();
    const char *phase = argc > 1 ? argv[1] : "default";
    if (strcmp(phase, "default") == 0) {
        phase_default();
        const char *env[] = { "MAPWARDEN_WINDOW_IPC=0x500000000000:1G", NULL };
        reexec("two", env);
    } else if (strcmp(phase, "two") == 0) {
        phase_two();
        char shm[128], disk[160];
        snprintf(shm, sizeof shm, "MAPWARDEN_WINDOW_SHM=0x510000000000:16M:shared=mw-api-windows-%d", (int)getpid());
        snprintf(disk, sizeof disk, "MAPWARDEN_WINDOW_DISK=0x520000000000:16M:persist=/tmp/mw-api-windows-%d.mw", (int)getpid());
        const char *env[] = { "MAPWARDEN_WINDOW=0x600000000000:1G", "MAPWARDEN_WINDOW_ZLOW=0x300000000000:16M", shm, disk, NULL };
        reexec("five", env);
    } else {
        phase_five();
    }
    printf("ok: %s\n", phase);
    return 0;
}
