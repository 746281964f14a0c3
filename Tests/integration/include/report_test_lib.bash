# Shared set-up of the test scripts that check reports, stacks and
# configuration messages (sourced, not a test itself: run.sh skips
# include/). Usage, first thing in a script:
#   . "$(dirname "$0")/../include/report_test_lib.bash" NAME
# Gives here (the script's folder), include (this folder: pass -I "$include"
# for common.h and the other headers), root, PY, a clean MAPWARDEN_*
# environment, a scratch directory $tmp (removed at exit), and fail / ok /
# show for reporting steps.
set -u
here=$(cd "$(dirname "$0")" && pwd)
include=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$include/../../.." && pwd)
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
unset MAPWARDEN_WINDOW MAPWARDEN_CONFIG MAPWARDEN_LOG MAPWARDEN_REPORT MAPWARDEN_REPORT_FORMAT MAPWARDEN_TRACK \
      MAPWARDEN_BACKTRACE_DEPTH MAPWARDEN_LEAK_EXITCODE MAPWARDEN_SUPPRESSIONS MAPWARDEN_CLOBBER MAPWARDEN_LIBUNWIND MAPWARDEN_CHILDREN \
      MAPWARDEN_FAULTS MAPWARDEN_RAW_SYSCALLS
mkdir -p "$BUILD"
tmp=$(mktemp -d "$BUILD/$1.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); step_failed=1; }
ok() { [ "${step_failed:-0}" = 0 ] && echo "ok: $*"; step_failed=0; }
show() { echo "--- status $status; stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"; for f in "$@"; do echo "--- $f:"; cat "$f"; done; }
