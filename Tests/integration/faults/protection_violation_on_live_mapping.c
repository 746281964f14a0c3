/*
 * A write to a read-only window mapping, and a jump into a read-write one,
 * die of SIGSEGV and are explained as protection violations naming the
 * access and the mapping's protection, with the stack that made it; the
 * report is written at the crash.
 */
// CFLAGS: -rdynamic
#include "fault_helpers.h"

volatile int after_call;

__attribute__((noinline)) char *fault_map_with(int prot) {
    char *p = mmap(W(0x600000), 2 * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    after_call = 1;
    return p;
}

static int crash(const char *what) {
    leave_a_leak();
    if (strcmp(what, "write") == 0) {
        char *p = fault_map_with(PROT_READ);
        if (p == MAP_FAILED) return 2;
        p[PAGE + 4] = 1; /* the fault */
    } else {
        char *p = fault_map_with(PROT_READ | PROT_WRITE);
        if (p == MAP_FAILED) return 2;
        p[0] = (char)0xc3; /* ret */
        ((void (*)(void))p)(); /* the fault */
    }
    return 3;
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);

    static struct outcome o;
    char line[200];
    run_child("write", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    snprintf(line, sizeof line, "mapwarden: SIGSEGV at %p (write): protection violation: write of a r-- mapping\n",
             (void *)W(0x601004));
    CHECK_HAS(o.err, line);
    snprintf(line, sizeof line, "  the mapping (%p, 8 KiB, r--, anonymous) was made by thread %d:\n", (void *)W(0x600000), o.pid);
    CHECK_HAS(o.err, line);
    CHECK_STACK_AFTER(o.err, "  the mapping (", "fault_map_with");
    check_crash_report(&o);

#if defined(__x86_64__)
    run_child("exec", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    snprintf(line, sizeof line, "mapwarden: SIGSEGV at %p (exec): protection violation: exec of a rw- mapping\n", (void *)W(0x600000));
    CHECK_HAS(o.err, line);
    CHECK_STACK_AFTER(o.err, "  the mapping (", "fault_map_with");
    check_crash_report(&o);
#endif
    return 0;
}
