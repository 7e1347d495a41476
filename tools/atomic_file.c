/* atomic_file.c - temp file, fsync, rename. */
#include "atomic_file.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* The message into msg (512 bytes); -1. */
static int fail(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char *msg, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, 512, fmt, ap);
    va_end(ap);
    return -1;
}

int atomic_open(atomic_file *af, const char *path, char *msg) {
    af->path = path;
    if ((size_t)snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%d", path, (int)getpid()) >=
        sizeof af->tmp)
        return af->fp = NULL, fail(msg, "%s: path too long", path);
    af->fp = fopen(af->tmp, "w");
    if (!af->fp) return fail(msg, "%s: cannot write: %s", af->tmp, strerror(errno));
    return 0;
}

int atomic_commit(atomic_file *af, char *msg) {
    /* fsync before rename: a crash leaves the old file or the new one, never a torn one */
    int bad = ferror(af->fp) || fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0;
    bad |= fclose(af->fp) != 0;
    af->fp = NULL;
    if (bad || rename(af->tmp, af->path) != 0) {
        const int e = errno;
        unlink(af->tmp);
        return fail(msg, "%s: write failed: %s", af->path, strerror(e));
    }
    return 0;
}

void atomic_abandon(atomic_file *af) {
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    unlink(af->tmp);
}
