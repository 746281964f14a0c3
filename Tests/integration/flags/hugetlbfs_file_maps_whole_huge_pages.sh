#!/usr/bin/env bash
# EXCLUSIVE: raises vm.nr_hugepages for the machine (see ../../machine_lock.bash)
# A file on hugetlbfs (memfd_create with
# MFD_HUGETLB) mapped in the window with a 4 KiB length, without MAP_HUGETLB.
# The kernel maps such a file in whole huge pages (2 MiB): it rounds the
# length up, and places a hint on a huge page boundary. Before the fix the
# engine took it for a 4 KiB mapping: a hint at a free 4 KiB became a
# MAP_FIXED of 2 MiB that destroyed a live mapping 8 KiB further (still
# MAPPED in the registry), and a MAP_FIXED was recorded as 4 KiB. Checked,
# each against the raw kernel on a PROT_NONE range outside the window:
#  - hint at a 2 MiB boundary with a live 4 KiB mapping at +8 KiB: placed
#    where it overlaps nothing; the live mapping keeps its VMA and data and
#    stays MAPPED;
#  - MAP_FIXED at a 2 MiB boundary over a live mapping at +8 KiB: the
#    registry records the 2 MiB the kernel mapped (the old record is gone);
#    munmap of 4 KiB of it gets the kernel's answer (EINVAL) and changes
#    nothing; munmap of 2 MiB re-reserves it;
#  - MAP_FIXED at an address that is not a huge page boundary: EINVAL, the
#    live mapping next to it intact, no hole;
#  - MAP_FIXED_NOREPLACE at a 2 MiB boundary with a live mapping at +8 KiB:
#    EEXIST, nothing changed;
# and registry_consistent() after each step.
# Huge pages: the program first maps the file outside the window without
# MAP_NORESERVE. When there are no huge pages (ENOMEM) or no hugetlbfs
# (memfd_create EINVAL/ENOENT), the test configures 4 more in
# /proc/sys/vm/nr_hugepages (restored on exit); failing that, it runs with
# MAP_NORESERVE (which needs no page while nothing touches the mapping);
# failing that, it is skipped with the reason. While no huge page can be
# reserved, the failing MAP_FIXED (ENOMEM, after the kernel unmapped the
# whole 2 MiB) is checked in the window too: no hole, nothing stale.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
include=$root/Tests/integration/include
fail() { echo "hugetlbfs_file_maps_whole_huge_pages: $*"; exit 1; }
prog="$BUILD/hugetlbfs_file_maps_whole_huge_pages_prog"
cat >"$prog.c" <<'C'
#include "common.h"
#include "win_helpers.h"
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 4
#endif
#define P PAGE
#define RW (PROT_READ | PROT_WRITE)
#define HUGE (2UL << 20)

static int fd, extra, touch;

static void *map_file(void *at, int flags) {
    return mmap(at, P, RW, MAP_SHARED | extra | flags, fd, 0);
}

/* A live 4 KiB anonymous mapping at p holding v, still exactly itself. */
static void check_victim(char *p, char v) {
    struct maps_hit h = maps_at(p);
    if (!(h.found && h.start == (uintptr_t)p && h.end == (uintptr_t)p + P && strcmp(h.perms, "rw-p") == 0)) {
        fprintf(stderr, "the live mapping at %p is gone: maps line %#lx-%#lx %s\n", (void *)p, h.start, h.end, h.perms);
        dump_window(); exit(1);
    }
    CHECK(p[0] == v);
    CHECK_MAPPED(p, p, P, RW);
}

int main(int argc, char **argv) {
    extra = argc > 1 && strcmp(argv[1], "noreserve") == 0 ? MAP_NORESERVE : 0;
    fd = (int)raw_syscall(SYS_memfd_create, "mw-hugetlbfs-file", MFD_HUGETLB);
    if (fd < 0) {
        int e = errno;
        printf("memfd_create(MFD_HUGETLB): %s\n", strerror(e));
        return e == EINVAL || e == ENOMEM || e == ENOENT ? 77 : 1;
    }
    if (ftruncate(fd, 4 * HUGE) != 0) { printf("ftruncate: %s\n", strerror(errno)); return errno == ENOMEM ? 77 : 1; }
    /* the kernel's view, on a PROT_NONE range outside the window */
    char *res = mmap(NULL, 16 * HUGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(res != MAP_FAILED && !in_window(res));
    char *u = (char *)(((uintptr_t)res + 2 * HUGE) & ~(HUGE - 1));
    char *uv = map_fixed(u + 2 * P, P, RW);
    errno = 0;
    char *r = map_file(u, MAP_FIXED);
    if (r == MAP_FAILED) {
        int e = errno;
        printf("raw MAP_FIXED of the hugetlbfs file (%s): %s\n", extra ? "MAP_NORESERVE" : "reserved", strerror(e));
        if (e != ENOMEM && e != EINVAL) return 1;
        /* (rule 9) the same failure in the window, after the kernel has
         * unmapped the 2 MiB: no hole, the live mapping at +8 KiB either
         * intact and MAPPED or reserved again and FREE */
        CHECK_WHOLE();
        char *v = map_fixed(W(0x800000 + 2 * P), P, RW);
        v[0] = 9;
        CHECK_ERRNO(map_file(W(0x800000), MAP_FIXED), e);
        CHECK(kernel_mapped(window_base(), window_end()));
        if (query_state(v) == MAPWARDEN_MAPPED) check_victim(v, 9);
        else CHECK_FREE(v);
        CHECK_FREE(W(0x800000));
        CHECK_FREE(W(0x800000) + HUGE - P);
        CHECK(registry_consistent() >= 0);
        if (query_state(v) == MAPWARDEN_MAPPED) CHECK(munmap(v, P) == 0);
        CHECK_WHOLE();
        printf("the failure in the window left no hole\n");
        return 77;
    }
    CHECK(r == u); /* 2 MiB mapped, over the victim */
    struct maps_hit h = maps_at(u);
    CHECK(h.start == (uintptr_t)u && h.end == (uintptr_t)u + HUGE && maps_at(uv).start == (uintptr_t)u);
    errno = 0;
    int raw_munmap4k = munmap(u, P) == 0 ? 0 : errno;
    CHECK(munmap(u, HUGE) == 0);
    errno = 0;
    CHECK(map_file(u + P, MAP_FIXED) == MAP_FAILED);
    int raw_unaligned = errno;
    uv = map_fixed(u + 2 * P, P, RW);
    errno = 0;
    CHECK(map_file(u, MAP_FIXED_NOREPLACE) == MAP_FAILED);
    int raw_noreplace = errno;
    CHECK(munmap(res, 16 * HUGE) == 0);
    printf("raw: MAP_FIXED 4K maps 2 MiB; munmap 4K of it: errno %d; unaligned MAP_FIXED: errno %d; "
           "MAP_FIXED_NOREPLACE over a mapping at +8K: errno %d\n", raw_munmap4k, raw_unaligned, raw_noreplace);
    touch = !extra; /* reserved huge pages: safe to touch */
    printf("mode: %s; HugePages_Total %ld, HugePages_Free %ld\n", extra ? "MAP_NORESERVE, untouched" : "reserved, touched",
           meminfo("HugePages_Total"), meminfo("HugePages_Free"));

    CHECK_WHOLE();
    /* 1. a hint at a 2 MiB boundary, a live mapping at +8 KiB */
    char *victim = map_fixed(W(0x400000 + 2 * P), P, RW);
    victim[0] = 42;
    char *hint = map_file(W(0x400000), 0);
    printf("hint %p -> %p\n", (void *)W(0x400000), (void *)hint);
    CHECK(hint != MAP_FAILED);
    CHECK(hint + HUGE <= victim || hint > victim);
    check_victim(victim, 42);
    if (touch) { hint[0] = 'h'; CHECK(hint[0] == 'h'); }
    CHECK_CONSISTENT(in_window(hint) ? 2 : 1);
    CHECK(munmap(hint, HUGE) == 0);
    CHECK_CONSISTENT(1);

    /* 2. MAP_FIXED at a 2 MiB boundary over a live mapping at +8 KiB */
    char *f = W(0x800000);
    char *old = map_fixed(f + 2 * P, P, RW);
    old[0] = 7;
    CHECK(map_file(f, MAP_FIXED) == f);
    h = maps_at(f);
    CHECK(h.start == (uintptr_t)f && h.end == (uintptr_t)f + HUGE && strcmp(h.perms, "rw-s") == 0);
    CHECK_MAPPED(f, f, HUGE, RW);
    CHECK_MAPPED(f + 2 * P, f, HUGE, RW);
    CHECK_MAPPED(f + HUGE - P, f, HUGE, RW);
    CHECK_CONSISTENT(2);
    if (touch) { f[2 * P] = 'f'; CHECK(f[2 * P] == 'f'); }
    errno = 0;
    int e = munmap(f, P) == 0 ? 0 : errno;
    CHECK(e == raw_munmap4k);
    if (e) CHECK_MAPPED(f + 2 * P, f, HUGE, RW);
    CHECK(registry_consistent() >= 1);
    CHECK(munmap(f, HUGE) == 0);
    CHECK_FREE(f);
    CHECK_FREE(f + HUGE - P);
    check_victim(victim, 42);
    CHECK_CONSISTENT(1);

    /* 3. MAP_FIXED at a 4 KiB boundary that is not a huge page boundary */
    char *v3 = map_fixed(W(0xA00000 + 2 * P), P, RW);
    v3[0] = 3;
    CHECK_ERRNO(map_file(W(0xA00000 + P), MAP_FIXED), raw_unaligned);
    CHECK(kernel_mapped(window_base(), window_end()));
    check_victim(v3, 3);
    CHECK_FREE(W(0xA00000 + P));
    CHECK_FREE(W(0xA00000));
    CHECK_CONSISTENT(2);

    /* 4. MAP_FIXED_NOREPLACE at a 2 MiB boundary, a live mapping at +8 KiB */
    CHECK_ERRNO(map_file(W(0xA00000), MAP_FIXED_NOREPLACE), raw_noreplace);
    check_victim(v3, 3);
    CHECK_FREE(W(0xA00000));
    CHECK_CONSISTENT(2);

    CHECK(munmap(v3, P) == 0);
    CHECK(munmap(victim, P) == 0);
    CHECK_WHOLE();
    printf("ok\n");
    return 0;
}
C
$CC -std=gnu11 -O1 -g -Wall -I "$include" -I "$root/CShim/include" -o "$prog" "$prog.c" || fail "cannot build the program"

run() { LD_PRELOAD="$LIB" "$prog" "$@"; }
run; status=$?
if [ $status = 77 ]; then
    knob=/proc/sys/vm/nr_hugepages
    if [ -w "$knob" ]; then
        saved=$(cat "$knob")
        trap 'echo "$saved" > "$knob"' EXIT
        trap 'exit 1' INT TERM HUP
        echo $((saved + 4)) > "$knob" 2>/dev/null
        echo "hugetlbfs_file_maps_whole_huge_pages: nr_hugepages $saved -> $(cat "$knob") for the test"
        run; status=$?
    else
        echo "hugetlbfs_file_maps_whole_huge_pages: cannot configure huge pages ($knob not writable)"
    fi
fi
if [ $status = 77 ]; then
    echo "hugetlbfs_file_maps_whole_huge_pages: no huge pages to reserve: trying MAP_NORESERVE"
    run noreserve; status=$?
fi
[ $status = 77 ] && { echo "hugetlbfs_file_maps_whole_huge_pages: skipped: hugetlbfs files cannot be mapped here (see above)"; exit 0; }
[ $status = 0 ] || fail "the program failed (status $status)"
