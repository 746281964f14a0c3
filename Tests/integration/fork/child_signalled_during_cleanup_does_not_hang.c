// A forked child that gets a signal while
// mapwarden's fork handler is still cleaning up (dropping thousands of
// MADV_DONTFORK window mappings from its registry), and whose handler maps
// in the window, must not hang. Before the fix the child's cleanup ran with
// the lock word still naming the parent's thread, so the handler's mmap
// waited for a lock nobody would release, for ever.
// The parent signals each child in a tight loop from the moment fork
// returns until the child exits; a child that sleeps for 1 s in a row is
// hung (its code never sleeps: asleep, it waits on the lock; killed, the
// test fails), and so is one still alive after 60 s. A slow child on a
// loaded machine is runnable, not asleep, and is waited for. Every child checks, with the signal blocked, that
// the window has no hole, the registry is consistent, the DONTFORK
// mappings are free, and the handler's mapping (when it ran) is recorded;
// every child must exit 0.
#include "common.h"
#include "win_helpers.h"
#include "rob_helpers.h"

#define RANGES 4000
#define ROUNDS 10
#define HANDLER_AT W(0x10000000)

/* Handler runs that mapped, that got ENOMEM (documented: a handler that
 * interrupts mapwarden logs its change, and gets ENOMEM once the
 * log is full), and that failed otherwise (with the last such errno). */
static volatile sig_atomic_t handled, handled_enomem, handled_bad, bad_errno;
static void on_usr1(int s) {
    (void)s;
    int saved = errno;
    void *p = mmap(HANDLER_AT, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == HANDLER_AT) handled++;
    else if (p == MAP_FAILED && errno == ENOMEM) handled_enomem++;
    else { handled_bad++; bad_errno = p == MAP_FAILED ? errno : -1; }
    errno = saved;
}

static void signal_child(pid_t c) { kill(c, SIGUSR1); }

static int *early_hits; /* shared with the children: handler ran before the child's own code */

static int child(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int h = handled != 0;
    if (handled || handled_enomem) __atomic_fetch_add(early_hits, 1, __ATOMIC_RELAXED);
    if (handled_enomem) __atomic_fetch_add(early_hits + 1, 1, __ATOMIC_RELAXED);
    if (handled) __atomic_fetch_add(early_hits + 2, 1, __ATOMIC_RELAXED);
    if (handled_bad) { fprintf(stderr, "child: the handler's mmap failed %d times, errno %d\n", handled_bad, bad_errno); return 2; }
    if (!kernel_mapped(window_base(), window_end())) { fprintf(stderr, "child: hole in the window\n"); dump_window(); return 3; }
    for (int i = 0; i < RANGES; i += 997)
        if (query_state(W(0x100000 + (size_t)i * 2 * PAGE)) != MAPWARDEN_FREE) {
            fprintf(stderr, "child: DONTFORK mapping %d not FREE\n", i); return 4;
        }
    if (h) {
        struct mapwarden_info i = info_at(HANDLER_AT);
        if (i.state != MAPWARDEN_MAPPED || i.base != (uintptr_t)HANDLER_AT || i.size != PAGE) {
            fprintf(stderr, "child: handler mapping: state %u base %#lx size %#zx\n", i.state, i.base, i.size);
            dump_window(); return 5;
        }
    }
    int n = registry_consistent();
    if (n != (h ? 1 : 0)) { fprintf(stderr, "child: registry_consistent() = %d (handled %d)\n", n, h); return 6; }
    return 0;
}

int main(void) {
    CHECK_WHOLE();
    early_hits = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(early_hits != MAP_FAILED && !in_window(early_hits));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    for (int i = 0; i < RANGES; i++) {
        char *p = map_fixed(W(0x100000 + (size_t)i * 2 * PAGE), PAGE, PROT_READ | PROT_WRITE);
        CHECK(madvise(p, PAGE, MADV_DONTFORK) == 0);
    }
    CHECK_CONSISTENT(RANGES);
    int bad = 0;
    double worst = 0;
    for (int round = 0; round < ROUNDS && !bad; round++) {
        fflush(NULL);
        double t0 = rob_now();
        pid_t c = fork();
        CHECK(c >= 0);
        if (c == 0) _exit(child());
        int st = 0;
        const char *why = NULL;
        pid_t w = rob_wait_unless_deadlocked(c, &st, signal_child, round % 2 ? 20 : 300, /* fast: fills the log; slow: entries applied */
                                             1.0, 60.0, &why);
        if (w == 0) {
            char path[64], wchan[64] = "?";
            snprintf(path, sizeof path, "/proc/%d/wchan", (int)c);
            FILE *f = fopen(path, "r");
            if (f) { if (!fgets(wchan, sizeof wchan, f)) wchan[0] = 0; fclose(f); }
            fprintf(stderr, "round %d: child %d hung: %s after %.1f s (wchan %s)\n", round, (int)c, why, rob_now() - t0, wchan);
            kill(c, SIGKILL);
            waitpid(c, &st, 0);
            bad = 1;
        }
        if (bad) break;
        CHECK(w == c);
        double t = rob_now() - t0;
        if (t > worst) worst = t;
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fprintf(stderr, "round %d: child status %#x\n", round, st);
            bad = 1;
        }
    }
    fprintf(stderr, "%d ranges, %d rounds: the handler ran before the child's own code in %d children "
            "(%d mapped, %d saw ENOMEM from a full log); slowest child %.3f s\n",
            RANGES, ROUNDS, early_hits[0], early_hits[2], early_hits[1], worst);
    if (bad) return 1; /* (the window has 8000 lines: no dump) */
    CHECK(handled == 0 && handled_enomem == 0 && handled_bad == 0); /* the parent was never signalled */
    CHECK_CONSISTENT(RANGES);
    return 0;
}
