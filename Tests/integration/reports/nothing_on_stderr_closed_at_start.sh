#!/usr/bin/env bash
# A program started with fd 2 closed has no standard error: a file it then
# opens (and gets as fd 2) is its own, and mapwarden writes nothing there:
# no report meant for standard error (nor one whose file cannot be written),
# no clobber line. A report to a file is still written.
. "$(dirname "$0")/../include/report_test_lib.bash" lstderrclosed
show() { echo "--- status $status"; for f in "$@"; do echo "--- $f:"; cat "$f"; done; }

cat >"$tmp/prog.c" <<'C'
#include <fcntl.h>
#include "common.h"
#include "leak_helpers.h"
NOINLINE void leak_it(void) { CHECK(mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0) == W(0x10000)); }
/* argv[1]: the file to open as fd 2 (fd 2 is closed when the program starts) */
int main(int argc, char **argv) {
    CHECK(argc == 2);
    CHECK(fcntl(2, F_GETFD) == -1 && errno == EBADF);
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd == 2);
    CHECK(write(fd, "program data\n", 13) == 13);
    leak_it();
    /* a clobber (under MAPWARDEN_CLOBBER=report): a page of memory glibc mapped */
    unsigned char *big = malloc(1 << 20);
    CHECK(big);
    void *q = (void *)(((uintptr_t)big + 8 * PAGE) & ~(uintptr_t)(PAGE - 1));
    CHECK(mmap(q, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == q);
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" ||
    { echo "cannot compile"; exit 1; }
mkfifo "$tmp/fifo"

case_() { # NAME ENV...
    step_failed=0
    local name=$1; shift
    rm -f "$tmp/own.txt"
    timeout 20 env "$@" LD_PRELOAD="$LIB" "$tmp/prog" "$tmp/own.txt" >"$tmp/out" 2>&-
    status=$?
    [ $status -eq 0 ] || fail "$name: status $status"
    [ "$(cat "$tmp/own.txt")" = "program data" ] || { fail "$name: mapwarden wrote into the program's own fd 2"; show "$tmp/own.txt"; }
}
case_ "report to standard error" MAPWARDEN_CLOBBER=report
ok "report to standard error: nothing in the program's file"
case_ "report to an unwritable file" MAPWARDEN_REPORT="$tmp/fifo"
ok "report to a FIFO (falls back to standard error): nothing in the program's file"
case_ "report to a file" MAPWARDEN_REPORT="$tmp/r.txt" MAPWARDEN_CLOBBER=report
grep -q '^SUMMARY: mapwarden: 4096 bytes leaked in 1 mapping; .* 1 clobber\.$' "$tmp/r.txt" || { fail "the file report"; show "$tmp/r.txt"; }
ok "report to a file: written there, nothing in the program's file"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
