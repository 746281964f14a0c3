#!/usr/bin/env bash
# QEMU user mode with its guest inside a window: qemu-x86_64 -B BASE puts the
# guest's address space at host BASE + guest address, and with the window at
# BASE every guest mapping is a fixed or hinted host mmap inside it (QEMU
# uses the mmap-family symbols; it ends with syscall(SYS_exit_group) through
# libc's syscall(), never exit or _exit). Under LD_PRELOAD with
# -U LD_PRELOAD (the guest must not load mapwarden itself):
#   - /bin/ls gives the same output, errors and exit status as without
#     mapwarden (a listing, and a missing file: status 2);
#   - a long-running guest (cat waiting on a FIFO) has every mapping it sees
#     (its own /proc/self/maps, which QEMU emulates) inside the window, mapped
#     on the host, and the window has no hole;
#   - the leak report (MAPWARDEN_REPORT with %p) is written at exit and lists
#     the guest's mappings, all inside the window;
#   - `mapwarden run -- qemu-x86_64 ...` says where the report is, and with
#     --no-follow-children it needs no -U LD_PRELOAD.
# And without -U LD_PRELOAD the guest's own loader loads mapwarden into the
# guest, whose window cannot be reserved there: it exits with status 71.
set -u
fail() { echo "qemu_guest_runs_inside_window: $*"; exit 1; }
. "$(dirname "$0")/../include/real_maps.bash"
QEMU=${QEMU:-qemu-x86_64}
command -v "$QEMU" >/dev/null ||
    fail "$QEMU is not installed: install the Debian package qemu-user (.ci/setup test does)"
CLI=${CLI:-$(dirname "$LIB")/mapwarden}
out="$BUILD/qemu_guest_runs_inside_window"
rm -rf "$out"; mkdir -p "$out/dir/sub" "$out/cli"
printf 'hello\n' >"$out/dir/a.txt"; head -c 5000 /dev/zero >"$out/dir/zeros"; ln -s a.txt "$out/dir/link"
touch -d '2024-01-02 03:04:05' "$out/dir" "$out/dir"/* "$out/dir/sub"

LO=500000000000 SIZE=10000000000 # 1T
HI=$(printf '%x' $((16#$LO + 16#$SIZE)))
WIN=0x$LO:1T
guest() { "$QEMU" -L / -B 0x$LO -U LD_PRELOAD "$@"; }

# 1. ls: the same with and without mapwarden, listing and error alike.
for case in list missing; do
    case $case in
        list) args=(-lA --time-style=+%s "$out/dir" "$out/dir/sub") ;;
        missing) args=(-l "$out/dir/a.txt" "$out/no-such-file") ;;
    esac
    (cd "$out" && LC_ALL=C guest /bin/ls "${args[@]}" >"$case.plain.out" 2>"$case.plain.err"); plain=$?
    (cd "$out" && exec env LC_ALL=C LD_PRELOAD="$LIB" MAPWARDEN_WINDOW=$WIN MAPWARDEN_REPORT="$out/$case.report.%p" \
        "$QEMU" -L / -B 0x$LO -U LD_PRELOAD /bin/ls "${args[@]}" >"$case.pre.out" 2>"$case.pre.err") &
    pid=$!; wait $pid; pre=$?
    for f in out err; do
        cmp -s "$out/$case.plain.$f" "$out/$case.pre.$f" ||
            { diff "$out/$case.plain.$f" "$out/$case.pre.$f" | head -20; fail "ls ($case): std$f differs under mapwarden"; }
    done
    [ "$plain" = "$pre" ] || fail "ls ($case): exit status $pre under mapwarden, $plain without"
    report="$out/$case.report.$pid"
    [ -s "$report" ] || fail "ls ($case): no leak report at $report (QEMU ends with syscall(SYS_exit_group))"
    # Every mapping the report lists is inside the window, and there are some.
    n=0
    while read -r addr; do
        a=$((addr))
        [ "$a" -ge $((16#$LO)) ] && [ "$a" -lt $((16#$HI)) ] || fail "ls ($case): the report lists $addr, outside the window"
        n=$((n + 1))
    done < <(sed -n 's/^ *at \(0x[0-9a-f]*\) (.*/\1/p' "$report")
    [ "$n" -gt 0 ] || { head -20 "$report"; fail "ls ($case): the report lists no mapping"; }
    echo "ls ($case): same output and status ($plain) with and without mapwarden; report lists $n mappings in the window"
done
[ "$(grep -c . "$out/list.plain.out")" -ge 6 ] || { cat "$out/list.plain.out"; fail "suspiciously short listing"; }

# 2. A guest that waits: cat prints its own /proc/self/maps (the guest's
#    view, in guest addresses), then copies stdin; we send "ping", and once
#    it is echoed the guest is blocked reading: snapshot the host's maps.
mkfifo "$out/in" "$out/out"
exec 3<>"$out/out" 4<>"$out/in"
env LD_PRELOAD="$LIB" MAPWARDEN_WINDOW=$WIN MAPWARDEN_REPORT="$out/cat.report.%p" \
    "$QEMU" -L / -B 0x$LO -U LD_PRELOAD /bin/cat /proc/self/maps - \
    <"$out/in" >"$out/out" 2>"$out/cat.err" 3>&- 4>&- &
pid=$!
echo ping >&4
: >"$out/guest.maps"
while await_line 3 "$pid" 20; do
    [ "$REPLY_LINE" = ping ] && break
    echo "$REPLY_LINE" >>"$out/guest.maps"
done
[ "${REPLY_LINE:-}" = ping ] || { exec 4>&-; kill $pid 2>/dev/null; cat "$out/cat.err"; fail "the guest cat did not echo (exit: $(wait $pid; echo $?))"; }
cp "/proc/$pid/maps" "$out/host.maps"
exec 4>&-            # EOF: cat ends
wait $pid; status=$?
exec 3>&-
[ "$status" = 0 ] || { cat "$out/cat.err"; fail "the guest cat exited with $status"; }

covered "$out/host.maps" $LO $HI || fail "a hole in the window while the guest runs"
grep -q ' /usr/bin/cat$' "$out/guest.maps" && grep -q 'libc\.so' "$out/guest.maps" ||
    { cat "$out/guest.maps"; fail "the guest's maps do not show cat and libc"; }
n=0
while read -r range perms rest; do
    [[ "$rest" == *'[vsyscall]'* ]] && continue # the kernel's page, not a mapping
    s=$((16#${range%-*})); e=$((16#${range#*-}))
    [ "$e" -le $((16#$SIZE)) ] || fail "guest mapping $range $perms $rest escaped the window (guest addresses end at 0x$SIZE)"
    hs=$(printf '%x' $((16#$LO + s))); he=$(printf '%x' $((16#$LO + e)))
    covered "$out/host.maps" "$hs" "$he" >/dev/null || fail "guest mapping $range is not mapped on the host at $hs-$he"
    if [ "$perms" != ---p ] && reserved_only "$out/host.maps" "$hs" "$he" >/dev/null; then
        fail "guest mapping $range $perms is only the reservation on the host ($hs-$he)"
    fi
    n=$((n + 1))
done <"$out/guest.maps"
[ "$n" -ge 5 ] || fail "only $n guest mappings"
echo "cat: all $n guest mappings inside the window (host 0x$LO-0x$HI), mapped, no hole"

report="$out/cat.report.$pid"
[ -s "$report" ] || fail "no leak report from the guest cat at $report"
cat_start=$(awk '$6 == "/usr/bin/cat" { split($1, a, "-"); print a[1]; exit }' "$out/guest.maps")
want=$(printf '0x%x' $((16#$LO + 16#$cat_start)))
grep -q "at $want (" "$report" || { head -30 "$report"; fail "the report does not list the guest's cat at $want"; }
while read -r addr; do
    a=$((addr))
    [ "$a" -ge $((16#$LO)) ] && [ "$a" -lt $((16#$HI)) ] || fail "the cat report lists $addr, outside the window"
done < <(sed -n 's/^ *at \(0x[0-9a-f]*\) (.*/\1/p' "$report")
echo "cat: report lists the guest's cat at $want"

# 3. Without -U LD_PRELOAD the guest inherits LD_PRELOAD, and the guest's
#    loader (-L /) loads mapwarden into the guest: its window, at the same
#    guest address (host BASE + BASE), cannot be reserved there. (A 1G window
#    here: QEMU 7.2 takes some 12 s for any 1 TiB guest mapping.)
LD_PRELOAD="$LIB" MAPWARDEN_WINDOW=0x$LO:1G MAPWARDEN_REPORT=none \
    "$QEMU" -L / -B 0x$LO /bin/true >"$out/noU.out" 2>"$out/noU.err"; st=$?
[ "$st" = 71 ] && grep -q 'cannot reserve the window' "$out/noU.err" ||
    { cat "$out/noU.err"; fail "without -U LD_PRELOAD: expected the guest's mapwarden to exit 71, got $st"; }
echo "without -U LD_PRELOAD: the guest's own mapwarden exits 71: $(head -1 "$out/noU.err")"

# 4. mapwarden run -- qemu-x86_64 ...: same output, and it says where the report is.
[ -x "$CLI" ] || fail "no mapwarden command at $CLI (make cli)"
(cd "$out/cli" && LC_ALL=C "$CLI" run --window $WIN -- "$QEMU" -L / -B 0x$LO -U LD_PRELOAD /bin/ls -lA --time-style=+%s "$out/dir" "$out/dir/sub" \
    >run.out 2>run.err); st=$?
[ "$st" = 0 ] || { cat "$out/cli/run.err"; fail "mapwarden run: exit $st"; }
cmp -s "$out/list.plain.out" "$out/cli/run.out" || { diff "$out/list.plain.out" "$out/cli/run.out" | head; fail "mapwarden run: ls output differs"; }
line=$(grep 'report: ' "$out/cli/run.err")
file=$(sed -n 's/.*report: \([^ ]*\).*/\1/p' "$out/cli/run.err" | head -1)
[ -n "$file" ] && [ -s "$out/cli/$file" ] ||
    { cat "$out/cli/run.err"; fail "mapwarden run does not name a report it wrote"; }
echo "mapwarden run: $line"
# --no-follow-children takes the library out of LD_PRELOAD at start, so the
# guest does not inherit it: no -U LD_PRELOAD needed.
(cd "$out/cli" && LC_ALL=C "$CLI" run --no-follow-children --window $WIN -- "$QEMU" -L / -B 0x$LO /bin/ls -lA --time-style=+%s "$out/dir" "$out/dir/sub" \
    >nofollow.out 2>nofollow.err); st=$?
[ "$st" = 0 ] && cmp -s "$out/list.plain.out" "$out/cli/nofollow.out" && grep -q 'report: ' "$out/cli/nofollow.err" ||
    { cat "$out/cli/nofollow.err"; fail "mapwarden run --no-follow-children (no -U): exit $st, or other output, or no report"; }
echo "mapwarden run --no-follow-children, without -U LD_PRELOAD: same output, $(grep -o 'report: [^ ]*' "$out/cli/nofollow.err")"
echo "qemu_guest_runs_inside_window: ok"
