#!/usr/bin/env bash
# MAPWARDEN_LEAK_EXITCODE: with leaks left at exit the process
# exits with that status, after flushing stdio (a program's printf output,
# never flushed by the program, redirected to a file, is complete); without
# leaks, or with 0 (the default), the program's own status stands. Also
# through exit() with a status, and with the report going nowhere
# (MAPWARDEN_REPORT=none). Values outside 0..255 are refused with 78.
. "$(dirname "$0")/../include/report_test_lib.bash" lexit

cat >"$tmp/prog.c" <<'C'
#include "common.h"
#include "leak_helpers.h"

NOINLINE void leak_it(void) {
    char *p = mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x10000));
}
NOINLINE void map_and_free(void) {
    char *p = mmap(W(0x20000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0);
    CHECK(p == W(0x20000) && munmap(p, PAGE) == 0);
}

/* argv: leak|clean  return|exit  STATUS.  Writes 3000 numbered lines with
 * printf and never flushes: stdout is a file, so they sit in the buffer. */
int main(int argc, char **argv) {
    CHECK(argc == 4);
    if (strcmp(argv[1], "leak") == 0) leak_it(); else map_and_free();
    for (int i = 0; i < 3000; i++) printf("line %d of the program's buffered output\n", i);
    printf("LAST LINE (no newline)");
    int status = atoi(argv[3]);
    if (strcmp(argv[2], "exit") == 0) exit(status);
    return status;
}
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" ||
    { echo "cannot compile"; exit 1; }

# expect STATUS ENV... -- ARGS...
expect() {
    step_failed=0
    local want=$1; shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
    env "${envs[@]}" LD_PRELOAD="$LIB" "$tmp/prog" "$@" >"$tmp/out" 2>"$tmp/err"
    local status=$?
    local what="${envs[*]} prog $*"
    if [ $status -ne "$want" ]; then fail "$what: status $status, expected $want"; sed 's/^/    /' "$tmp/err" | head -n 20; return; fi
    if [ "$want" -ne 78 ]; then
        local lines; lines=$(grep -c '^line [0-9]* of the program' "$tmp/out")
        [ "$lines" -eq 3000 ] && [ "$(tail -c 22 "$tmp/out")" = "LAST LINE (no newline)" ] ||
            { fail "$what: stdout incomplete ($lines of 3000 lines; ends with '$(tail -c 30 "$tmp/out")')"; return; }
    fi
    ok "$what -> $status"
}

expect 23 MAPWARDEN_LEAK_EXITCODE=23 -- leak return 0
expect 23 MAPWARDEN_LEAK_EXITCODE=23 -- leak return 5
expect 23 MAPWARDEN_LEAK_EXITCODE=23 -- leak exit 0
expect 23 MAPWARDEN_LEAK_EXITCODE=23 MAPWARDEN_REPORT=none -- leak return 0
expect 23 MAPWARDEN_LEAK_EXITCODE=23 MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json -- leak return 0
expect 255 MAPWARDEN_LEAK_EXITCODE=255 -- leak return 0
expect 0 MAPWARDEN_LEAK_EXITCODE=23 -- clean return 0
expect 5 MAPWARDEN_LEAK_EXITCODE=23 -- clean return 5
expect 5 MAPWARDEN_LEAK_EXITCODE=23 -- clean exit 5
expect 5 MAPWARDEN_LEAK_EXITCODE=0 -- leak return 5
expect 0 MAPWARDEN_LEAK_EXITCODE=0 -- leak exit 0
expect 7 -- leak return 7
# the config file sets it too
printf 'MAPWARDEN_LEAK_EXITCODE=42\n' >"$tmp/cfg.env"
expect 42 MAPWARDEN_CONFIG="$tmp/cfg.env" -- leak return 0
expect 3 MAPWARDEN_CONFIG="$tmp/cfg.env" MAPWARDEN_LEAK_EXITCODE=3 -- leak return 0
# the report is still written before the exit status is changed
expect 23 MAPWARDEN_LEAK_EXITCODE=23 -- leak return 0
grep -q '^SUMMARY: mapwarden: 4096 bytes leaked in 1 mapping' "$tmp/err" || { fail "no report on stderr with LEAK_EXITCODE"; cat "$tmp/err"; }
# bad values
for v in 256 -1 abc 1.5 "" 0x10; do
    expect 78 MAPWARDEN_LEAK_EXITCODE="$v" -- leak return 0
    grep -qF "MAPWARDEN_LEAK_EXITCODE=\"$v\"" "$tmp/err" || fail "LEAK_EXITCODE=$v: the message does not name key and value"
done

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
