// mprotect(PROT_READ|PROT_WRITE) spanning an
// anonymous private PROT_READ mapping at W and a read-only MAP_SHARED file
// mapping at W+4K fails with EACCES, as the raw kernel does for the same
// layout outside the window. The kernel may already have changed the first
// VMA when it refuses the second; the registry must not claim anything the
// kernel contradicts (registry_consistent() accepts prot -1 = unknown), the
// file mapping stays r--s, and no hole appears. The old engine kept
// PROT_READ recorded while the kernel said rw-p.
#include "common.h"
#include "win_helpers.h"

static int ro_fd(void) {
    char path[] = "/tmp/mw_mprotect_eaccesXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(ftruncate(fd, 2 * PAGE) == 0);
    CHECK(pwrite(fd, "file", 4, 0) == 4);
    close(fd);
    fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    unlink(path);
    return fd;
}

static void layout(char *a, int fd) {
    char *r = mmap(a, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(r == a);
    r = mmap(a + PAGE, PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    CHECK(r == a + PAGE);
}

int main(void) {
    CHECK_WHOLE();
    int fd = ro_fd();
    /* the kernel's answer, outside the window */
    char *o = mmap(NULL, 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(o != MAP_FAILED && !in_window(o));
    layout(o, fd);
    errno = 0;
    CHECK(raw_syscall(SYS_mprotect, o, 2 * PAGE, PROT_READ | PROT_WRITE) == -1 && errno == EACCES);
    CHECK(strcmp(perms_at(o + PAGE), "r--s") == 0);
    CHECK(munmap(o, 2 * PAGE) == 0);

    /* inside the window, through the preload */
    char *w = W(0);
    layout(w, fd);
    CHECK_CONSISTENT(2);
    CHECK_ERRNO(mprotect(w, 2 * PAGE, PROT_READ | PROT_WRITE), EACCES);
    CHECK(strcmp(perms_at(w + PAGE), "r--s") == 0);
    CHECK(memcmp(w + PAGE, "file", 4) == 0);
    CHECK(w[0] == 0);
    CHECK_CONSISTENT(2);
    struct mapwarden_info i = info_at(w);
    CHECK(i.state == MAPWARDEN_MAPPED && i.base == (uintptr_t)w && i.size == PAGE);
    CHECK(i.prot == -1 || i.prot == (strcmp(perms_at(w), "rw-p") == 0 ? PROT_READ | PROT_WRITE : PROT_READ));
    i = info_at(w + PAGE);
    CHECK(i.state == MAPWARDEN_MAPPED && i.base == (uintptr_t)w + PAGE && i.size == PAGE &&
          (i.prot == PROT_READ || i.prot == -1));
    /* the same through pkey_mprotect (pkey -1) */
    CHECK_ERRNO(pkey_mprotect(w, 2 * PAGE, PROT_READ | PROT_WRITE, -1), EACCES);
    CHECK_CONSISTENT(2);
    /* a later successful mprotect of the whole range makes it known again */
    CHECK(mprotect(w, 2 * PAGE, PROT_READ) == 0);
    CHECK(strcmp(perms_at(w), "r--p") == 0);
    CHECK_MAPPED(w, w, PAGE, PROT_READ);
    CHECK_MAPPED(w + PAGE, w + PAGE, PAGE, PROT_READ);
    CHECK_CONSISTENT(2);
    CHECK(munmap(w, 2 * PAGE) == 0);
    close(fd);
    CHECK_WHOLE();
    return 0;
}
