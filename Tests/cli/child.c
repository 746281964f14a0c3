// The program the CLI tests run under `mapwarden run`:
//   child exit N            exit with status N
//   child raise SIG         die of signal SIG (a number) with the default action
//   child wait READY        exit 42 on SIGUSR1; create READY, then wait for signals
//   child env               print the MAPWARDEN_* variables and LD_PRELOAD
//   child maps              print /proc/self/maps
//   child exec PROG ARGS... print whether libmapwarden.so is loaded, then exec PROG
//   child crash             map a read-only page in the default window, leave it
//                           mapped and write to it (dies of SIGSEGV)
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

static void on_usr1(int sig) {
    (void)sig;
    _exit(42);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int loaded(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    while (f && fgets(line, sizeof line, f)) found |= strstr(line, "libmapwarden.so") != NULL;
    if (f) fclose(f);
    return found;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *mode = argv[1];
    if (!strcmp(mode, "exit") && argc > 2) return atoi(argv[2]);
    if (!strcmp(mode, "raise") && argc > 2) {
        int sig = atoi(argv[2]);
        signal(sig, SIG_DFL);
        raise(sig);
        return 3;
    }
    if (!strcmp(mode, "crash")) {
        char *page = mmap((void *)0x400000010000, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (page == MAP_FAILED) return 5;
        *(volatile char *)page = 1;
        return 6;
    }
    if (!strcmp(mode, "wait") && argc > 2) {
        signal(SIGUSR1, on_usr1);
        int fd = open(argv[2], O_CREAT | O_WRONLY, 0644);
        if (fd < 0) return 4;
        close(fd);
        for (;;) pause();
    }
    if (!strcmp(mode, "env")) {
        char *vars[512];
        int n = 0;
        for (char **e = environ; *e && n < 512; e++)
            if (!strncmp(*e, "MAPWARDEN_", 10) || !strncmp(*e, "LD_PRELOAD=", 11)) vars[n++] = *e;
        qsort(vars, n, sizeof vars[0], cmp);
        for (int i = 0; i < n; i++) puts(vars[i]);
        return 0;
    }
    if (!strcmp(mode, "maps")) {
        FILE *f = fopen("/proc/self/maps", "r");
        char line[4096];
        while (f && fgets(line, sizeof line, f)) fputs(line, stdout);
        return 0;
    }
    if (!strcmp(mode, "exec") && argc > 2) {
        printf("pid %d libmapwarden %s\n", (int)getpid(), loaded() ? "loaded" : "absent");
        fflush(stdout);
        execv(argv[2], argv + 2);
        perror("execv");
        return 5;
    }
    if (!strcmp(mode, "loaded")) {
        printf("pid %d libmapwarden %s\n", (int)getpid(), loaded() ? "loaded" : "absent");
        return 0;
    }
    return 2;
}
