/* readfile.h - a whole file into memory, and the whole text of a file as a model's token
 * ids (tools/textfile.c, on include/scarce.h). */
#ifndef SCARCE_READFILE_H
#define SCARCE_READFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../include/scarce.h"

/* The whole file, NUL-terminated (malloc'd; *len, when not NULL, excludes the NUL).
 * Reads until end of file, so pipes and /dev/stdin work too. NULL with msg (512 bytes)
 * naming the path when it cannot be opened or read, or memory runs out. */
char *read_file_text(const char *path, size_t *len, char msg[512]);

/* The whole text of the file as model's token ids, BOS first when the vocabulary adds one
 * (what ppl and imatrix score): malloc'd, *n_out ids. NULL with msg (512 bytes) naming the
 * path when it cannot be read or tokenized, or holds a NUL byte (a binary file, not text). */
int32_t *read_text_ids(scarce_model *model, const char *path, int *n_out, char msg[512]);

#endif
