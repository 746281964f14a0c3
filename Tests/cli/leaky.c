// A program that leaves mappings in the window: `leaky [N] [fork] [also=ADDR]...`.
// Maps N (default 3) pages at fixed addresses in the default window and
// never unmaps them; with "fork", the child maps two pages of its own too
// (and inherits the parent's), and both exit normally. Each also=ADDR (hex)
// leaks one more page there, e.g. in a named window.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static const unsigned long base = 0x400000000000UL;

__attribute__((noinline)) static void *leak_page(unsigned long off) {
    void *p = mmap((void *)(base + off), 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(2); }
    memset(p, 1, 16);
    return p;
}

__attribute__((noinline)) static void leak_in_child(void) {
    leak_page(0x200000);
    leak_page(0x201000);
}

__attribute__((noinline)) static void leak_elsewhere(unsigned long addr) {
    void *p = mmap((void *)addr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(2); }
    memset(p, 2, 16);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 3;
    for (int i = 0; i < n; i++) leak_page(0x10000UL * (i + 1));
    for (int i = 2; i < argc; i++)
        if (strncmp(argv[i], "also=", 5) == 0) leak_elsewhere(strtoul(argv[i] + 5, NULL, 16));
    if (argc > 2 && strcmp(argv[2], "fork") == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            leak_in_child();
            exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
    }
    return 0;
}
