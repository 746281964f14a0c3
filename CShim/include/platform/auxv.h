/*
 * auxv.h - what the kernel told the process at exec, in its auxiliary
 * vector (auxv.c).
 *
 * Layer: platform. Included by the engine (module.modulemap) and by
 * frame_names.c. Calls nothing above it.
 */
#ifndef MAPWARDEN_PLATFORM_AUXV_H
#define MAPWARDEN_PLATFORM_AUXV_H

/* AT_SECURE: nonzero in setuid/setgid/capability processes. */
unsigned long mw_at_secure(void);

/* AT_PAGESZ: the page size. */
unsigned long mw_page_size(void);

/* AT_PHDR, AT_PHNUM: the main program's program headers, as mapped. */
unsigned long mw_main_program_headers(unsigned long *count);

#endif
