#!/usr/bin/env bash
# AT_SECURE: in a setuid program run by another user, mapwarden reads no
# configuration from the environment and stays inactive. ld.so only preloads
# a library into such a process from a system directory and with its setuid
# bit set, so the test installs a copy there for the duration of the test.
set -u
fail() { echo "setuid_program_stays_inactive: $*"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "setuid_program_stays_inactive: skipped: needs root to make a setuid program"; exit 0; }
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
libdir=$(dirname "$(readlink -f "$($CC -print-file-name=libc.so.6)")")
[ -d "$libdir" ] || fail "cannot find the system library directory"
name="libmapwarden-rob-secure-$$.so"
dir=$(mktemp -d /var/tmp/mw-secure.XXXXXX)
trap 'rm -f "$libdir/$name"; rm -rf "$dir"' EXIT
chmod 755 "$dir"
install -m 4755 "$LIB" "$libdir/$name" || fail "cannot install the library copy"
cat >"$dir/probe.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
int main(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int window = 0, loaded = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "400000000000-", 13) == 0) window = 1;
        if (strstr(line, "libmapwarden-rob-secure")) loaded = 1;
    }
    printf("secure=%lu loaded=%d window=%d\n", getauxval(AT_SECURE), loaded, window);
    return 0;
}
C
$CC -o "$dir/probe" "$dir/probe.c" || fail "cannot build the probe"
chmod 4755 "$dir/probe"
# As root (not secure): the copy is active.
out=$(LD_PRELOAD="$name" "$dir/probe")
[ "$out" = "secure=0 loaded=1 window=1" ] || fail "as root: $out (expected the window)"
# As nobody, running the setuid-root probe: secure, loaded, inactive, and
# even a bad configuration in the environment is not looked at.
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups env LD_PRELOAD="$name" MAPWARDEN_WINDOW=garbage "$dir/probe" 2>&1)
[ "$out" = "secure=1 loaded=1 window=0" ] || fail "setuid as nobody: $out (expected loaded, no window, no message)"
echo "setuid_program_stays_inactive: ok ($out)"
