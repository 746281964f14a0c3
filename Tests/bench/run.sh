#!/usr/bin/env bash
# The mapwarden benchmark (`make bench`). Not a timed test: it prints figures.
#
# Builds Tests/bench/bench.c once and runs it alternately without and with
# LD_PRELOAD=build/libmapwarden.so, ROUNDS times (the order flips every
# round), pinned to one CPU when taskset is available. Each process times
# every case over several repetitions and reports its minimum; this script
# reports, per case and mode, the best (minimum) and the median of those
# per-process figures, the ratio of the best figures, and PASS/MISS against
# the goals. Start-up of /bin/true is measured by one process that
# alternates the two environments run by run.
#
# Environment knobs: BENCH_ROUNDS (default 16), BENCH_STARTUP_RUNS (300),
# BENCH_REPS (9 repetitions per case and process), BENCH_TARGET_MS (5 ms per
# repetition), BENCH_CPU (the CPU to pin to; default the last one), LIB, CC.
#
# Exit status: 0 whenever the benchmark ran (a MISS is not a failure); 1
# when it could not run or a bench process failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LIB="${LIB:-$root/build/libmapwarden.so}"
CC="${CC:-cc}"
out="$root/build/bench"
rounds="${BENCH_ROUNDS:-16}"
startup_runs="${BENCH_STARTUP_RUNS:-300}"
mkdir -p "$out"

fail() { echo "bench: $*" >&2; exit 1; }

[ -f "$LIB" ] || fail "$LIB not found (run make first)"
LIB=$(cd "$(dirname "$LIB")" && pwd)/$(basename "$LIB")
$CC -std=gnu11 -O2 -Wall -Wextra -Werror -I "$root/CShim/include" -o "$out/bench" "$here/bench.c" \
    || fail "bench.c does not compile"

# The default window and no inherited configuration, in both modes.
unset LD_PRELOAD MAPWARDEN_WINDOW MAPWARDEN_CONFIG MAPWARDEN_ON_RESERVE_FAILURE MAPWARDEN_LOG
unset MAPWARDEN_TRACK MAPWARDEN_BACKTRACE_DEPTH MAPWARDEN_REPORT MAPWARDEN_REPORT_FORMAT MAPWARDEN_CLOBBER
unset MAPWARDEN_LEAK_EXITCODE MAPWARDEN_SUPPRESSIONS MAPWARDEN_CHILDREN MAPWARDEN_LIBUNWIND

pin=()
if command -v taskset >/dev/null 2>&1; then
    cpu="${BENCH_CPU:-$(( $(nproc) - 1 ))}"
    taskset -c "$cpu" true 2>/dev/null && pin=(taskset -c "$cpu")
fi

# The preload must really be active, or the "with" figures mean nothing.
maps=$(LD_PRELOAD="$LIB" "${pin[@]}" cat /proc/self/maps) || fail "cannot run a preloaded process"
grep -q '^400000000000-410000000000 ' <<<"$maps" || fail "the preloaded process holds no window at 0x400000000000:1T"

raw="$out/raw.txt"
log="$out/stderr.txt"
: >"$raw"; : >"$log"
main_cases=(anon4k raw_anon4k sc_anon4k einval raw_einval sc_getppid raw_getppid win win_vs_raw win_named mprot_win mprot_out)
many_cases=(win_before win30k)
# The cases above run with stacks off (the cost of the window alone); the
# tracked case captures a 16-frame stack per recorded call.
tracked_cases=(win_stack16)
# MAPWARDEN_RAW_SYSCALLS=trap: the seccomp filter's cost, with the preload,
# with and without the trap (modes preload and trap): an ordinary system
# call of the program's own (getpid), a raw mmap+munmap outside the window
# (the filter looks at its range, lets it through) and libc's mmap+munmap
# (served by mapwarden, whose own system call the filter lets through by
# its instruction pointer).
trap_cases=(raw_getpid raw_anon4k anon4k)

run_mode() { # mode, cases...
    local mode=$1; shift
    local env=()
    local depth=0
    [ "$1" = win_stack16 ] && depth=16
    [ "$mode" = preload ] && env=(LD_PRELOAD="$LIB" MAPWARDEN_BACKTRACE_DEPTH=$depth MAPWARDEN_REPORT=none)
    [ "$mode" = trap ] && env=(LD_PRELOAD="$LIB" MAPWARDEN_BACKTRACE_DEPTH=$depth MAPWARDEN_REPORT=none
                              MAPWARDEN_RAW_SYSCALLS=trap BENCH_MODE=trap)
    # (taskset outside the preload: the bench process gets one filter, its own)
    "${pin[@]}" env "${env[@]}" "$out/bench" "$@" >>"$raw" 2>>"$log" \
        || { cat "$log" >&2; fail "bench ($mode) $* failed"; }
}

# The whole run holds the machine's test lock, shared: no test that changes
# a machine-wide setting (vm.max_map_count lowered...) runs meanwhile.
. "$here/../machine_lock.bash"
machine_lock shared
start=$(date +%s)
echo "mapwarden benchmark: $rounds rounds, pinned: ${pin[*]:-no}, $(uname -r), $(nproc) CPUs"
for ((r = 1; r <= rounds; r++)); do
    if (( r % 2 )); then order=(native preload); else order=(preload native); fi
    for m in "${order[@]}"; do run_mode "$m" "${main_cases[@]}"; done
    for m in "${order[@]}"; do run_mode "$m" "${many_cases[@]}"; done
    for m in "${order[@]}"; do run_mode "$m" "${tracked_cases[@]}"; done
    if (( r % 2 )); then trap_order=(preload trap); else trap_order=(trap preload); fi
    for m in "${trap_order[@]}"; do run_mode "$m" "${trap_cases[@]}"; done
    printf '.'
done
"${pin[@]}" "$out/bench" startup "$LIB" "$startup_runs" >>"$raw" 2>>"$log" \
    || { cat "$log" >&2; fail "start-up measurement failed"; }
echo " done in $(( $(date +%s) - start )) s"

# System calls per operation (strace -c over 2000 vs 0 operations).
syscalls_per_op() { # mode case -> "mmap 2.00 prctl 1.00"
    local mode=$1 c=$2 n=2000 env=() f0="$out/strace0.txt" f1="$out/strace1.txt"
    local depth=0
    [ "$c" = win_stack16 ] && depth=16
    [ "$mode" = preload ] && env=(LD_PRELOAD="$LIB" MAPWARDEN_BACKTRACE_DEPTH=$depth MAPWARDEN_REPORT=none)
    env "${env[@]}" strace -f -c -o "$f0" "$out/bench" loop 0 "$c" >/dev/null 2>>"$log" || return 1
    env "${env[@]}" strace -f -c -o "$f1" "$out/bench" loop "$n" "$c" >/dev/null 2>>"$log" || return 1
    awk -v n="$n" '
        $1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { c[FILENAME == ARGV[1] ? 0 : 1, $NF] = $4; names[$NF] = 1 }
        END { for (k in names) { d = (c[1, k] - c[0, k]) / n; if (d > 0.001) printf "%s %.2f  ", k, d } }' "$f0" "$f1"
}
# System calls of one /bin/true, without and with the preload (default
# settings), each one's count over its whole life (execve to exit_group).
true_syscalls() { # [preload] -> "31"
    local env=() f="$out/strace_true.txt"
    [ "${1:-}" = preload ] && env=(LD_PRELOAD="$LIB")
    env "${env[@]}" strace -f -c -o "$f" /bin/true 2>>"$log" || return 1
    awk '$NF == "total" { print $4 }' "$f" # % time, seconds, usecs/call, calls, [errors,] total
}
syscall_lines=()
true_line=
if command -v strace >/dev/null 2>&1; then
    true_line="$(printf '  /bin/true, whole process       without: %-4s with: %s' "$(true_syscalls)" "$(true_syscalls preload)")"
    for c in anon4k sc_anon4k sc_getppid einval win win_stack16 mprot_win mprot_out; do
        label="$c"; [ "${c#mprot}" != "$c" ] && label="$c (2 mprotect calls)"
        syscall_lines+=("$(printf '  %-28s without: %-34s with: %s' "$label" "$(syscalls_per_op native "$c")" "$(syscalls_per_op preload "$c")")")
    done
fi
grep -v 'window VMAs\|win_named skipped' "$log" >&2 || true
grep -q 'win_named skipped' "$log" && echo "(this kernel cannot name anonymous VMAs: mapwarden skips naming, so win_named is not measured)"
grep -m1 'window VMAs' "$log" | sed 's/^bench ([a-z]*): /win30k: /' || true
echo

awk -v rounds="$rounds" '
function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++) { t = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
$1 == "startup" { su[$2, "min"] = $3; su[$2, "med"] = $4; su[$2, "mean"] = $5; su_runs = $6; next }
{
    key = $1 SUBSEP $2
    div = ($2 ~ /^mprot/) ? 2 : 1       # one mprot op is two mprotect calls
    v = $3 / div
    if (!(key in best) || v < best[key]) best[key] = v
    all[key] = all[key] " " v
}
function b(m, c) { return ((m, c) in best) ? best[m, c] : -1 }
function md(m, c) { return ((m, c) in all) ? median(all[m, c]) : -1 }
function ns(x) { return x < 0 ? "n/a" : sprintf("%.0f", x) }
function ratio(x, y) { return (x < 0 || y <= 0) ? "n/a" : sprintf("%.3fx", x / y) }
function verdict(x, y, goal) { return (x < 0 || y <= 0) ? "n/a" : (x / y <= goal ? "PASS" : "MISS") }
function row(label, c, nc, goal, gtext,   p, n) {
    p = b("preload", c); n = b("native", nc)
    printf "| %-44s | %8s | %8s | %7s | %-8s | %-4s |\n", label, ns(n), ns(p), ratio(p, n), gtext, (goal > 0 ? verdict(p, n, goal) : "")
    detail[++nd] = sprintf("  %-12s native best %8s median %8s | preload best %8s median %8s | median ratio %s",
        c (c == nc ? "" : "/" nc), ns(n), ns(md("native", nc)), ns(p), ns(md("preload", c)), ratio(md("preload", c), md("native", nc)))
}
# A row comparing two modes (with the preload: the cost of the trap).
function row2(label, mp, c, mn, nc, goal, gtext,   p, n) {
    p = b(mp, c); n = b(mn, nc)
    printf "| %-44s | %8s | %8s | %7s | %-8s | %-4s |\n", label, ns(n), ns(p), ratio(p, n), gtext, (goal > 0 ? verdict(p, n, goal) : "")
    detail[++nd] = sprintf("  %-12s %s best %8s median %8s | %s best %8s median %8s | median ratio %s",
        c, mn, ns(n), ns(md(mn, nc)), mp, ns(p), ns(md(mp, c)), ratio(md(mp, c), md(mn, nc)))
}
END {
    print "## Summary (ns per operation, best of " rounds " interleaved runs per side)"
    print ""
    print "| case                                         |  without |     with |   ratio | goal     |      |"
    print "|----------------------------------------------|---------:|---------:|--------:|----------|------|"
    row("4 KiB anon mmap+munmap, outside the window", "anon4k", "anon4k", 1.03, "<= 1.03x")
    row("EINVAL mmap+munmap pair (own overhead)", "einval", "einval", 1.15, "<= 1.15x")
    row("in-window MAP_FIXED map + unmap (1 mapping)", "win", "win", 1.10, "<= 1.10x")
    pl = b("preload", "win_lib"); pr = b("preload", "win_raw")
    printf "| %-44s | %8s | %8s | %7s | %-8s | %-4s |\n", "  vs its kernel floor: the same 2 calls raw", ns(pr), ns(pl), ratio(pl, pr), "<= 1.05x", verdict(pl, pr, 1.05)
    detail[++nd] = sprintf("  %-12s raw best %8s median %8s | mapwarden best %8s median %8s | median ratio %s (same process, interleaved)",
        "win_vs_raw", ns(pr), ns(md("preload", "win_raw")), ns(pl), ns(md("preload", "win_lib")), ratio(md("preload", "win_lib"), md("preload", "win_raw")))
    row("  tracked: same pair, 16-frame stack captured", "win_stack16", "win_stack16", 1.5, "<= 1.5x")
    if (b("native", "win_named") > 0)
        row("  vs native overmap + PR_SET_VMA_ANON_NAME", "win", "win_named", 0, "info")
    row("in-window pair, 30,000 other mappings", "win30k", "win30k", 0, "info")
    p1 = b("preload", "win_before"); p30 = b("preload", "win30k")
    n1 = b("native", "win_before"); n30 = b("native", "win30k")
    printf "| %-44s | %8s | %8s | %7s | %-8s | %-4s |\n", "  30k vs 1 mapping (same process)", ratio(n30, n1), ratio(p30, p1), "", "<= 1.2x", verdict(p30, p1, 1.2)
    row("syscall(SYS_getppid) x2, passed through", "sc_getppid", "sc_getppid", 1.10, "<= 1.10x")
    row("syscall(SYS_mmap)+syscall(SYS_munmap), 4 KiB", "sc_anon4k", "sc_anon4k", 1.05, "<= 1.05x")
    row2("raw getpid x2, trap filter in vs not", "trap", "raw_getpid", "preload", "raw_getpid", 1.05, "<= 1.05x")
    row2("raw 4 KiB mmap+munmap outside, trap vs not", "trap", "raw_anon4k", "preload", "raw_anon4k", 0, "info")
    row2("libc 4 KiB mmap+munmap (exempt), trap vs not", "trap", "anon4k", "preload", "anon4k", 0, "info")
    row("mprotect RW<->R, page in a window mapping", "mprot_win", "mprot_win", 0, "info")
    row("mprotect RW<->R, page outside the window", "mprot_out", "mprot_out", 0, "info")
    if (("native", "med") in su) {
        d = su["preload", "med"] - su["native", "med"]
        printf "| %-44s | %8s | %8s | %7s | %-8s | %-4s |\n", "start-up of /bin/true (median, ms per run)",
            sprintf("%.3f", su["native", "med"] / 1000), sprintf("%.3f", su["preload", "med"] / 1000),
            sprintf("%+.3f", d / 1000), "<= +0.15", (d / 1000 <= 0.15 ? "PASS" : "MISS")
    }
    print ""
    print "Reference, a raw syscall instruction (the kernel floor) inside the preloaded process:"
    printf "  4 KiB pair: libc via mapwarden %s ns, raw %s ns (%s)\n", ns(b("preload", "anon4k")), ns(b("preload", "raw_anon4k")), ratio(b("preload", "anon4k"), b("preload", "raw_anon4k"))
    printf "  EINVAL pair: libc via mapwarden %s ns, raw %s ns (%s)\n", ns(b("preload", "einval")), ns(b("preload", "raw_einval")), ratio(b("preload", "einval"), b("preload", "raw_einval"))
    printf "  getppid x2: libc syscall() via mapwarden %s ns, raw %s ns (%s)\n", ns(b("preload", "sc_getppid")), ns(b("preload", "raw_getppid")), ratio(b("preload", "sc_getppid"), b("preload", "raw_getppid"))
    printf "  (without the preload: libc %s / raw %s ns; EINVAL libc %s / raw %s ns; getppid x2 syscall() %s / raw %s ns)\n", ns(b("native", "anon4k")), ns(b("native", "raw_anon4k")), ns(b("native", "einval")), ns(b("native", "raw_einval")), ns(b("native", "sc_getppid")), ns(b("native", "raw_getppid"))
    print ""
    print "Detail (per-process minimum; best and median over the rounds; mprot cases per mprotect call):"
    for (i = 1; i <= nd; i++) print detail[i]
    printf "  %-12s native best %8s median %8s | preload best %8s median %8s\n", "win_before", ns(n1), ns(md("native", "win_before")), ns(p1), ns(md("preload", "win_before"))
    if (("native", "med") in su)
        printf "  start-up     %d runs each: without min %.0f / median %.0f / mean %.0f us; with min %.0f / median %.0f / mean %.0f us\n",
            su_runs, su["native", "min"], su["native", "med"], su["native", "mean"], su["preload", "min"], su["preload", "med"], su["preload", "mean"]
}' "$raw"
if [ ${#syscall_lines[@]} -gt 0 ]; then
    echo
    echo "System calls (strace -c):"
    echo "$true_line"
    echo "  per operation, 2000 operations:"
    printf '%s\n' "${syscall_lines[@]}"
fi
