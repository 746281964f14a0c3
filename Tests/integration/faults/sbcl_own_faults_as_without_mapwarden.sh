#!/usr/bin/env bash
# SBCL catches SIGSEGVs of its own (writes to protected pages of its spaces,
# which its collector watches). With its spaces inside windows (README's
# "...run SBCL under mapwarden?") and MAPWARDEN_FAULTS=explain (the
# default), those faults are at window addresses; they still go to SBCL's
# handler alone: a program that churns its heap, collects and handles a
# Lisp error prints the same and exits the same with and without the
# preload, mapwarden says nothing, and strace shows the SIGSEGVs were there.
# Skipped (passes, saying why) when sbcl is missing.
. "$(dirname "$0")/../include/report_test_lib.bash" faultssbcl
command -v sbcl >/dev/null || { echo "skipped: sbcl is not installed (.ci/setup test installs it)"; exit 0; }
cat > "$tmp/churn.lisp" <<'LISP'
(defvar *keep* (make-array 2000))
(defun churn ()
  (let ((sum 0))
    (dotimes (round 200)
      (dotimes (i 2000)
        (setf (aref *keep* i) (make-list 5 :initial-element (+ round i))))
      (incf sum (reduce #'+ (aref *keep* (mod round 2000)))))
    sum))
(format t "sum ~a~%" (churn))
(sb-ext:gc :full t)
(format t "after gc ~a~%" (length (aref *keep* 7)))
(format t "~a~%" (handler-case (car (symbol-value (intern "NOPE-NOT-BOUND"))) (error (e) (type-of e))))
LISP
# (SBCL never unmaps its spaces: the leak report goes to a file.)
windows=(MAPWARDEN_WINDOW_SBCL_IMMOBILE=0x50000000:256M MAPWARDEN_WINDOW_SBCL_READONLY=0xff0000000:256M
         MAPWARDEN_WINDOW_SBCL_DYNAMIC=0x1000000000:2G MAPWARDEN_REPORT="$tmp/report.%p")
env "${windows[@]}" LD_PRELOAD="$LIB" sbcl --script "$tmp/churn.lisp" >"$tmp/with.out" 2>"$tmp/with.err"
echo $? >"$tmp/with.status"
env -u LD_PRELOAD sbcl --script "$tmp/churn.lisp" >"$tmp/without.out" 2>"$tmp/without.err"
echo $? >"$tmp/without.status"
for part in out err status; do
    if ! cmp -s "$tmp/with.$part" "$tmp/without.$part"; then
        fail "$part differs with mapwarden"
        echo "--- with:"; cat "$tmp/with.$part"; echo "--- without:"; cat "$tmp/without.$part"
    fi
done
grep -q "^sum 199000$" "$tmp/with.out" || fail "unexpected output: $(cat "$tmp/with.out")"
grep -q ' leaked mappings (.*) at exit of sbcl' "$tmp"/report.* || fail "no report written at SBCL's exit: $(cat "$tmp"/report.*)"
ok "same output and status with and without mapwarden"

if command -v strace >/dev/null; then
    env "${windows[@]}" LD_PRELOAD="$LIB" strace -f -qq -e trace=none -e signal=SIGSEGV -o "$tmp/strace" \
        sbcl --script "$tmp/churn.lisp" >"$tmp/s.out" 2>&1
    inside=$(grep -cE 'si_addr=0x(5[0-9a-f]{7}|ff[0-9a-f]{7}|10[0-7][0-9a-f]{7})\}' "$tmp/strace")
    all=$(grep -c 'SIGSEGV {si_signo=SIGSEGV' "$tmp/strace")
    [ "$all" -gt 0 ] || fail "no SIGSEGV was delivered: the test does not exercise SBCL's handler"
    cmp -s "$tmp/s.out" <(cat "$tmp/with.out" "$tmp/with.err") || fail "under strace: $(cat "$tmp/s.out")"
    ok "$all SIGSEGVs handled by SBCL under the preload, $inside of them at window addresses"
fi
exit $failures
