// Rule 8: mremap inside the window. Shrink (the tail goes back to the
// reservation), grow in place into free window space, growth blocked by an
// own mapping (ENOMEM without MREMAP_MAYMOVE, a move with it; the source is
// re-reserved), MREMAP_FIXED to another window address, and a shared
// anonymous mapping grown in place. The data survives every case (checked
// byte by byte) and the registry matches the kernel after each step.
#include "common.h"
#include "win_helpers.h"
#include <signal.h>

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

int main(void) {
    CHECK_WHOLE();
    char *a = map_fixed(W(0x200000), 8 * P, RW);
    fill(a, 8 * P, 1);

    /* shrink: same address, head kept, tail re-reserved */
    CHECK(mremap(a, 8 * P, 4 * P, 0) == a);
    CHECK(holds(a, 4 * P, 1));
    CHECK_MAPPED(a, a, 4 * P, RW);
    CHECK_FREE(a + 4 * P); CHECK_FREE(a + 7 * P);
    CHECK_CONSISTENT(1);
    CHECK_LINES(3);
    /* shrink by a length that is not a page multiple: rounded up */
    CHECK(mremap(a, 4 * P, 3 * P - 10, 0) == a);
    CHECK_MAPPED(a, a, 3 * P, RW);
    CHECK_FREE(a + 3 * P);
    CHECK(holds(a, 3 * P, 1));
    CHECK_CONSISTENT(1);

    /* grow in place into free window space */
    CHECK(mremap(a, 3 * P, 10 * P, 0) == a);
    CHECK(holds(a, 3 * P, 1));
    CHECK(all_zero(a + 3 * P, 7 * P));
    CHECK_MAPPED(a + 9 * P, a, 10 * P, RW);
    CHECK(strcmp(perms_at(a + 9 * P), "rw-p") == 0);
    CHECK_CONSISTENT(1);
    CHECK_LINES(3);
    fill(a, 10 * P, 2);
    /* growing in place with MREMAP_MAYMOVE also stays put when there is room */
    CHECK(mremap(a, 10 * P, 12 * P, MREMAP_MAYMOVE) == a);
    CHECK(holds(a, 10 * P, 2));
    CHECK(all_zero(a + 10 * P, 2 * P));
    CHECK_MAPPED(a, a, 12 * P, RW);
    CHECK_CONSISTENT(1);
    CHECK(mremap(a, 12 * P, 10 * P, 0) == a);
    CHECK_CONSISTENT(1);

    /* growth blocked by an own mapping, no MREMAP_MAYMOVE: ENOMEM, nothing changed */
    char *b = map_fixed(a + 12 * P, 2 * P, PROT_READ | PROT_WRITE);
    fill(b, 2 * P, 3);
    CHECK_ERRNO(mremap(a, 10 * P, 14 * P, 0), ENOMEM);
    CHECK_ERRNO(mremap(a, 10 * P, 13 * P, 0), ENOMEM);
    CHECK(holds(a, 10 * P, 2));
    CHECK(holds(b, 2 * P, 3));
    CHECK_MAPPED(a, a, 10 * P, RW);
    CHECK_FREE(a + 10 * P); CHECK_FREE(a + 11 * P);
    CHECK_MAPPED(b, b, 2 * P, RW);
    CHECK_CONSISTENT(2);
    CHECK_LINES(5);
    /* ... growth up to the blocker still works in place */
    CHECK(mremap(a, 10 * P, 12 * P, 0) == a);
    CHECK(holds(a, 10 * P, 2) && all_zero(a + 10 * P, 2 * P));
    CHECK_MAPPED(a, a, 12 * P, RW);
    CHECK_CONSISTENT(2);
    CHECK(mremap(a, 12 * P, 10 * P, 0) == a);

    /* growth blocked, with MREMAP_MAYMOVE: moves; the source is re-reserved */
    char *n = mremap(a, 10 * P, 16 * P, MREMAP_MAYMOVE);
    CHECK(n != MAP_FAILED && n != a);
    CHECK(holds(n, 10 * P, 2));
    CHECK(all_zero(n + 10 * P, 6 * P));
    n[16 * P - 1] = 9;
    CHECK_FREE(a); CHECK_FREE(a + 9 * P); CHECK_FREE(a + 11 * P);
    CHECK(holds(b, 2 * P, 3));
    CHECK(kernel_mapped(window_base(), window_end()));
    if (in_window(n)) { CHECK_MAPPED(n, n, 16 * P, RW); CHECK_CONSISTENT(2); }
    else { CHECK(query_state(n) == MAPWARDEN_OUTSIDE); CHECK_CONSISTENT(1); CHECK_LINES(3); }
    CHECK(munmap(n, 16 * P) == 0);

    /* MREMAP_FIXED to another window address (same size, then grown) */
    char *c = map_fixed(W(0x300000), 4 * P, PROT_READ | PROT_WRITE);
    fill(c, 4 * P, 4);
    char *t = W(0x380000);
    CHECK(mremap(c, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED, t) == t);
    CHECK(holds(t, 4 * P, 4));
    CHECK_MAPPED(t, t, 4 * P, RW);
    CHECK(info_at(t).kind == MAPWARDEN_KIND_ANONYMOUS);
    CHECK_FREE(c); CHECK_FREE(c + 3 * P);
    CHECK_CONSISTENT(2);
    CHECK_LINES(5);
    char *t2 = W(0x3c0000);
    CHECK(mremap(t, 4 * P, 6 * P, MREMAP_MAYMOVE | MREMAP_FIXED, t2) == t2);
    CHECK(holds(t2, 4 * P, 4) && all_zero(t2 + 4 * P, 2 * P));
    CHECK_MAPPED(t2 + 5 * P, t2, 6 * P, RW);
    CHECK_FREE(t);
    CHECK_CONSISTENT(2);
    /* MREMAP_FIXED onto an own mapping replaces it (as the kernel does) */
    char *d = map_fixed(W(0x3e0000), 2 * P, PROT_READ);
    CHECK_CONSISTENT(3);
    CHECK(mremap(t2, 6 * P, 6 * P, MREMAP_MAYMOVE | MREMAP_FIXED, d) == d);
    CHECK(holds(d, 4 * P, 4) && all_zero(d + 4 * P, 2 * P));
    CHECK_MAPPED(d, d, 6 * P, RW);
    CHECK_FREE(t2);
    CHECK_CONSISTENT(2);
    /* overlapping source and target: the kernel's EINVAL, nothing changed */
    CHECK_ERRNO(mremap(d, 6 * P, 6 * P, MREMAP_MAYMOVE | MREMAP_FIXED, d + 2 * P), EINVAL);
    CHECK(holds(d, 4 * P, 4));
    CHECK_MAPPED(d, d, 6 * P, RW);
    CHECK_CONSISTENT(2);
    /* a source that is free window space: EFAULT, as for unmapped memory */
    CHECK_ERRNO(mremap(W(0x500000), P, 2 * P, MREMAP_MAYMOVE), EFAULT);
    /* keeping the size in place needs only the first page mapped (as Linux) */
    CHECK(mremap(d + 4 * P, 4 * P, 4 * P, MREMAP_MAYMOVE) == d + 4 * P);
    CHECK(holds(d, 4 * P, 4));
    CHECK_CONSISTENT(2);

    /* a shared anonymous mapping grown in place stays shared */
    char *s = mmap(W(0x600000), 4 * P, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(s == W(0x600000));
    fill(s, 4 * P, 5);
    CHECK(mremap(s, 4 * P, 8 * P, 0) == s);
    CHECK(holds(s, 4 * P, 5));
    CHECK_MAPPED(s + 7 * P, s, 8 * P, RW);
    CHECK(info_at(s).kind == (MAPWARDEN_KIND_SHARED | MAPWARDEN_KIND_ANONYMOUS));
    CHECK(strcmp(perms_at(s + 7 * P), "rw-s") == 0);
    CHECK_CONSISTENT(3);
    /* as without the preload: the shmem object keeps its size, so the new
     * tail is mapped but touching it raises SIGBUS */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { signal(SIGBUS, SIG_DFL); volatile char c = s[5 * P]; (void)c; _exit(0); }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGBUS);
    /* the grown mapping is still shared with a child */
    pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { s[1] = 0x11; s[3 * P + 7] = 0x22; _exit(0); }
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(s[1] == 0x11 && s[3 * P + 7] == 0x22);
    s[1] = (char)pattern_byte(5, 1);
    s[3 * P + 7] = (char)pattern_byte(5, 3 * P + 7);
    CHECK(holds(s, 4 * P, 5));
    /* and shrunk again */
    CHECK(mremap(s, 8 * P, 2 * P, 0) == s);
    CHECK(holds(s, 2 * P, 5));
    CHECK_MAPPED(s, s, 2 * P, RW);
    CHECK_FREE(s + 2 * P);
    CHECK_CONSISTENT(3);

    /* a file-backed mapping grown in place keeps its file contents */
    char path[] = "/tmp/mw_win_mremap_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    char buf[8 * 4096];
    fill(buf, sizeof buf, 6);
    CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    char *fm = mmap(W(0x700000), 2 * P, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 2 * P);
    CHECK(fm == W(0x700000));
    CHECK(mremap(fm, 2 * P, 5 * P, 0) == fm);
    for (size_t i = 0; i < 5 * P; i++) CHECK((unsigned char)fm[i] == pattern_byte(6, 2 * P + i));
    CHECK_MAPPED(fm, fm, 5 * P, PROT_READ);
    CHECK(info_at(fm).offset == 2 * P && info_at(fm).kind == 0);
    CHECK_CONSISTENT(4);
    close(fd);

    CHECK(munmap(W(0), 0x800000) == 0);
    CHECK_WHOLE();
    return 0;
}
