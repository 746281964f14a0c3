// MAPWARDEN_RAW_SYSCALLS=trap with a small alternate signal stack (4 KiB,
// as some runtimes give their threads): a trapped call is served on the
// thread's own stack, so the alternate stack is not touched (serving a call
// takes about 10 KiB, more than it has) and the program neither faults nor
// has memory beside that stack overwritten.
// ENV: MAPWARDEN_RAW_SYSCALLS=trap
#include <signal.h>
#include "common.h"
#include "inline_syscall.h"

int main(void) {
    CHECK(seccomp_mode() == 2);
    /* The alternate stack inside a larger painted area: its guard bands and
     * itself must stay as painted. */
    enum { BAND = 4096, ALT = 4096 };
    unsigned char *area = mmap(NULL, BAND + ALT + BAND, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    memset(area, 0xA5, BAND + ALT + BAND);
    stack_t ss = { .ss_sp = area + BAND, .ss_size = ALT, .ss_flags = 0 };
    CHECK(sigaltstack(&ss, NULL) == 0);
    char *m = W(0x300000);
    long r = own_syscall(SYS_mmap, (long)m, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(r == (long)m);
    CHECK(query_state(m) == MAPWARDEN_MAPPED);
    CHECK(own_syscall(SYS_munmap, (long)m, 1 << 16, 0, 0, 0, 0) == 0);
    CHECK(query_state(m) == MAPWARDEN_FREE);
    for (size_t i = 0; i < BAND + ALT + BAND; i++) CHECK(area[i] == 0xA5);
    return 0;
}
