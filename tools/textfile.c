/* textfile.c - whole files into memory, and a text file's token ids (readfile.h). */
#include "readfile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *read_file_text(const char *path, size_t *len, char msg[512]) {
    FILE *f = fopen(path, "rb");
    if (!f) return snprintf(msg, 512, "%s: cannot open (%s)", path, strerror(errno)), NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1) break; /* end of file or an error, told apart below */
        char *grown = cap <= SIZE_MAX / 2 ? realloc(buf, cap *= 2) : NULL;
        if (!grown) free(buf);
        buf = grown;
    }
    const int failed = ferror(f);
    fclose(f);
    if (!buf) return snprintf(msg, 512, "%s: out of memory after %zu bytes", path, n), NULL;
    if (failed) {
        free(buf);
        return snprintf(msg, 512, "%s: cannot read", path), NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

int32_t *read_text_ids(scarce_model *model, const char *path, int *n_out, char msg[512]) {
    size_t len;
    char *text = read_file_text(path, &len, msg);
    if (!text) return NULL;
    /* the tokenizer reads a C string: a NUL would end the text there, silently */
    const char *nul = memchr(text, 0, len);
    if (nul) {
        snprintf(msg, 512, "%s: a NUL byte at offset %zu: not a text file", path,
                 (size_t)(nul - text));
        free(text);
        return NULL;
    }
    if (len > ((size_t)INT_MAX - 5) / 3) {
        snprintf(msg, 512, "%s: %zu bytes, more than one text can hold", path, len);
        free(text);
        return NULL;
    }
    /* the most ids a text of len bytes can need (engine/tokenizer.c's tokenizer_max_ids: a
     * SentencePiece space escapes to 3 bytes, each can fall back to one id; BOS, EOS) */
    const int max_ids = (int)(3 * len + 5);
    int32_t *ids = malloc((size_t)max_ids * sizeof *ids);
    const int n = ids ? scarce_tokenize(model, text, scarce_token_add_flags(model) & SCARCE_ADD_BOS,
                                        ids, max_ids)
                      : SCARCE_ERR_MEMORY;
    free(text);
    if (n < 0) {
        snprintf(msg, 512, "%s: %s", path, ids ? scarce_model_error(model) : "out of memory");
        free(ids);
        return NULL;
    }
    int32_t *fit = realloc(ids, ((size_t)n + 1) * sizeof *ids); /* usually a third of it */
    *n_out = n;
    return fit ? fit : ids;
}
