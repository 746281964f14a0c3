/*
 * environment.h - the process's environment, readable before libc is
 * initialised (environment.c).
 *
 * Layer: platform. Included by the engine (module.modulemap: start-up
 * reads its configuration here). Calls nothing above it.
 *
 * A call from a program's .preinit_array comes before libc has set
 * `environ`: the environment is then read from a copy of
 * /proc/self/environ, mapped (never malloc'd) until start-up releases it.
 */
#ifndef MAPWARDEN_PLATFORM_ENVIRONMENT_H
#define MAPWARDEN_PLATFORM_ENVIRONMENT_H

/* getenv. */
const char *mw_getenv(const char *name);

/* The environment's entries one by one ("KEY=VALUE"), from *cursor (start
 * at 0); NULL at the end. */
const char *mw_env_entry(unsigned long *cursor);

/* Frees the copy of /proc/self/environ once start-up has read its
 * configuration. */
void mw_release_initial_environment(void);

#endif
