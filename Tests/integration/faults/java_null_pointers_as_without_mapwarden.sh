#!/usr/bin/env bash
# HotSpot turns a null dereference in compiled code into a SIGSEGV that its
# own handler catches and throws as a NullPointerException. Under mapwarden
# (MAPWARDEN_FAULTS=explain, the default) its handler is the kernel's, as
# without mapwarden: `java -version` and a program that throws and catches
# NullPointerExceptions in a loop print the same and exit the same with and
# without the preload, and strace shows the SIGSEGVs were really there.
# Skipped (passes, saying why) when java or javac is missing.
. "$(dirname "$0")/../include/report_test_lib.bash" faultsjava
for tool in java javac; do
    if ! command -v $tool >/dev/null; then echo "skipped: $tool is not installed (the JVM check needs it)"; exit 0; fi
done
cat > "$tmp/Npe.java" <<'JAVA'
public class Npe {
    static int[] maybe(int i) { return (i % 3 == 0) ? null : new int[] { i }; }
    static int touch(int[] a) { return a[0]; }
    public static void main(String[] args) {
        long sum = 0, caught = 0;
        for (int i = 0; i < 300000; i++) {
            try { sum += touch(maybe(i)); } catch (NullPointerException e) { caught++; }
        }
        System.out.println("sum " + sum + " caught " + caught);
        System.err.println("done");
    }
}
JAVA
javac -d "$tmp" "$tmp/Npe.java" || { echo "FAIL: javac"; exit 1; }

run() { # name, preload or "", command...
    local name=$1 preload=$2; shift 2
    if [ -n "$preload" ]; then LD_PRELOAD="$preload" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    else env -u LD_PRELOAD "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"; fi
    echo $? >"$tmp/$name.status"
}
same() { # name: with and without
    for part in out err status; do
        if ! cmp -s "$tmp/$1.with.$part" "$tmp/$1.without.$part"; then
            fail "$1: $part differs with mapwarden"
            echo "--- with:"; cat "$tmp/$1.with.$part"; echo "--- without:"; cat "$tmp/$1.without.$part"
        fi
    done
}

run version.with "$LIB" java -version
run version.without "" java -version
same version
ok "java -version"

run npe.with "$LIB" java -Xbatch -cp "$tmp" Npe
run npe.without "" java -Xbatch -cp "$tmp" Npe
same npe
grep -q "caught 100000" "$tmp/npe.with.out" || fail "the program did not catch its 100000 NullPointerExceptions: $(cat "$tmp/npe.with.out")"
grep -q "mapwarden" "$tmp/npe.with.err" && fail "mapwarden said something about java's faults: $(cat "$tmp/npe.with.err")"
ok "NullPointerExceptions: same output and status"

# The faults were real, and went to HotSpot's handler under the preload.
if command -v strace >/dev/null; then
    LD_PRELOAD="$LIB" strace -f -qq -e trace=none -e signal=SIGSEGV -o "$tmp/strace" java -Xbatch -cp "$tmp" Npe >"$tmp/s.out" 2>&1
    segvs=$(grep -c 'SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_' "$tmp/strace")
    [ "$segvs" -gt 0 ] || fail "no SIGSEGV was delivered: the test does not exercise HotSpot's handler"
    grep -q "caught 100000" "$tmp/s.out" || fail "under strace: $(cat "$tmp/s.out")"
    ok "$segvs SIGSEGVs delivered to HotSpot under the preload"
fi
exit $failures
