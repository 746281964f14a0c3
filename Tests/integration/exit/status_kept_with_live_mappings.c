// _exit with live window mappings (private, shared anonymous, file-backed),
// from a thread and from main, also while another thread is hammering the
// window (and so may be inside mapwarden, holding its lock): the process
// exits with exactly the status given, never a crash or a hang. Also: a
// thread that exits alone leaves its mappings registered and the lock free,
// and exit() runs an atexit handler that still gets window service.
// Each case runs as a fresh exec of this program (so nothing is shared but
// the environment) and is repeated for the racy ones.
#include <pthread.h>
#include <stdatomic.h>
#include "common.h"
#include "rob_helpers.h"

static void live_mappings(void) {
    char *p = mmap(W(0x10000), 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == W(0x10000));
    memset(p, 1, 4 * PAGE);
    char *s = mmap(W(0x20000), 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(s == W(0x20000));
    memset(s, 2, 2 * PAGE);
    FILE *f = tmpfile();
    CHECK(f && fputs("file", f) >= 0 && fflush(f) == 0);
    char *m = mmap(W(0x30000), PAGE, PROT_READ, MAP_PRIVATE | MAP_FIXED, fileno(f), 0);
    CHECK(m == W(0x30000) && m[0] == 'f');
    CHECK(registry_consistent() == 3);
}

static _Atomic long spins;
static void *hammer(void *arg) {
    char *p = W(0x1000000 + (size_t)(intptr_t)arg * 0x100000);
    for (;;) {
        CHECK(mmap(p, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p);
        p[0] = 1;
        CHECK(mprotect(p, PAGE, PROT_READ) == 0);
        CHECK(munmap(p, 2 * PAGE) == 0);
        atomic_fetch_add(&spins, 1);
    }
    return NULL;
}
static void wait_spins(long n) { while (atomic_load(&spins) < n) sched_yield(); }

static void *exiter(void *arg) { wait_spins(200); _exit((int)(intptr_t)arg); }
static void *lone(void *arg) {
    (void)arg;
    char *p = mmap(W(0x2000000), PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == W(0x2000000));
    p[0] = 'L';
    raw_syscall(SYS_exit, 0); /* this thread only, no cleanup */
    return NULL;
}
static void at_exit(void) {
    char *p = mmap(W(0x3000000), PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != W(0x3000000) || query_state(p) != MAPWARDEN_MAPPED || registry_consistent() != 4) _exit(99);
    if (munmap(p, PAGE) != 0 || registry_consistent() != 3) _exit(98);
}

static int child(const char *mode) {
    pthread_t t;
    live_mappings();
    if (!strcmp(mode, "main")) _exit(7);
    if (!strcmp(mode, "thread")) {
        CHECK(pthread_create(&t, NULL, exiter, (void *)(intptr_t)41) == 0);
        atomic_store(&spins, 1000);
        pause();
    }
    if (!strcmp(mode, "main-busy")) {
        CHECK(pthread_create(&t, NULL, hammer, (void *)(intptr_t)0) == 0);
        wait_spins(200);
        _exit(8);
    }
    if (!strcmp(mode, "thread-busy")) {
        CHECK(pthread_create(&t, NULL, hammer, (void *)(intptr_t)0) == 0);
        CHECK(pthread_create(&t, NULL, hammer, (void *)(intptr_t)1) == 0);
        CHECK(pthread_create(&t, NULL, exiter, (void *)(intptr_t)42) == 0);
        pause();
    }
    if (!strcmp(mode, "lone")) {
        CHECK(pthread_create(&t, NULL, lone, NULL) == 0);
        /* The thread ends with a raw exit(2); the kernel still clears its
         * tid and wakes the joiner (CLONE_CHILD_CLEARTID): once joined it is
         * gone, and its write is seen. (A 20 ms sleep after seeing the
         * mapping registered was not enough on a loaded machine: the thread
         * could still be between its mmap and its write.) */
        CHECK(pthread_join(t, NULL) == 0);
        char *p = W(0x2000000);
        CHECK(p[0] == 'L');
        CHECK(registry_consistent() == 4);
        CHECK(munmap(p, PAGE) == 0);
        CHECK(registry_consistent() == 3);
        return 0;
    }
    if (!strcmp(mode, "atexit")) {
        CHECK(atexit(at_exit) == 0);
        exit(5);
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
}

static int run(const char *mode, int want, int reps) {
    for (int i = 0; i < reps; i++) {
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            alarm(5);
            execl("/proc/self/exe", "status_kept_with_live_mappings", mode, (char *)NULL);
            _exit(127);
        }
        int st;
        CHECK(waitpid(pid, &st, 0) == pid);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != want) {
            fprintf(stderr, "mode %s run %d: %s %d, expected exit status %d\n", mode, i,
                    WIFSIGNALED(st) ? "killed by signal" : "exit status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), want);
            return 1;
        }
    }
    fprintf(stderr, "ok: %s x%d -> %d\n", mode, reps, want);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) return child(argv[1]);
    int bad = 0;
    bad |= run("main", 7, 5);
    bad |= run("thread", 41, 5);
    bad |= run("main-busy", 8, 30);
    bad |= run("thread-busy", 42, 30);
    bad |= run("lone", 0, 5);
    bad |= run("atexit", 5, 5);
    return bad;
}
