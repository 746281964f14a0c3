#!/usr/bin/env bash
# mlock on a free window page, by an
# unprivileged user with RLIMIT_MEMLOCK 0. The kernel refuses such a caller
# with EPERM before it looks at the range (so EPERM on unmapped memory too);
# mapwarden answered ENOMEM. The program runs as nobody (setpriv, when the
# test runs as root; directly otherwise), sets RLIMIT_MEMLOCK to 0, checks
# the raw kernel's answers on a hole and on a mapped page outside the window,
# and requires the same answers from mlock, mlock2 (flags 0, MLOCK_ONFAULT)
# and munlock on free and mapped window pages, with nothing changed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
include=$root/Tests/integration/include
fail() { echo "mlock_unprivileged_zero_memlock_is_eperm: $*"; exit 1; }
dir=$(mktemp -d /tmp/mw-mlock-eperm.XXXXXX) || fail "mktemp"
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
cat >"$dir/prog.c" <<'C'
#include "common.h"
#include "win_helpers.h"
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 1
#endif
#define RAW_ERR(expr) (errno = 0, (long)(expr) == -1 ? errno : 0)
#define SAME(raw_err, call) do { errno = 0; long _r = (long)(call); int _e = _r == -1 ? errno : 0; \
    if (_e != (raw_err)) { \
        fprintf(stderr, "%s:%d: %s returned %ld errno %d (%s); the raw kernel: errno %d (%s)\n", __FILE__, __LINE__, \
                #call, _r, _e, strerror(_e), (raw_err), strerror(raw_err)); dump_window(); exit(1); } } while (0)
int main(void) {
    CHECK(geteuid() != 0);
    struct rlimit zero = { 0, 0 };
    CHECK(setrlimit(RLIMIT_MEMLOCK, &zero) == 0);
    CHECK_WHOLE();
    /* just above the window, where mmap(NULL) (top-down) puts nothing meanwhile */
    char *hole = (char *)window_end() + 0x100000;
    char *mapped = mmap((char *)window_end() + 0x200000, PAGE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    CHECK(mapped == (char *)window_end() + 0x200000);
    CHECK(kernel_unmapped((uintptr_t)hole, (uintptr_t)hole + PAGE));
    CHECK(kernel_unmapped((uintptr_t)mapped + PAGE, (uintptr_t)mapped + 2 * PAGE));
    char *wfree = W(0x200000);
    char *wmap = map_fixed(W(0x100000), PAGE, PROT_READ | PROT_WRITE);
    wmap[0] = 1;
    int e = RAW_ERR(raw_syscall(SYS_mlock, hole, PAGE));
    printf("uid %d, RLIMIT_MEMLOCK 0: raw mlock on a hole: errno %d (%s)\n", (int)getuid(), e, strerror(e));
    if (e != EPERM) { printf("SKIP: the kernel does not refuse this user mlock (CAP_IPC_LOCK?)\n"); return 77; }
    SAME(e, mlock(wfree, PAGE));
    e = RAW_ERR(raw_syscall(SYS_mlock2, hole, PAGE, 0));             SAME(e, mlock2(wfree, PAGE, 0));
    CHECK(e == EPERM);
    e = RAW_ERR(raw_syscall(SYS_mlock2, hole, PAGE, MLOCK_ONFAULT)); SAME(e, mlock2(wfree, PAGE, MLOCK_ONFAULT));
    CHECK(e == EPERM);
    e = RAW_ERR(raw_syscall(SYS_mlock, mapped, PAGE));               SAME(e, mlock(wmap, PAGE));
    CHECK(e == EPERM);
    e = RAW_ERR(raw_syscall(SYS_mlock, mapped, 2 * PAGE));           SAME(e, mlock(wmap, 2 * PAGE));
    e = RAW_ERR(raw_syscall(SYS_munlock, hole, PAGE));               SAME(e, munlock(wfree, PAGE));
    e = RAW_ERR(raw_syscall(SYS_munlock, mapped, PAGE));             SAME(e, munlock(wmap, PAGE));
    CHECK_FREE(wfree);
    CHECK_FREE(wmap + PAGE);
    CHECK(strcmp(perms_at(wmap), "rw-p") == 0 && wmap[0] == 1);
    CHECK_CONSISTENT(1);
    CHECK(kernel_unmapped((uintptr_t)hole, (uintptr_t)hole + PAGE));
    CHECK(munmap(wmap, PAGE) == 0);
    CHECK_WHOLE();
    printf("ok\n");
    return 0;
}
C
$CC -std=gnu11 -O1 -g -Wall -I "$include" -I "$root/CShim/include" -o "$dir/prog" "$dir/prog.c" || fail "cannot build the program"
cp "$LIB" "$dir/lib.so" && chmod 755 "$dir/lib.so" || fail "cannot copy the library"
if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null || { echo "mlock_unprivileged_zero_memlock_is_eperm: skipped: needs setpriv to run as an unprivileged user"; exit 0; }
    run=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all env)
else
    run=(env)
fi
"${run[@]}" LD_PRELOAD="$dir/lib.so" "$dir/prog"
status=$?
[ $status = 77 ] && { echo "mlock_unprivileged_zero_memlock_is_eperm: skipped (see above)"; exit 0; }
[ $status = 0 ] || fail "the program failed (status $status)"
