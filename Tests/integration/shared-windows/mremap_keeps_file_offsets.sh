#!/usr/bin/env bash
# Shared and persistent windows and mremap. Inside such a window
# address X is the backing file's offset pagesize + (X - base): that is
# what every other process (and the next run) maps there. An mremap that
# moves a mapping inside the window, or moves one in from outside, must
# keep that: either the range at the new address is the file's pages for
# that address (maps: rw-s of the file at pagesize + (new - base)), or the
# move is refused with EINVAL and the source is left as it was. Checked for
# a shared and a persistent window. (Growing in place keeps it by itself.)
. "$(dirname "$0")/../include/window_test_lib.bash" shared_mremap
build_wprobe
export MAPWARDEN_REPORT=none
shm="mw-shared-mremap-$$"
cleanup_paths+=("/dev/shm/$shm")

for backing in "shared=$shm" "persist=$tmp/p.mw"; do
file=${backing#*=}; [ "$file" = "$shm" ] && file="/dev/shm/$shm"
WIN="MAPWARDEN_WINDOW_IPC=0x500000000000:16M:$backing"
# a move inside the window
run "$WIN" -- map 0x500000700000 0x2000 fill 0x500000700000 0x2000 41 remap 0x500000700000 0x2000 0x500000800000 \
    line 0x500000800000 line 0x500000700000
if grep -qx "REMAPPED 0x500000800000" "$tmp/out"; then
    grep -qE "^LINE 500000800000-500000802000 rw-s 00801000 .* $file\$" "$tmp/out" ||
        { fail "$backing: mremap within the window: the moved range is not the file's pages for its new address (offset 0x801000)"; show; }
elif grep -qx "REMAPFAIL EINVAL" "$tmp/out"; then
    grep -qE "^LINE 500000700000-500000702000 rw-s 00701000 " "$tmp/out" || { fail "$backing: a refused mremap changed the source"; show; }
else fail "$backing: mremap within the window: neither moved nor refused with EINVAL"; show; fi
# ... and the same for a mapping moved in from outside every window
run "$WIN" -- map 0x600000000000 0x2000 remap 0x600000000000 0x2000 0x500000900000 line 0x500000900000 line 0x600000000000
if grep -qx "REMAPPED 0x500000900000" "$tmp/out"; then
    grep -qE "^LINE 500000900000-500000902000 rw-s 00901000 .* $file\$" "$tmp/out" ||
        { fail "$backing: mremap from outside into the window: the range is not the file's pages for its address (offset 0x901000)"; show; }
elif grep -qx "REMAPFAIL EINVAL" "$tmp/out"; then
    grep -qE "^LINE 600000000000-600000002000 rw-p " "$tmp/out" || { fail "$backing: a refused mremap (from outside) changed the source"; show; }
else fail "$backing: mremap into the window: neither moved nor refused with EINVAL"; show; fi
ok "$backing: mremap keeps addresses and file offsets together"
# growing in place: one mapping of the file, from the right offset
run "$WIN" -- map 0x500000a00000 0x1000 grow 0x500000a00000 0x1000 0x3000 line 0x500000a00000
grep -qE "^LINE 500000a00000-500000a03000 rw-s 00a01000 .* $file\$" "$tmp/out" || { fail "$backing: grown in place"; show; }
ok "$backing: growing in place"
done
done_all
