/*
 * A read of a window page that nothing was ever mapped at, far from every
 * mapping, dies of SIGSEGV and is explained as "never mapped"; the report
 * is written at the crash. The death is the one without mapwarden: the
 * same wait status, core dump (with core dumps allowed) included. Under
 * MAPWARDEN_FAULTS=off the same program dies the same way and mapwarden
 * says nothing and writes no report.
 */
// CFLAGS: -rdynamic
#include "fault_helpers.h"

volatile char sink;

static int crash(const char *what) {
    (void)what;
    allow_core_dump();
    leave_a_leak();
    sink = *(volatile char *)W(0x10000040); /* the fault */
    return 3;
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);

    static struct outcome o, plain;
    char head[160];
    run_child("never", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    snprintf(head, sizeof head, "mapwarden: SIGSEGV at %p (read): never mapped\n", (void *)W(0x10000040));
    CHECK_HAS(o.err, head);
    check_crash_report(&o);

    static const char *const without[] = {"-LD_PRELOAD", NULL};
    run_child("never", &plain, without);
    check_killed_by(&plain, SIGSEGV);
    if (o.status != plain.status) {
        fprintf(stderr, "wait status 0x%x under mapwarden, 0x%x without (core dump %d, %d)\n", o.status, plain.status,
                WCOREDUMP(o.status) != 0, WCOREDUMP(plain.status) != 0);
        return 1;
    }

    static const char *const off[] = {"MAPWARDEN_FAULTS=off", NULL};
    run_child("never", &o, off);
    check_killed_by(&o, SIGSEGV);
    CHECK_HASNT(o.err, "mapwarden: SIGSEGV");
    CHECK(o.report[0] == 0);
    CHECK(o.status == plain.status);
    return 0;
}
