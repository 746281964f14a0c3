// Rule 2: MAP_FIXED fully inside the window is served in place and
// recorded: anonymous private, anonymous shared, file-backed with an
// offset, through mmap and through mmap64; a second MAP_FIXED over an
// earlier one replaces it in place (one record, new data).
#include "common.h"
#include "win_helpers.h"

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

static int temp_file(size_t pages) {
    char path[] = "/tmp/mw_win_fixed_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    unlink(path);
    char buf[4096];
    for (size_t pg = 0; pg < pages; pg++) {
        for (size_t i = 0; i < sizeof buf; i++) buf[i] = (char)pattern_byte(100, pg * PAGE + i);
        CHECK(write(fd, buf, sizeof buf) == (ssize_t)sizeof buf);
    }
    return fd;
}

static void run(const char *name, mmap_fn map, size_t at) {
    fprintf(stderr, "-- %s\n", name);
    int base_count = registry_consistent();
    CHECK(base_count >= 0);

    /* anonymous private */
    char *a = map(W(at), 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(a == W(at));
    CHECK(all_zero(a, 4 * PAGE));
    fill(a, 4 * PAGE, 1);
    CHECK(holds(a, 4 * PAGE, 1));
    CHECK_MAPPED(a + 3 * PAGE, a, 4 * PAGE, PROT_READ | PROT_WRITE);
    CHECK(info_at(a).kind == MAPWARDEN_KIND_ANONYMOUS);
    CHECK(strcmp(perms_at(a), "rw-p") == 0);
    CHECK_CONSISTENT(base_count + 1);

    /* anonymous shared, separated by a free page */
    char *s = map(W(at + 5 * PAGE), 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(s == W(at + 5 * PAGE));
    fill(s, 3 * PAGE, 2);
    CHECK_MAPPED(s + PAGE, s, 3 * PAGE, PROT_READ | PROT_WRITE);
    CHECK(info_at(s).kind == (MAPWARDEN_KIND_ANONYMOUS | MAPWARDEN_KIND_SHARED));
    CHECK(strcmp(perms_at(s), "rw-s") == 0);
    CHECK_FREE(W(at + 4 * PAGE));
    CHECK_CONSISTENT(base_count + 2);
    /* shared really means shared: a child's write is seen here */
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { s[PAGE + 5] = 0x5A; _exit(0); }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK((unsigned char)s[PAGE + 5] == 0x5A);
    s[PAGE + 5] = (char)pattern_byte(2, PAGE + 5);

    /* file-backed, private, read-only, file offset 2 pages */
    int fd = temp_file(8);
    char *f = map(W(at + 9 * PAGE), 3 * PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 2 * PAGE);
    CHECK(f == W(at + 9 * PAGE));
    for (size_t i = 0; i < 3 * PAGE; i++) CHECK((unsigned char)f[i] == pattern_byte(100, 2 * PAGE + i));
    CHECK_MAPPED(f, f, 3 * PAGE, PROT_READ);
    CHECK(info_at(f).kind == 0);
    CHECK(info_at(f + PAGE).offset == 2 * PAGE);
    CHECK(strcmp(perms_at(f), "r--p") == 0);
    CHECK_CONSISTENT(base_count + 3);

    /* file-backed shared read-write, offset 1 page: writes reach the file */
    char *g = map(W(at + 13 * PAGE), 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, PAGE);
    CHECK(g == W(at + 13 * PAGE));
    CHECK((unsigned char)g[0] == pattern_byte(100, PAGE));
    g[10] = 0x77;
    CHECK(msync(g, 2 * PAGE, MS_SYNC) == 0);
    unsigned char c;
    CHECK(pread(fd, &c, 1, PAGE + 10) == 1 && c == 0x77);
    CHECK_MAPPED(g + PAGE, g, 2 * PAGE, PROT_READ | PROT_WRITE);
    CHECK(info_at(g).kind == MAPWARDEN_KIND_SHARED);
    CHECK(info_at(g).offset == PAGE);
    CHECK(strcmp(perms_at(g), "rw-s") == 0);
    CHECK_CONSISTENT(base_count + 4);
    close(fd);
    /* the mappings outlive the fd */
    CHECK((unsigned char)f[PAGE] == pattern_byte(100, 3 * PAGE));

    /* replace the anonymous private mapping in place: new data, one record */
    char *a2 = map(a, 4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(a2 == a);
    CHECK(all_zero(a2, 4 * PAGE));
    CHECK_MAPPED(a2 + 2 * PAGE, a, 4 * PAGE, PROT_READ);
    CHECK(strcmp(perms_at(a), "r--p") == 0);
    CHECK_CONSISTENT(base_count + 4);
    /* replace the middle of it: the record splits around the new one */
    char *m = map(a + PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m == a + PAGE);
    fill(m, 2 * PAGE, 3);
    CHECK_MAPPED(a, a, PAGE, PROT_READ);
    CHECK_MAPPED(m, m, 2 * PAGE, PROT_READ | PROT_WRITE);
    CHECK_MAPPED(a + 3 * PAGE, a + 3 * PAGE, PAGE, PROT_READ);
    CHECK_CONSISTENT(base_count + 6);
    /* a MAP_FIXED across the shared mapping and the free page before it */
    char *x = map(W(at + 4 * PAGE), 3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(x == W(at + 4 * PAGE));
    CHECK(all_zero(x, 3 * PAGE));
    CHECK_MAPPED(x, x, 3 * PAGE, PROT_READ | PROT_WRITE);
    CHECK_MAPPED(s + 2 * PAGE, s + 2 * PAGE, PAGE, PROT_READ | PROT_WRITE);
    /* the remaining shared page keeps its data */
    for (size_t i = 0; i < PAGE; i++) CHECK((unsigned char)s[2 * PAGE + i] == pattern_byte(2, 2 * PAGE + i));
    CHECK(info_at(s + 2 * PAGE).kind == (MAPWARDEN_KIND_ANONYMOUS | MAPWARDEN_KIND_SHARED));

    /* unmapping everything gives the window back whole */
    CHECK(munmap(W(at), 16 * PAGE) == 0);
    CHECK_CONSISTENT(base_count);
}

int main(void) {
    CHECK_WHOLE();
    /* the kernel's own refusals inside the window change nothing */
    CHECK_ERRNO(mmap(W(0x100000) + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
    CHECK_ERRNO(mmap(W(0x100000), 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL);
    CHECK_ERRNO(mmap(W(0x100000), PAGE, PROT_READ, MAP_ANONYMOUS | MAP_FIXED, -1, 0), EINVAL); /* no type */
    CHECK_WHOLE();
    run("mmap", mmap, 0x100000);
    CHECK_WHOLE();
    mmap_fn m64 = (mmap_fn)dlsym(RTLD_DEFAULT, "mmap64");
    CHECK(m64 != NULL);
    run("mmap64 (dlsym)", m64, 0x200000);
    run("mmap64 (direct)", mmap64, 0x300000);
    CHECK_WHOLE();
    /* both entry points reach the interposer, not libc */
    Dl_info di;
    CHECK(dladdr((void *)m64, &di) && strstr(di.dli_fname, "mapwarden") != NULL);
    CHECK(dladdr(dlsym(RTLD_DEFAULT, "mmap"), &di) && strstr(di.dli_fname, "mapwarden") != NULL);
    return 0;
}
