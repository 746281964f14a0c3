#!/usr/bin/env bash
# The clobber guard, MAPWARDEN_CLOBBER=allow|report|deny.
# A MAP_FIXED outside the window over memory the program did not map itself
# through mmap (here: one page of a block glibc's malloc mmapped; under deny
# also a page of [heap] and the executable's first page):
#   allow (default): succeeds, nothing said, nothing listed;
#   report: succeeds; one stderr line at once (before the program's next
#           write); listed under "clobbers" with its stack, action reported;
#   deny:   fails with EEXIST, the memory unchanged; stderr line; listed,
#           action denied, with the victim ([heap], the executable's path).
# Replacing the program's own mmap(NULL) mappings (commit/decommit of a
# reservation, as the JVM does) or free memory is never a clobber. Misuse
# under report: mprotect of free window pages (ENOMEM) and munmap of window
# pages never mapped are listed with their stacks; under allow they are not.
. "$(dirname "$0")/../include/report_test_lib.bash" lclobber
tmp=$(realpath "$tmp")

cat >"$tmp/clob.c" <<'C'
#include "common.h"
#include "leak_helpers.h"

/* the one MAP_FIXED over someone else's memory */
NOINLINE void *clobber_it(void *at, int prot) {
    return mmap(at, PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}
static void after(void) { (void)!write(2, "AFTER THE CALL\n", 15); }

/* argv[1]: malloc | heap | exe | own | misuse ; argv[2]: the policy the run uses (allow|report|deny) */
int main(int argc, char **argv) {
    CHECK(argc == 3);
    const char *mode = argv[1];
    int deny = strcmp(argv[2], "deny") == 0;
    say("PID %d", (int)getpid());
    if (strcmp(mode, "malloc") == 0 || strcmp(mode, "heap") == 0 || strcmp(mode, "exe") == 0) {
        unsigned char *q;
        if (strcmp(mode, "malloc") == 0) {
            unsigned char *big = malloc(1 << 20);              /* glibc mmaps it, not through mmap() */
            CHECK(big);
            memset(big, 0xAB, 1 << 20);
            q = (unsigned char *)(((uintptr_t)big + 8 * PAGE) & ~(uintptr_t)(PAGE - 1));
        } else if (strcmp(mode, "heap") == 0) {
            unsigned char *small = malloc(64);                 /* the brk heap */
            CHECK(small);
            memset(small, 0xAB, 64);
            q = (unsigned char *)((uintptr_t)small & ~(uintptr_t)(PAGE - 1));
        } else {
            Dl_info di;
            CHECK(dladdr((void *)main, &di) && di.dli_fbase);
            q = di.dli_fbase;                                  /* the ELF header page of the executable */
        }
        unsigned char before[PAGE];
        memcpy(before, q, PAGE);
        say("Q %p", (void *)q);
        errno = 0;
        void *r = clobber_it(q, PROT_READ | PROT_WRITE);
        int e = errno;
        after();
        if (deny) {
            CHECK(r == MAP_FAILED && e == EEXIST);
            CHECK(memcmp(before, q, PAGE) == 0);               /* nothing changed */
        } else {
            CHECK(r == q);
            for (size_t i = 0; i < PAGE; i++) CHECK(q[i] == 0); /* a fresh page */
        }
        say("RESULT %s", r == MAP_FAILED ? "failed" : "mapped");
    } else if (strcmp(mode, "own") == 0) {
        /* a reservation of its own, committed and decommitted in place */
        char *res = mmap(NULL, 8 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        CHECK(res != MAP_FAILED);
        CHECK(clobber_it(res + 2 * PAGE, PROT_READ | PROT_WRITE) == res + 2 * PAGE);
        res[2 * PAGE] = 1;
        CHECK(mmap(res + 2 * PAGE, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == res + 2 * PAGE);
        /* over a hole it unmapped itself (free memory) */
        CHECK(munmap(res + 5 * PAGE, PAGE) == 0);
        CHECK(clobber_it(res + 5 * PAGE, PROT_READ) == res + 5 * PAGE);
        /* a window mapping replaced by MAP_FIXED: not outside, never a clobber */
        CHECK(mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, LEAK_FLAGS, -1, 0) == W(0x10000));
        CHECK(mmap(W(0x10000), PAGE, PROT_READ, LEAK_FLAGS, -1, 0) == W(0x10000));
        CHECK(munmap(W(0x10000), PAGE) == 0);
        after();
        say("RESULT own ok");
    } else if (strcmp(mode, "misuse") == 0) {
        extern void misuse_mprotect(void), misuse_munmap(void);
        misuse_mprotect();
        misuse_munmap();
        say("RESULT misuse ok");
    }
    return 0;
}
NOINLINE void misuse_mprotect(void) { CHECK_ERRNO(mprotect(W(0x30000), PAGE, PROT_READ | PROT_WRITE), ENOMEM); }
NOINLINE void misuse_munmap(void) { CHECK(munmap(W(0x40000), 2 * PAGE) == 0); }
C
$CC -std=gnu11 -g -O0 -rdynamic -fno-inline -fno-optimize-sibling-calls -Wall -I "$include" -I "$root/CShim/include" \
    -o "$tmp/clob" "$tmp/clob.c" -ldl || { echo "cannot compile"; exit 1; }

cat >"$tmp/check.py" <<'PY'
# check.py mode policy report.json stdout stderr exe
import json, re, sys
mode, policy, report, outfile, errfile, exe = sys.argv[1:7]
facts = open(outfile).read().split("\n")
err = open(errfile).read().split("\n")
pid = int([l for l in facts if l.startswith("PID ")][0].split()[1])
q = [int(l.split()[1], 16) for l in facts if l.startswith("Q ")]
errors = []
r = json.load(open(report))
C = r.get("clobbers")
if r.get("settings", {}).get("clobber") != policy: errors.append("settings.clobber %r" % r.get("settings", {}).get("clobber"))
if not isinstance(C, list): errors.append("clobbers %r" % C); C = []
if r.get("summary", {}).get("clobbers") != len(C): errors.append("summary.clobbers %r, %d listed" % (r.get("summary", {}).get("clobbers"), len(C)))
lines = [l for l in err if l.startswith("mapwarden: clobber")]
syms = lambda c: [f.get("symbol") for f in c.get("stack") or []]
if policy == "allow" or mode == "own":
    if C: errors.append("clobbers listed: %r" % C)
    if lines: errors.append("clobber lines on stderr: %r" % lines)
elif mode == "misuse":
    W = 0x400000000000
    got = sorted((c.get("kind"), c.get("call"), c.get("address"), c.get("size")) for c in C)
    want = sorted([("free-window-call", "mprotect", "0x%x" % (W + 0x30000), 4096), ("unmapped-window-munmap", "munmap", "0x%x" % (W + 0x40000), 8192)])
    if got != want: errors.append("misuse entries %r, expected %r" % (got, want))
    for c in C:
        fn = "misuse_mprotect" if c.get("call") == "mprotect" else "misuse_munmap"
        if fn not in syms(c): errors.append("%s entry: stack %r lacks %s" % (c.get("kind"), syms(c), fn))
        if c.get("thread") != pid: errors.append("%s entry: thread %r" % (c.get("kind"), c.get("thread")))
else:
    action = "denied" if policy == "deny" else "reported"
    victim = {"malloc": None, "heap": "[heap]", "exe": exe}[mode]
    if len(C) != 1: errors.append("%d clobbers listed, expected 1: %r" % (len(C), C))
    else:
        c = C[0]
        want = {"kind": "clobber", "call": "mmap", "address": "0x%x" % q[0], "size": 4096, "action": action, "victim": victim, "thread": pid}
        for k, v in want.items():
            if c.get(k) != v: errors.append("clobber %s %r, expected %r" % (k, c.get(k), v))
        if "clobber_it" not in syms(c) or "main" not in syms(c): errors.append("clobber stack %r" % syms(c))
    if len(lines) != 1: errors.append("%d clobber lines on stderr, expected 1" % len(lines))
    else:
        tail = "denied (EEXIST)" if policy == "deny" else "reported"
        m = re.fullmatch(r"mapwarden: clobber: mmap MAP_FIXED 0x([0-9a-f]+)\+0x1000 replaces memory the program did not map \((.*)\); (.*)", lines[0])
        if not m or int(m.group(1), 16) != q[0] or m.group(3) != tail: errors.append("stderr line %r (expected at %#x, ending %r)" % (lines[0], q[0], tail))
        elif victim and m.group(2) != victim: errors.append("stderr line victim %r, expected %r" % (m.group(2), victim))
        if err.index(lines[0]) > err.index("AFTER THE CALL"): errors.append("the clobber line came after the program's next write")
for e in errors: print("FAIL: " + e)
sys.exit(1 if errors else 0)
PY

run() { # mode policy
    step_failed=0
    local envs=(MAPWARDEN_REPORT="$tmp/$1.$2.json" MAPWARDEN_REPORT_FORMAT=json)
    [ "$2" != allow ] && envs+=(MAPWARDEN_CLOBBER=$2)   # allow: the default
    env "${envs[@]}" LD_PRELOAD="$LIB" "$tmp/clob" "$1" "$2" >"$tmp/out" 2>"$tmp/err"
    status=$?
    [ $status -eq 0 ] || { fail "$1 under $2: status $status"; show; return; }
    if "$PY" "$tmp/check.py" "$1" "$2" "$tmp/$1.$2.json" "$tmp/out" "$tmp/err" "$tmp/clob"; then
        ok "$1 under $2 $(grep -m1 '^mapwarden: clobber' "$tmp/err")"
    else fail "$1 under $2"; show "$tmp/$1.$2.json"; fi
}
for policy in allow report deny; do
    run malloc $policy
    run own $policy
    run misuse $policy
done
run heap deny
run exe deny

# text: the section and the summary
step_failed=0
env MAPWARDEN_CLOBBER=report MAPWARDEN_REPORT="$tmp/t.txt" LD_PRELOAD="$LIB" "$tmp/clob" malloc report >"$tmp/out" 2>"$tmp/err"; status=$?
grep -q '^Clobbers and misuse:$' "$tmp/t.txt" && grep -qE '^SUMMARY: mapwarden: 0 bytes leaked in 0 mappings; .*; 1 clobber\.$' "$tmp/t.txt" &&
    grep -qE '^\s+#[0-9]+ 0x[0-9a-f]+ in clobber_it\+0x' "$tmp/t.txt" || { fail "text report under report"; show "$tmp/t.txt"; }
ok "text section"

# with MAPWARDEN_REPORT unset, a clobber alone makes the report appear (on stderr)
env MAPWARDEN_CLOBBER=report LD_PRELOAD="$LIB" "$tmp/clob" malloc report >"$tmp/out" 2>"$tmp/err"; status=$?
grep -q '^SUMMARY: mapwarden: .*1 clobber\.$' "$tmp/err" || { fail "no report on stderr after a clobber"; show; }
# and under allow nothing at all is printed
env LD_PRELOAD="$LIB" "$tmp/clob" malloc allow >"$tmp/out" 2>"$tmp/err"; status=$?
[ "$(cat "$tmp/err")" = "AFTER THE CALL" ] || { fail "allow: printed something"; show; }
ok "report only when something happened"

env MAPWARDEN_CLOBBER=warn LD_PRELOAD="$LIB" "$tmp/clob" own allow >"$tmp/out" 2>"$tmp/err"; status=$?
[ $status -eq 78 ] && grep -qF 'MAPWARDEN_CLOBBER="warn"' "$tmp/err" || { fail "MAPWARDEN_CLOBBER=warn: status $status"; show; }

[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
