/*
 * symbolizer.h - what the mapwarden command's symbolizer
 * (Sources/MapwardenCLI/Symbolizer.swift) calls in C: elfutils' libdwfl and
 * libdw (Debian libdw-dev) to read symbols, lines and inlined frames, and the
 * C++ and Swift demanglers of the runtimes the command links anyway
 * (libstdc++, libswiftCore). The preloaded library never links any of these.
 */
#ifndef MAPWARDEN_CLI_SYMBOLIZER_H
#define MAPWARDEN_CLI_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>
#include <elfutils/libdwfl.h>
#include <elfutils/libdw.h>
#include <dwarf.h>

/* libstdc++'s demangler (cxxabi.h, declared here for C). */
char *__cxa_demangle(const char *mangled, char *buffer, size_t *length, int *status);
/* The Swift runtime's demangler. */
char *swift_demangle(const char *mangled, size_t length, char *buffer, size_t *buffer_length, uint32_t flags);

#endif
