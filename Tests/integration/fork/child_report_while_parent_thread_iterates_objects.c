// A forked child writes its report, with its frames' build-ids, even when
// another thread of its parent was inside dl_iterate_phdr at the fork:
// glibc (before 2.38) does not reset the loader's write lock in the child,
// so a report that walked the loaded objects with dl_iterate_phdr waited
// for ever there. The child's snapshot must be written within seconds and
// name its leak's frames with their build-ids.
#include "common.h"
#include <link.h>
#include <pthread.h>
#include <sys/wait.h>
#pragma weak mapwarden_report_now

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int inside, release;

static int wait_inside(struct dl_phdr_info *info, size_t size, void *data) {
    (void)info, (void)size, (void)data;
    pthread_mutex_lock(&lock);
    inside = 1;
    pthread_cond_broadcast(&changed);
    while (!release) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    return 1;
}

static void *iterate(void *arg) {
    (void)arg;
    dl_iterate_phdr(wait_inside, NULL);
    return NULL;
}

__attribute__((noinline)) static void leak(void) {
    CHECK(mmap(W(0x10000), PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == W(0x10000));
}

int main(void) {
    CHECK(mapwarden_report_now != NULL);
    leak();
    pthread_t t;
    CHECK(pthread_create(&t, NULL, iterate, NULL) == 0);
    pthread_mutex_lock(&lock);
    while (!inside) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);

    char path[64];
    pid_t p = fork();
    CHECK(p >= 0);
    if (p == 0) {
        snprintf(path, sizeof path, "/tmp/mapwarden-fork-iterate.%d.json", (int)getpid());
        _exit(mapwarden_report_now(path) == 0 ? 0 : 1);
    }
    snprintf(path, sizeof path, "/tmp/mapwarden-fork-iterate.%d.json", (int)p);
    int st = 0, done = 0;
    for (int i = 0; i < 1000 && !done; i++) {
        pid_t r = waitpid(p, &st, WNOHANG);
        CHECK(r >= 0);
        if (r == p) done = 1;
        else usleep(10000);
    }
    if (!done) {
        kill(p, SIGKILL);
        waitpid(p, &st, 0);
        unlink(path);
        fprintf(stderr, "the child's report did not end within 10 s\n");
        return 1;
    }
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    unlink(path);
    CHECK(strstr(text, "\"0x400000010000\"") != NULL);
    CHECK(strstr(text, "\"build_id\": \"") != NULL);

    pthread_mutex_lock(&lock);
    release = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    CHECK(pthread_join(t, NULL) == 0);
    return 0;
}
