/*
 * A write one page past the end of a live window mapping (off by one
 * page), and a read just before its start, die of SIGSEGV and are
 * explained with the distance and the mapping they ran off, with the stack
 * that made it; the report is written at the crash.
 */
// CFLAGS: -rdynamic
#include "fault_helpers.h"

volatile int after_call;
volatile char sink;

__attribute__((noinline)) char *fault_map_table(void) {
    char *p = mmap(W(0x500000), 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    after_call = 1;
    return p;
}

static int crash(const char *what) {
    leave_a_leak();
    char *p = fault_map_table();
    if (p == MAP_FAILED) return 2;
    if (strcmp(what, "past") == 0) p[4 * PAGE + 16] = 1; /* the fault */
    else sink = p[-8];                                  /* the fault */
    return 3;
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);

    static struct outcome o;
    char line[200];
    run_child("past", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    snprintf(line, sizeof line, "mapwarden: SIGSEGV at %p (write): 16 bytes past the end of a mapping\n", (void *)W(0x504010));
    CHECK_HAS(o.err, line);
    snprintf(line, sizeof line, "  the mapping (%p, 16 KiB, rw-, anonymous) was made by thread %d:\n", (void *)W(0x500000), o.pid);
    CHECK_HAS(o.err, line);
    CHECK_STACK_AFTER(o.err, "  the mapping (", "fault_map_table");
    check_crash_report(&o);

    run_child("before", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    snprintf(line, sizeof line, "mapwarden: SIGSEGV at %p (read): 8 bytes before the start of a mapping\n", (void *)(W(0x500000) - 8));
    CHECK_HAS(o.err, line);
    CHECK_STACK_AFTER(o.err, "  the mapping (", "fault_map_table");
    check_crash_report(&o);
    return 0;
}
