/*
 * loaded_object.h - which loaded object holds an address: the extent of an
 * object's PT_LOAD segments, for dl_iterate_phdr callbacks (backtrace.c
 * finds the library itself and malloc's object, at start-up).
 *
 * Layer: platform. Included by platform files only. Calls nothing.
 */
#ifndef MAPWARDEN_PLATFORM_LOADED_OBJECT_H
#define MAPWARDEN_PLATFORM_LOADED_OBJECT_H

#include <link.h>
#include <stdint.h>

/* Nonzero when one of info's PT_LOAD segments holds address; *lo and *hi
 * get the extent of them all. */
static inline int mw_object_holds(const struct dl_phdr_info *info, uintptr_t address, uintptr_t *lo, uintptr_t *hi) {
    int holds = 0;
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr, end = start + ph->p_memsz;
        if (start < *lo) *lo = start;
        if (end > *hi) *hi = end;
        if (address >= start && address < end) holds = 1;
    }
    return holds;
}

#endif
