#!/usr/bin/env bash
# The report goes to the stderr the process started with: a
# program that closes fds 1 and 2 before exit (as coreutils do), or that
# then opens files which get fds 1 and 2, still has its report on the
# original stderr, and nothing lands in the files it opened. Also with a
# leak-free run under MAPWARDEN_REPORT=stderr (the one "no leaks" line).
. "$(dirname "$0")/../include/report_test_lib.bash" lstderr
show() { echo "--- status $status; stderr:"; cat "$tmp/err"; for f in "$@"; do echo "--- $f:"; cat "$f"; done; }

cat >"$tmp/closer.c" <<'C'
#include <fcntl.h>
#include "common.h"
#include "leak_helpers.h"
NOINLINE void leak_before_close(void) {
    char *p = mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x10000));
}
/* argv: leak|clean  close|reopen  DIR */
int main(int argc, char **argv) {
    CHECK(argc == 4);
    char *p = mmap(W(0x30000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x30000) && munmap(p, PAGE) == 0);
    if (strcmp(argv[1], "leak") == 0) leak_before_close();
    fclose(stdout);
    fclose(stderr);                  /* closes fds 1 and 2 */
    if (strcmp(argv[2], "reopen") == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/fd1.txt", argv[3]);
        int a = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        snprintf(path, sizeof path, "%s/fd2.txt", argv[3]);
        int b = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (a != 1 || b != 2) _exit(3);
    }
    return 0;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/closer" "$tmp/closer.c" ||
    { echo "cannot compile"; exit 1; }

for how in close reopen; do
    step_failed=0
    rm -f "$tmp/fd1.txt" "$tmp/fd2.txt"
    LD_PRELOAD="$LIB" "$tmp/closer" leak $how "$tmp" >"$tmp/out" 2>"$tmp/err"; status=$?
    [ $status -eq 0 ] || { fail "$how: status $status"; show; continue; }
    grep -q '^SUMMARY: mapwarden: 4096 bytes leaked in 1 mapping' "$tmp/err" && grep -q 'leak_before_close' "$tmp/err" ||
        { fail "$how: the report is not on the original stderr"; show; }
    [ ! -s "$tmp/out" ] || { fail "$how: something on stdout"; show "$tmp/out"; }
    if [ $how = reopen ]; then
        [ -f "$tmp/fd1.txt" ] && [ ! -s "$tmp/fd1.txt" ] && [ ! -s "$tmp/fd2.txt" ] ||
            { fail "reopen: the report went into the program's files"; show "$tmp/fd1.txt" "$tmp/fd2.txt"; }
    fi
    ok "leak, $how"

    LD_PRELOAD="$LIB" MAPWARDEN_REPORT=stderr "$tmp/closer" clean $how "$tmp" >"$tmp/out" 2>"$tmp/err"; status=$?
    pattern='^mapwarden: no leaks \(pid [0-9]+, 1 mappings? tracked, (all )?unmapped\)$'
    [ $status -eq 0 ] && [ "$(wc -l <"$tmp/err")" -eq 1 ] && grep -qE "$pattern" "$tmp/err" ||
        { fail "clean, $how: expected the one no-leaks line on the original stderr"; show; }
    ok "clean, $how"
done

# JSON to stderr too
LD_PRELOAD="$LIB" MAPWARDEN_REPORT_FORMAT=json "$tmp/closer" leak reopen "$tmp" >"$tmp/out" 2>"$tmp/err"; status=$?
/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if r["summary"]["leaked_mappings"]==1 else 1)' "$tmp/err" &&
    [ ! -s "$tmp/fd2.txt" ] || { fail "JSON on the original stderr"; show; }
ok "JSON on the original stderr"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
