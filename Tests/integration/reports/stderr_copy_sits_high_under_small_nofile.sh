#!/usr/bin/env bash
# The copy of standard error kept for the report should sit
# high, above the program's usual descriptors. With RLIMIT_NOFILE at 64 or
# less (ulimit -n 20) it is made with F_DUPFD from 3 and takes descriptor 3,
# so the program's first open() returns 4. It should take the highest free
# number under the limit (limit - 1 downwards). (Stacks off: libunwind's own
# pipe is stacks/libunwind_leaves_program_descriptors_alone.)
. "$(dirname "$0")/../include/report_test_lib.bash" lnofile
cat >"$tmp/prog.c" <<'C'
#include <fcntl.h>
#include "common.h"
int main(void) {
    int fd = open("/dev/null", O_RDONLY);
    printf("FIRST %d\n", fd);
    CHECK(mmap(W(0x10000), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == W(0x10000));
    close(2); /* the report must still reach the original stderr */
    return 0;
}
C
$CC -std=gnu11 -O1 -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile"; exit 1; }
for limit in 20 64; do
    first_without=$(ulimit -n $limit; "$tmp/prog" 2>/dev/null | sed -n 's/^FIRST //p')
    first_with=$(ulimit -n $limit; env MAPWARDEN_BACKTRACE_DEPTH=0 LD_PRELOAD="$LIB" "$tmp/prog" 2>"$tmp/err" | sed -n 's/^FIRST //p')
    if [ "$first_with" != "$first_without" ] || ! grep -q '^SUMMARY: mapwarden: 4096 bytes leaked' "$tmp/err"; then
        echo "FAIL: ulimit -n $limit: first open() gives $first_with under the preload, $first_without without; report: $(grep -c SUMMARY "$tmp/err")"
        failures=$((failures + 1))
    else
        echo "ok: ulimit -n $limit"
    fi
done
exit $((failures > 0))
