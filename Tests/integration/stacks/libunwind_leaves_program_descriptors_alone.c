// Loading libunwind for stacks must not take or touch
// the program's descriptors. libunwind (1.6, Debian 12) validates memory
// through a pipe it opens with pipe2() on first use; opened from mapwarden's
// start-up, that pipe takes descriptors 3 and 4, so (1) the program's first
// open() no longer returns 3, and (2) once the program closes its inherited
// descriptors (as daemons do) and opens files that get 3 and 4, each stack
// capture reads a byte from the program's fd 3 and writes a byte of stack
// into its fd 4. Expected: no close-on-exec descriptor mapwarden made sits
// below 64 at main, and captures leave the program's files alone.
#include <fcntl.h>
#include "common.h"

__attribute__((noinline)) static void map_and_free(int i) {
    char *p = mmap(W(0x10000 + (size_t)i * 0x10000), PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == W(0x10000 + (size_t)i * 0x10000));
    CHECK(munmap(p, PAGE) == 0);
}

int main(void) {
    /* (1) A close-on-exec descriptor open at main was made in this process
     * before main: by the preload. Inherited ones cannot be close-on-exec. */
    for (int fd = 3; fd < 64; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0 && (flags & FD_CLOEXEC)) {
            char link[64], target[256] = "";
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(link, target, sizeof target - 1);
            if (n > 0) target[n] = 0;
            fprintf(stderr, "descriptor %d (%s) was opened before main by the preload\n", fd, target);
            exit(1);
        }
    }
    /* (2) The program's own descriptors 3 and 4 are left alone by captures. */
    for (int fd = 3; fd < 10; fd++) close(fd);
    char path_a[] = "/tmp/mw_unwind_fdsA_XXXXXX", path_b[] = "/tmp/mw_unwind_fdsB_XXXXXX";
    int a = mkstemp(path_a), b = mkstemp(path_b);
    CHECK(a == 3 && b == 4);
    unlink(path_a);
    unlink(path_b);
    CHECK(write(a, "HELLO", 5) == 5 && lseek(a, 0, SEEK_SET) == 0);
    for (int i = 0; i < 50; i++) map_and_free(i);
    off_t a_at = lseek(a, 0, SEEK_CUR), b_size = lseek(b, 0, SEEK_END);
    if (a_at != 0 || b_size != 0) {
        fprintf(stderr, "stack captures read %ld bytes from the program's fd 3 and wrote %ld bytes into its fd 4\n",
                (long)a_at, (long)b_size);
        return 1;
    }
    return 0;
}
