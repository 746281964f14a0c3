/*
 * A read of a window file mapping's page past the end of its file dies of
 * SIGBUS, as it would without mapwarden, and is explained as "past the end
 * of the mapped file" with the mapping and its stack; the report, here in
 * JSON, is written at the crash with "ended_by": "crash".
 */
// CFLAGS: -rdynamic
#include "fault_helpers.h"

volatile int after_call;
volatile char sink;

__attribute__((noinline)) char *fault_map_file(int fd) {
    char *p = mmap(W(0x700000), 3 * PAGE, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0);
    after_call = 1;
    return p;
}

static int crash(const char *what) {
    (void)what;
    leave_a_leak();
    char path[] = "/tmp/mw-fault-file-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return 2;
    unlink(path);
    if (ftruncate(fd, PAGE) != 0) return 2;
    char *p = fault_map_file(fd);
    if (p == MAP_FAILED) return 2;
    sink = p[0];
    sink = p[2 * PAGE + 1]; /* the fault: past the file's one page */
    return 3;
}

int main(int argc, char **argv) {
    if (argc > 1) return crash(argv[2]);

    static struct outcome o;
    static const char *const json[] = {"MAPWARDEN_REPORT_FORMAT=json", NULL};
    char line[200];
    run_child("bus", &o, json);
    check_killed_by(&o, SIGBUS);
    snprintf(line, sizeof line, "mapwarden: SIGBUS at %p (read): past the end of the mapped file\n", (void *)W(0x702001));
    CHECK_HAS(o.err, line);
    snprintf(line, sizeof line, "  the mapping (%p, 12 KiB, r--, file) was made by thread %d:\n", (void *)W(0x700000), o.pid);
    CHECK_HAS(o.err, line);
    CHECK_STACK_AFTER(o.err, "  the mapping (", "fault_map_file");
    CHECK_HAS(o.report, "\"ended_by\": \"crash\"");
    return 0;
}
