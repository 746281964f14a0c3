#!/usr/bin/env bash
# When the libunwind MAPWARDEN_LIBUNWIND names cannot be used, the warning
# and the report's reason name the key and the configured path (and the
# loader's own words), never the default libunwind.so.8 that was not even
# tried. The default, when it cannot be loaded, is still named as such.
. "$(dirname "$0")/../include/report_test_lib.bash" lunwpath
libm=$(realpath /lib/x86_64-linux-gnu/libm.so.6 2>/dev/null || echo /lib/x86_64-linux-gnu/libm.so.6)

check() { # PATH EXPECTED-WARNING-TAIL
    step_failed=0
    env MAPWARDEN_LIBUNWIND="$1" MAPWARDEN_REPORT="$tmp/r.json" MAPWARDEN_REPORT_FORMAT=json LD_PRELOAD="$LIB" /bin/true \
        >"$tmp/out" 2>"$tmp/err"; status=$?
    [ $status -eq 0 ] || fail "$1: status $status"
    local want="MAPWARDEN_LIBUNWIND=\"$1\"$2"
    grep -qxF "mapwarden: leak reports will have no stacks: $want" "$tmp/err" || fail "$1: warning"
    grep -q 'libunwind\.so\.8' "$tmp/err" && fail "$1: the warning names libunwind.so.8"
    "$PY" - "$tmp/r.json" "$want" <<'PY' || fail "$1: report"
import json, sys
s = json.load(open(sys.argv[1]))["stacks"]
if s.get("available") is not False or s.get("reason") != sys.argv[2]: print("FAIL: stacks %r" % s); sys.exit(1)
PY
    [ "$step_failed" = 0 ] || { echo "--- stderr:"; cat "$tmp/err"; echo "--- report:"; cat "$tmp/r.json"; }
}

check /bad " could not be loaded: /bad: cannot open shared object file: No such file or directory"
ok "a path that does not exist"
check "$tmp/no-such-dir/libunwind.so" " could not be loaded: $tmp/no-such-dir/libunwind.so: cannot open shared object file: No such file or directory"
ok "another"
check "$libm" ": the library loaded has no unw_backtrace"
ok "a library that is not libunwind"

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
