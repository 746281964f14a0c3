/*
 * preload_env.h - LD_PRELOAD as the programs this one execs will see it
 * (preload_env.c).
 *
 * Layer: platform. Included by the engine (module.modulemap: start-up,
 * under MAPWARDEN_CHILDREN=stop). Calls nothing above it.
 */
#ifndef MAPWARDEN_PLATFORM_PRELOAD_ENV_H
#define MAPWARDEN_PLATFORM_PRELOAD_ENV_H

/* Removes the preload library from LD_PRELOAD in the environment, so that
 * programs this one execs run without it. */
void mw_stop_following_children(void);

#endif
