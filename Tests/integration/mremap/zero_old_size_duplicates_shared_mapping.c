// mremap with old_size 0: duplicating a shared mapping inside the
// window into another window address with MREMAP_FIXED. Both views share
// the data (writes through either are seen through the other, and by a
// forked child); the registry lists both, with the kind and file offset
// carried along; a duplicate of part of a mapping, a duplicate over an
// existing mapping (replaced and split in the registry), a duplicate from
// outside the window into it, and one from the window to anywhere (lands
// outside). Private mappings and free window space cannot be duplicated:
// EINVAL for a private mapping as the kernel says, EFAULT for free window
// space as for unmapped memory. Unmapping one view leaves the other intact.
#include "common.h"
#include "win_helpers.h"

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

int main(void) {
    CHECK_WHOLE();
    /* anonymous shared */
    char *s = mmap(W(0x100000), 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(s == W(0x100000));
    fill(s, 4 * P, 1);
    char *d = W(0x200000);
    CHECK(mremap(s, 0, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, d) == d);
    CHECK(holds(d, 4 * P, 1));
    d[10] = 'd'; CHECK(s[10] == 'd');
    s[P + 3] = 's'; CHECK(d[P + 3] == 's');
    CHECK_MAPPED(s, s, 4 * P, RW);
    CHECK_MAPPED(d + 3 * P, d, 4 * P, RW);
    CHECK(info_at(d).kind == (MAPWARDEN_KIND_SHARED | MAPWARDEN_KIND_ANONYMOUS));
    CHECK(strcmp(perms_at(d), "rw-s") == 0);
    CHECK_CONSISTENT(2);
    /* a child writes through one view; the parent sees it through both */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { d[2 * P] = 'c'; _exit(s[2 * P] == 'c' ? 0 : 1); }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(s[2 * P] == 'c' && d[2 * P] == 'c');

    /* a duplicate of the middle two pages, over part of a private mapping */
    char *pv = map_fixed(W(0x300000), 6 * P, RW);
    fill(pv, 6 * P, 2);
    CHECK(mremap(s + P, 0, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, pv + 2 * P) == pv + 2 * P);
    CHECK(pv[2 * P + 3] == 's' && pv[3 * P] == 'c');
    pv[2 * P + 7] = 'p'; CHECK(s[P + 7] == 'p' && d[P + 7] == 'p');
    CHECK_MAPPED(pv, pv, 2 * P, RW);
    CHECK_MAPPED(pv + 3 * P, pv + 2 * P, 2 * P, RW);
    CHECK(info_at(pv + 2 * P).kind == (MAPWARDEN_KIND_SHARED | MAPWARDEN_KIND_ANONYMOUS));
    CHECK_MAPPED(pv + 5 * P, pv + 4 * P, 2 * P, RW);
    CHECK(info_at(pv + 4 * P).kind == MAPWARDEN_KIND_ANONYMOUS);
    for (size_t i = 4 * P; i < 6 * P; i++) CHECK((unsigned char)pv[i] == pattern_byte(2, i));
    CHECK(strcmp(perms_at(pv + 2 * P), "rw-s") == 0 && strcmp(perms_at(pv), "rw-p") == 0);
    CHECK_CONSISTENT(5);

    /* old_size 0 on a private mapping: EINVAL, nothing changes; on free
     * window space: EFAULT, as for unmapped memory */
    char *t = W(0x400000);
    CHECK_ERRNO(mremap(pv, 0, P, MREMAP_MAYMOVE | MREMAP_FIXED, t), EINVAL);
    CHECK_FREE(t);
    CHECK_ERRNO(mremap(W(0x500000), 0, P, MREMAP_MAYMOVE | MREMAP_FIXED, t), EFAULT);
    CHECK_ERRNO(mremap(W(0x500000), 0, P, MREMAP_MAYMOVE), EFAULT);
    CHECK_FREE(t);
    CHECK_CONSISTENT(5);

    /* without MREMAP_FIXED the duplicate goes anywhere: never in the window */
    char *any = mremap(s, 0, 4 * P, MREMAP_MAYMOVE);
    CHECK(any != MAP_FAILED && !in_window(any) && !in_window(any + 4 * P - 1));
    CHECK(any[10] == 'd' && any[2 * P] == 'c');
    CHECK(munmap(any, 4 * P) == 0);
    CHECK_CONSISTENT(5);

    /* a file-backed shared mapping with an offset: the offset is carried */
    char path[] = "/tmp/mw_edge_dup_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    CHECK(ftruncate(fd, 8 * P) == 0);
    char *f = mmap(W(0x600000), 4 * P, RW, MAP_SHARED | MAP_FIXED, fd, 2 * P);
    CHECK(f == W(0x600000));
    f[P] = 'F';
    char *fd2 = W(0x700000);
    CHECK(mremap(f + P, 0, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, fd2) == fd2);
    CHECK(fd2[0] == 'F');
    fd2[P + 1] = 'G';
    char c;
    CHECK(pread(fd, &c, 1, 4 * P + 1) == 1 && c == 'G');
    CHECK_MAPPED(fd2, fd2, 2 * P, RW);
    CHECK(info_at(fd2).kind == MAPWARDEN_KIND_SHARED && info_at(fd2).offset == 3 * P);
    close(fd);
    CHECK_CONSISTENT(7);

    /* from outside the window into it */
    char *o = mmap(NULL, 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(o != MAP_FAILED && !in_window(o));
    o[5] = 'o';
    char *oi = W(0x800000);
    CHECK(mremap(o, 0, 2 * P, MREMAP_MAYMOVE | MREMAP_FIXED, oi) == oi);
    CHECK(oi[5] == 'o');
    oi[6] = 'i'; CHECK(o[6] == 'i');
    struct mapwarden_info oinfo = info_at(oi);
    CHECK(oinfo.state == MAPWARDEN_MAPPED && oinfo.base == (uintptr_t)oi && oinfo.size == 2 * P);
    CHECK(oinfo.prot == -1 || oinfo.prot == RW);
    CHECK_CONSISTENT(8);
    CHECK(munmap(o, 2 * P) == 0);
    CHECK(oi[5] == 'o');

    /* unmapping one view leaves the other */
    CHECK(munmap(s, 4 * P) == 0);
    CHECK_FREE(s);
    CHECK(d[10] == 'd' && d[P + 7] == 'p' && pv[3 * P] == 'c');
    CHECK_CONSISTENT(7);
    CHECK(munmap(W(0x100000), 0x800000) == 0);
    CHECK_WHOLE();
    return 0;
}
