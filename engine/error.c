#include "error.h"

#include <stdio.h>

int scarce_fail(scarce_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        /* one line: names read from a hostile file (keys, tensor names) may hold control
         * bytes such as '\n' or ESC; they become '?' */
        for (char *c = err->msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    }
    return -1;
}
