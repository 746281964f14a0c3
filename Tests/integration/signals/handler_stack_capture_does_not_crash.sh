#!/usr/bin/env bash
# A signal handler that maps in the window has its stack
# captured by libunwind from inside the handler, walking back through the
# frames the signal interrupted. When the signal lands while the thread is
# in mapwarden's engine, the walk meets engine frames: the engine is
# Embedded Swift built without unwind tables (no .eh_frame FDE covers it;
# `readelf --debug-dump=frames` lists only the C objects), so libunwind
# guesses with the frame-pointer chain, and %rbp there is whatever the
# program had in it (handler_maps_in_window_without_deadlock.c, run here
# with stacks on: a window page pointer). Reading through it
# after that page became PROT_NONE kills the program with SIGSEGV inside
# libunwind (core: _ULx86_64_step <- unw_backtrace <- mw_backtrace <- map
# <- on_alarm <- <signal> <- mw_engine_munmap). That program shows it about
# 1 run in 8 (only with stacks captured, never with
# MAPWARDEN_BACKTRACE_DEPTH=0); this runs it up to 12 times (the old
# library failed one run in 7).
. "$(dirname "$0")/../include/report_test_lib.bash" robsigstacks
$CC -std=gnu11 -O1 -g -Wall -pthread -I "$include" -I "$root/CShim/include" -o "$tmp/handler_maps" "$here/handler_maps_in_window_without_deadlock.c" ||
    { echo "cannot compile"; exit 1; }
for i in $(seq 1 12); do
    if ! LD_PRELOAD="$LIB" "$tmp/handler_maps" >"$tmp/out" 2>&1; then
        echo "FAIL: run $i of handler_maps_in_window_without_deadlock with stacks on:"; tail -n 5 "$tmp/out"; exit 1
    fi
done
echo "ok: 12 runs"
