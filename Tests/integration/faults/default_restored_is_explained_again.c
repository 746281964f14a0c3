/*
 * A program that installs its own SIGSEGV handler with signal() and then
 * sets SIG_DFL again gets mapwarden's explanation back: its fault in a
 * window, which now kills it, is explained, and it dies of SIGSEGV.
 */
#include "fault_helpers.h"

static void on_segv(int sig) { (void)sig; _exit(7); }
volatile char sink;

static int crash(const char *what) {
    (void)what;
    leave_a_leak();
    if (signal(SIGSEGV, on_segv) != SIG_DFL) return 4;
    if (signal(SIGSEGV, SIG_DFL) != on_segv) return 5;
    struct sigaction now;
    if (sigaction(SIGSEGV, NULL, &now) != 0 || now.sa_handler != SIG_DFL) return 6;
    sink = *(volatile char *)W(0x30000000); /* the fault */
    return 3;
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);
    static struct outcome o;
    run_child("restored", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    char head[160];
    snprintf(head, sizeof head, "mapwarden: SIGSEGV at %p (read): never mapped\n", (void *)W(0x30000000));
    CHECK_HAS(o.err, head);
    check_crash_report(&o);
    return 0;
}
