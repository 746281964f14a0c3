// MAPWARDEN_RAW_SYSCALLS=trap across exec (docs/raw-syscalls.md): the
// kernel keeps the parent's filter (and no_new_privs) in the new program,
// whose SIGSYS handler is gone and whose mapwarden sits elsewhere. The new
// program's mapwarden still reserves its window (its own calls carry
// mapwarden's mark, which every mapwarden filter lets through), installs
// its own filter on top, and serves the program's raw calls in the window.
// ENV: MAPWARDEN_RAW_SYSCALLS=trap
#define MW_TEST_KERNEL_VIEW_FROM_MAPS
#include "common.h"
#include "win_helpers.h"
#include "inline_syscall.h"
#include <sys/wait.h>

#define P PAGE
#define RW (PROT_READ | PROT_WRITE)

static int filters(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Seccomp_filters: %d", &n) == 1) break;
    if (f) fclose(f);
    return n;
}

static int no_new_privs(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "NoNewPrivs: %d", &n) == 1) break;
    if (f) fclose(f);
    return n;
}

int main(int argc, char **argv) {
    CHECK(seccomp_mode() == 2);
    CHECK(no_new_privs() == 1);
    CHECK_WHOLE(); /* the window reserved, under the parent's filter too */
    char *m = W(argc > 1 ? 0x500000 : 0x200000);
    CHECK(own_syscall(SYS_mmap, (long)m, 2 * P, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == (long)m);
    CHECK_MAPPED(m, m, 2 * P, RW);
    CHECK(own_syscall(SYS_munmap, (long)m, 2 * P, 0, 0, 0, 0) == 0);
    CHECK_WHOLE();
    if (argc > 1) {
        int n = filters(), parent = atoi(argv[1]);
        if (n >= 0 && parent >= 0) CHECK(n == parent + 1); /* its own on top of the parent's */
        return 0;
    }
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char count[16];
        snprintf(count, sizeof count, "%d", filters());
        execl("/proc/self/exe", argv[0], count, (char *)NULL);
        _exit(127);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        fprintf(stderr, "the exec'd child: status %#x%s\n", st,
                WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS ? " (killed by SIGSYS)" : "");
        return 1;
    }
    return 0;
}
