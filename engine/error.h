/* error.h - the one error type library code fills; only tools/scarce.c prints and exits. */
#ifndef SCARCE_ERROR_H
#define SCARCE_ERROR_H

#include <stdarg.h>

typedef struct {
    char msg[512]; /* one line naming the file / tensor / key and what was expected */
} scarce_error;

/* Formats msg into err (if not NULL) and returns -1, so callers can write
 * `return scarce_fail(err, "tensor %s: ...", name);`. */
int scarce_fail(scarce_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
