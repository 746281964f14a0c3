/*
 * A SIGSEGV the program sends itself (raise) is no fault: mapwarden sends
 * it again with the default action, and the program dies of it as it
 * would have, without an explanation and without a report.
 */
#include "fault_helpers.h"

static int crash(const char *what) {
    (void)what;
    leave_a_leak();
    raise(SIGSEGV);
    return 3;
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);
    static struct outcome o;
    run_child("raise", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    CHECK_HASNT(o.err, "mapwarden: SIGSEGV");
    CHECK(o.report[0] == 0);
    return 0;
}
