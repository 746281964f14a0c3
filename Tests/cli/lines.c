// A program whose leaks the symbolizer names: `lines`. It maps three pages in
// the default window through a function inlined into cache_alloc, which
// is not inlined; built without -rdynamic, so that dladdr knows none of
// its own functions. The test reads the lines of the markers below.
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

static inline __attribute__((always_inline)) void *map_at(unsigned long at) {
    void *p = mmap((void *)at, 4096, PROT_READ | PROT_WRITE, /* LINE:map_at */
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(2); }
    return p;
}

__attribute__((noinline)) void *cache_alloc(unsigned long at) {
    void *p = map_at(at); /* LINE:cache_alloc */
    *(volatile char *)p = 1;
    return p;
}

int main(void) {
    for (unsigned long i = 0; i < 3; i++)
        cache_alloc(0x400000000000UL + (i << 16)); /* LINE:main */
    return 0;
}
