# Shared set-up of the test scripts that run several processes over named,
# shared and persistent windows (shared-windows/, config/ and api/ scripts,
# among others). Sourced, not a test itself (run.sh skips include/).
# Usage, first thing in a script:
#   . "$(dirname "$0")/../include/window_test_lib.bash" NAME
# Gives here (the script's folder), include (this folder: pass -I "$include"
# for common.h and the other headers), root, PY, a clean environment (no MAPWARDEN_* variable at
# all, named windows included, but MAPWARDEN_SYMBOLIZER=none), a scratch directory $tmp and a unique
# suffix $uniq (removed / cleaned at exit, with every path added to
# cleanup_paths), fail / ok / show / finish for reporting steps, and:
#   build_wprobe            compiles $tmp/wprobe (see its commands below)
#   run ENV... -- ARGS...   runs $tmp/wprobe ARGS under the preload with ENV:
#                           sets status, $tmp/out, $tmp/err
#   start NAME ENV... -- ARGS...   starts wprobe in the background with its
#                           stdin and stdout on FIFOs ($tmp/NAME.err for
#                           stderr); pid_NAME holds its pid
#   await NAME WORD         reads NAME's stdout until the line WORD (or its
#                           end; 30 s without a line: a hang, on any machine)
#   tell NAME               sends NAME one line (wakes its "wait" command)
#   finish NAME             waits for NAME; sets status
#   kill_finish NAME        SIGKILLs NAME, then finish
set -u
here=$(cd "$(dirname "$0")" && pwd)
include=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$include/../../.." && pwd)
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
for v in $(compgen -e); do case $v in MAPWARDEN_*) unset "$v" ;; esac; done
# (The reports checked here are named by the library itself: see run.sh.)
export MAPWARDEN_SYMBOLIZER=none
: "${BUILD:=$root/build/itest}" "${CC:=cc}" "${LIB:=$root/build/libmapwarden.so}"
export BUILD CC LIB
mkdir -p "$BUILD"
tmp=$(mktemp -d "$BUILD/$1.XXXXXX")
uniq="$1-$$"
cleanup_paths=()
bg_pids=()
cleanup() {
    local p
    for p in "${bg_pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    for p in "${cleanup_paths[@]}"; do rm -rf -- "$p"; done
    rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
status=0
: >"$tmp/out"; : >"$tmp/err"
fail() { echo "FAIL: $*"; failures=$((failures + 1)); step_failed=1; }
ok() { [ "${step_failed:-0}" = 0 ] && echo "ok: $*"; step_failed=0; }
show() { echo "--- status $status; stdout:"; cat "$tmp/out"; echo "--- stderr:"; cat "$tmp/err"; local f; for f in "$@"; do echo "--- $f:"; cat "$f"; done; }
done_all() { [ $failures -eq 0 ] && echo "all ok"; exit $((failures > 0)); }

# --- the probe program -------------------------------------------------------
# wprobe runs its arguments as commands, in order (addresses in hex):
#   main                      prints MAIN REACHED
#   pid                       prints PID <pid>
#   map ADDR LEN [KIND]       mmap(ADDR, LEN, RW, MAP_ANONYMOUS | KIND) where KIND is
#                             fixed (MAP_PRIVATE|MAP_FIXED, the default), shared
#                             (MAP_SHARED|MAP_FIXED), noreplace, hint (MAP_PRIVATE, no
#                             fixed flag); prints MAPPED <addr> (exit 3 if not ADDR)
#   trymap ADDR LEN           the same MAP_PRIVATE MAP_FIXED; prints MAPPED <addr>, or
#                             MAPFAIL <EINVAL or the strerror text> and goes on
#   remap OLD LEN NEW         mremap(OLD, LEN, LEN, MREMAP_MAYMOVE|MREMAP_FIXED, NEW); prints
#                             REMAPPED <addr>, or REMAPFAIL <EINVAL or strerror> and goes on
#   grow ADDR OLD NEW         mremap(ADDR, OLD, NEW, 0): grows in place (exit 3 otherwise)
#   alloc WIN LEN             mapwarden_alloc(WIN or NULL for "-", LEN, 0, RW, MAP_PRIVATE);
#                             prints ALLOC <addr> (exit 3 on failure)
#   fill ADDR LEN SEED        writes the pattern of SEED
#   check ADDR LEN SEED       exit 4 unless the pattern is there; prints CHECKED SEED
#   zero ADDR LEN             exit 4 unless all zero; prints ZERO
#   unmap ADDR LEN            munmap (exit 5 on failure)
#   line ADDR                 prints LINE <the /proc/self/maps line holding ADDR>
#   query ADDR                prints QUERY <state> <window> <flags> <base> <size>
#   windows                   prints WINDOWS <count>, then per window:
#                             WINDOW <name> <base> <size> <backing> <path or ->
#   forkfill ADDR LEN SEED    a forked child writes the pattern and exits normally;
#                             prints CHILD FILLED SEED (exit 7 if the child failed)
#   mapfile ADDR LEN PATH     mmap(ADDR, LEN, PROT_READ, MAP_PRIVATE|MAP_FIXED) of PATH;
#                             prints MAPPED FILE <addr> <its first 8 bytes>
#   tag ADDR VALUE            mapwarden_set_tag (exit 8 on failure)
#   gettag ADDR               prints TAG <value> (exit 8 on failure)
#   wait                      prints READY, then reads one line from stdin
#   kill                      SIGKILL itself
#   _exit                     _exit(0) without exit handlers
#   exec ARGS...              exec()s itself (same pid) with the rest as its commands
# and returns 0 from main when the commands run out.
build_wprobe() {
    cat >"$tmp/wprobe.c" <<'C'
#include "common.h"
#include "win_helpers.h"
#include "api_helpers.h"
#include <signal.h>
#include <stdarg.h>

static unsigned long hex(const char *s) { return strtoul(s, NULL, 16); }
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...) {
    va_list ap; va_start(ap, fmt); vprintf(fmt, ap); va_end(ap); putchar('\n'); fflush(stdout);
}
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *c = argv[i];
#define ARG(k) (i + (k) < argc ? argv[i + (k)] : (fprintf(stderr, "wprobe: %s needs more arguments\n", c), exit(2), ""))
        if (!strcmp(c, "main")) out("MAIN REACHED");
        else if (!strcmp(c, "pid")) out("PID %d", (int)getpid());
        else if (!strcmp(c, "map")) {
            char *at = (char *)hex(ARG(1)); size_t len = hex(ARG(2)); i += 2;
            int flags = MAP_PRIVATE | MAP_FIXED;
            if (i + 1 < argc && !strcmp(argv[i + 1], "shared")) { flags = MAP_SHARED | MAP_FIXED; i++; }
            else if (i + 1 < argc && !strcmp(argv[i + 1], "noreplace")) { flags = MAP_PRIVATE | MAP_FIXED_NOREPLACE; i++; }
            else if (i + 1 < argc && !strcmp(argv[i + 1], "hint")) { flags = MAP_PRIVATE; i++; }
            else if (i + 1 < argc && !strcmp(argv[i + 1], "fixed")) i++;
            char *p = mmap(at, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
            if (p != at) { fprintf(stderr, "wprobe: mmap(%p, %#zx, %#x) = %p: %s\n", (void *)at, len, flags, (void *)p, strerror(errno)); return 3; }
            out("MAPPED %p", (void *)p);
        } else if (!strcmp(c, "trymap")) {
            char *at = (char *)hex(ARG(1)); size_t len = hex(ARG(2)); i += 2;
            errno = 0;
            char *p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
            if (p == MAP_FAILED) out("MAPFAIL %s", errno == EINVAL ? "EINVAL" : strerror(errno));
            else out("MAPPED %p", (void *)p);
        } else if (!strcmp(c, "remap")) {
            char *from = (char *)hex(ARG(1)); size_t len = hex(ARG(2)); char *to = (char *)hex(ARG(3)); i += 3;
            errno = 0;
            char *p = mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
            if (p == MAP_FAILED) out("REMAPFAIL %s", errno == EINVAL ? "EINVAL" : strerror(errno));
            else out("REMAPPED %p", (void *)p);
        } else if (!strcmp(c, "grow")) {
            char *at = (char *)hex(ARG(1)); size_t from = hex(ARG(2)), to = hex(ARG(3)); i += 3;
            char *p = mremap(at, from, to, 0);
            if (p != at) { fprintf(stderr, "wprobe: mremap(%p, %#zx, %#zx): %s\n", (void *)at, from, to, strerror(errno)); return 3; }
            out("GROWN %p", (void *)p);
        } else if (!strcmp(c, "alloc")) {
            if (!mapwarden_alloc) { fprintf(stderr, "wprobe: no mapwarden_alloc\n"); return 3; }
            const char *w = ARG(1); size_t len = hex(ARG(2)); i += 2;
            char *p = mapwarden_alloc(strcmp(w, "-") ? w : NULL, len, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE);
            if (!p) { fprintf(stderr, "wprobe: mapwarden_alloc(%s, %#zx): %s\n", w, len, strerror(errno)); return 3; }
            out("ALLOC %p", (void *)p);
        } else if (!strcmp(c, "fill")) {
            fill((void *)hex(ARG(1)), hex(ARG(2)), (unsigned)atoi(ARG(3))); i += 3;
        } else if (!strcmp(c, "check")) {
            unsigned seed = (unsigned)atoi(ARG(3));
            if (!holds((void *)hex(ARG(1)), hex(ARG(2)), seed)) { fprintf(stderr, "wprobe: pattern %u not there\n", seed); return 4; }
            i += 3;
            out("CHECKED %u", seed);
        } else if (!strcmp(c, "zero")) {
            if (!all_zero((void *)hex(ARG(1)), hex(ARG(2)))) return 4;
            i += 2;
            out("ZERO");
        } else if (!strcmp(c, "unmap")) {
            if (munmap((void *)hex(ARG(1)), hex(ARG(2))) != 0) { perror("wprobe: munmap"); return 5; }
            i += 2;
        } else if (!strcmp(c, "line")) {
            uintptr_t a = hex(ARG(1)); i++;
            FILE *f = fopen("/proc/self/maps", "r");
            char line[1024]; int found = 0;
            while (fgets(line, sizeof line, f)) {
                uintptr_t s, e;
                if (sscanf(line, "%lx-%lx", &s, &e) == 2 && a >= s && a < e) { printf("LINE %s", line); found = 1; break; }
            }
            fclose(f);
            if (!found) printf("LINE none\n");
            fflush(stdout);
        } else if (!strcmp(c, "query")) {
            struct mapwarden_info info;
            memset(&info, 0, sizeof info);
            if (!mapwarden_query) { out("QUERY missing"); i++; continue; }
            if (mapwarden_query((void *)hex(ARG(1)), &info) != 0) out("QUERY error %s", errno == ENODEV ? "ENODEV" : strerror(errno));
            else out("QUERY %u %s %#x %#lx %#zx", info.state, info.window[0] ? info.window : "-", info.flags, info.base, info.size);
            i++;
        } else if (!strcmp(c, "windows")) {
            if (!mapwarden_windows) { out("WINDOWS missing"); continue; }
            struct mapwarden_window w[MAPWARDEN_WINDOWS_MAX + 1];
            int n = mapwarden_windows(w, MAPWARDEN_WINDOWS_MAX + 1);
            if (n < 0) { out("WINDOWS error %s", errno == ENODEV ? "ENODEV" : strerror(errno)); continue; }
            out("WINDOWS %d", n);
            for (int k = 0; k < n && k <= MAPWARDEN_WINDOWS_MAX; k++)
                out("WINDOW %s %#lx %#zx %u %s", w[k].name, w[k].base, w[k].size, w[k].backing, w[k].path ? w[k].path : "-");
        } else if (!strcmp(c, "forkfill")) {
            char *at = (char *)hex(ARG(1)); size_t len = hex(ARG(2)); unsigned seed = (unsigned)atoi(ARG(3)); i += 3;
            fflush(NULL);
            pid_t pid = fork();
            if (pid < 0) { perror("wprobe: fork"); return 7; }
            if (pid == 0) { fill(at, len, seed); exit(0); }
            int st;
            if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "wprobe: child %#x\n", st); return 7; }
            out("CHILD FILLED %u", seed);
        } else if (!strcmp(c, "mapfile")) {
            char *at = (char *)hex(ARG(1)); size_t len = hex(ARG(2)); const char *path = ARG(3); i += 3;
            int fd = open(path, O_RDONLY);
            if (fd < 0) { perror("wprobe: open"); return 3; }
            char *p = mmap(at, len, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
            close(fd);
            if (p != at) { fprintf(stderr, "wprobe: mmap of %s at %p: %s\n", path, (void *)at, strerror(errno)); return 3; }
            out("MAPPED FILE %p %.8s", (void *)p, p);
        } else if (!strcmp(c, "tag")) {
            if (!mapwarden_set_tag || mapwarden_set_tag((void *)hex(ARG(1)), hex(ARG(2))) != 0) { perror("wprobe: set_tag"); return 8; }
            i += 2;
        } else if (!strcmp(c, "gettag")) {
            uintptr_t t = 0;
            if (!mapwarden_get_tag || mapwarden_get_tag((void *)hex(ARG(1)), &t) != 0) { perror("wprobe: get_tag"); return 8; }
            i++;
            out("TAG %#lx", (unsigned long)t);
        } else if (!strcmp(c, "wait")) {
            out("READY");
            char line[64];
            if (!fgets(line, sizeof line, stdin)) { /* EOF: go on */ }
        } else if (!strcmp(c, "kill")) {
            fflush(NULL);
            raise(SIGKILL);
        } else if (!strcmp(c, "_exit")) {
            fflush(NULL);
            _exit(0);
        } else if (!strcmp(c, "exec")) {
            fflush(NULL);
            argv[i] = argv[0];
            execv("/proc/self/exe", argv + i);
            perror("wprobe: exec");
            return 6;
        } else { fprintf(stderr, "wprobe: unknown command %s\n", c); return 2; }
    }
    return 0;
}
C
    $CC -std=gnu11 -O1 -g -Wall -pthread -I "$include" -I "$root/CShim/include" -o "$tmp/wprobe" "$tmp/wprobe.c" ||
        { echo "cannot compile wprobe"; exit 1; }
}

run() { # ENV... -- ARGS...
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
    # (the braces' 2>/dev/null only keeps bash's "Killed" notice out of the log)
    { timeout 20 env "${envs[@]}" LD_PRELOAD="$LIB" "$tmp/wprobe" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null; status=$?; } 2>/dev/null
}

start() { # NAME ENV... -- ARGS...
    local name=$1; shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
    rm -f "$tmp/$name.in" "$tmp/$name.out"
    mkfifo "$tmp/$name.in" "$tmp/$name.out"
    env "${envs[@]}" LD_PRELOAD="$LIB" "$tmp/wprobe" "$@" <"$tmp/$name.in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    local pid=$!
    bg_pids+=("$pid")
    printf -v "pid_$name" %s "$pid"
    local fd
    exec {fd}>"$tmp/$name.in"; printf -v "in_$name" %s "$fd"
    exec {fd}<"$tmp/$name.out"; printf -v "out_$name" %s "$fd"
    : >"$tmp/$name.log"
}
await() { # NAME WORD: 0 when NAME printed the line WORD (everything it printed goes to $tmp/NAME.log)
    local fdv="out_$1" line
    while IFS= read -r -t 30 -u "${!fdv}" line; do
        echo "$line" >>"$tmp/$1.log"
        [ "$line" = "$2" ] && return 0
    done
    echo "(no line '$2' from $1)" >>"$tmp/$1.log"
    return 1
}
tell() { local fdv="in_$1"; echo go >&"${!fdv}"; }
kill_finish() { # NAME: SIGKILLs NAME, then finish (bash's "Killed" notice kept out of the log)
    local pidv="pid_$1"
    { kill -KILL "${!pidv}"; finish "$1"; } 2>/dev/null
}
finish() { # NAME: closes its pipes, waits for it, sets status; the rest of its output goes to $tmp/NAME.log
    local inv="in_$1" outv="out_$1" pidv="pid_$1"
    eval "exec ${!inv}>&-"
    cat <&"${!outv}" >>"$tmp/$1.log"
    eval "exec ${!outv}<&-"
    { wait "${!pidv}"; status=$?; } 2>/dev/null
}
