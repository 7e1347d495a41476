/* textfile.c - whole files into memory. */
#include "textfile.h"

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

char *read_whole_file(const char *path, size_t *len, scarce_error *err) {
    char msg[512];
    char *text = read_file_text(path, len, msg);
    if (!text) scarce_fail(err, "%s", msg);
    return text;
}

int *tokenize_file(const char *path, const tokenizer *tok, int *n_out, scarce_error *err) {
    size_t len;
    char *text = read_whole_file(path, &len, err);
    if (!text) return NULL;
    /* a token covers at least one byte, plus BOS: len + 2 ids always suffice */
    if (len > (size_t)INT_MAX - 2) {
        free(text);
        return scarce_fail(err, "%s: %zu bytes, more than one text can hold", path, len), NULL;
    }
    int *ids = malloc((len + 2) * sizeof *ids);
    int n = ids ? tokenizer_encode(tok, text, tokenizer_add_bos(tok), ids, (int)len + 2, err)
                : scarce_fail(err, "out of memory for %zu token ids", len + 2);
    free(text);
    if (n < 0) {
        free(ids);
        if (err) { /* the tokenizer's message does not name the file */
            scarce_error why = *err;
            scarce_fail(err, "%s: %s", path, why.msg);
        }
        return NULL;
    }
    *n_out = n;
    return ids;
}
