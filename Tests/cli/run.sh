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
for v in $(env | sed -n 's/^\(MAPWARDEN_WINDOW_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
# The files of the shared windows the tests use (/dev/shm/$SHM.*), removed at the end.
SHM="mw-cli-test-$$"
trap 'rm -rf "$WORK"; rm -f /dev/shm/"$SHM".*' EXIT

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

test_run_crash_is_explained_and_leaves_report() {
    # A SIGSEGV in the window: the program's explanation on standard error,
    # mapwarden run ending as the program did (killed by SIGSEGV), and the
    # report written at the crash, which `report` reads.
    mkdir -p "$WORK/crash" && cd "$WORK/crash" || return 1
    (ulimit -c 0; "$CLI" run -- "$CHILD" crash 2> err.out)
    expect_status $((128 + 11)) $? "a program that dies of SIGSEGV" || { cat err.out; return 1; }
    contains err.out "mapwarden: SIGSEGV at 0x400000010000 (write): protection violation: write of a r-- mapping" || return 1
    contains err.out "was killed by SIGSEGV" || return 1
    contains err.out "1 leaked mapping (4 KiB), 0 clobbers; report: mapwarden.child." || return 1
    files=(mapwarden.child.*.json)
    [ ${#files[@]} = 1 ] || fail "expected 1 report, got ${files[*]}" || return 1
    grep -q '"ended_by": "crash"' "${files[0]}" || fail "the report is not marked as written at a crash" || return 1
    "$CLI" report "${files[0]}" > report.txt || return 1
    contains report.txt "1 leaked mapping (4096 bytes) at crash of child" || return 1
    cd "$WORK"
}

# ---- check --------------------------------------------------------------------
test_check_good_window() {
    "$CLI" check --window 0x400000000000:1G > "$WORK/check.good" 2>&1
    expect_status 0 $? "check of a free window" || { cat "$WORK/check.good"; return 1; }
    contains "$WORK/check.good" "Reservation: OK" || return 1
    # this kernel (seccomp filters with SECCOMP_RET_TRAP) supports the raw-syscall trap
    contains "$WORK/check.good" "Raw system calls (MAPWARDEN_RAW_SYSCALLS=trap):" || return 1
    contains "$WORK/check.good" "seccomp filters: available" || return 1
    contains "$WORK/check.good" "verdict: supported (off in this configuration" || return 1
    MAPWARDEN_RAW_SYSCALLS=trap "$CLI" check --window 0x400000000000:1G > "$WORK/check.trap" 2>&1
    expect_status 0 $? "check with the trap on" || { cat "$WORK/check.trap"; return 1; }
    contains "$WORK/check.trap" "verdict: supported, and on in this configuration" || return 1
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

test_fifo_and_huge_files_refused() {
    # A FIFO is never opened (that would wait for a writer); a huge file is
    # refused by its size, not read.
    mkfifo "$WORK/fifo" && truncate -s 5G "$WORK/huge.json" || { fail "cannot make the files"; return 1; }
    timeout 20 "$CLI" report "$WORK/fifo" > "$WORK/rep.fifo" 2>&1
    expect_status 65 $? "report of a FIFO" || { cat "$WORK/rep.fifo"; return 1; }
    contains "$WORK/rep.fifo" "fifo: cannot read: not a regular file (a FIFO)" || return 1
    timeout 20 "$CLI" check --config "$WORK/fifo" > "$WORK/check.fifo" 2>&1
    expect_status 78 $? "check of a FIFO config" || { cat "$WORK/check.fifo"; return 1; }
    contains "$WORK/check.fifo" "mapwarden: MAPWARDEN_CONFIG=\"$WORK/fifo\": cannot read the config file: not a regular file (a FIFO)" || return 1
    timeout 20 "$CLI" check --named-window heap=0x500000000000:1G:persist="$WORK/fifo" > "$WORK/check.wfifo" 2>&1
    expect_status 71 $? "check of a window whose file is a FIFO" || { cat "$WORK/check.wfifo"; return 1; }
    contains "$WORK/check.wfifo" "window \"heap\": $WORK/fifo: cannot open it: not a regular file (a FIFO)" || return 1
    timeout 20 "$CLI" report "$WORK/huge.json" > "$WORK/rep.huge" 2>&1
    expect_status 65 $? "report of a 5 GiB file" || { cat "$WORK/rep.huge"; return 1; }
    contains "$WORK/rep.huge" "huge.json: cannot read: File too large" || return 1
    timeout 20 "$CLI" run -q --report "$WORK/fifo" -- "$CHILD" exit 0 > "$WORK/run.fifo" 2>&1
    expect_status 0 $? "run with a FIFO as the report" || { cat "$WORK/run.fifo"; return 1; }
    contains "$WORK/run.fifo" "cannot write the report there: not a regular file (a FIFO); writing it to standard error"
}

# ---- named, shared and persistent windows ------------------------------------
test_check_named_windows() {
    # One from the config file, one from the environment, one from the option.
    printf 'MAPWARDEN_WINDOW_FROMFILE=0x510000000000:1G\n' > "$WORK/named.env"
    cd "$WORK" || return 1
    MAPWARDEN_WINDOW_Env=0x520000000000:2G "$CLI" check --config named.env \
        --named-window opt=0x530000000000:4G > "$WORK/check.named" 2>&1
    expect_status 0 $? "check with named windows" || { cat "$WORK/check.named"; return 1; }
    f="$WORK/check.named"
    contains "$f" "Configuration: valid, 4 windows" || return 1
    contains "$f" 'window "default": 0x400000000000-0x410000000000 (1 TiB), private, from the built-in default' || return 1
    contains "$f" 'window "fromfile": 0x510000000000-0x510040000000 (1 GiB), private, from named.env:1' || return 1
    contains "$f" 'window "env": 0x520000000000-0x520080000000 (2 GiB), private, from the environment (MAPWARDEN_WINDOW_Env)' || return 1
    contains "$f" 'window "opt": 0x530000000000-0x530100000000 (4 GiB), private, from --named-window' || return 1
    # Each one reserved by the library in the fresh process, and placed in the layout.
    for w in 'default" 0x400000000000-0x410000000000' 'fromfile" 0x510000000000-0x510040000000' \
             'env" 0x520000000000-0x520080000000' 'opt" 0x530000000000-0x530100000000'; do
        contains "$f" "  window \"$w: reserved" || return 1
    done
    for n in default fromfile env opt; do contains "$f" ">>> WINDOW $n <<<" || return 1; done
    contains "$f" "Result: the 4 windows can be reserved" || return 1
    # An empty value in the environment removes the file's window.
    MAPWARDEN_WINDOW_FROMFILE= "$CLI" check --config "$WORK/named.env" > "$WORK/check.removed" 2>&1
    expect_status 0 $? "check with a window removed" || return 1
    contains "$WORK/check.removed" "Configuration: valid, 1 window" || return 1
    if grep -q fromfile "$WORK/check.removed"; then fail "the removed window is still listed"; return 1; fi
    # A window the library cannot reserve is named, the others are not blamed.
    "$CLI" check --named-window stk=0x7ff000000000:0xffffff000 > "$WORK/check.stk" 2>&1
    expect_status 71 $? "check of a named window over the stack" || { cat "$WORK/check.stk"; return 1; }
    contains "$WORK/check.stk" 'window "stk" 0x7ff000000000-0x7ffffffff000: FAILED' || return 1
    contains "$WORK/check.stk" 'window "default" 0x400000000000-0x410000000000: reserved' || return 1
    contains "$WORK/check.stk" 'cannot reserve the window "stk"' || return 1
    contains "$WORK/check.stk" "Suggestion: --named-window stk=" || return 1
    contains "$WORK/check.stk" 'Result: window "stk" cannot be reserved (exit status 71).'
}

test_check_overlapping_windows() {
    # The environment's named window over the default one: 78, both named, in the library's words.
    MAPWARDEN_WINDOW_IPC=0x400000000000:1G "$CLI" check > "$WORK/check.overlap" 2>&1
    expect_status 78 $? "check of overlapping windows" || { cat "$WORK/check.overlap"; return 1; }
    contains "$WORK/check.overlap" 'MAPWARDEN_WINDOW_IPC="0x400000000000:1G": overlaps the window "default" (MAPWARDEN_WINDOW, 0x400000000000-0x410000000000' || return 1
    MAPWARDEN_WINDOW_IPC=0x400000000000:1G LD_PRELOAD="$LIB" "$CHILD" exit 0 2> "$WORK/lib.overlap"
    expect_status 78 $? "the library on the same windows" || return 1
    line=$(grep 'overlaps the window' "$WORK/lib.overlap") || { cat "$WORK/lib.overlap"; fail "the library did not say it"; return 1; }
    grep -qxF -- "  $line" "$WORK/check.overlap" || fail "check does not say it as the library does: $line" || return 1
    # Two named windows from the config file: both keys, the file and its line.
    printf 'MAPWARDEN_WINDOW_A=0x510000000000:1G\nMAPWARDEN_WINDOW_B=0x510020000000:1G\n' > "$WORK/ab.env"
    "$CLI" check --config "$WORK/ab.env" > "$WORK/check.ab" 2>&1
    expect_status 78 $? "check of overlapping named windows" || { cat "$WORK/check.ab"; return 1; }
    contains "$WORK/check.ab" "$WORK/ab.env:2: MAPWARDEN_WINDOW_B=\"0x510020000000:1G\": overlaps the window \"a\" (MAPWARDEN_WINDOW_A, 0x510000000000-0x510040000000" || return 1
    # From the options: check says 78 too, run refuses before starting anything.
    "$CLI" check --named-window x=0x400000001000:4K > "$WORK/check.x" 2>&1
    expect_status 78 $? "check --named-window over the default window" || return 1
    contains "$WORK/check.x" '(from the command line)' || return 1
    "$CLI" run --named-window x=0x400000001000:4K -- "$CHILD" exit 0 > "$WORK/run.x" 2>&1
    expect_status 64 $? "run --named-window over the default window" || { cat "$WORK/run.x"; return 1; }
    contains "$WORK/run.x" 'overlaps the window "default"'
}

test_check_shared_window() {
    f="/dev/shm/$SHM.chk"
    win="0x540000000000:16M:shared=$SHM.chk"
    # No file yet: check says so and does not create it.
    "$CLI" check --named-window "ipc=$win" > "$WORK/check.shm1" 2>&1
    expect_status 0 $? "check of a shared window without its file" || { cat "$WORK/check.shm1"; return 1; }
    contains "$WORK/check.shm1" "window \"ipc\": 0x540000000000-0x540001000000 (16 MiB), shared ($f), from --named-window" || return 1
    contains "$WORK/check.shm1" "window \"ipc\": $f: does not exist yet" || return 1
    contains "$WORK/check.shm1" 'window "ipc" 0x540000000000-0x540001000000: reserved' || return 1
    [ ! -e "$f" ] || fail "check created $f" || return 1
    # A program uses the window: the file exists and its header fits; check leaves it as it is.
    "$CLI" run -q --report none --named-window "ipc=$win" -- "$LEAKY" 0 also=0x540000002000 || return 1
    [ -f "$f" ] || fail "the program did not create $f" || return 1
    before=$(sha256sum < "$f"; stat -c '%s %Y' "$f")
    "$CLI" check --named-window "ipc=$win" > "$WORK/check.shm2" 2>&1
    expect_status 0 $? "check of a shared window with its file" || { cat "$WORK/check.shm2"; return 1; }
    contains "$WORK/check.shm2" "window \"ipc\": $f: exists, its header matches (0x540000000000-0x540001000000, version 1); closed cleanly" || return 1
    contains "$WORK/check.shm2" "opened 1 time" || return 1
    [ "$before" = "$(sha256sum < "$f"; stat -c '%s %Y' "$f")" ] || fail "check changed $f" || return 1
    # The same file for another size: refused in the library's words, status 71.
    "$CLI" check --named-window "ipc=0x540000000000:32M:shared=$SHM.chk" > "$WORK/check.shm3" 2>&1
    expect_status 71 $? "check of a shared window whose file is for another size" || { cat "$WORK/check.shm3"; return 1; }
    contains "$WORK/check.shm3" "window \"ipc\": $f: it was made for size 16777216 (16M), not 33554432 (32M)" || return 1
    MAPWARDEN_WINDOW_IPC="0x540000000000:32M:shared=$SHM.chk" LD_PRELOAD="$LIB" "$CHILD" exit 0 2> "$WORK/lib.shm3"
    expect_status 71 $? "the library on the same file" || return 1
    contains "$WORK/lib.shm3" "it was made for size 16777216 (16M), not 33554432 (32M)" || return 1
    # Not a mapwarden file at all.
    printf 'hello, this is not a window file at all; it is long enough to read a header from.\n' > "/dev/shm/$SHM.junk"
    "$CLI" check --named-window "junk=0x550000000000:1M:shared=$SHM.junk" > "$WORK/check.junk" 2>&1
    expect_status 71 $? "check of a shared window over another file" || return 1
    contains "$WORK/check.junk" "/dev/shm/$SHM.junk: it is not a mapwarden window file (no MAPWARDN header)" || return 1
    # A persistent window in a directory that does not exist: refused.
    "$CLI" check --named-window "keep=0x550000000000:1M:persist=$WORK/no/such/dir/keep.mw" > "$WORK/check.nodir" 2>&1
    expect_status 71 $? "check of a persistent window that cannot be created" || { cat "$WORK/check.nodir"; return 1; }
    contains "$WORK/check.nodir" "$WORK/no/such/dir/keep.mw: cannot open it: ENOENT"
}

test_run_named_window() {
    # --named-window becomes MAPWARDEN_WINDOW_<NAME> (beating the environment's entry
    # for the same window, in any case) and the library reserves it.
    MAPWARDEN_WINDOW_ipc=0x560000000000:1G "$CLI" run -q --report none --named-window ipc=0x540000000000:2G \
        --named-window spare=0x550000000000:1G -- "$CHILD" env > "$WORK/named.env.out"
    expect_status 0 $? "run --named-window" || return 1
    contains "$WORK/named.env.out" "MAPWARDEN_WINDOW_IPC=0x540000000000:2G" || return 1
    contains "$WORK/named.env.out" "MAPWARDEN_WINDOW_SPARE=0x550000000000:1G" || return 1
    if grep -q '^MAPWARDEN_WINDOW_ipc=' "$WORK/named.env.out"; then fail "the environment's entry for the same window was kept"; return 1; fi
    MAPWARDEN_WINDOW_ipc=0x560000000000:1G "$CLI" run -q --report none --named-window ipc=0x540000000000:2G \
        -- "$CHILD" maps > "$WORK/named.maps"
    contains "$WORK/named.maps" "540000000000-540080000000 ---p" || return 1
    contains "$WORK/named.maps" "400000000000-410000000000 ---p" || return 1
    if grep -q '^560000000000-' "$WORK/named.maps"; then fail "the environment's window was reserved too"; return 1; fi
    # A bad value is refused before the program starts, in the library's words.
    "$CLI" run --named-window ipc=0x540000000000:2G:sharde -- "$CHILD" exit 0 > "$WORK/run.bad" 2>&1
    expect_status 64 $? "run --named-window with a bad option" || return 1
    contains "$WORK/run.bad" 'unknown window option "sharde" (known: private, shared, shared=PATH, persist=PATH)' || return 1
    "$CLI" run --help > "$WORK/run.help" && contains "$WORK/run.help" "--named-window"
}

test_report_named_windows() {
    # Two runs that leak in the default window and in a private named one, and leave
    # a page in a shared one (kept in its file, not a leak): merged per stack, each
    # leak named by its window, the windows summed up.
    mkdir -p "$WORK/nrep" && cd "$WORK/nrep" || return 1
    shm="shm=0x550000000000:16M:shared=$SHM.rep"
    "$CLI" run -q --named-window ipc=0x540000000000:16M --named-window "$shm" \
        -- "$LEAKY" 2 also=0x540000001000 also=0x550000001000 || return 1
    "$CLI" run --named-window ipc=0x540000000000:16M --named-window "$shm" \
        -- "$LEAKY" 2 also=0x540000003000 also=0x550000002000 2> summary.err || return 1
    contains summary.err "3 leaked mappings (12 KiB), 0 clobbers, 1 kept in shared or persistent windows" || return 1
    files=(mapwarden.leaky.*.json)
    [ ${#files[@]} = 2 ] || fail "expected 2 reports, got ${files[*]}" || return 1
    python3 - "${files[0]}" "/dev/shm/$SHM.rep" <<'PY' || fail "the library's report" || return 1
import json, sys
r = json.load(open(sys.argv[1]))
names = [w["name"] for w in r["windows"]]
assert names == ["default", "ipc", "shm"], names
shm = r["windows"][2]
assert shm["backing"] == "shared" and shm["path"] == sys.argv[2], shm
assert sorted(l["window"] for l in r["leaks"]) == ["default", "default", "ipc"], r["leaks"]
PY
    "$CLI" report "${files[@]}" > merged.txt || return 1
    contains merged.txt "8192 bytes in 2 mappings (pids " || return 1
    contains merged.txt ', in window "default", thread ' || return 1
    contains merged.txt 'at 0x540000001000 (4096 bytes, rw-, private anonymous, in window "ipc", thread ' || return 1
    contains merged.txt 'at 0x540000003000 (4096 bytes, rw-, private anonymous, in window "ipc", thread ' || return 1
    contains merged.txt "  default  0x400000000000-0x410000000000 (1 TiB): 4 leaked mappings (16384 bytes) in 2 reports" || return 1
    contains merged.txt "  ipc      0x540000000000-0x540001000000 (16 MiB): 2 leaked mappings (8192 bytes) in 2 reports" || return 1
    contains merged.txt "  shm      0x550000000000-0x550001000000 (16 MiB, shared /dev/shm/$SHM.rep): 2 mappings (8192 bytes) kept in the file at exit, not leaks in 2 reports" || return 1
    contains merged.txt "SUMMARY: mapwarden: 24576 bytes leaked in 6 mappings; 0 suppressed (0 bytes); 0 inherited (0 bytes); 0 clobbers; 2 kept in shared or persistent windows (8192 bytes, not leaks); 2 reports." || return 1
    "$CLI" report --format json "${files[@]}" > merged.json || return 1
    python3 - merged.json "/dev/shm/$SHM.rep" <<'PY' || fail "merged JSON" || return 1
import json, sys
m = json.load(open(sys.argv[1]))
w = {x["name"]: x for x in m["windows"]}
assert sorted(w) == ["default", "ipc", "shm"], m["windows"]
assert w["shm"]["backing"] == "shared" and w["shm"]["path"] == sys.argv[2] and w["shm"]["base"] == "0x550000000000", w["shm"]
assert w["shm"]["reports"] == 2 and w["shm"]["mappings"] == 2 and w["shm"]["leaked_mappings"] == 0, w["shm"]
assert w["ipc"]["backing"] == "private" and w["ipc"]["path"] is None, w["ipc"]
assert w["ipc"]["leaked_mappings"] == 2 and w["ipc"]["leaked_bytes"] == 8192, w["ipc"]
assert w["default"]["leaked_mappings"] == 4, w["default"]
assert m["summary"]["kept_mappings"] == 2 and m["summary"]["leaked_mappings"] == 6, m["summary"]
ipc = [l for g in m["groups"] for l in g["leaks"] if l["window"] == "ipc"]
assert sorted(l["address"] for l in ipc) == ["0x540000001000", "0x540000003000"], ipc
PY
    # The picture: one panel per window, each leak in its own window's panel.
    "$CLI" report "${files[@]}" --svg w.svg > /dev/null 2>&1 || return 1
    python3 - w.svg <<'PY' || fail "SVG with named windows"
import sys, xml.dom.minidom
d = xml.dom.minidom.parse(sys.argv[1])
texts = [t.firstChild.data for t in d.getElementsByTagName("text") if t.firstChild]
assert any(t.startswith('window "ipc" 0x540000000000-0x540001000000 (16 MiB): 2 leaked ranges') for t in texts), texts
assert any(t.startswith('window "shm" 0x550000000000-0x550001000000 (16 MiB, shared') for t in texts), texts
assert any(t.startswith('window "default" 0x400000000000') for t in texts), texts
addrs = {r.getAttribute("data-address") for r in d.getElementsByTagName("rect")}
assert {"0x540000001000", "0x540000003000", "0x400000010000"} <= addrs, addrs
PY
    cd "$WORK"
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

# ---- report: frames named by function, file and line (libdw) ---------------
line_of() { # marker in lines.c -> its line number
    grep -n "LINE:$1 " "$here/lines.c" | cut -d: -f1
}
leak_report_of() { # program report.json
    LD_PRELOAD="$LIB" MAPWARDEN_REPORT="$2" MAPWARDEN_REPORT_FORMAT=json "$1" || fail "$1 failed"
}

test_report_names_files_lines_and_inlined_frames() {
    # Built the usual way (-g, no -rdynamic): dladdr names none of the
    # program's own frames, the symbolizer names each, the inlined one too.
    $CC -std=gnu11 -g -O1 -o "$WORK/lines" "$here/lines.c" || return 1
    leak_report_of "$WORK/lines" "$WORK/lines.json" || return 1
    "$CLI" report "$WORK/lines.json" > "$WORK/lines.txt" || return 1
    contains "$WORK/lines.txt" "#0 " || return 1
    grep -E "^    #0 0x[0-9a-f]+ in map_at $here/lines.c:$(line_of map_at):" "$WORK/lines.txt" > /dev/null ||
        { cat "$WORK/lines.txt"; fail "frame #0: map_at with its file and line"; return 1; }
    grep -E "^    #1 0x[0-9a-f]+ in cache_alloc $here/lines.c:$(line_of cache_alloc):" "$WORK/lines.txt" > /dev/null ||
        { cat "$WORK/lines.txt"; fail "frame #1: cache_alloc, where map_at was inlined"; return 1; }
    grep -E "^    #2 0x[0-9a-f]+ in main $here/lines.c:$(line_of main):" "$WORK/lines.txt" > /dev/null ||
        { cat "$WORK/lines.txt"; fail "frame #2: main"; return 1; }
    # #0 and #1 are one return address: the inlined function and its host.
    a0=$(awk '$1 == "#0" {print $2; exit}' "$WORK/lines.txt")
    a1=$(awk '$1 == "#1" {print $2; exit}' "$WORK/lines.txt")
    [ -n "$a0" ] && [ "$a0" = "$a1" ] || fail "inlined frames share the address ($a0, $a1)" || return 1
    # The JSON report carries the program's build-id, as the file has it.
    id=$(readelf -n "$WORK/lines" | awk '/Build ID/ {print $3}')
    [ -n "$id" ] || { fail "no build-id in the test program"; return 1; }
    contains "$WORK/lines.json" "\"build_id\": \"$id\"" || return 1
    # --no-symbolize: the library's own names (the program's frames unnamed).
    "$CLI" report --no-symbolize "$WORK/lines.json" > "$WORK/plain.txt" || return 1
    contains "$WORK/plain.txt" "in ?? ($WORK/lines+0x"
}

test_run_summary_names_the_largest_leak_by_file_and_line() {
    $CC -std=gnu11 -g -O1 -o "$WORK/lines" "$here/lines.c" || return 1
    mkdir -p "$WORK/sum" && cd "$WORK/sum" || return 1
    "$CLI" run -- "$WORK/lines" 2> "$WORK/sum.err" || { cat "$WORK/sum.err"; fail "run"; return 1; }
    cat "$WORK/sum.err"
    # (-O1 unrolls main's loop: three call sites, three stacks of one mapping.)
    grep -qE "^mapwarden: largest: 4096 bytes in 1 mapping, allocated from:$" "$WORK/sum.err" || fail "no largest line" || return 1
    contains "$WORK/sum.err" "in map_at $here/lines.c:$(line_of map_at):" || return 1
    contains "$WORK/sum.err" "in cache_alloc $here/lines.c:$(line_of cache_alloc):"
}

test_report_names_functions_from_symtab_without_debug_info() {
    $CC -std=gnu11 -O1 -o "$WORK/nodebug" "$here/lines.c" || return 1
    leak_report_of "$WORK/nodebug" "$WORK/nodebug.json" || return 1
    "$CLI" report "$WORK/nodebug.json" > "$WORK/nodebug.txt" || return 1
    grep -E "^    #0 0x[0-9a-f]+ in cache_alloc\+0x[0-9a-f]+ \($WORK/nodebug\)" "$WORK/nodebug.txt" > /dev/null ||
        { cat "$WORK/nodebug.txt"; fail "frame #0: cache_alloc from .symtab"; return 1; }
    grep -E "^    #1 0x[0-9a-f]+ in main\+0x[0-9a-f]+ \($WORK/nodebug\)" "$WORK/nodebug.txt" > /dev/null ||
        { cat "$WORK/nodebug.txt"; fail "frame #1: main from .symtab"; return 1; }
}

test_report_finds_stripped_programs_debug_file_by_build_id() {
    $CC -std=gnu11 -g -O1 -o "$WORK/stripped" "$here/lines.c" || return 1
    id=$(readelf -n "$WORK/stripped" | awk '/Build ID/ {print $3}')
    mkdir -p "$WORK/debug/.build-id/${id:0:2}" || return 1
    objcopy --only-keep-debug "$WORK/stripped" "$WORK/debug/.build-id/${id:0:2}/${id:2}.debug" || return 1
    strip "$WORK/stripped" || return 1
    leak_report_of "$WORK/stripped" "$WORK/stripped.json" || return 1
    "$CLI" report "$WORK/stripped.json" > "$WORK/nodir.txt" || return 1
    contains "$WORK/nodir.txt" "in ?? ($WORK/stripped+0x" || return 1
    "$CLI" report --debug-dir "$WORK/debug" "$WORK/stripped.json" > "$WORK/dir.txt" || return 1
    contains "$WORK/dir.txt" "in cache_alloc $here/lines.c:$(line_of cache_alloc):" || return 1
    # The program rebuilt differently: its file is not trusted, a note says
    # why, and the debug file of the build that ran still names the frames.
    $CC -std=gnu11 -g -O0 -o "$WORK/stripped" "$here/lines.c" || return 1
    "$CLI" report "$WORK/stripped.json" > "$WORK/other.txt" 2> "$WORK/other.err" || return 1
    contains "$WORK/other.err" "$WORK/stripped is not the file the process ran (build-id " || return 1
    contains "$WORK/other.txt" "in ?? ($WORK/stripped+0x" || return 1
    "$CLI" report --debug-dir "$WORK/debug" "$WORK/stripped.json" > "$WORK/rebuilt.txt" || return 1
    contains "$WORK/rebuilt.txt" "in cache_alloc $here/lines.c:$(line_of cache_alloc):" || return 1
    # And once the program is gone.
    rm -f "$WORK/stripped"
    "$CLI" report --debug-dir "$WORK/debug" "$WORK/stripped.json" > "$WORK/gone.txt" || return 1
    contains "$WORK/gone.txt" "in cache_alloc $here/lines.c:$(line_of cache_alloc):"
}

test_report_demangles_cpp_frames() {
    command -v g++ > /dev/null || { echo "  (no g++: skipped)"; return 0; }
    g++ -g -O1 -o "$WORK/linescc" "$here/lines.cc" || return 1
    leak_report_of "$WORK/linescc" "$WORK/linescc.json" || return 1
    "$CLI" report "$WORK/linescc.json" > "$WORK/linescc.txt" || return 1
    line=$(grep -n "LINE:reserve" "$here/lines.cc" | cut -d: -f1)
    contains "$WORK/linescc.txt" "in jit::Arena::reserve(unsigned long, unsigned long) $here/lines.cc:$line:"
}

# ---- report: flame graph and folded stacks ---------------------------------
browser_shot() { # file.svg out.png width height: headless Chromium's rendering of it
    local b
    b=$(command -v chromium-headless-shell || command -v chromium) || { fail "no chromium-headless-shell (.ci/setup test installs it)"; return 1; }
    "$b" --no-sandbox --disable-gpu --hide-scrollbars --screenshot="$2" --window-size="$3,$4" "file://$1" \
        > "$WORK/browser.log" 2>&1 || { cat "$WORK/browser.log"; fail "chromium could not render $1"; return 1; }
    [ -s "$2" ] || fail "chromium wrote no screenshot of $1"
}

test_report_flamegraph_and_folded_stacks() {
    $CC -std=gnu11 -g -O1 -o "$WORK/stacks" "$here/stacks.c" || return 1
    leak_report_of "$WORK/stacks" "$WORK/stacks.json" || return 1
    "$CLI" report "$WORK/stacks.json" --folded "$WORK/stacks.folded" --flamegraph "$WORK/stacks.svg" > /dev/null || return 1
    # One line per stack, root first, the bytes summed over its mappings.
    cat "$WORK/stacks.folded"
    [ "$(wc -l < "$WORK/stacks.folded")" = 3 ] || fail "expected 3 stacks" || return 1
    grep -qE "(^|;)main;jit_alloc;map_at 196608$" "$WORK/stacks.folded" || fail "jit_alloc's 3 x 64 KiB" || return 1
    grep -qE "(^|;)main;heap_grow;map_at 262144$" "$WORK/stacks.folded" || fail "heap_grow's 256 KiB" || return 1
    grep -qE "(^|;)main;cache_fill;map_at 32768$" "$WORK/stacks.folded" || fail "cache_fill's 2 x 16 KiB" || return 1
    total=$(awk '{s += $NF} END {print s}' "$WORK/stacks.folded")
    [ "$total" = 491520 ] || fail "folded total $total, expected the 491520 bytes leaked" || return 1
    # --folded - writes to standard output alone.
    "$CLI" report "$WORK/stacks.json" --folded - > "$WORK/stdout.folded" || return 1
    cmp -s "$WORK/stacks.folded" "$WORK/stdout.folded" || fail "--folded - differs from the file" || return 1
    # The flame graph: well-formed SVG, a box per frame with its share.
    python3 - "$WORK/stacks.svg" <<'PY' || return 1
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
titles = [t.firstChild.data for t in doc.getElementsByTagName("title")]
def share(name):
    return [t for t in titles if t.startswith(name + " (")]
assert share("all") and "100.00%" in share("all")[0], titles
assert "(256 KiB, 53.33%)" in share("heap_grow")[0], share("heap_grow")
assert "(192 KiB, 40.00%)" in share("jit_alloc")[0], share("jit_alloc")
assert "(32 KiB, 6.67%)" in share("cache_fill")[0], share("cache_fill")
assert len(share("map_at")) == 3, share("map_at")
assert not doc.getElementsByTagName("script") and "href" not in open(sys.argv[1]).read(), "not self-contained"
PY
    # Both pictures as a real browser draws them.
    browser_shot "$WORK/stacks.svg" "$WORK/flame.png" 1200 400 || return 1
    read -r size warm red dark distinct < <(python3 "$here/png_colors.py" "$WORK/flame.png")
    echo "flame graph: $size $warm $dark $distinct"
    [ "${warm#warm=}" -gt 20000 ] || fail "the flame graph's boxes were not drawn ($warm)" || return 1
    [ "${dark#dark=}" -gt 200 ] || fail "the flame graph's labels were not drawn ($dark)" || return 1
    "$CLI" report "$WORK/stacks.json" --svg "$WORK/window.svg" > /dev/null 2>&1 || return 1
    browser_shot "$WORK/window.svg" "$WORK/window.png" 1100 600 || return 1
    read -r size warm red dark distinct < <(python3 "$here/png_colors.py" "$WORK/window.png")
    echo "window picture: $size $red $dark $distinct"
    [ "${red#red=}" -gt 100 ] || fail "the window picture's leaked ranges were not drawn ($red)" || return 1
    [ "${dark#dark=}" -gt 200 ] || fail "the window picture's labels were not drawn ($dark)"
}

# ---- snapshots of a running program, and their diff --------------------------
test_snapshots_of_a_running_program_and_their_diff() {
    $CC -std=gnu11 -g -O1 -pthread -I "$root/CShim/include" -o "$WORK/server" "$here/server.c" || return 1
    local d="$WORK/srv"
    mkdir -p "$d"
    "$CLI" run -q --snapshot-signal SIGUSR2 --leak-exitcode 23 --report "$d/server.%p.json" -- \
        "$WORK/server" "$d/stop" "$d/api.%p.json" "$d/pid" &
    local run=$!
    for _ in $(seq 500); do [ -s "$d/pid" ] && break; sleep 0.01; done
    local pid
    pid=$(cat "$d/pid") || { fail "the server did not start"; return 1; }
    # 1. Through the API (written before the pid file).
    [ -s "$d/api.$pid.json" ] || fail "no API snapshot api.$pid.json" || return 1
    # 2. By the signal itself.
    sleep 0.2
    kill -USR2 "$pid"
    for _ in $(seq 500); do [ -e "$d/server.$pid.snapshot-1.json" ] && break; sleep 0.01; done
    [ -s "$d/server.$pid.snapshot-1.json" ] || fail "no snapshot after SIGUSR2" || return 1
    # 3. With mapwarden snapshot, which waits for the file and names it.
    sleep 0.3
    local s2 s3
    s2=$("$CLI" snapshot "$pid") || { fail "mapwarden snapshot $pid"; return 1; }
    [ "$s2" = "$d/server.$pid.snapshot-2.json" ] || fail "mapwarden snapshot printed $s2" || return 1
    # Many more while a thread maps and unmaps in the window: every file
    # that appears is whole (written, then renamed), the program goes on.
    for _ in $(seq 100); do kill -USR2 "$pid"; done
    sleep 0.3
    s3=$("$CLI" snapshot "$pid") || { fail "mapwarden snapshot $pid after a storm"; return 1; }
    touch "$d/stop"
    wait $run
    local st=$?
    # Nothing leaked at the end: the snapshots' live mappings never set the status.
    [ $st = 0 ] || fail "the run ended with $st (snapshots must not count toward --leak-exitcode)" || return 1
    ls "$d"/*.part 2> /dev/null && { fail "a .part file was left"; return 1; }
    for f in "$d"/*.json; do
        python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$f" || { fail "$f is not whole JSON"; return 1; }
    done
    contains "$d/server.$pid.snapshot-1.json" '"ended_by": "snapshot"' || return 1
    contains "$d/server.$pid.json" '"ended_by": "exit"' || return 1
    "$CLI" report "$s2" > "$WORK/snap.txt" || return 1
    contains "$WORK/snap.txt" "live mappings" || return 1
    contains "$WORK/snap.txt" "at snapshot of server" || return 1
    # What grew between the first snapshot and the last: grow(), first.
    "$CLI" report --diff "$d/api.$pid.json" "$s3" > "$WORK/diff.txt" || return 1
    cat "$WORK/diff.txt" | head -n 12
    first=$(grep -m1 -A1 "^grew by" "$WORK/diff.txt" | tail -n 1)
    [[ "$first" == *" in grow $here/server.c:"* ]] || fail "the first growth is not grow(): $first" || return 1
    grep -q "in steady " "$WORK/diff.txt" && { fail "steady() did not change and is listed"; return 1; }
    # Asking a process that takes no snapshots says so.
    sleep 5 & local other=$!
    "$CLI" snapshot "$other" 2> "$WORK/nosig.err"; st=$?
    kill $other
    [ $st = 69 ] || fail "snapshot of a process without the signal: status $st" || return 1
    contains "$WORK/nosig.err" "was not started with MAPWARDEN_SNAPSHOT_SIGNAL"
}

# Each test holds the machine's test lock, shared: no integration test that
# changes a sysctl for the whole machine runs meanwhile (../machine_lock.bash).
. "$here/../machine_lock.bash"
cd "$WORK"
for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
    name=${t#test_}
    [ -n "$filter" ] && [[ "$name" != *$filter* ]] && continue
    machine_lock shared
    start=$(date +%s%N)
    ( cd "$WORK" && $t ) </dev/null > "$WORK/$name.log" 2>&1 {mw_lock_ts}>&- {mw_lock_rw}>&-
    st=$?
    machine_unlock
    if [ $st -eq 0 ]; then
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
