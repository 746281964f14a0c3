#!/usr/bin/env bash
# The text report at exit names each frame by function, file and line,
# inlined frames too, through the symbolizer process (the mapwarden command
# beside the library, `mapwarden symbolize`): for a program built the usual
# way (-g, no -rdynamic), whose own frames dladdr cannot name. The child
# gets no descriptor but 0, 1 and 2; a symbolizer that fails leaves the
# library's own names; MAPWARDEN_SYMBOLIZER=none turns it off.
set -u
dir=$(mktemp -d "$BUILD/symbolizer.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cli=$(dirname "$LIB")/mapwarden
[ -x "$cli" ] || { echo "FAIL: no mapwarden command beside $LIB (make cli)"; exit 1; }
cat > "$dir/lk.c" <<'C'
#include <sys/mman.h>
static inline __attribute__((always_inline)) void *map_at(unsigned long at) {
    return mmap((void *)at, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0); /* map_at */
}
__attribute__((noinline)) void *cache_alloc(unsigned long at) {
    void *p = map_at(at); /* cache_alloc */
    return p;
}
int main(void) { return cache_alloc(0x400000010000UL) == MAP_FAILED; }
C
$CC -std=gnu11 -g -O1 -o "$dir/lk" "$dir/lk.c" || { echo "FAIL: cc"; exit 1; }
line_of() { grep -n "/\* $1 \*/" "$dir/lk.c" | cut -d: -f1; }
fails=0
check() { # file regex what
    grep -qE "$2" "$1" || { echo "FAIL: $3"; sed 's/^/  | /' "$1"; fails=$((fails + 1)); return 1; }
    echo "ok: $3"
}

unset MAPWARDEN_SYMBOLIZER
LD_PRELOAD=$LIB MAPWARDEN_REPORT=stderr "$dir/lk" 2> "$dir/named.txt"
check "$dir/named.txt" "^    #0 0x[0-9a-f]+ in map_at $dir/lk.c:$(line_of map_at):[0-9]+$" "frame #0 is the inlined map_at, by file and line"
check "$dir/named.txt" "^    #1 0x[0-9a-f]+ in cache_alloc $dir/lk.c:$(line_of cache_alloc):[0-9]+$" "frame #1 is cache_alloc, where it was inlined"
check "$dir/named.txt" "^    #2 0x[0-9a-f]+ in main $dir/lk.c:" "frame #2 is main"

MAPWARDEN_SYMBOLIZER=none LD_PRELOAD=$LIB MAPWARDEN_REPORT=stderr "$dir/lk" 2> "$dir/off.txt"
check "$dir/off.txt" "^    #0 0x[0-9a-f]+ in \?\? \($dir/lk\+0x[0-9a-f]+\)$" "MAPWARDEN_SYMBOLIZER=none: the library's own names"

# A symbolizer that answers nothing useful, and shows its descriptors.
cat > "$dir/fake" <<SH
#!/bin/sh
ls /proc/self/fd > "$dir/fds.txt"
exit 3
SH
chmod +x "$dir/fake"
exec 7> "$dir/held.txt" # a descriptor of the program's, not close-on-exec
MAPWARDEN_SYMBOLIZER=$dir/fake LD_PRELOAD=$LIB MAPWARDEN_REPORT=stderr "$dir/lk" 2> "$dir/failed.txt"
status=$?
exec 7>&-
[ $status = 0 ] || { echo "FAIL: a failed symbolizer changed the exit status ($status)"; fails=$((fails + 1)); }
check "$dir/failed.txt" "^    #0 0x[0-9a-f]+ in \?\? \($dir/lk\+0x" "a failed symbolizer: the library's own names"
fds=$(sort -n "$dir/fds.txt" | tr '\n' ' ')
[ "$fds" = "0 1 2 3 " ] || { echo "FAIL: the symbolizer inherited descriptors: $fds"; fails=$((fails + 1)); }
[ "$fds" = "0 1 2 3 " ] && echo "ok: the symbolizer gets 0, 1 and 2 only (3 is ls's own)"

[ $fails = 0 ]
