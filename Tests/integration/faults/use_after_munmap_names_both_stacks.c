/*
 * A write to a window page after munmap dies of SIGSEGV, as it would
 * without mapwarden, and is first explained: "use after munmap", when and
 * by which thread the page was unmapped (with munmap's stack under the
 * clobber guard, which captures it; without, a line says why there is
 * none), and the mapping it had been part of with the stack that made it.
 * The report exit would have written is written at the crash.
 */
// CFLAGS: -rdynamic
#include "fault_helpers.h"

volatile int after_call;

__attribute__((noinline)) char *fault_jit_alloc(void) {
    char *p = mmap(W(0x200000), 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    after_call = 1;
    return p;
}

__attribute__((noinline)) void fault_jit_free(char *p) {
    munmap(p, 4 * PAGE);
    after_call = 2;
}

static int crash(const char *what) {
    (void)what;
    leave_a_leak();
    char *p = fault_jit_alloc();
    if (p == MAP_FAILED) return 2;
    memset(p, 1, 4 * PAGE);
    fault_jit_free(p);
    p[3 * PAGE] = 2; /* the fault */
    return 3;
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);

    static const char *const clobber_guard[] = {"MAPWARDEN_CLOBBER=report", NULL};
    static struct outcome o;
    run_child("uaf", &o, clobber_guard);
    check_killed_by(&o, SIGSEGV);
    char head[160], by[96];
    snprintf(head, sizeof head, "mapwarden: SIGSEGV at %p (write): use after munmap\n", (void *)W(0x203000));
    CHECK_HAS(o.err, head);
    snprintf(by, sizeof by, " ago by thread %d:\n", o.pid);
    CHECK_HAS(o.err, "  the page was unmapped ");
    CHECK_HAS(o.err, by);
    CHECK_STACK_AFTER(o.err, "  the page was unmapped ", "fault_jit_free");
    char mapped[160];
    snprintf(mapped, sizeof mapped, "  it had been mapped (%p, 16 KiB, rw-, anonymous) by thread %d:\n", (void *)W(0x200000), o.pid);
    CHECK_HAS(o.err, mapped);
    CHECK_STACK_AFTER(o.err, "  it had been mapped (", "fault_jit_alloc");
    check_crash_report(&o);

    /* Without the clobber guard munmap's stack is not captured (its hot
     * path stays as it is): the explanation says so, and has the rest. */
    run_child("uaf", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    CHECK_HAS(o.err, head);
    snprintf(by, sizeof by, " ago by thread %d:\n", o.pid);
    CHECK_HAS(o.err, by);
    CHECK_HAS(o.err, "    (no stack: munmap's stack is captured under the clobber guard, MAPWARDEN_CLOBBER=report)\n");
    CHECK_STACK_AFTER(o.err, "  it had been mapped (", "fault_jit_alloc");
    check_crash_report(&o);
    return 0;
}
