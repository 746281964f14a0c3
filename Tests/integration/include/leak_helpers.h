/*
 * leak_helpers.h - shared by the subject programs of the leak report tests
 * (scripts in reports/, stacks/, clobber/, exit/ and docs/ build them from
 * here-documents with -g -O0 -rdynamic -fno-inline
 * -fno-optimize-sibling-calls). Include after common.h.
 *
 * The subjects print what they did on stdout, one fact a line, flushed at
 * once, for the scripts to compare with the report:
 *     PID <pid>
 *     LEAK <function> <address> <size>    (a mapping left mapped at exit)
 *     FREED <address> <size>              (a mapping made and unmapped)
 *     SYM <function> <address>            (where the function's code starts)
 *     TID <index> <tid>
 */
#ifndef MW_LEAK_HELPERS_H
#define MW_LEAK_HELPERS_H
#include <stdarg.h>

#define NOINLINE __attribute__((noinline, noclone))

/* One line on stdout, flushed (the scripts read it after the exit). */
static inline void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static inline long leak_tid(void) { return raw_syscall(SYS_gettid); }

#define SAY_SYM(fn) say("SYM %s %p", #fn, (void *)(fn))

/* Anonymous private read-write flags, MAP_FIXED. */
#define LEAK_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

#endif
