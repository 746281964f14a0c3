/*
 * auxv.c - what the kernel told the process at exec, in its auxiliary
 * vector (auxv.h).
 *
 * Layer: platform. Calls libc's getauxval only.
 */
#include <sys/auxv.h>
#include "include/platform/auxv.h"

unsigned long mw_at_secure(void) { return getauxval(AT_SECURE); }

unsigned long mw_page_size(void) {
    unsigned long p = getauxval(AT_PAGESZ);
    return p ? p : 4096;
}

unsigned long mw_main_program_headers(unsigned long *count) {
    *count = getauxval(AT_PHNUM);
    return getauxval(AT_PHDR);
}
