/* readfile.h - a whole file into memory, for the commands that use include/scarce.h alone
 * (textfile.h gives the same with the engine's error type). */
#ifndef SCARCE_READFILE_H
#define SCARCE_READFILE_H

#include <stddef.h>

/* The whole file, NUL-terminated (malloc'd; *len, when not NULL, excludes the NUL).
 * Reads until end of file, so pipes and /dev/stdin work too. NULL with msg (512 bytes)
 * naming the path when it cannot be opened or read, or memory runs out. */
char *read_file_text(const char *path, size_t *len, char msg[512]);

#endif
