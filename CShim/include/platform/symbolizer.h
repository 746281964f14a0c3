/*
 * symbolizer.h - the symbolizer process (symbolizer.c): the text report at
 * exit hands its frames to the `mapwarden symbolize` command (elfutils'
 * libdw lives there, never in this library) and reads their names back, as
 * LeakSanitizer runs llvm-symbolizer.
 *
 * Layer: platform. Included by the engine (module.modulemap). Calls libc
 * (posix_spawn, poll, waitpid) and the loader (dladdr); nothing above it.
 */
#ifndef MAPWARDEN_PLATFORM_SYMBOLIZER_H
#define MAPWARDEN_PLATFORM_SYMBOLIZER_H

#include <stddef.h>

/* The `mapwarden` command beside this library (DIR/mapwarden, else
 * DIR/../bin/mapwarden), NUL-terminated into out; its length, or 0 when
 * there is none (not a regular executable file). */
size_t mw_symbolizer_beside(char *out, size_t capacity);

/* Runs `PATH symbolize`: writes input to its standard input, reads its
 * standard output into out (at most capacity bytes) until it ends, within
 * timeout_ms in all; then the child is gone (killed if need be, always
 * reaped). The child gets no descriptor but 0, 1 and 2, and the
 * environment without LD_PRELOAD. Returns the bytes read, or -errno
 * (ETIMEDOUT: no whole answer in time). Only from the report at a normal
 * exit: posix_spawn allocates. */
long mw_symbolizer_run(const char *path, const char *input, size_t input_length, char *out, size_t capacity,
                       int timeout_ms);

#endif
