/*
 * buffers.h - the static buffers start-up and exit write into (buffers.c).
 *
 * Layer: platform. Included by the engine (module.modulemap:
 * StaticBuffer in Process.swift). Calls nothing.
 *
 * Static memory in the library's .bss: never the heap, never a window (and
 * no new mapping). Start-up and exit each run on one thread at a time;
 * each buffer has one use, named here.
 */
#ifndef MAPWARDEN_PLATFORM_BUFFERS_H
#define MAPWARDEN_PLATFORM_BUFFERS_H

/* The size of each of the buffers below but the start-up text. */
#define MW_STATIC_BUFFER_SIZE 8192

/* The executable's path (/proc/self/exe), read at exit for the report. */
unsigned char *mw_buffer_executable(void);
/* The report's path, expanded from its template at exit. */
unsigned char *mw_buffer_report_path(void);
/* One frame's demangled name at a time, at exit. */
unsigned char *mw_buffer_demangled(void);
/* A snapshot's default path template (Snapshot.swift). */
unsigned char *mw_buffer_snapshot_template(void);
/* The working directory, read at start-up (window files, report path). */
unsigned char *mw_buffer_working_directory(void);
/* /proc/self/maps, a piece at a time, when libunwind is loaded late
 * (LoaderRoom.swift: under the registry lock, with no other thread). */
unsigned char *mw_buffer_maps_lines(void);

/* The text start-up keeps for the process's life: the report's template
 * (16 KiB at most: its directory's % signs doubled), and PATH_MAX for each
 * of 11 more paths. */
#define MW_STARTUP_TEXT_SIZE 57344
unsigned char *mw_buffer_startup_text(void);

#endif
