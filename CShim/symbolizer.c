/*
 * symbolizer.c - the symbolizer process (symbolizer.h).
 *
 * Layer: platform. Calls libc (posix_spawn, poll, waitpid, kill), the
 * loader (dladdr) and the kernel.
 *
 * The child is the `mapwarden` command, started with posix_spawn (a
 * vfork-like clone: nothing of the program's runs in it, whatever locks its
 * threads hold), its descriptors above 2 closed, LD_PRELOAD taken out of its
 * environment. Its input goes through a socket written with MSG_NOSIGNAL,
 * so that a child that dies early cannot kill the program with SIGPIPE.
 * Everything is bounded by one deadline; the child is always reaped.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "include/mapwarden_kernel.h"
#include "include/platform/symbolizer.h"

extern char **environ;

static int executable_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

size_t mw_symbolizer_beside(char *out, size_t capacity) {
    Dl_info info;
    if (!dladdr((void *)mw_symbolizer_beside, &info) || !info.dli_fname) return 0;
    const char *slash = strrchr(info.dli_fname, '/');
    size_t dir = slash ? (size_t)(slash - info.dli_fname) : 0;
    static const char *const tails[] = { "/mapwarden", "/../bin/mapwarden" };
    for (size_t i = 0; i < 2; i++) {
        size_t tail = strlen(tails[i]);
        if (dir == 0 || dir + tail + 1 > capacity) return 0;
        memcpy(out, info.dli_fname, dir);
        memcpy(out + dir, tails[i], tail + 1);
        if (executable_file(out)) return dir + tail;
    }
    return 0;
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The environment less LD_PRELOAD, in static storage (no malloc). */
static char *child_env[1024];

long mw_symbolizer_run(const char *path, const char *input, size_t input_length, char *out, size_t capacity,
                       int timeout_ms) {
    int in[2], outp[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) return -errno;
    /* The system call, not the pipe2 symbol (interpose.c's: a hook). */
    long piped = mw_sys_pipe2(outp, O_CLOEXEC);
    if (piped != 0) {
        close(in[0]);
        close(in[1]);
        return piped;
    }
    size_t n = 0;
    for (char **e = environ; e && *e && n + 1 < sizeof child_env / sizeof *child_env; e++)
        if (strncmp(*e, "LD_PRELOAD=", 11) != 0) child_env[n++] = *e;
    child_env[n] = NULL;
    char *argv[] = { (char *)path, (char *)"symbolize", NULL };
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    pid_t pid = -1;
    int spawned = posix_spawn_file_actions_init(&actions);
    if (spawned == 0) {
        posix_spawn_file_actions_adddup2(&actions, in[1], 0);
        posix_spawn_file_actions_adddup2(&actions, outp[1], 1);
        posix_spawn_file_actions_addclosefrom_np(&actions, 3);
        posix_spawnattr_init(&attr);
        /* Default signal handling and no blocked signal in the child. */
        sigset_t all, none;
        sigfillset(&all);
        sigemptyset(&none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
        spawned = posix_spawn(&pid, path, &actions, &attr, argv, child_env);
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
    }
    close(in[1]);
    close(outp[1]);
    if (spawned != 0) {
        close(in[0]);
        close(outp[0]);
        return -spawned;
    }
    long long deadline = now_ms() + timeout_ms;
    size_t written = 0, got = 0;
    int writing = 1, result = 0;
    fcntl(in[0], F_SETFL, O_NONBLOCK);
    if (input_length == 0) {
        shutdown(in[0], SHUT_WR);
        writing = 0;
    }
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            result = -ETIMEDOUT;
            break;
        }
        struct pollfd p[2] = { { outp[0], POLLIN, 0 }, { in[0], POLLOUT, 0 } };
        int r = poll(p, writing ? 2 : 1, (int)left);
        if (r < 0) {
            if (errno == EINTR) continue;
            result = -errno;
            break;
        }
        if (writing && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t w = send(in[0], input + written, input_length - written, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w > 0) written += (size_t)w;
            if (w < 0 && errno != EAGAIN && errno != EINTR) written = input_length; /* the child stopped reading */
            if (written == input_length) {
                shutdown(in[0], SHUT_WR);
                writing = 0;
            }
        }
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (got == capacity) { /* more than we keep: the answer is cut */
                result = -E2BIG;
                break;
            }
            ssize_t m = read(outp[0], out + got, capacity - got);
            if (m > 0) got += (size_t)m;
            else if (m == 0) break; /* the child's answer is whole */
            else if (errno != EINTR && errno != EAGAIN) {
                result = -errno;
                break;
            }
        }
    }
    close(in[0]);
    close(outp[0]);
    /* Reap the child: it ends once its input is closed; else it is killed. */
    int status;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR)) break; /* (ECHILD: the program's handler reaped it) */
        if (now_ms() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            break;
        }
        struct timespec slice = { 0, 5 * 1000 * 1000 };
        nanosleep(&slice, NULL);
    }
    return result < 0 ? result : (long)got;
}
