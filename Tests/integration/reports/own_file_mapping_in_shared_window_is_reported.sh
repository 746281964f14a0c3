#!/usr/bin/env bash
# Leak reports treat EVERY mapping left in a shared or
# persistent window as "kept, not leaked" (LeakReport: backing != private
# -> kept), on the ground that "their pages live on in the window's file".
# That is true of anonymous mappings (they became the window file's pages),
# but not of the program's own file mappings there, which "are served as
# in a private window": a MAP_FIXED mmap of some other file, left mapped at
# exit, has nothing to do with the window's file. It is a leak like in any
# other window, yet it is not listed and MAPWARDEN_LEAK_EXITCODE ignores it.
# Expected: the file mapping is listed as a leak (exit status 23 with
# MAPWARDEN_LEAK_EXITCODE=23), the anonymous one is counted as kept.
. "$(dirname "$0")/../include/window_test_lib.bash" leak_own_file_mapping_in_shared_window_is_reported
shm="mw_leak_ownfile_$$"; cleanup_paths+=("/dev/shm/$shm")
printf 'some data of the program, not the window\n' >"$tmp/data"
cat >"$tmp/leaky.c" <<'C'
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char *a = mmap((void *)0x500000000000, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);   /* kept */
    int fd = open(argv[1], O_RDONLY);
    char *f = mmap((void *)0x500000100000, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);  /* leaked */
    close(fd);
    if (a == MAP_FAILED || f == MAP_FAILED) { perror("mmap"); return 3; }
    printf("FILE %.4s\n", f);
    return 0;
}
C
$CC -O1 -g -o "$tmp/leaky" "$tmp/leaky.c" || { echo "cannot compile"; exit 1; }
env "MAPWARDEN_WINDOW_IPC=0x500000000000:16M:shared=$shm" MAPWARDEN_LEAK_EXITCODE=23 MAPWARDEN_REPORT=stderr MAPWARDEN_REPORT_FORMAT=json \
    LD_PRELOAD="$LIB" "$tmp/leaky" "$tmp/data" >"$tmp/out" 2>"$tmp/err"; status=$?
grep -qx "FILE some" "$tmp/out" || { fail "the program did not map its file"; show; }
[ "$status" -eq 23 ] || fail "a file mapping left in the shared window did not trigger MAPWARDEN_LEAK_EXITCODE (status $status)"
grep -q '"start": "0x500000100000"' "$tmp/err" || grep -q '0x500000100000' "$tmp/err" ||
    fail "the file mapping at 0x500000100000 is not listed as a leak"
grep -q '"kept_mappings": 1' "$tmp/err" || fail "kept_mappings is not 1 (only the anonymous mapping is the window file's)"
[ "${step_failed:-0}" = 0 ] || show
ok "a program's own file mapping in a shared window is a leak"
done_all
