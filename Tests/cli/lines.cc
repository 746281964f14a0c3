// The C++ counterpart of lines.c: a leak made in a namespaced function, whose
// name the symbolizer demangles.
#include <sys/mman.h>

namespace jit {
struct Arena {
    __attribute__((noinline)) static void *reserve(unsigned long at, unsigned long n) {
        const int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
        return mmap(reinterpret_cast<void *>(at), n, PROT_READ | PROT_WRITE, flags, -1, 0); // LINE:reserve
    }
};
} // namespace jit

int main() { return jit::Arena::reserve(0x400000000000UL, 4096) == MAP_FAILED; }
