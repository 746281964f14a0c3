/*
 * buffers.c - the static buffers start-up and exit write into, one per use
 * (buffers.h).
 *
 * Layer: platform. Calls nothing.
 */
#include "include/platform/buffers.h"

static unsigned char executable[MW_STATIC_BUFFER_SIZE];
static unsigned char report_path[MW_STATIC_BUFFER_SIZE];
static unsigned char demangled[MW_STATIC_BUFFER_SIZE];
static unsigned char working_directory[MW_STATIC_BUFFER_SIZE];
static unsigned char snapshot_template[MW_STATIC_BUFFER_SIZE];
static unsigned char maps_lines[MW_STATIC_BUFFER_SIZE];
static unsigned char startup_text[MW_STARTUP_TEXT_SIZE];

unsigned char *mw_buffer_executable(void) { return executable; }
unsigned char *mw_buffer_report_path(void) { return report_path; }
unsigned char *mw_buffer_demangled(void) { return demangled; }
unsigned char *mw_buffer_working_directory(void) { return working_directory; }
unsigned char *mw_buffer_snapshot_template(void) { return snapshot_template; }
unsigned char *mw_buffer_maps_lines(void) { return maps_lines; }
unsigned char *mw_buffer_startup_text(void) { return startup_text; }
