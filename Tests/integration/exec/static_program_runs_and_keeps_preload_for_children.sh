#!/usr/bin/env bash
# exec of a program that is not dynamically linked (gcc -static) from a
# preloaded process: it runs (no ld.so, so LD_PRELOAD is ignored;
# the window address is free in it), its exit status and its death by a
# signal reach the preloaded parent unchanged, and LD_PRELOAD stays in its
# environment, so a dynamic program it execs is preloaded again (window
# held).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
include=$root/Tests/integration/include
out="$BUILD/static_program_runs_and_keeps_preload_for_children"
mkdir -p "$out"
fail() { echo "static_program_runs_and_keeps_preload_for_children: $*"; exit 1; }

cat >"$out/static.c" <<'C'
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
int main(int argc, char **argv) {
    /* no preload here: nothing reserved at the window, nothing mapwarden in maps */
    char *w = (char *)0x400000000000UL;
    char *p = mmap(w, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != w) { fprintf(stderr, "static: the window address is taken (%p)\n", (void *)p); return 90; }
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        /* (the library or the reservation: a checkout's own path may say "mapwarden") */
        if (strstr(line, "libmapwarden") || strstr(line, "[anon:mapwarden]") || strstr(line, "ld-linux")) {
            fprintf(stderr, "static: %s", line);
            return 91;
        }
    const char *pre = getenv("LD_PRELOAD");
    if (!pre || !strstr(pre, "mapwarden")) { fprintf(stderr, "static: LD_PRELOAD lost\n"); return 92; }
    if (argc > 1 && !strcmp(argv[1], "signal")) raise(SIGUSR1);
    if (argc > 2 && !strcmp(argv[1], "exec")) { execv(argv[2], argv + 2); return 93; }
    return 42;
}
C

cat >"$out/parent.c" <<'C'
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
static int run(char *const argv[]) {
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) { execv(argv[0], argv); _exit(127); }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return st;
}
int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "check")) {
        /* exec'ed by the static program: preloaded again */
        CHECK(registry_consistent() == 0);
        CHECK(for_each_maps_line(window_base(), window_base() + window_size(), NULL, NULL) == 1);
        return 7;
    }
    const char *st_path = getenv("EDGE_STATIC");
    CHECK(st_path != NULL);
    /* the window is held here, with a mapping in it */
    char *p = mmap(W(0x1000), PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    CHECK(p == W(0x1000));
    CHECK(registry_consistent() == 1);
    int st = run((char *const[]){ (char *)st_path, NULL });
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 42);
    st = run((char *const[]){ (char *)st_path, "signal", NULL });
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGUSR1);
    st = run((char *const[]){ (char *)st_path, "exec", argv[0], "check", NULL });
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    /* and exec'ing it directly replaces this image; status is the static one's */
    if (argc > 1 && !strcmp(argv[1], "replace")) { execl(st_path, st_path, (char *)NULL); return 1; }
    CHECK(registry_consistent() == 1);
    return 0;
}
C

if ! $CC -static -O1 -o "$out/static" "$out/static.c" 2>"$out/cc.log"; then
    if grep -qiE 'cannot find -lc|crt1|libc\.a' "$out/cc.log"; then
        echo "skipped: no static C library here (gcc -static fails):"; sed 's/^/    /' "$out/cc.log"; exit 0
    fi
    cat "$out/cc.log"; fail "cannot build the static program"
fi
file "$out/static" 2>/dev/null | grep -q 'statically linked' || ! readelf -l "$out/static" | grep -q INTERP ||
    fail "the static program has an interpreter"
$CC -std=gnu11 -O1 -g -Wall -I "$include" -I "$root/CShim/include" -o "$out/parent" "$out/parent.c" || fail "cannot build parent"

status=0
EDGE_STATIC="$out/static" LD_PRELOAD="$LIB" timeout 10 "$out/parent" >"$out/run.log" 2>&1
st=$?
if [ $st -eq 0 ]; then echo "ok: fork+exec of the static program"; else echo "FAILED ($st)"; cat "$out/run.log"; status=1; fi
EDGE_STATIC="$out/static" LD_PRELOAD="$LIB" timeout 10 "$out/parent" replace >"$out/run.log" 2>&1
st=$?
if [ $st -eq 42 ]; then echo "ok: exec in place, status 42"; else echo "FAILED: exec in place gave $st, expected 42"; cat "$out/run.log"; status=1; fi
# the shell itself preloaded, running it directly
LD_PRELOAD="$LIB" bash -c "\"$out/static\"; exit \$?" >"$out/run.log" 2>&1
st=$?
if [ $st -eq 42 ]; then echo "ok: from a preloaded bash, status 42"; else echo "FAILED: from a preloaded bash: $st"; cat "$out/run.log"; status=1; fi
exit $status
