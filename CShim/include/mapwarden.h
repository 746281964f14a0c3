/*
 * mapwarden.h - the public C API of libmapwarden.so.
 *
 * Programs that know about mapwarden may ask what it knows of an address,
 * list its windows, attach their own value to a mapping and let it place
 * memory inside a window.  Link with -lmapwarden, or declare the functions
 * weak (or look them up with dlsym(RTLD_DEFAULT, ...)) so that the program
 * still runs when the library is not preloaded: see docs/c-api.md.
 *
 * Every function is thread-safe, allocates nothing, and reports failure as
 * -1 (NULL for mapwarden_alloc) with errno set.  Common errno values:
 *   ENODEV  mapwarden is loaded but holds no window (inactive, or the
 *           reservation failed under MAPWARDEN_ON_RESERVE_FAILURE=warn)
 *   EAGAIN  called from a signal handler that interrupted mapwarden itself
 *           on this thread; ask again once the handler has returned
 *
 * Layer: api (inside mapwarden: below every other layer; the hooks define
 * these functions, the engine fills these structures; docs/architecture.md).
 */
#ifndef MAPWARDEN_H
#define MAPWARDEN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 2: windows have names and backings; tags; mapwarden_windows, _alloc. */
#define MAPWARDEN_API_VERSION 2

/* The longest window name, with its NUL. Names are lowercase
 * (MAPWARDEN_WINDOW_IPC is the window "ipc"); the default window is "default". */
#define MAPWARDEN_NAME_MAX 32

/* The most windows mapwarden holds (the default one included). */
#define MAPWARDEN_WINDOWS_MAX 8

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
#define MAPWARDEN_KIND_LOCKED    0x20 /* locked in memory: mlock, mlock2, MAP_LOCKED, mlockall */
#define MAPWARDEN_KIND_GROWSDOWN 0x40 /* MAP_GROWSDOWN */
#define MAPWARDEN_KIND_WINDOW_FILE 0x10 /* the pages of a shared or persistent window's file
                                           (an anonymous request there); with KIND_SHARED */

/* What backs a window's mappings (mapwarden_window.backing). */
enum mapwarden_backing {
    MAPWARDEN_BACKING_PRIVATE    = 0, /* as the program asked (the default) */
    MAPWARDEN_BACKING_SHARED     = 1, /* shared=PATH: a shared-memory file, same pages in every process */
    MAPWARDEN_BACKING_PERSISTENT = 2  /* persist=PATH: a regular file, contents kept across runs */
};

struct mapwarden_info {
    uint32_t  state;        /* enum mapwarden_state */
    uint32_t  kind;         /* MAPWARDEN_KIND_* bits, when MAPPED */
    uintptr_t window_base;  /* the window holding the address (0 when OUTSIDE) */
    size_t    window_size;
    uintptr_t base;         /* MAPPED: the mapping's first byte; FREE: the free run's */
    size_t    size;         /* MAPPED: the mapping's length;     FREE: the free run's */
    int32_t   prot;         /* MAPPED: PROT_* bits, or -1 when unknown */
    int32_t   flags;        /* MAPPED: MAP_SHARED or MAP_PRIVATE, | MAP_ANONYMOUS, as mapped */
    uint64_t  offset;       /* MAPPED, file-backed: file offset of base */
    uintptr_t tag;          /* MAPPED: the mapping's tag (mapwarden_set_tag), 0 if none */
    char      window[MAPWARDEN_NAME_MAX]; /* the window's name; "" when OUTSIDE */
};

struct mapwarden_window {
    char        name[MAPWARDEN_NAME_MAX];
    uintptr_t   base;
    size_t      size;
    uint32_t    backing;      /* enum mapwarden_backing */
    uint32_t    mappings;     /* mappings the program has in it now */
    size_t      mapped;       /* bytes those mappings cover */
    size_t      largest_free; /* the longest free run, in bytes */
    const char *path;         /* SHARED, PERSISTENT: the backing file (valid for the
                                 process's life); NULL for PRIVATE */
};

/*
 * Describes addr.  Returns 0 and fills *info, or -1 with errno:
 *   EINVAL  info is NULL
 *   ENODEV, EAGAIN  as above
 */
int mapwarden_query(const void *addr, struct mapwarden_info *info);

/*
 * Lists the windows, in address order: fills buf[0 .. min(n, count) - 1]
 * and returns count, the number of windows (call with n = 0 to learn it).
 * Returns -1 with errno:
 *   EINVAL  buf is NULL and n > 0
 *   ENODEV, EAGAIN  as above
 */
int mapwarden_windows(struct mapwarden_window *buf, size_t n);

/*
 * Attaches tag to the mapping (inside a window) that contains addr.  The
 * tag follows the mapping when it is split (munmap or mprotect of part of
 * it), moved or inherited by fork, and is dropped with it.  Returns 0, or
 * -1 with errno:
 *   ERANGE  addr is outside every window
 *   ENOENT  addr is free window space: no mapping to tag
 *   ENODEV, EAGAIN  as above
 */
int mapwarden_set_tag(const void *addr, uintptr_t tag);

/*
 * Reads the tag of the mapping that contains addr into *tag (0 when none
 * was set).  Returns 0, or -1 with errno EINVAL (tag is NULL), ERANGE,
 * ENOENT, ENODEV or EAGAIN as for mapwarden_set_tag.
 */
int mapwarden_get_tag(const void *addr, uintptr_t *tag);

/*
 * Maps size bytes of anonymous memory at the lowest free address of the
 * named window (NULL: the default window) aligned to align, as
 * mmap(addr, size, prot, flags | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)
 * would; in a shared or persistent window it is the backing file's pages at
 * that address, as for any anonymous mapping there.  Free it with munmap.
 *   size   > 0; rounded up to whole pages
 *   align  0 (a page) or a power of two; smaller than a page means a page
 *   prot   PROT_* bits
 *   flags  MAP_PRIVATE or MAP_SHARED, optionally | MAP_ANONYMOUS,
 *          MAP_NORESERVE, MAP_POPULATE, MAP_LOCKED
 * Returns the address, or NULL with errno:
 *   EINVAL  size is 0, align is not a power of two, or flags has another bit
 *   ENOENT  no window has that name
 *   ENOMEM  no free run of the window fits (or the kernel refused memory)
 *   ENODEV, EAGAIN  as above; other values as mmap would set them
 */
void *mapwarden_alloc(const char *window, size_t size, size_t align, int prot, int flags);

/*
 * Writes a snapshot of the live mappings now, without stopping the program:
 * the content of the report at exit, as JSON, marked "ended_by": "snapshot"
 * (mapwarden report reads it; mapwarden report --diff compares two).  path
 * is a file name where %p is the pid and %e the program's name, as in
 * MAPWARDEN_REPORT; NULL writes the next numbered snapshot beside the report
 * (docs/leak-reports.md).  The file appears whole (written under a .part
 * name, then renamed).  A snapshot never sets the exit status.  Returns 0,
 * or -1 with errno:
 *   EAGAIN  another report is being written (a snapshot, or the end's)
 *   ENODEV  mapwarden is not active in this process
 *   other   as open(2) and rename(2) set them for path
 */
int mapwarden_report_now(const char *path);

#ifdef __cplusplus
}
#endif
#endif
