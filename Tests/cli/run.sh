#!/usr/bin/env bash
# End-to-end tests of the mapwarden command: each test_* function runs the
# built CLI (CLI, default build/mapwarden, with libmapwarden.so next to it)
# against the small C programs here. `Tests/cli/run.sh [NAME-SUBSTRING]`.
# Prints "cli: N passed, N failed" last.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
CLI="${CLI:-$root/build/mapwarden}"
CLI=$(cd "$(dirname "$CLI")" && pwd)/$(basename "$CLI")
BUILDDIR=$(dirname "$CLI")
LIB="$BUILDDIR/libmapwarden.so"
CC="${CC:-cc}"
WORK=$(mktemp -d /tmp/mapwarden-cli-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
filter="${1:-}"
passed=0 failed=0 failures=()

for f in "$CLI" "$LIB"; do
    [ -e "$f" ] || { echo "missing $f (run make first)"; echo "cli: 0 passed, 1 failed"; exit 1; }
done
for prog in child leaky; do
    $CC -std=gnu11 -O1 -g -Wall -o "$WORK/$prog" "$here/$prog.c" || { echo "cli: 0 passed, 1 failed"; exit 1; }
done
CHILD="$WORK/child" LEAKY="$WORK/leaky"
unset MAPWARDEN_CONFIG MAPWARDEN_WINDOW MAPWARDEN_REPORT MAPWARDEN_REPORT_FORMAT MAPWARDEN_LOG \
      MAPWARDEN_TRACK MAPWARDEN_LEAK_EXITCODE MAPWARDEN_SUPPRESSIONS MAPWARDEN_CLOBBER \
      MAPWARDEN_BACKTRACE_DEPTH MAPWARDEN_CHILDREN MAPWARDEN_ON_RESERVE_FAILURE LD_PRELOAD

fail() { echo "  $*"; return 1; }
expect_status() { # expected actual what
    [ "$1" = "$2" ] || fail "$3: status $2, expected $1"
}
contains() { # file text
    grep -qF -- "$2" "$1" || { echo "  --- $1:"; sed 's/^/  | /' "$1" | head -n 40; fail "expected to find: $2"; }
}

# ---- run: exit status and signals -----------------------------------------
test_exit_status() {
    "$CLI" run -q -- "$CHILD" exit 3; expect_status 3 $? "exit 3" || return 1
    "$CLI" run -q -- "$CHILD" exit 0; expect_status 0 $? "exit 0" || return 1
    "$CLI" run -q "$CHILD" exit 7; expect_status 7 $? "without --" || return 1
    "$CLI" run -q -- "$WORK/no-such-program"; expect_status 127 $? "missing program"
}

test_signal_death_is_reraised() {
    # The program dies of SIGTERM (15) / SIGSEGV (11): mapwarden dies of the same signal.
    out=$(python3 "$here/status_of.py" "$CLI" run -q -- "$CHILD" raise 15) || return 1
    expect_status -15 "$out" "program killed by SIGTERM" || return 1
    out=$(python3 "$here/status_of.py" "$CLI" run -q -- "$CHILD" raise 11 2>/dev/null) || return 1
    expect_status -11 "$out" "program killed by SIGSEGV"
}

test_sigterm_forwarded() {
    # SIGTERM sent to mapwarden reaches the program (default action: it dies), and
    # mapwarden then dies of SIGTERM too.
    python3 "$here/signal_test.py" "$WORK/ready.term" SIGTERM -15 -- \
        "$CLI" run -q -- "$CHILD" wait "$WORK/ready.term"
}

test_sigusr1_forwarded() {
    # The program exits 42 from its SIGUSR1 handler: the signal reached it.
    python3 "$here/signal_test.py" "$WORK/ready.usr1" SIGUSR1 42 -- \
        "$CLI" run -q -- "$CHILD" wait "$WORK/ready.usr1"
}

# ---- run: options become MAPWARDEN_* variables -----------------------------
test_options_to_environment() {
    printf 'leak:nothing_matches_this\n' > "$WORK/s.supp"
    "$CLI" run -q --window 0x500000000000:1G --track all --leak-exitcode 7 \
        --suppressions "$WORK/s.supp" --backtrace-depth 5 --clobber report --log quiet \
        --on-reserve-failure warn --report "$WORK/out.%p.txt" --format text \
        -- "$CHILD" env > "$WORK/env.out"
    expect_status 0 $? "run" || return 1
    for kv in MAPWARDEN_WINDOW=0x500000000000:1G MAPWARDEN_TRACK=all MAPWARDEN_LEAK_EXITCODE=7 \
              "MAPWARDEN_SUPPRESSIONS=$WORK/s.supp" MAPWARDEN_BACKTRACE_DEPTH=5 MAPWARDEN_CLOBBER=report \
              MAPWARDEN_LOG=quiet MAPWARDEN_ON_RESERVE_FAILURE=warn "MAPWARDEN_REPORT=$WORK/out.%p.txt" \
              MAPWARDEN_REPORT_FORMAT=text "LD_PRELOAD=$LIB"; do
        grep -qxF -- "$kv" "$WORK/env.out" || { cat "$WORK/env.out"; fail "missing $kv"; return 1; }
    done
    # LD_PRELOAD: ours first, an existing one kept after it.
    LD_PRELOAD=/lib/x86_64-linux-gnu/libc.so.6 "$CLI" run -q --report none -- "$CHILD" env > "$WORK/env2.out"
    grep -qxF "LD_PRELOAD=$LIB:/lib/x86_64-linux-gnu/libc.so.6" "$WORK/env2.out" || { cat "$WORK/env2.out"; fail "LD_PRELOAD not prepended"; }
}

test_default_report_is_json_in_cwd() {
    mkdir -p "$WORK/cwd" && cd "$WORK/cwd" || return 1
    "$CLI" run -- "$CHILD" env > env.out 2> err.out
    expect_status 0 $? "run" || return 1
    contains env.out "MAPWARDEN_REPORT=$WORK/cwd/mapwarden.%e.%p.json" || return 1
    contains env.out "MAPWARDEN_REPORT_FORMAT=json" || return 1
    # An explicit choice in the config file is not overridden by the default.
    printf 'MAPWARDEN_REPORT=stderr\n' > cfg.env
    "$CLI" run -q --config cfg.env -- "$CHILD" env > env3.out 2>&1
    if grep -q "MAPWARDEN_REPORT=$WORK" env3.out; then cat env3.out; fail "the default beat the config file"; return 1; fi
    cd "$WORK"
}

test_window_option_beats_config_file() {
    printf 'MAPWARDEN_WINDOW=0x500000000000:1G\nMAPWARDEN_LOG=quiet\n' > "$WORK/w.env"
    "$CLI" run -q --report none --config "$WORK/w.env" -- "$CHILD" maps > "$WORK/maps1"
    contains "$WORK/maps1" "500000000000-500040000000 ---p" || return 1
    "$CLI" run -q --report none --config "$WORK/w.env" --window 0x510000000000:2G -- "$CHILD" maps > "$WORK/maps2"
    contains "$WORK/maps2" "510000000000-510080000000 ---p" || return 1
    if grep -q "^500000000000-" "$WORK/maps2"; then fail "the config file's window was reserved too"; return 1; fi
    # The option also beats MAPWARDEN_WINDOW in the environment.
    MAPWARDEN_WINDOW=0x520000000000:1G "$CLI" run -q --report none --window 0x530000000000:1G -- "$CHILD" maps > "$WORK/maps3"
    contains "$WORK/maps3" "530000000000-530040000000 ---p"
}

test_follow_children() {
    "$CLI" run -q --report none -- "$CHILD" exec "$CHILD" loaded > "$WORK/follow.out"
    [ "$(grep -c 'libmapwarden loaded' "$WORK/follow.out")" = 2 ] || { cat "$WORK/follow.out"; fail "children should follow by default"; return 1; }
    "$CLI" run -q --report none --no-follow-children -- "$CHILD" exec "$CHILD" loaded > "$WORK/stop.out"
    [ "$(sed -n 1p "$WORK/stop.out" | grep -c 'loaded')" = 1 ] || { cat "$WORK/stop.out"; fail "the program itself runs with the library"; return 1; }
    [ "$(sed -n 2p "$WORK/stop.out" | grep -c 'absent')" = 1 ] || { cat "$WORK/stop.out"; fail "--no-follow-children: the exec'd program still has the library"; return 1; }
}

# ---- run: reports and the summary -------------------------------------------
test_run_summary_and_leak_exitcode() {
    mkdir -p "$WORK/sum" && cd "$WORK/sum" || return 1
    "$CLI" run -- "$LEAKY" 3 2> err.out
    expect_status 0 $? "leaky" || return 1
    contains err.out "3 leaked mappings (12 KiB), 0 clobbers; report: mapwarden.leaky." || return 1
    contains err.out "next: mapwarden report mapwarden.leaky." || return 1
    ls mapwarden.leaky.*.json > /dev/null || return 1
    "$CLI" run -q --leak-exitcode 23 -- "$LEAKY" 3
    expect_status 23 $? "--leak-exitcode 23 with leaks" || return 1
    cd "$WORK"
}

# ---- check --------------------------------------------------------------------
test_check_good_window() {
    "$CLI" check --window 0x400000000000:1G > "$WORK/check.good" 2>&1
    expect_status 0 $? "check of a free window" || { cat "$WORK/check.good"; return 1; }
    contains "$WORK/check.good" "Reservation: OK" || return 1
    contains "$WORK/check.good" "Result: the window can be reserved"
}

test_check_occupied_window() {
    # The 64 GiB below the top of user space always hold the main thread's stack.
    "$CLI" check --window 0x7ff000000000:0xffffff000 > "$WORK/check.busy" 2>&1
    expect_status 71 $? "check of a window over the stack" || { cat "$WORK/check.busy"; return 1; }
    contains "$WORK/check.busy" "Reservation: FAILED" || return 1
    contains "$WORK/check.busy" "[stack]" || return 1
    contains "$WORK/check.busy" "Suggestion: --window"
}

test_check_bad_config() {
    printf '# a bad config\nMAPWARDEN_WINDOW=0x1234:1G\nthis is not an assignment\nMAPWARDEN_LOG=loud\nMAPWARDEN_TYPO=1\n' > "$WORK/bad.env"
    "$CLI" check --config "$WORK/bad.env" > "$WORK/check.bad" 2>&1
    expect_status 78 $? "check of a garbage config" || { cat "$WORK/check.bad"; return 1; }
    contains "$WORK/check.bad" "$WORK/bad.env:2: MAPWARDEN_WINDOW=\"0x1234:1G\"" || return 1
    contains "$WORK/check.bad" "$WORK/bad.env:3: syntax error" || return 1
    contains "$WORK/check.bad" "$WORK/bad.env:4: MAPWARDEN_LOG=\"loud\"" || return 1
    contains "$WORK/check.bad" "$WORK/bad.env:5: MAPWARDEN_TYPO" || return 1
    # Every problem the library itself prints, check prints in the same words.
    MAPWARDEN_CONFIG="$WORK/bad.env" LD_PRELOAD="$LIB" "$CHILD" exit 0 2> "$WORK/lib.bad"
    expect_status 78 $? "the library on the same config" || return 1
    grep "$WORK/bad.env:" "$WORK/lib.bad" | while IFS= read -r line; do
        grep -qxF -- "  $line" "$WORK/check.bad" || { fail "check does not say: $line"; exit 1; }
    done
}

# ---- report ---------------------------------------------------------------------
test_report_merges_fixtures() {
    "$CLI" report "$here/fixtures/report.101.json" "$here/fixtures/report.202.json" > "$WORK/merged.txt"
    expect_status 0 $? "report" || return 1
    contains "$WORK/merged.txt" "8192 bytes in 2 mappings (pids 101, 202) allocated from:" || return 1
    contains "$WORK/merged.txt" "#0 0x55d1c0a1b2c3 in leak_two+0x1c (/opt/demo/leaky)" || return 1
    contains "$WORK/merged.txt" "#0 0x7f0a12345678 in ?? (/lib/x86_64-linux-gnu/libfoo.so+0x1234)" || return 1
    contains "$WORK/merged.txt" "16384 bytes in 1 inherited mapping" || return 1
    contains "$WORK/merged.txt" "         3        24576  leak:known_leak" || return 1
    contains "$WORK/merged.txt" "SUMMARY: mapwarden: 1056768 bytes leaked in 3 mappings; 3 suppressed (24576 bytes); 1 inherited (16384 bytes); 1 clobber; 2 reports." || return 1
    # The largest group first; --top 1 keeps only it.
    [ "$(grep -m1 'allocated from' "$WORK/merged.txt")" = "1048576 bytes in 1 mapping (pid 202) allocated from:" ] || fail "order" || return 1
    "$CLI" report --top 1 "$here/fixtures/report.101.json" "$here/fixtures/report.202.json" > "$WORK/top.txt"
    contains "$WORK/top.txt" "... 1 more group (8192 bytes in 2 mappings) not shown (--top 1)" || return 1
    # JSON: the merged groups.
    "$CLI" report --format json "$here/fixtures/report.101.json" "$here/fixtures/report.202.json" > "$WORK/merged.json" || return 1
    python3 - "$WORK/merged.json" <<'PY' || fail "merged JSON"
import json, sys
m = json.load(open(sys.argv[1]))
assert m["schema"] == "mapwarden-merged-report", m["schema"]
g = [x for x in m["groups"] if x["pids"] == [101, 202]]
assert len(g) == 1 and g[0]["mappings"] == 2 and g[0]["bytes"] == 8192, m["groups"]
assert m["summary"]["leaked_mappings"] == 3 and m["summary"]["clobbers"] == 1, m["summary"]
PY
}

test_report_merges_real_reports() {
    # The same program run twice: the same stacks at other addresses (ASLR) merge.
    mkdir -p "$WORK/real" && cd "$WORK/real" || return 1
    "$CLI" run -q -- "$LEAKY" 3 && "$CLI" run -q -- "$LEAKY" 3 || return 1
    files=(mapwarden.leaky.*.json)
    [ ${#files[@]} = 2 ] || fail "expected 2 reports, got ${files[*]}" || return 1
    "$CLI" report "${files[@]}" > merged.txt || return 1
    contains merged.txt "24576 bytes in 6 mappings (pids " || return 1
    # A forking program: the child's report lists the parent's mappings as inherited.
    rm -f mapwarden.*.json
    "$CLI" run -q -- "$LEAKY" 2 fork || return 1
    files=(mapwarden.leaky.*.json)
    [ ${#files[@]} = 2 ] || fail "expected 2 reports (parent, child), got ${files[*]}" || return 1
    "$CLI" report "${files[@]}" > fork.txt || return 1
    contains fork.txt "2 inherited mappings" || return 1
    contains fork.txt "SUMMARY: mapwarden: 16384 bytes leaked in 4 mappings; 0 suppressed (0 bytes); 2 inherited (8192 bytes)"
    cd "$WORK"
}

test_report_svg() {
    "$CLI" report "$here/fixtures/report.101.json" "$here/fixtures/report.202.json" --svg "$WORK/w.svg" > /dev/null || return 1
    python3 - "$WORK/w.svg" <<'PY' || fail "SVG"
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
rects = doc.getElementsByTagName("rect")
leaks = {(r.getAttribute("data-pid"), r.getAttribute("data-address"), r.getAttribute("data-size"))
         for r in rects if r.getAttribute("class") in ("leak", "inherited") and r.getAttribute("data-address")}
want = {("101", "0x400000010000", "4096"), ("202", "0x400000010000", "4096"),
        ("202", "0x400080000000", "1048576"), ("202", "0x400000090000", "16384")}
assert want <= leaks, (want - leaks)
texts = " ".join(t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild)
assert "0x400000000000" in texts and "free" in texts, texts
PY
    # A real report, too.
    mkdir -p "$WORK/svg" && cd "$WORK/svg" && "$CLI" run -q -- "$LEAKY" 2 && "$CLI" report mapwarden.leaky.*.json --svg real.svg > /dev/null || return 1
    python3 -c 'import sys, xml.dom.minidom; d = xml.dom.minidom.parse(sys.argv[1]); assert [r for r in d.getElementsByTagName("rect") if r.getAttribute("data-address") == "0x400000020000"]' real.svg || fail "real SVG"
    cd "$WORK"
}

test_help_and_version() {
    "$CLI" --version | grep -qxE '[0-9]+\.[0-9]+\.[0-9]+' || fail "--version" || return 1
    "$CLI" run --help > "$WORK/help.txt" || return 1
    for opt in --config --window --report --format --track --leak-exitcode --suppressions --backtrace-depth \
               --clobber --log --no-follow-children --library EXAMPLES; do
        contains "$WORK/help.txt" -- "$opt" >/dev/null || fail "run --help lacks $opt" || return 1
    done
}

# ---- install ----------------------------------------------------------------------
test_install_uninstall() {
    stage="$WORK/stage"
    make -s -C "$root" BUILD="$BUILDDIR" DESTDIR="$stage" PREFIX=/usr/local install > "$WORK/install.log" 2>&1 \
        || { tail -n 20 "$WORK/install.log"; fail "make install"; return 1; }
    p="$stage/usr/local"
    for f in bin/mapwarden lib/libmapwarden.so include/mapwarden.h lib/pkgconfig/mapwarden.pc \
             share/mapwarden/default.env share/mapwarden/emulator.env share/mapwarden/best-effort.env \
             share/man/man1/mapwarden.1; do
        [ -f "$p/$f" ] || fail "not installed: $f" || return 1
    done
    contains "$p/lib/pkgconfig/mapwarden.pc" "prefix=/usr/local" || return 1
    grep -q '^\.Dt MAPWARDEN 1' "$p/share/man/man1/mapwarden.1" || fail "man page" || return 1
    grep -q 'leak-exitcode' "$p/share/man/man1/mapwarden.1" || fail "man page lacks run's options" || return 1
    # The installed command finds the installed library (../lib) and runs a program under it.
    "$p/bin/mapwarden" run -q --report none -- "$CHILD" maps > "$WORK/inst.maps"
    expect_status 0 $? "installed mapwarden run" || return 1
    contains "$WORK/inst.maps" "$p/lib/libmapwarden.so" || return 1
    contains "$WORK/inst.maps" "400000000000-410000000000 ---p" || return 1
    make -s -C "$root" BUILD="$BUILDDIR" DESTDIR="$stage" PREFIX=/usr/local uninstall > "$WORK/uninstall.log" 2>&1 || { fail "make uninstall"; return 1; }
    left=$(find "$stage" -type f)
    [ -z "$left" ] || fail "left after uninstall: $left"
}

cd "$WORK"
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
    name=${t#test_}
    [ -n "$filter" ] && [[ "$name" != *$filter* ]] && continue
    start=$(date +%s%N)
    if ( cd "$WORK" && $t ) > "$WORK/$name.log" 2>&1; then
        passed=$((passed + 1))
        printf 'PASS %-40s %6d ms\n' "$name" $(( ($(date +%s%N) - start) / 1000000 ))
    else
        failed=$((failed + 1)); failures+=("$name")
        echo "FAIL $name"; sed 's/^/    | /' "$WORK/$name.log" | tail -n 40
    fi
done
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
