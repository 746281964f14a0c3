# Shared set-up of the leak-report test scripts (sourced, not a test itself:
# run.sh runs *.sh only). Usage, first thing in a script:
#   . "$(dirname "$0")/report_test_lib.bash" NAME
# Gives here, root, PY, a clean MAPWARDEN_* environment, a scratch directory
# $tmp (removed at exit), and fail / ok / show for reporting steps.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
unset MAPWARDEN_WINDOW MAPWARDEN_CONFIG MAPWARDEN_LOG MAPWARDEN_REPORT MAPWARDEN_REPORT_FORMAT MAPWARDEN_TRACK \
      MAPWARDEN_BACKTRACE_DEPTH MAPWARDEN_LEAK_EXITCODE MAPWARDEN_SUPPRESSIONS MAPWARDEN_CLOBBER MAPWARDEN_LIBUNWIND MAPWARDEN_CHILDREN
mkdir -p "$BUILD"
tmp=$(mktemp -d "$BUILD/$1.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); step_failed=1; }
ok() { [ "${step_failed:-0}" = 0 ] && echo "ok: $*"; step_failed=0; }
show() { echo "--- status $status; stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"; for f in "$@"; do echo "--- $f:"; cat "$f"; done; }
