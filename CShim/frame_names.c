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

/* The main program's lowest mapped address and its path: dladdr names it
 * as it was typed (./prog), which means nothing after a chdir.
 *
 * Nothing here calls dl_iterate_phdr: it takes the loader's write lock,
 * which glibc (before 2.38) does not reset in a forked child, so a child
 * forked while another thread of its parent was in dl_iterate_phdr would
 * wait for ever at its report. dladdr takes the loader's main lock, which
 * fork does reset; the rest is read from the program headers. */
static uintptr_t main_base;
static char main_path[4096];

/* The lowest page of the main program's PT_LOAD segments, from the program
 * headers the kernel names in the auxiliary vector. */
static uintptr_t find_main_base(void) {
    unsigned long count;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)mw_main_program_headers(&count);
    if (!ph) return 0;
    uintptr_t bias = 0, lo = UINTPTR_MAX;
    for (unsigned long i = 0; i < count; i++)
        if (ph[i].p_type == PT_PHDR) bias = (uintptr_t)ph - ph[i].p_vaddr;
    for (unsigned long i = 0; i < count; i++)
        if (ph[i].p_type == PT_LOAD && bias + ph[i].p_vaddr < lo) lo = bias + ph[i].p_vaddr;
    return lo == UINTPTR_MAX ? 0 : lo & ~(uintptr_t)(mw_page_size() - 1);
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
        if (!main_base) main_base = find_main_base();
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

/* Copies len bytes of this process's memory at `from`: 1, or 0 where they
 * cannot all be read (never a fault). */
static int copy_own(void *to, uintptr_t from, size_t len) {
    return mw_sys_read_own_memory(to, from, len) == (long)len;
}

/* The build-id of the object whose first mapped byte is `base` (dladdr's
 * dli_fbase: its ELF header), and its extent, into last_id. */
static void read_object(uintptr_t base) {
    last_id.hex[0] = 0;
    ElfW(Ehdr) eh;
    ElfW(Phdr) ph[64];
    if (!copy_own(&eh, base, sizeof eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum == 0 || eh.e_phnum > 64 ||
        !copy_own(ph, base + eh.e_phoff, eh.e_phnum * sizeof ph[0]))
        return;
    uintptr_t first = UINTPTR_MAX;
    for (int i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr < first) first = ph[i].p_vaddr;
    if (first == UINTPTR_MAX) return;
    uintptr_t bias = base - (first & ~(uintptr_t)(mw_page_size() - 1));
    last_id.lo = UINTPTR_MAX;
    last_id.hi = 0;
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD) continue;
        if (bias + ph[i].p_vaddr < last_id.lo) last_id.lo = bias + ph[i].p_vaddr;
        if (bias + ph[i].p_vaddr + ph[i].p_memsz > last_id.hi) last_id.hi = bias + ph[i].p_vaddr + ph[i].p_memsz;
    }
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_NOTE) continue;
        static unsigned char notes[4096];
        size_t size = ph[i].p_memsz < sizeof notes ? ph[i].p_memsz : sizeof notes;
        if (!copy_own(notes, bias + ph[i].p_vaddr, size)) continue;
        const unsigned char *p = notes, *end = notes + size;
        size_t align = ph[i].p_align == 8 ? 8 : 4;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            ElfW(Nhdr) n;
            memcpy(&n, p, sizeof n);
            const unsigned char *name = p + sizeof n;
            const unsigned char *desc = name + ((n.n_namesz + align - 1) & ~(align - 1));
            if (desc + n.n_descsz > end) break;
            if (n.n_type == NT_GNU_BUILD_ID && n.n_namesz == 4 && memcmp(name, "GNU", 4) == 0 && n.n_descsz > 0 &&
                n.n_descsz <= 64) {
                static const char digits[] = "0123456789abcdef";
                for (size_t k = 0; k < n.n_descsz; k++) {
                    last_id.hex[2 * k] = digits[desc[k] >> 4];
                    last_id.hex[2 * k + 1] = digits[desc[k] & 15];
                }
                last_id.hex[2 * n.n_descsz] = 0;
                return;
            }
            p = desc + ((n.n_descsz + align - 1) & ~(align - 1));
        }
    }
}

const char *mw_build_id(uint64_t address) {
    uintptr_t a = (uintptr_t)address;
    if (!(a >= last_id.lo && a < last_id.hi)) {
        last_id.lo = last_id.hi = 0;
        Dl_info info;
        if (a == 0 || !dladdr((void *)(a - 1), &info) || !info.dli_fbase) return NULL;
        read_object((uintptr_t)info.dli_fbase);
        if (!(a - 1 >= last_id.lo && a - 1 < last_id.hi)) last_id.lo = last_id.hi = 0;
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
