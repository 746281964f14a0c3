/*
 * frame_names.c - naming a stack's frames at exit (frame_names.h): dladdr,
 * the main program's real path, and the demanglers the program has loaded.
 *
 * Layer: platform. Calls the loader, the demanglers, auxv.c and the kernel.
 */
#include <dlfcn.h>
#include <link.h>
#include <string.h>
#include <stdlib.h>
#include "include/mapwarden_kernel.h"
#include "include/platform/auxv.h"
#include "include/platform/frame_names.h"
#include "include/platform/loaded_object.h"

/* The main program's lowest mapped address and its path: dladdr names it
 * as it was typed (./prog), which means nothing after a chdir. */
static uintptr_t main_base;
static char main_path[4096];

static int find_main(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    uintptr_t lo = UINTPTR_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && info->dlpi_addr + ph->p_vaddr < lo) lo = info->dlpi_addr + ph->p_vaddr;
    }
    main_base = lo & ~(uintptr_t)(mw_page_size() - 1);
    return 1; /* the first object is the main program */
}

static const char *main_program_path(void) {
    if (!main_path[0]) {
        long n = mw_sys_readlinkat(AT_FDCWD, "/proc/self/exe", main_path, sizeof main_path - 1);
        main_path[n > 0 ? n : 0] = 0;
    }
    return main_path[0] ? main_path : NULL;
}

int mw_symbolize(uint64_t address, struct mw_frame_name *out) {
    memset(out, 0, sizeof *out);
    Dl_info info;
    /* A return address: the call is the byte before it. */
    if (address == 0 || !dladdr((void *)(uintptr_t)(address - 1), &info)) return 0;
    out->module = info.dli_fname;
    out->module_base = (uintptr_t)info.dli_fbase;
    if (info.dli_fname && info.dli_fname[0] != '/') {
        if (!main_base) dl_iterate_phdr(find_main, NULL);
        const char *path = (uintptr_t)info.dli_fbase == main_base ? main_program_path() : NULL;
        if (path) out->module = path;
    }
    if (info.dli_sname && info.dli_saddr) {
        out->symbol = info.dli_sname;
        out->symbol_address = (uintptr_t)info.dli_saddr;
    }
    return 1;
}

/* The GNU build-id note of the object holding an address: its bytes as
 * lowercase hex, kept for the last object asked about (frames of one stack
 * mostly share a few objects). */
static struct {
    uintptr_t lo, hi; /* the object's extent, from its PT_LOAD segments */
    char hex[2 * 64 + 1];
} last_id;

static int find_build_id(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    uintptr_t lo, hi;
    if (!mw_object_holds(info, *(uintptr_t *)data, &lo, &hi)) return 0;
    last_id.lo = lo;
    last_id.hi = hi;
    last_id.hex[0] = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        size_t align = ph->p_align == 8 ? 8 : 4;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
            const unsigned char *name = p + sizeof *n;
            const unsigned char *desc = name + ((n->n_namesz + align - 1) & ~(align - 1));
            if (desc + n->n_descsz > end) break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                n->n_descsz > 0 && n->n_descsz <= 64) {
                static const char digits[] = "0123456789abcdef";
                for (size_t k = 0; k < n->n_descsz; k++) {
                    last_id.hex[2 * k] = digits[desc[k] >> 4];
                    last_id.hex[2 * k + 1] = digits[desc[k] & 15];
                }
                last_id.hex[2 * n->n_descsz] = 0;
                return 1;
            }
            p = desc + ((n->n_descsz + align - 1) & ~(align - 1));
        }
    }
    return 1;
}

const char *mw_build_id(uint64_t address) {
    uintptr_t a = (uintptr_t)address;
    if (!(a >= last_id.lo && a < last_id.hi)) {
        last_id.lo = last_id.hi = 0;
        if (!dl_iterate_phdr(find_build_id, &a)) return NULL;
    }
    return last_id.hex[0] ? last_id.hex : NULL;
}

typedef char *(*cxa_demangle_fn)(const char *, char *, size_t *, int *);
typedef char *(*swift_demangle_fn)(const char *, size_t, char *, size_t *, uint32_t);

static int demangling_off;
void mw_demangle_off(void) { demangling_off = 1; }

size_t mw_demangle(const char *name, char *out, size_t capacity) {
    if (!name || capacity < 2 || demangling_off) return 0;
    char *text = NULL;
    if (name[0] == '_' && name[1] == 'Z') {
        cxa_demangle_fn f = (cxa_demangle_fn)dlsym(RTLD_DEFAULT, "__cxa_demangle");
        int status = -1;
        if (f) text = f(name, NULL, NULL, &status);
        if (status != 0) text = NULL;
    } else if ((name[0] == '$' && (name[1] == 's' || name[1] == 'S')) ||
               (name[0] == '_' && name[1] == '$' && (name[2] == 's' || name[2] == 'S'))) {
        swift_demangle_fn f = (swift_demangle_fn)dlsym(RTLD_DEFAULT, "swift_demangle");
        if (f) text = f(name, strlen(name), NULL, NULL, 0);
    }
    if (!text) return 0;
    size_t n = strlen(text);
    if (n >= capacity) n = capacity - 1;
    memcpy(out, text, n);
    out[n] = 0;
    free(text);
    return n;
}
