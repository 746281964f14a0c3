/*
 * A program that handles SIGSEGV itself (it mprotects a window page and
 * retries, and siglongjmps out of faults on free window pages and on
 * NULL) behaves exactly as without mapwarden: the same output, nothing
 * more on standard error, the same exit status. It sees what it would see
 * without mapwarden: SIG_DFL (flags 0) before it installs its handler,
 * SIG_DFL from signal() for SIGBUS, its own handler once installed.
 */
#include "fault_helpers.h"
#include <setjmp.h>

static sigjmp_buf jump;
static char *guarded;
static volatile int retries;
static volatile char sink;

static void on_segv(int sig, siginfo_t *si, void *context) {
    (void)sig;
    (void)context;
    char *at = si->si_addr;
    if (guarded && at >= guarded && at < guarded + PAGE) {
        mprotect(guarded, PAGE, PROT_READ | PROT_WRITE);
        retries++;
        return; /* the access runs again, and works */
    }
    siglongjmp(jump, 1);
}

static void on_bus(int sig) { (void)sig; }

static int child(void) {
    struct sigaction old, act, now;
    memset(&act, 0, sizeof act);
    CHECK(sigaction(SIGSEGV, NULL, &old) == 0);
    printf("SIGSEGV first: %s, flags %#x\n", old.sa_handler == SIG_DFL ? "SIG_DFL" : "a handler",
           (unsigned)old.sa_flags & ~0x04000000u /* SA_RESTORER, the kernel's own */);
    void (*before)(int) = signal(SIGBUS, on_bus);
    printf("signal(SIGBUS) first returned %s\n", before == SIG_DFL ? "SIG_DFL" : "a handler");
    act.sa_sigaction = on_segv;
    act.sa_flags = SA_SIGINFO;
    sigemptyset(&act.sa_mask);
    CHECK(sigaction(SIGSEGV, &act, &old) == 0);
    printf("replaced: %s\n", old.sa_handler == SIG_DFL ? "SIG_DFL" : "a handler");

    guarded = mmap(W(0x800000), PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(guarded == W(0x800000));
    for (int i = 0; i < 100; i++) {
        CHECK(mprotect(guarded, PAGE, PROT_NONE) == 0);
        guarded[i] = (char)i; /* faults, the handler opens it, the write is retried */
    }
    printf("retries %d, last byte %d\n", retries, guarded[99]);

    volatile int jumps = 0;
    for (int i = 0; i < 50; i++) {
        if (sigsetjmp(jump, 1) == 0) sink = *(volatile char *)(W(0x20000000) + (size_t)i * PAGE);
        else jumps++;
    }
    if (sigsetjmp(jump, 1) == 0) sink = *(volatile char *)0;
    else jumps++;
    printf("jumps %d\n", jumps);

    CHECK(sigaction(SIGSEGV, NULL, &now) == 0);
    printf("now: %s\n", (now.sa_flags & SA_SIGINFO) && now.sa_sigaction == on_segv ? "its own handler" : "something else");
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    CHECK(sigaction(SIGSEGV, &dfl, &old) == 0);
    printf("restored over: %s\n", (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == on_segv ? "its own handler" : "something else");
    CHECK(sigaction(SIGSEGV, NULL, &now) == 0);
    printf("after restoring: %s\n", now.sa_handler == SIG_DFL ? "SIG_DFL" : "a handler");
    munmap(guarded, PAGE);
    return 0;
}

int main(int argc, char **argv) {
    if (argc > 1) return child();

    static struct outcome with, without;
    run_child("own", &with, NULL);
    static const char *const plain[] = {"-LD_PRELOAD", NULL};
    run_child("own", &without, plain);
    if (!WIFEXITED(without.status) || WEXITSTATUS(without.status) != 0) {
        fprintf(stderr, "without mapwarden the program ended with status 0x%x:\n%s%s\n", without.status, without.out, without.err);
        return 1;
    }
    CHECK_HAS(without.out, "retries 100, last byte 99\njumps 51\n");
    if (with.status != without.status || strcmp(with.out, without.out) != 0 || strcmp(with.err, without.err) != 0) {
        fprintf(stderr, "with mapwarden: status 0x%x\n--- stdout:\n%s--- stderr:\n%s\n", with.status, with.out, with.err);
        fprintf(stderr, "without: status 0x%x\n--- stdout:\n%s--- stderr:\n%s\n", without.status, without.out, without.err);
        return 1;
    }
    return 0;
}
