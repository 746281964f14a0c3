#!/usr/bin/env bash
# A relative MAPWARDEN_REPORT is made absolute at start-up
# by prefixing the working directory, but the result is then expanded as a
# template at exit, so a '%' in the directory's name is taken for a
# directive: in ".../d%pe" the report goes to ".../d<pid>e/..." (ENOENT,
# falls back to stderr), and in ".../x%y" the template is invalid and the
# report is silently lost (and MAPWARDEN_LEAK_EXITCODE still applies).
# The directory's '%' must be kept literally (escaped as %% when prefixed).
. "$(dirname "$0")/../include/report_test_lib.bash" lcwdpercent
cat >"$tmp/prog.c" <<'C'
#include "common.h"
int main(void) {
    CHECK(mmap(W(0x10000), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == W(0x10000));
    CHECK(chdir("/") == 0);
    return 0;
}
C
$CC -std=gnu11 -O1 -Wall -I "$include" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile"; exit 1; }
for dir in 'd%pe' 'x%y' 'end%'; do
    mkdir -p "$tmp/$dir"
    (cd "$tmp/$dir" && env MAPWARDEN_BACKTRACE_DEPTH=0 MAPWARDEN_REPORT=report.txt LD_PRELOAD="$LIB" "$tmp/prog") 2>"$tmp/err"
    if ! grep -q '^SUMMARY: mapwarden: 4096 bytes leaked in 1 mapping' "$tmp/$dir/report.txt" 2>/dev/null; then
        echo "FAIL: cwd '$dir': no report in '$dir/report.txt'; stderr:"; sed 's/^/    /' "$tmp/err" | head -n 3
        failures=$((failures + 1))
    else
        echo "ok: cwd '$dir'"
    fi
done
exit $((failures > 0))
