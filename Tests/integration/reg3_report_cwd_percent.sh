#!/usr/bin/env bash
# Review of issue 3: a relative MAPWARDEN_REPORT is made absolute at start-up
# by prefixing the working directory, but the result is then expanded as a
# template at exit, so a '%' in the directory's name is taken for a
# directive: in ".../d%pe" the report goes to ".../d<pid>e/..." (ENOENT,
# falls back to stderr), and in ".../x%y" the template is invalid and the
# report is silently lost (and MAPWARDEN_LEAK_EXITCODE still applies).
# The directory's '%' must be kept literally (escaped as %% when prefixed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
unset MAPWARDEN_WINDOW MAPWARDEN_CONFIG MAPWARDEN_LOG MAPWARDEN_REPORT MAPWARDEN_REPORT_FORMAT MAPWARDEN_TRACK \
      MAPWARDEN_BACKTRACE_DEPTH MAPWARDEN_LEAK_EXITCODE MAPWARDEN_SUPPRESSIONS MAPWARDEN_CLOBBER MAPWARDEN_LIBUNWIND MAPWARDEN_CHILDREN
mkdir -p "$BUILD"
tmp=$(mktemp -d "$BUILD/r3cwd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/prog.c" <<'C'
#include "common.h"
int main(void) {
    CHECK(mmap(W(0x10000), PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == W(0x10000));
    CHECK(chdir("/") == 0);
    return 0;
}
C
$CC -std=gnu11 -O1 -Wall -I "$here" -I "$root/CShim/include" -o "$tmp/prog" "$tmp/prog.c" || { echo "cannot compile"; exit 1; }
failures=0
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
