/*
 * A read of a window page that nothing was ever mapped at, far from every
 * mapping, dies of SIGSEGV and is explained as "never mapped"; the report
 * is written at the crash. Under MAPWARDEN_FAULTS=off the same program dies
 * the same way and mapwarden says nothing and writes no report.
 */
// CFLAGS: -rdynamic
#include "fault_helpers.h"

volatile char sink;

static int crash(const char *what) {
    (void)what;
    leave_a_leak();
    sink = *(volatile char *)W(0x10000040); /* the fault */
    return 3;
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);

    static struct outcome o;
    char head[160];
    run_child("never", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    snprintf(head, sizeof head, "mapwarden: SIGSEGV at %p (read): never mapped\n", (void *)W(0x10000040));
    CHECK_HAS(o.err, head);
    check_crash_report(&o);

    static const char *const off[] = {"MAPWARDEN_FAULTS=off", NULL};
    run_child("never", &o, off);
    check_killed_by(&o, SIGSEGV);
    CHECK_HASNT(o.err, "mapwarden: SIGSEGV");
    CHECK(o.report[0] == 0);
    return 0;
}
