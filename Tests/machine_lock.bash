# Sourced by Tests/integration/run.sh, Tests/cli/run.sh and Tests/bench/run.sh.
#
# A few integration tests change a machine-wide setting for a while: a
# sysctl (vm.max_map_count lowered to 4096, vm.mmap_rnd_bits raised to 32,
# vm.nr_hugepages raised). They say so with a line "# EXCLUSIVE: why"
# ("// EXCLUSIVE: why" in a C test). Another run of the tests on the same
# machine (another work tree, a CI clone) would see the setting changed
# under it (a test that needs 60,000 mappings fails at a limit of 4096),
# and two such tests at once save each other's temporary value as "the
# old one" and leave it set for good. So each test runs under one lock for
# the whole machine: shared for the ordinary tests, exclusive for those.
# A turnstile taken on the way in keeps a waiting exclusive test from being
# starved by the other runs' shared holders.
#
#   machine_lock shared|exclusive     before the test
#   machine_unlock                    after it
# The test itself runs with the two descriptors closed:
#   CMD... {mw_lock_ts}>&- {mw_lock_rw}>&-
# (no locking when flock or the lock directory is missing)
MW_LOCKDIR=${MAPWARDEN_TEST_LOCKDIR:-/tmp}
mw_locking=0
for f in "$MW_LOCKDIR"/mapwarden-tests.turnstile "$MW_LOCKDIR"/mapwarden-tests.lock; do
    # (readable by every user: flock needs no write access)
    [ -e "$f" ] || { : >>"$f" && chmod 0644 "$f"; } 2>/dev/null
done
if command -v flock >/dev/null 2>&1 &&
   { exec {mw_lock_ts}<"$MW_LOCKDIR/mapwarden-tests.turnstile" && exec {mw_lock_rw}<"$MW_LOCKDIR/mapwarden-tests.lock"; } 2>/dev/null
then mw_locking=1
else exec {mw_lock_ts}>/dev/null {mw_lock_rw}>/dev/null
fi

machine_lock() {
    [ $mw_locking = 1 ] || return 0
    flock -x "$mw_lock_ts"
    if [ "$1" = exclusive ]; then flock -x "$mw_lock_rw"    # keeps the turnstile until unlocked
    else flock -s "$mw_lock_rw"; flock -u "$mw_lock_ts"; fi
}
machine_unlock() {
    [ $mw_locking = 1 ] || return 0
    flock -u "$mw_lock_rw"; flock -u "$mw_lock_ts"
}
