#!/usr/bin/env bash
# SBCL under windows over its fixed-address spaces. SBCL asks for its spaces
# at fixed addresses through libc's syscall(SYS_mmap, ...) (os_alloc_gc_space
# hints, then load_core_bytes maps the core over them with MAP_FIXED): the
# immobile spaces at 0x50000000 (fixedobj) and 0x50100000 (text, hinted with
# MAP_32BIT), the read-only space just below 0x1000000000 (MAP_SHARED from
# the core) and the dynamic space at 0x1000000000. With windows
# sbcl_readonly, sbcl_dynamic (and sbcl_immobile) over them, SBCL:
#   - runs a workload with full GCs and prints the same checksum as without
#     mapwarden;
#   - has each space where it asked, mapped from the same core offset as
#     without mapwarden (/proc/PID/maps while SBCL waits on a FIFO);
#   - has, in each window, exactly the memory it had there without mapwarden
#     mapped and recorded (mapwarden_query, called from Lisp through
#     sb-alien, walks the window), and the rest reserved: anonymous ---p
#     lines with no hole;
#   - leaves its spaces in the leak report (it never unmaps them).
# Two preloaded runs: the dynamic and read-only windows alone, then all three.
set -u
fail() { echo "sbcl_spaces_inside_windows: $*"; exit 1; }
. "$(dirname "$0")/../include/real_maps.bash"
command -v sbcl >/dev/null ||
    fail "sbcl is not installed: install the Debian package sbcl (.ci/setup test does)"
out="$BUILD/sbcl_spaces_inside_windows"
rm -rf "$out"; mkdir -p "$out"

# The windows (hex, no 0x). 0x50000000 and 0x1000000000 are SBCL's
# compile-time addresses for x86-64; the read-only space sits just below the
# dynamic space (its start depends on the core's size).
RO_LO=ff0000000 RO_HI=1000000000            # sbcl_readonly   256M
DYN_LO=1000000000 DYN_HI=1080000000         # sbcl_dynamic    2G
IMM_LO=50000000 IMM_HI=60000000             # sbcl_immobile   256M

cat >"$out/prog.lisp" <<'LISP'
(defun workload ()
  ;; Live data that survives several full GCs (and so is moved), garbage in
  ;; between, code compiled at run time, and a checksum over all of it.
  (let ((table (make-hash-table :test 'equal))
        (f (compile nil '(lambda (x y) (logand (+ (* x 1000003) y) #xFFFFFFFFFFFF))))
        (sum 0))
    (dotimes (i 150000)
      (setf (gethash (format nil "key-~d" i) table)
            (list i (* i i) (make-string (1+ (mod i 37)) :initial-element (code-char (+ 65 (mod i 26)))))))
    (dotimes (round 4)
      (let ((junk nil)) ; about 100 MB of garbage a round
        (dotimes (i 20000) (push (make-array 600 :element-type '(unsigned-byte 64) :initial-element i) junk))
        (setf sum (funcall f sum (length junk))))
      (sb-ext:gc :full t))
    (let ((keys (sort (loop for k being the hash-keys of table collect k) #'string<)))
      (dolist (k keys)
        (destructuring-bind (i sq s) (gethash k table)
          (setf sum (funcall f sum (+ i (mod sq 65521) (sxhash s) (length k)))))))
    (sb-ext:gc :full t)
    sum))

;; mapwarden's C API through sb-alien (only called under the preload).
(defun cstr (sap off)
  (coerce (loop for i from off for b = (sb-sys:sap-ref-8 sap i) until (zerop b) collect (code-char b)) 'string))
(defun mw-windows () ; ((name base size) ...) from mapwarden_windows
  (let* ((buf (sb-alien:make-alien (sb-alien:unsigned 8) (* 8 80))) ; 8 struct mapwarden_window
         (sap (sb-alien:alien-sap buf))
         (n (sb-alien:alien-funcall
             (sb-alien:extern-alien "mapwarden_windows"
                                    (function sb-alien:int sb-alien:system-area-pointer sb-alien:unsigned-long))
             sap 8)))
    (when (< n 0) (error "mapwarden_windows failed"))
    (loop for i below (min n 8)
          collect (list (cstr sap (* i 80)) (sb-sys:sap-ref-64 sap (+ (* i 80) 32))
                        (sb-sys:sap-ref-64 sap (+ (* i 80) 40))))))
(defun mw-query (addr) ; (state base size window) from mapwarden_query, or nil
  (let* ((buf (sb-alien:make-alien (sb-alien:unsigned 8) 96)) ; struct mapwarden_info
         (sap (sb-alien:alien-sap buf))
         (rc (sb-alien:alien-funcall
              (sb-alien:extern-alien "mapwarden_query"
                                     (function sb-alien:int sb-alien:unsigned-long sb-alien:system-area-pointer))
              addr sap)))
    (prog1 (and (zerop rc)
                (list (sb-sys:sap-ref-32 sap 0) (sb-sys:sap-ref-64 sap 24) (sb-sys:sap-ref-64 sap 32) (cstr sap 64)))
      (sb-alien:free-alien buf))))
(defun walk-windows ()
  ;; "window NAME LO HI", then "free LO HI" / "mapped LO HI" runs in order.
  (dolist (w (mw-windows))
    (destructuring-bind (name base size) w
      (unless (string= name "default")
        (format t "window ~a ~(~x ~x~)~%" name base (+ base size))
        (loop with addr = base and steps = 0
              while (and (< addr (+ base size)) (< (incf steps) 100000))
              do (let ((q (mw-query addr)))
                   (destructuring-bind (&optional state lo len wname) q
                     (cond ((or (null q) (not (string= wname name)) (> lo addr) (zerop len))
                            (format t "bad ~(~x~) ~s~%" addr q)
                            (return))
                           (t (format t "~a ~(~x ~x~)~%" (if (= state 2) "mapped" "free") lo (+ lo len))
                              (setf addr (+ lo len)))))))))))

(format t "checksum ~d~%" (workload))
(format t "dynamic-space-size ~(~x~)~%" (sb-ext:dynamic-space-size))
(when (sb-ext:posix-getenv "MW_WALK") (walk-windows))
(finish-output)
;; Tell the script we are ready, then wait for its word on stdin.
(with-open-file (s (sb-ext:posix-getenv "MW_READY") :direction :output :if-exists :append)
  (write-line "ready" s))
(read-line *standard-input* nil)
(format t "done~%")
LISP

# Runs SBCL (the environment given as arguments), snapshots /proc/PID/maps
# while it waits, lets it finish. Leaves $out/NAME.{out,err,maps,status}.
run_sbcl() { # name env...
    local name=$1; shift
    rm -f "$out/ready" "$out/go"; mkfifo "$out/ready" "$out/go"
    exec 3<>"$out/ready" 4<>"$out/go"
    env MW_READY="$out/ready" "$@" sbcl --script "$out/prog.lisp" \
        <"$out/go" >"$out/$name.out" 2>"$out/$name.err" 3>&- 4>&- &
    local pid=$!
    if await_line 3 "$pid" 20; then
        cp "/proc/$pid/maps" "$out/$name.maps"
        echo go >&4
    else
        echo "(SBCL did not get ready)" >"$out/$name.maps"
        kill "$pid" 2>/dev/null
    fi
    exec 3>&- 4>&-
    wait "$pid"; echo $? >"$out/$name.status"
    echo "run $name: exit $(cat "$out/$name.status"), $(grep -c . "$out/$name.maps") maps lines"
}
show() { # name
    echo "--- $1: stdout"; head -5 "$out/$1.out"; echo "--- $1: stderr"; head -20 "$out/$1.err"
}

# 1. Without mapwarden: where SBCL puts its spaces, and the checksum.
run_sbcl plain
[ "$(cat "$out/plain.status")" = 0 ] && grep -q '^done$' "$out/plain.out" ||
    { show plain; fail "SBCL fails even without mapwarden"; }
sum=$(sed -n 's/^checksum //p' "$out/plain.out")
dyn_size=$(sed -n 's/^dynamic-space-size //p' "$out/plain.out")
ro_start=$(awk '$1 ~ /-1000000000$/ && $6 ~ /sbcl\.core$/ { split($1, a, "-"); print a[1] }' "$out/plain.maps")
[ -n "$ro_start" ] || { cat "$out/plain.maps"; fail "no read-only space (sbcl.core mapped up to 0x1000000000) without mapwarden"; }
[ $((16#$ro_start)) -ge $((16#$RO_LO)) ] || fail "the read-only space starts at 0x$ro_start, below the window sbcl_readonly"
[ $((16#$dyn_size)) -lt $((16#$DYN_HI - 16#$DYN_LO)) ] || fail "dynamic-space-size 0x$dyn_size does not leave room in sbcl_dynamic"
spaces="$IMM_LO 50100000 $ro_start $DYN_LO"
for a in $spaces; do
    [[ "$(vma_at "$out/plain.maps" "$a")" == *sbcl.core ]] ||
        { cat "$out/plain.maps"; fail "without mapwarden, SBCL has no core mapping at 0x$a: not the layout this test knows"; }
done
echo "plain: checksum $sum, dynamic-space-size 0x$dyn_size, read-only space at 0x$ro_start"

# 2. Under mapwarden, with windows over the spaces.
check_run() { # name "window-names"
    local name=$1 windows=$2 w lo hi a plain_vma pre_vma
    local maps="$out/$name.maps" walk="$out/$name.out"
    if ! { [ "$(cat "$out/$name.status")" = 0 ] && grep -q '^done$' "$walk"; }; then
        show "$name"
        # SBCL's own message when a space is not where it asked for it.
        local wanted
        wanted=$(grep -o 'wanted [0-9]* bytes at 0x[0-9a-f]*, actually mapped at 0x[0-9a-f]*' "$out/$name.err" | head -1)
        [ -z "$wanted" ] || fail "$name: SBCL's hint was not served in its window: $wanted"
        fail "$name: SBCL failed under mapwarden (exit $(cat "$out/$name.status"))"
    fi
    [ "$(sed -n 's/^checksum //p' "$walk")" = "$sum" ] ||
        { show "$name"; fail "$name: checksum $(sed -n 's/^checksum //p' "$walk") differs from $sum without mapwarden"; }
    ! grep -q '^bad ' "$walk" || { grep '^bad ' "$walk"; fail "$name: mapwarden_query failed in a window"; }
    # Each space at the address SBCL asked for, from the same core offset.
    for a in $spaces; do
        plain_vma=$(vma_at "$out/plain.maps" "$a" | awk '{ print $1, $4, $6 }')
        pre_vma=$(vma_at "$maps" "$a" | awk '{ print $1, $4, $6 }')
        if [ "$plain_vma" != "$pre_vma" ]; then
            echo "sbcl.core under mapwarden:"; grep 'sbcl\.core' "$maps" | grep -v '^5'
            fail "$name: the space SBCL asked for at 0x$a is not there: '$pre_vma' under mapwarden, '$plain_vma' without"
        fi
    done
    for w in $windows; do
        case $w in
            sbcl_readonly) lo=$RO_LO hi=$RO_HI ;;
            sbcl_dynamic) lo=$DYN_LO hi=$DYN_HI ;;
            sbcl_immobile) lo=$IMM_LO hi=$IMM_HI ;;
        esac
        grep -q "^window $w $lo $hi\$" "$walk" || { grep '^window' "$walk"; fail "$name: mapwarden_windows has no window $w 0x$lo-0x$hi"; }
        # The runs of the walk, in this window.
        sed -n "/^window $w /,/^window /p" "$walk" | grep -E '^(free|mapped) ' >"$out/$name.$w.walk"
        # They tile the window.
        local at=$((16#$lo)) kind s e
        while read -r kind s e; do
            [ $((16#$s)) -eq "$at" ] || fail "$name: the walk of $w jumps from $(printf %x $at) to $s"
            at=$((16#$e))
        done <"$out/$name.$w.walk"
        [ "$at" -eq $((16#$hi)) ] || fail "$name: the walk of $w ends at $(printf %x $at), not at $hi"
        # No hole in the window: every byte is a VMA (SBCL's or the reservation).
        covered "$maps" "$lo" "$hi" || fail "$name: a hole in window $w (memory anyone could map)"
        # What is free in the registry is reserved: anonymous ---p only.
        while read -r kind s e; do
            [ "$kind" = free ] || continue
            reserved_only "$maps" "$s" "$e" || fail "$name: free run $s-$e of $w is not only the reservation"
        done <"$out/$name.$w.walk"
        # What is mapped in the registry is exactly what SBCL had there without mapwarden.
        local reg plain_union
        reg=$(awk '$1 == "mapped" { print $2, $3 }' "$out/$name.$w.walk" | merge_runs)
        plain_union=$(union_in "$out/plain.maps" "$lo" "$hi")
        [ -n "$reg" ] || fail "$name: nothing of SBCL's is recorded in $w"
        if [ "$reg" != "$plain_union" ]; then
            echo "recorded in $w under mapwarden:"; echo "$reg"
            echo "mapped there without mapwarden:"; echo "$plain_union"
            fail "$name: SBCL's memory in $w differs from its memory there without mapwarden"
        fi
        echo "$name: $w 0x$lo-0x$hi: SBCL's $(echo "$reg" | tr '\n' ' ')recorded, the rest reserved, no hole"
    done
    # The leak report lists the spaces (SBCL never unmaps them).
    local report
    report=$(ls "$out/$name".report.* 2>/dev/null | head -1)
    [ -n "$report" ] || fail "$name: no leak report was written"
    grep -q "at 0x$DYN_LO (" "$report" || { head -30 "$report"; fail "$name: the report does not list the dynamic space at 0x$DYN_LO"; }
    case " $windows " in *" sbcl_immobile "*)
        grep -q "at 0x$IMM_LO (" "$report" || { head -30 "$report"; fail "$name: the report does not list the fixedobj space at 0x$IMM_LO"; } ;;
    esac
}

run_sbcl dynamic LD_PRELOAD="$LIB" MW_WALK=1 MAPWARDEN_REPORT="$out/dynamic.report.%p" \
    MAPWARDEN_WINDOW_SBCL_READONLY=0x$RO_LO:256M MAPWARDEN_WINDOW_SBCL_DYNAMIC=0x$DYN_LO:2G
check_run dynamic "sbcl_readonly sbcl_dynamic"

run_sbcl all LD_PRELOAD="$LIB" MW_WALK=1 MAPWARDEN_REPORT="$out/all.report.%p" \
    MAPWARDEN_WINDOW_SBCL_READONLY=0x$RO_LO:256M MAPWARDEN_WINDOW_SBCL_DYNAMIC=0x$DYN_LO:2G \
    MAPWARDEN_WINDOW_SBCL_IMMOBILE=0x$IMM_LO:256M
check_run all "sbcl_readonly sbcl_dynamic sbcl_immobile"

echo "sbcl_spaces_inside_windows: ok (checksum $sum with and without mapwarden)"
