/* cli.c - argument helpers shared by the subcommands. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int cli_error(const char *cmd, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, *cmd ? "scarce %s: " : "scarce: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int cli_int(const char *cmd, const char *flag, const char *text, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end) {
        cli_error(cmd, EXIT_USAGE, "%s expects an integer, got '%s'", flag, text);
        return -1;
    }
    if (v < lo || v > hi) {
        cli_error(cmd, EXIT_USAGE, "%s must be in [%ld, %ld], got %ld", flag, lo, hi, v);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_float(const char *cmd, const char *flag, const char *text, double lo, double hi,
              double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || isnan(v)) {
        cli_error(cmd, EXIT_USAGE, "%s expects a number, got '%s'", flag, text);
        return -1;
    }
    if (v < lo || v > hi) {
        cli_error(cmd, EXIT_USAGE, "%s must be in [%g, %g], got %g", flag, lo, hi, v);
        return -1;
    }
    *out = v;
    return 0;
}

const char *cli_value(const char *cmd, int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        cli_error(cmd, EXIT_USAGE, "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}
