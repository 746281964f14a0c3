/*
 * A read of a window page after mremap moved its mapping away dies of
 * SIGSEGV and is explained first: "use after mremap moved it to" the
 * address where that byte is now, with mremap's stack (always captured)
 * and the stack that made the mapping; a page that mremap cut off the end
 * of a mapping says so. The report is written at the crash.
 */
// CFLAGS: -rdynamic
#define _GNU_SOURCE
#include "fault_helpers.h"

volatile int after_call;
volatile char sink;

__attribute__((noinline)) char *fault_map_buffer(void) {
    char *p = mmap(W(0x300000), 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    after_call = 1;
    return p;
}

__attribute__((noinline)) char *fault_move_buffer(char *p) {
    char *q = mremap(p, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, W(0x400000));
    after_call = 2;
    return q;
}

__attribute__((noinline)) char *fault_shrink_buffer(char *p) {
    char *q = mremap(p, 2 * PAGE, PAGE, 0);
    after_call = 3;
    return q;
}

static int crash(const char *what) {
    leave_a_leak();
    char *p = fault_map_buffer();
    if (p == MAP_FAILED) return 2;
    p[PAGE + 8] = 1;
    if (strcmp(what, "moved") == 0) {
        if (fault_move_buffer(p) != W(0x400000)) return 4;
    } else {
        if (fault_shrink_buffer(p) != p) return 4;
    }
    sink = p[PAGE + 8]; /* the fault */
    return 3;
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);

    static struct outcome o;
    char line[200];
    run_child("moved", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    snprintf(line, sizeof line, "mapwarden: SIGSEGV at %p (read): use after mremap moved it to %p\n",
             (void *)W(0x301008), (void *)W(0x401008));
    CHECK_HAS(o.err, line);
    snprintf(line, sizeof line, " ago by thread %d:\n", o.pid);
    CHECK_HAS(o.err, line);
    CHECK_STACK_AFTER(o.err, "  the page was moved away by mremap ", "fault_move_buffer");
    snprintf(line, sizeof line, "  it had been mapped (%p, 8 KiB, rw-, anonymous) by thread %d:\n", (void *)W(0x300000), o.pid);
    CHECK_HAS(o.err, line);
    CHECK_STACK_AFTER(o.err, "  it had been mapped (", "fault_map_buffer");
    check_crash_report(&o);

    run_child("shrunk", &o, NULL);
    check_killed_by(&o, SIGSEGV);
    snprintf(line, sizeof line, "mapwarden: SIGSEGV at %p (read): use after mremap shrank its mapping\n", (void *)W(0x301008));
    CHECK_HAS(o.err, line);
    CHECK_STACK_AFTER(o.err, "  the page was cut off by mremap ", "fault_shrink_buffer");
    CHECK_STACK_AFTER(o.err, "  it had been mapped (", "fault_map_buffer");
    check_crash_report(&o);
    return 0;
}
