#!/usr/bin/env bash
# The leak report must come after every library's
# destructors (as LeakSanitizer's, run from an exit handler registered before
# the loader's), not from mapwarden's own ELF destructor: _dl_fini runs the
# preload library's destructors before those of the program's DT_NEEDED
# libraries and of the libraries it dlopen()ed, so a library that maps in its
# constructor and unmaps in its destructor (or a C++ static's) is reported as
# a leak, and with MAPWARDEN_LEAK_EXITCODE its destructor never runs at all
# (the process _exits first).
. "$(dirname "$0")/../include/report_test_lib.bash" ldtororder
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cat >"$tmp/libfoo.c" <<'C'
#include <stdio.h>
#include <sys/mman.h>
static void *p;
__attribute__((constructor)) static void foo_init(void) {
    p = mmap((void *)0x400000100000, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}
__attribute__((destructor)) static void foo_fini(void) {
    fprintf(stderr, "FOO_FINI munmap %d\n", munmap(p, 4096));
}
void foo(void) {}
C
cat >"$tmp/needed.c" <<'C'
void foo(void);
int main(void) { foo(); return 0; }
C
cat >"$tmp/opened.c" <<'C'
#include <dlfcn.h>
int main(int argc, char **argv) { (void)argc; return dlopen(argv[1], RTLD_NOW) ? 0 : 2; }
C
$CC -shared -fPIC -o "$tmp/libfoo.so" "$tmp/libfoo.c" &&
    $CC -o "$tmp/needed" "$tmp/needed.c" -L"$tmp" -lfoo -Wl,-rpath,"$tmp" &&
    $CC -o "$tmp/opened" "$tmp/opened.c" -ldl || { echo "cannot compile"; exit 1; }

for prog in needed opened; do
    env MAPWARDEN_LEAK_EXITCODE=23 MAPWARDEN_REPORT=stderr LD_PRELOAD="$LIB" "$tmp/$prog" "$tmp/libfoo.so" 2>"$tmp/err"
    status=$?
    if [ $status -ne 0 ] || ! grep -q '^FOO_FINI munmap 0$' "$tmp/err" || ! grep -q '^mapwarden: no leaks' "$tmp/err"; then
        fail "$prog: status $status (expected 0), the library's destructor must run and unmap before the report:"
        sed 's/^/    /' "$tmp/err"
    else
        echo "ok: $prog"
    fi
done
[ $failures -eq 0 ] && echo "all ok"
exit $((failures > 0))
