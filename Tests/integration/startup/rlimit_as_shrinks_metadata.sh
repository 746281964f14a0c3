#!/usr/bin/env bash
# RLIMIT_AS (ulimit -v) that leaves room for the window but not for
# mapwarden's metadata at its full size (about 1.8 GiB of address space;
# 2.3 GiB with the clobber guard): the arenas are made smaller, within half
# of what the limit leaves, and the program runs and uses the window. When
# even the smallest arenas do not fit, the program stops before main with
# status 71 and a message naming RLIMIT_AS, its value, what the windows and
# the rest of the process take, and what mapwarden needs.
. "$(dirname "$0")/../include/report_test_lib.bash" cfgrlimitas
unset MAPWARDEN_ON_RESERVE_FAILURE
show() { echo "--- status $status; stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"; }

cat >"$tmp/prog.c" <<'C'
#include "common.h"
#include "mapwarden.h"
/* 2000 one-page mappings in the window (every other page, so that none
 * merge), a query (not without the preload: argv[1] "alone"), all
 * unmapped; then a 16 MiB malloc outside. */
int main(int argc, char **argv) {
    int alone = argc > 1 && strcmp(argv[1], "alone") == 0;
    for (int i = 0; i < 2000; i++)
        CHECK(mmap(W(0x100000 + 2 * i * PAGE), PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
              == W(0x100000 + 2 * i * PAGE));
    struct mapwarden_info info;
    CHECK(alone || (mapwarden_query(W(0x100000 + 2 * 1999 * PAGE), &info) == 0 && info.state == MAPWARDEN_MAPPED));
    for (int i = 0; i < 2000; i++) CHECK(munmap(W(0x100000 + 2 * i * PAGE), PAGE) == 0);
    char *big = malloc(16 << 20);
    CHECK(big);
    memset(big, 1, 16 << 20);
    printf("RESULT ok\n");
    return 0;
}
C
$CC -std=gnu11 -O1 -g -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile"; exit 1; }

window_kib=$(( (1 << 40) / 1024 ))
run() { # EXTRA-MiB ENV...
    step_failed=0
    local extra=$1; shift
    limit_kib=$(( window_kib + extra * 1024 ))
    (ulimit -v $limit_kib; exec env "$@" LD_PRELOAD="$LIB" "$tmp/prog") >"$tmp/out" 2>"$tmp/err"
    status=$?
}
# The program itself fits in 64 MiB more than the window: the kernel as the oracle.
(ulimit -v $(( 64 * 1024 )); exec "$tmp/prog" alone) >"$tmp/out" 2>"$tmp/err" && grep -q "RESULT ok" "$tmp/out" ||
    { status=$?; fail "without the preload, in 64 MiB"; show; }

for env in "MAPWARDEN_LOG=info" "MAPWARDEN_CLOBBER=report" "MAPWARDEN_TRACK=all"; do
    for extra in 64 300 1000; do
        run $extra "$env"
        [ $status -eq 0 ] && grep -q "RESULT ok" "$tmp/out" || { fail "$env, window + $extra MiB: status $status"; show; }
        ok "$env, window + $extra MiB: runs"
    done
done

# too little even for the smallest arenas
run 6
[ $status -eq 71 ] || { fail "window + 6 MiB: status $status, expected 71"; show; }
grep -qE "^mapwarden: cannot map memory for the registry \(ENOMEM\): RLIMIT_AS \(ulimit -v\) allows $((limit_kib * 1024)) bytes of address space; the windows take 1099511627776, the rest of the process [0-9]+, and mapwarden's metadata needs at least [0-9]+ more$" "$tmp/err" ||
    { fail "window + 6 MiB: the message"; show; }
ok "window + 6 MiB: 71, $(head -1 "$tmp/err" | cut -c1-80)..."
run 6 MAPWARDEN_ON_RESERVE_FAILURE=warn
[ $status -eq 1 ] && grep -q "RLIMIT_AS (ulimit -v) allows" "$tmp/err" && grep -q "runs without a window" "$tmp/err" ||
    { fail "window + 6 MiB under warn (the program's own query fails: no window)"; show; }
ok "under warn: runs without a window"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
