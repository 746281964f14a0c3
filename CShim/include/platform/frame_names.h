/*
 * frame_names.h - naming a stack's frames at exit (frame_names.c): dladdr,
 * and the demanglers the program has loaded.
 *
 * Layer: platform. Included by the engine (module.modulemap:
 * FrameNames.swift) and by the hooks (exit.c turns demangling off).
 * Calls nothing above it.
 */
#ifndef MAPWARDEN_PLATFORM_FRAME_NAMES_H
#define MAPWARDEN_PLATFORM_FRAME_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* What dladdr knows of a return address. */
struct mw_frame_name {
    const char *module;      /* NULL when in no loaded object */
    uintptr_t module_base;
    const char *symbol;      /* NULL when unknown */
    uintptr_t symbol_address;
};
int mw_symbolize(uint64_t address, struct mw_frame_name *out);

/* The GNU build-id of the loaded object holding address, in lowercase hex
 * (valid until the next call), or NULL when it has none. */
const char *mw_build_id(uint64_t address);

/* The demangled form of a C++ or Swift name (if the program has loaded
 * that language's demangler) into out; its length, or 0. */
size_t mw_demangle(const char *name, char *out, size_t capacity);
/* From now on mw_demangle returns 0: the report of a process that ends at
 * once (_exit) must not call the demanglers, which allocate. */
void mw_demangle_off(void);

#endif
