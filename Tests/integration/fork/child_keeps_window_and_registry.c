// Rule 11 (fork). The child keeps the window and the registry; a
// MAP_SHARED|MAP_ANONYMOUS mapping in the window stays shared (the child
// writes, the parent reads; the child unmaps, the parent still sees the
// data); a private mapping stays private. Then a fork storm: 200 forks while
// two threads map and unmap in the window; every child must be able to map
// and unmap in the window, find the registry consistent, and exit 0 (an
// alarm turns a deadlock into a failure).
#include <pthread.h>
#include <stdatomic.h>
#include "common.h"
#include "rob_helpers.h"

static char *priv, *shrd, *filem;
static const size_t PLEN = 3 * 4096, SLEN = 4 * 4096;

static int child_basic(void *arg) {
    (void)arg;
    struct mapwarden_info info;
    /* The registry came along. */
    CHECK(mapwarden_query(priv + PAGE, &info) == 0);
    CHECK(info.state == MAPWARDEN_MAPPED && info.base == (uintptr_t)priv && info.size == PLEN);
    CHECK(info.prot == (PROT_READ | PROT_WRITE) && info.kind == MAPWARDEN_KIND_ANONYMOUS);
    CHECK(mapwarden_query(shrd, &info) == 0);
    CHECK(info.state == MAPWARDEN_MAPPED && info.base == (uintptr_t)shrd && info.size == SLEN);
    CHECK(info.kind == (MAPWARDEN_KIND_SHARED | MAPWARDEN_KIND_ANONYMOUS));
    CHECK(mapwarden_query(filem, &info) == 0 && info.state == MAPWARDEN_MAPPED && info.kind == MAPWARDEN_KIND_SHARED);
    CHECK(info.window_base == window_base() && info.window_size == window_size());
    CHECK(query_state(W(0x5000000)) == MAPWARDEN_FREE);
    /* And the window: maps agree with the registry. */
    CHECK(registry_consistent() == 3);
    CHECK(priv[0] == 'P' && shrd[0] == 'S' && filem[0] == '#');
    /* Private stays private, shared is shared. */
    memset(priv, 'c', PLEN);
    memset(shrd, 'C', SLEN);
    /* The child's own window work is served and does not touch the parent. */
    char *q = mmap(W(0x5000000), 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(q == W(0x5000000));
    q[0] = 1;
    CHECK(registry_consistent() == 4);
    CHECK(munmap(q, 2 * PAGE) == 0);
    /* The child unmaps the shared mapping (and everything else). */
    CHECK(munmap(shrd, SLEN) == 0);
    CHECK(query_state(shrd) == MAPWARDEN_FREE);
    CHECK(munmap(priv, PLEN) == 0);
    CHECK(registry_consistent() == 1);
    CHECK(munmap(filem, PAGE) == 0);
    CHECK(registry_consistent() == 0);
    CHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 1);
    return 0;
}

/* ---- fork storm ---- */
static _Atomic int stop;
static _Atomic long hammer_ops;

static void *hammer(void *arg) {
    int id = (int)(intptr_t)arg;
    uint64_t seed = 77 + id;
    char *s = W(0x100000000ULL * (id + 2));
    while (!atomic_load(&stop)) {
        size_t pages = 1 + rob_below(&seed, 8), off = rob_below(&seed, 32);
        char *p = s + off * PAGE;
        CHECK(mmap(p, pages * PAGE, PROT_READ | PROT_WRITE,
                   (rob_below(&seed, 2) ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p);
        p[0] = (char)id;
        if (pages > 1) CHECK(mprotect(p, PAGE, PROT_READ) == 0);
        CHECK(munmap(p, pages * PAGE) == 0);
        atomic_fetch_add(&hammer_ops, 1);
    }
    return NULL;
}

static int storm_child(void *arg) {
    int n = (int)(intptr_t)arg;
    char *p = W(0x20000000 + (size_t)n * 16 * PAGE);
    char *q = mmap(p, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (q != p) return 10;
    q[PAGE] = 42;
    if (query_state(p + PAGE) != MAPWARDEN_MAPPED) return 11;
    if (munmap(p, 2 * PAGE) != 0) return 12;
    if (query_state(p) != MAPWARDEN_FREE) return 13;
    if (n % 10 == 0 && registry_consistent() < 0) return 14; /* the hammers' mappings at fork time may be there */
    return 0;
}

int main(void) {
    alarm(60);
    priv = mmap(W(0x1000000), PLEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(priv == W(0x1000000));
    memset(priv, 'P', PLEN);
    shrd = mmap(W(0x2000000), SLEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(shrd == W(0x2000000));
    memset(shrd, 'S', SLEN);
    FILE *tf = tmpfile();
    CHECK(tf != NULL);
    char fbuf[4096];
    memset(fbuf, '#', sizeof fbuf);
    CHECK(fwrite(fbuf, 1, sizeof fbuf, tf) == sizeof fbuf && fflush(tf) == 0);
    filem = mmap(W(0x3000000), PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, fileno(tf), 0);
    CHECK(filem == W(0x3000000));
    CHECK(registry_consistent() == 3);

    int st = rob_in_child(child_basic, NULL, 10);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* The child's writes to the shared mapping are visible, and stay after
     * the child unmapped it and exited; its private writes are not. */
    for (size_t i = 0; i < SLEN; i++) CHECK(shrd[i] == 'C');
    for (size_t i = 0; i < PLEN; i++) CHECK(priv[i] == 'P');
    CHECK(query_state(shrd) == MAPWARDEN_MAPPED && query_state(priv) == MAPWARDEN_MAPPED);
    CHECK(query_state(W(0x5000000)) == MAPWARDEN_FREE);
    CHECK(registry_consistent() == 3);

    /* Shared mapping, both directions, while both are alive. */
    volatile char *flag = shrd;
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(10);
        while (flag[0] != 'p') usleep(100);  /* the parent's write reaches the child */
        flag[1] = 'k';
        _exit(0);
    }
    flag[0] = 'p';
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(flag[1] == 'k');

    /* Fork storm. */
    pthread_t t[2];
    for (int i = 0; i < 2; i++) CHECK(pthread_create(&t[i], NULL, hammer, (void *)(intptr_t)i) == 0);
    double t0 = rob_now();
    for (int n = 0; n < 200; n++) {
        st = rob_in_child(storm_child, (void *)(intptr_t)n, 5);
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fprintf(stderr, "storm child %d: %s %d\n", n, WIFSIGNALED(st) ? "killed by signal" : "exit status",
                    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
            exit(1);
        }
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
    fprintf(stderr, "200 forks in %.2f s, %ld hammer cycles\n", rob_now() - t0, atomic_load(&hammer_ops));
    CHECK(atomic_load(&hammer_ops) > 200);
    CHECK(registry_consistent() == 3);
    CHECK(munmap(priv, PLEN) == 0 && munmap(shrd, SLEN) == 0 && munmap(filem, PAGE) == 0);
    CHECK(registry_consistent() == 0);
    CHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 1);
    return 0;
}
