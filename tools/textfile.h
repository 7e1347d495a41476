/* textfile.h - the one whole-file reader of the tools, and the whole text of a file as
 * token ids (what ppl, imatrix and logits-diff score). */
#ifndef SCARCE_TEXTFILE_H
#define SCARCE_TEXTFILE_H

#include <stddef.h>

#include "../engine/error.h"
#include "../engine/tokenizer.h"

/* The whole file, NUL-terminated (malloc'd; *len, when not NULL, excludes the NUL).
 * Reads until end of file, so pipes and /dev/stdin work too. NULL with err naming the
 * path when it cannot be opened or read, or memory runs out. */
char *read_whole_file(const char *path, size_t *len, scarce_error *err);

/* The whole text of the file as token ids, BOS first when the tokenizer adds one
 * (malloc'd, *n_out ids). NULL with err naming the path on failure, or when the file
 * holds a NUL byte (a binary file, not text). */
int *tokenize_file(const char *path, const tokenizer *tok, int *n_out, scarce_error *err);

#endif
