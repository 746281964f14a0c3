// Rule 11 (exec). The program execs itself three times with the preload kept
// in the environment. Every image has its own fresh window (one ---p line,
// an empty registry): mappings made before exec are gone. The last exec
// changes MAPWARDEN_WINDOW: the new image reserves the new window from its
// environment and the old one is not there any more.
#include "common.h"
#include "rob_helpers.h"

#define ALT_WINDOW "0x500000000000:4G"

static void check_fresh_window(int depth) {
    uintptr_t lo = window_base(), hi = lo + window_size();
    struct mapwarden_info info;
    CHECK(mapwarden_query((void *)lo, &info) == 0);
    CHECK(info.window_base == lo);
    if (depth == 3) CHECK(info.window_size == ((size_t)4 << 30) && lo == 0x500000000000ULL);
    else CHECK(info.window_size == ((size_t)1 << 40) && lo == 0x400000000000ULL);
    CHECK(info.state == MAPWARDEN_FREE && info.base == lo && info.size == window_size());
    struct rob_line l[4];
    CHECK(rob_maps_lines(lo, hi, l, 4) == 1);
    CHECK(l[0].start == lo && l[0].end == hi && rob_is_reservation(&l[0]));
    CHECK(registry_consistent() == 0);
}

int main(int argc, char **argv) {
    int depth = argc > 1 ? atoi(argv[1]) : 0;
    fprintf(stderr, "image %d, pid %d, window %#lx\n", depth, getpid(), window_base());
    CHECK(getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "libmapwarden"));
    check_fresh_window(depth);
    if (depth == 3) {
        /* The default window of the earlier images is gone entirely. */
        CHECK(for_each_maps_line(0x400000000000ULL, 0x410000000000ULL, NULL, NULL) == 0);
        return 0;
    }
    /* Leave live mappings behind; the next image must not see them. */
    char *p = mmap(W(0x10000 * (depth + 1)), 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == W(0x10000 * (depth + 1)));
    p[0] = 1;
    char *s = mmap(W(0x100000), PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(s == W(0x100000));
    CHECK(registry_consistent() == 2);
    if (depth == 2) CHECK(setenv("MAPWARDEN_WINDOW", ALT_WINDOW, 1) == 0);
    char next[16];
    snprintf(next, sizeof next, "%d", depth + 1);
    char *args[] = { argv[0], next, NULL };
    execv("/proc/self/exe", args);
    CHECK(!"execv failed");
}
