/*
 * mapwarden.h - the public C API of libmapwarden.so.
 *
 * Programs that know about mapwarden may ask it what it knows of an
 * address.  Link with -lmapwarden, or look the symbols up with
 * dlsym(RTLD_DEFAULT, "mapwarden_query") so that the program still runs
 * when the library is not preloaded.
 *
 * Every function is thread-safe, allocates nothing and reports failure as
 * -1 with errno set.
 */
#ifndef MAPWARDEN_H
#define MAPWARDEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAPWARDEN_API_VERSION 1

/* What an address is, as far as mapwarden knows. */
enum mapwarden_state {
    MAPWARDEN_OUTSIDE = 0, /* not inside any mapwarden window */
    MAPWARDEN_FREE    = 1, /* inside a window, reserved but not mapped */
    MAPWARDEN_MAPPED  = 2  /* inside a window and mapped by the program */
};

/* Bits of mapwarden_info.kind. */
#define MAPWARDEN_KIND_SHARED    0x1 /* MAP_SHARED (else MAP_PRIVATE) */
#define MAPWARDEN_KIND_ANONYMOUS 0x2 /* MAP_ANONYMOUS (else file-backed) */
#define MAPWARDEN_KIND_MOVED     0x4 /* arrived by mremap from outside: prot is unknown (-1) */
#define MAPWARDEN_KIND_DONTFORK  0x8 /* madvise(MADV_DONTFORK): not inherited by children */

struct mapwarden_info {
    uint32_t  state;        /* enum mapwarden_state */
    uint32_t  kind;         /* MAPWARDEN_KIND_* bits, when MAPPED */
    uintptr_t window_base;  /* the window holding the address (0 when OUTSIDE) */
    size_t    window_size;
    uintptr_t base;         /* MAPPED: the mapping's first byte; FREE: the free run's */
    size_t    size;         /* MAPPED: the mapping's length;     FREE: the free run's */
    int32_t   prot;         /* MAPPED: PROT_* bits, or -1 when unknown */
    int32_t   reserved0;
    uint64_t  offset;       /* MAPPED, file-backed: file offset of base */
};

/*
 * Describe addr.  Returns 0 and fills *info, or -1 with errno:
 *   EINVAL  info is NULL
 *   ENODEV  mapwarden is loaded but holds no window (inactive, or the
 *           reservation failed under MAPWARDEN_ON_RESERVE_FAILURE=warn)
 *   EAGAIN  called from a signal handler that interrupted mapwarden itself
 *           on this thread; ask again once the handler has returned
 */
int mapwarden_query(const void *addr, struct mapwarden_info *info);

#ifdef __cplusplus
}
#endif
#endif
