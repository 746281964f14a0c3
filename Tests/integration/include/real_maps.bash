# Helpers for the real-program tests (real-programs/sbcl_*, qemu_*): reading a
# /proc/PID/maps snapshot. Addresses are passed and printed as hex without
# 0x; bash arithmetic does the comparisons (user addresses fit in 63 bits).
# Sourced, not run: run.sh skips include/.

# The VMAs of a maps snapshot that overlap [lo, hi), one per line:
# "start end perms offset inode path".
vmas_in() { # file lo hi
    local file=$1 lo=$((16#$2)) hi=$((16#$3)) range perms off dev inode path s e
    while read -r range perms off dev inode path; do
        s=$((16#${range%-*})); e=$((16#${range#*-}))
        [ "$e" -le "$lo" ] || [ "$s" -ge "$hi" ] && continue
        echo "${range%-*} ${range#*-} $perms $off $inode ${path:-}"
    done <"$file"
}

# Succeeds when the VMAs of the snapshot cover [lo, hi) with no gap (no hole
# in a window: a hole would be memory anyone could map); otherwise prints the
# first gap.
covered() { # file lo hi
    local file=$1 lo=$((16#$2)) hi=$((16#$3)) at s e rest
    at=$lo
    while read -r s e rest; do
        s=$((16#$s)); e=$((16#$e))
        if [ "$s" -gt "$at" ]; then printf 'hole %x-%x\n' "$at" "$s"; return 1; fi
        [ "$e" -gt "$at" ] && at=$e
    done < <(vmas_in "$file" "$2" "$3")
    if [ "$at" -lt "$hi" ]; then printf 'hole %x-%x\n' "$at" "$hi"; return 1; fi
}

# Succeeds when every VMA overlapping [lo, hi) is an anonymous PROT_NONE
# private mapping (what a window's reservation looks like); otherwise prints
# the ones that are not.
reserved_only() { # file lo hi
    local bad
    bad=$(vmas_in "$1" "$2" "$3" | awk '!($3 == "---p" && $5 == 0 && ($6 == "" || $6 == "[anon:mapwarden]"))')
    [ -z "$bad" ] || { echo "$bad"; return 1; }
}

# The VMA that starts exactly at addr, as vmas_in prints it (empty if none).
vma_at() { # file addr
    local want=$((16#$2))
    vmas_in "$1" "$2" "$(printf '%x' $((want + 1)))" | while read -r s rest; do
        [ $((16#$s)) -eq "$want" ] && echo "$s $rest"
    done
}

# The union of the VMAs overlapping [lo, hi) (clipped to it), as "start end"
# lines of maximal runs of adjacent VMAs.
union_in() { # file lo hi
    local lo=$((16#$2)) hi=$((16#$3)) s e rest cs=-1 ce=-1
    while read -r s e rest; do
        s=$((16#$s)); e=$((16#$e))
        [ "$s" -lt "$lo" ] && s=$lo
        [ "$e" -gt "$hi" ] && e=$hi
        if [ "$cs" -ge 0 ] && [ "$s" -eq "$ce" ]; then ce=$e; continue; fi
        [ "$cs" -ge 0 ] && printf '%x %x\n' "$cs" "$ce"
        cs=$s; ce=$e
    done < <(vmas_in "$1" "$2" "$3")
    [ "$cs" -ge 0 ] && printf '%x %x\n' "$cs" "$ce"
    return 0
}

# Prints "start end" of maximal runs from "start end" lines (sorted, hex).
merge_runs() {
    local s e cs=-1 ce=-1
    while read -r s e; do
        s=$((16#$s)); e=$((16#$e))
        if [ "$cs" -ge 0 ] && [ "$s" -eq "$ce" ]; then ce=$e; continue; fi
        [ "$cs" -ge 0 ] && printf '%x %x\n' "$cs" "$ce"
        cs=$s; ce=$e
    done
    [ "$cs" -ge 0 ] && printf '%x %x\n' "$cs" "$ce"
    return 0
}

# Waits (at most `limit` seconds) for one line on descriptor fd while process
# pid lives; the line goes to the variable REPLY_LINE. Fails when the process
# ended first or time ran out.
await_line() { # fd pid limit
    local i
    for ((i = 0; i < $3; i++)); do
        if read -r -t 1 -u "$1" REPLY_LINE; then return 0; fi
        kill -0 "$2" 2>/dev/null || { read -r -t 1 -u "$1" REPLY_LINE && return 0; return 1; }
    done
    return 1
}
