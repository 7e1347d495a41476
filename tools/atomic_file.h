/* atomic_file.h - text files that appear whole or not at all: written to PATH.tmp.PID,
 * flushed and fsync'd, then renamed over PATH (as engine/gguf_write.c does for models), so
 * an interrupted run never leaves half a plot or table behind. */
#ifndef SCARCE_ATOMIC_FILE_H
#define SCARCE_ATOMIC_FILE_H

#include <stdio.h>

typedef struct {
    FILE *fp;       /* write here */
    char tmp[4200]; /* the temporary name */
    const char *path;
} atomic_file;

/* Opens the temporary file; 0 ok, -1 with msg (512 bytes) set. */
int atomic_open(atomic_file *af, const char *path, char *msg);
/* Flushes, fsyncs and renames it to the final path (removing it on any failure); 0 ok, -1
 * with msg (512 bytes) set. */
int atomic_commit(atomic_file *af, char *msg);
/* Closes and removes the temporary file (after an error while writing). */
void atomic_abandon(atomic_file *af);

#endif
