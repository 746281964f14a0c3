#!/usr/bin/env bash
# MAPWARDEN_LOG=quiet: under warn nothing is printed, not the bad value, not
# the collision; under abort the fatal message is still printed. A config
# file over 1 MiB is refused with a clear message.
set -u
fail() { echo "log_quiet_silences_all_but_fatal: $*"; exit 1; }
out=$(MAPWARDEN_LOG=quiet MAPWARDEN_ON_RESERVE_FAILURE=warn MAPWARDEN_WINDOW=garbage LD_PRELOAD="$LIB" /bin/echo ran 2>&1)
[ "$out" = ran ] || fail "quiet+warn with a bad window printed: $out"

# Window occupied by a blocker that maps the default window's first page first.
cat >"$BUILD/quiet_blocker.c" <<'C'
#define _GNU_SOURCE
#include "raw_syscall.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
__attribute__((constructor)) static void block(void) {
    raw_syscall(SYS_mmap, 0x400000000000UL, 4096UL, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}
C
$CC -I "$(dirname "$0")/../include" -I "$(dirname "$0")/../../../CShim/include" -shared -fPIC -o "$BUILD/quiet_blocker.so" "$BUILD/quiet_blocker.c" || fail "cannot build the blocker"
# glibc runs the last-listed preload's constructor first: the blocker goes last.
out=$(MAPWARDEN_LOG=quiet MAPWARDEN_ON_RESERVE_FAILURE=warn LD_PRELOAD="$LIB:$BUILD/quiet_blocker.so" /bin/echo ran 2>&1)
[ "$out" = ran ] || fail "quiet+warn with an occupied window printed: $out"
out=$(MAPWARDEN_LOG=quiet LD_PRELOAD="$LIB:$BUILD/quiet_blocker.so" /bin/echo ran 2>&1); status=$?
[ $status -eq 71 ] || fail "quiet+abort with an occupied window: status $status, expected 71"
grep -q "cannot reserve the window" <<<"$out" || fail "quiet+abort printed no reason: $out"
grep -q "^mapwarden:   400000000000-" <<<"$out" || fail "quiet+abort did not list the collision: $out"

big="$BUILD/big.env"
{ echo "MAPWARDEN_LOG=info"; head -c $((1100 * 1024)) /dev/zero | tr '\0' '#'; echo; } >"$big"
out=$(MAPWARDEN_CONFIG="$big" LD_PRELOAD="$LIB" /bin/echo ran 2>&1); status=$?
[ $status -eq 78 ] || fail "a config file over 1 MiB: status $status, expected 78"
grep -q "larger than 1 MiB" <<<"$out" || fail "no reason for the big file: $out"
echo "log_quiet_silences_all_but_fatal: ok"
