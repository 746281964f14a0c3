// A program that leaks from three stacks of different sizes, for the flame
// graph and the folded stacks: jit_alloc 3 x 64 KiB, heap_grow 256 KiB,
// cache_fill 2 x 16 KiB, each through map_at, all in the default window.
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

static const unsigned long base = 0x400000000000UL;

__attribute__((noinline)) void *map_at(unsigned long off, unsigned long size) {
    void *p = mmap((void *)(base + off), size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(2); }
    return p;
}

__attribute__((noinline)) void jit_alloc(int i) { map_at(0x100000 + (unsigned long)i * 0x10000, 64 << 10); }
__attribute__((noinline)) void heap_grow(void) { map_at(0x200000, 256 << 10); }
__attribute__((noinline)) void cache_fill(int i) { map_at(0x300000 + (unsigned long)i * 0x4000, 16 << 10); }

int main(void) {
    for (int i = 0; i < 3; i++) jit_alloc(i);
    heap_grow();
    for (int i = 0; i < 2; i++) cache_fill(i);
    return 0;
}
