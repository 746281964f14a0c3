// cxx_exceptions_unaffected_by_libunwind.cpp - built twice by the .sh of
// the same name: with -DLEAK_CXX_LIBRARY as
// libthrow.so, and as the program, which dlopen()s libthrow.so and, many
// times over, catches exceptions thrown in the library, exceptions its own
// callback throws through the library's frames, and exceptions the library
// throws right after a window mmap (whose stack mapwarden captures), while
// it maps and unmaps in the window itself. Destructors in the unwound
// library frames must run. Then it leaks one page from ns::Leaker::leak(int)
// and exits 0 if every count is right.
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stdexcept>
#include <string>

#define NOINLINE __attribute__((noinline))
static const size_t PAGE = 4096;
static char *W(size_t offset) { return (char *)(0x400000000000UL + offset); }

#ifdef LEAK_CXX_LIBRARY

static int destructed;
struct Guard {
    int *counter;
    ~Guard() { ++*counter; }
};
extern "C" NOINLINE int lib_throw(int i) {
    Guard g{&destructed};
    if (i % 2 == 0) throw std::runtime_error("lib " + std::to_string(i));
    return i;
}
extern "C" NOINLINE int lib_call(int i, int (*cb)(int)) {
    Guard g{&destructed};
    return cb(i) + 1; // cb throws through this frame
}
extern "C" NOINLINE void lib_map_and_throw(int i) {
    Guard g{&destructed};
    char *p = (char *)mmap(W(0x200000), PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p != W(0x200000)) abort();
    p[0] = (char)i;
    throw i;
}
extern "C" int lib_destructed(void) { return destructed; }

#else

struct CallbackError {
    int value;
};
static NOINLINE int callback(int i) { throw CallbackError{i * 3}; }

namespace ns {
struct Leaker {
    NOINLINE static void *leak(int pages) {
        void *p = mmap(W(0x10000), pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != W(0x10000)) abort();
        return p;
    }
};
} // namespace ns

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)

int main(int argc, char **argv) {
    if (argc != 3) FAIL("usage: cxx_exceptions_unaffected_by_libunwind LIBRARY ITERATIONS");
    int n = atoi(argv[2]);
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!lib) FAIL("dlopen: %s", dlerror());
    auto lib_throw = (int (*)(int))dlsym(lib, "lib_throw");
    auto lib_call = (int (*)(int, int (*)(int)))dlsym(lib, "lib_call");
    auto lib_map_and_throw = (void (*)(int))dlsym(lib, "lib_map_and_throw");
    auto lib_destructed = (int (*)(void))dlsym(lib, "lib_destructed");
    if (!lib_throw || !lib_call || !lib_map_and_throw || !lib_destructed) FAIL("dlsym");

    long caught_lib = 0, returned = 0, caught_cb = 0, caught_mapped = 0;
    for (int i = 0; i < n; i++) {
        char *w = W(0x100000 + (size_t)(i % 16) * PAGE);
        char *p = (char *)mmap(w, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != w) FAIL("window mmap %d: %p", i, (void *)p);
        p[1] = 1;
        try {
            if (lib_throw(i) != i) FAIL("lib_throw(%d) returned the wrong value", i);
            returned++;
        } catch (const std::runtime_error &e) {
            if (std::string(e.what()) != "lib " + std::to_string(i)) FAIL("caught '%s' at %d", e.what(), i);
            caught_lib++;
        }
        try {
            lib_call(i, callback);
            FAIL("lib_call(%d) returned", i);
        } catch (const CallbackError &e) {
            if (e.value != i * 3) FAIL("callback error %d at %d", e.value, i);
            caught_cb++;
        }
        try {
            lib_map_and_throw(i);
            FAIL("lib_map_and_throw(%d) returned", i);
        } catch (int v) {
            if (v != i || W(0x200000)[0] != (char)i) FAIL("mapped throw %d at %d", v, i);
            caught_mapped++;
        }
        if (munmap(W(0x200000), PAGE) != 0 || munmap(p, PAGE) != 0) FAIL("munmap at %d", i);
    }
    long want_lib = (n + 1) / 2;
    if (caught_lib != want_lib || returned != n - want_lib || caught_cb != n || caught_mapped != n)
        FAIL("counts: lib %ld returned %ld callback %ld mapped %ld (n %d)", caught_lib, returned, caught_cb, caught_mapped, n);
    if (lib_destructed() != 3 * n) FAIL("destructors ran %d times, expected %d", lib_destructed(), 3 * n);

    // C++ unwinding is libgcc's, never the preloaded library's libunwind
    Dl_info di;
    void *raise = dlsym(RTLD_DEFAULT, "_Unwind_RaiseException");
    if (!raise || !dladdr(raise, &di) || !strstr(di.dli_fname, "libgcc_s"))
        FAIL("_Unwind_RaiseException resolves to %s", raise && dladdr(raise, &di) ? di.dli_fname : "nothing");
    void *bt = dlsym(RTLD_DEFAULT, "backtrace");
    if (!bt || !dladdr(bt, &di) || !strstr(di.dli_fname, "libc.so"))
        FAIL("backtrace resolves to %s", bt && dladdr(bt, &di) ? di.dli_fname : "nothing");

    ns::Leaker::leak(1);
    printf("RESULT lib %ld returned %ld callback %ld mapped %ld\n", caught_lib, returned, caught_cb, caught_mapped);
    return 0;
}
#endif
