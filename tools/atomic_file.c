/* atomic_file.c - temp file, fsync, rename. */
#include "atomic_file.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int atomic_open(atomic_file *af, const char *path, scarce_error *err) {
    af->path = path;
    if ((size_t)snprintf(af->tmp, sizeof af->tmp, "%s.tmp.%d", path, (int)getpid()) >=
        sizeof af->tmp)
        return af->fp = NULL, scarce_fail(err, "%s: path too long", path);
    af->fp = fopen(af->tmp, "w");
    if (!af->fp) return scarce_fail(err, "%s: cannot write: %s", af->tmp, strerror(errno));
    return 0;
}

int atomic_commit(atomic_file *af, scarce_error *err) {
    /* fsync before rename: a crash leaves the old file or the new one, never a torn one */
    int bad = ferror(af->fp) || fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0;
    bad |= fclose(af->fp) != 0;
    af->fp = NULL;
    if (bad || rename(af->tmp, af->path) != 0) {
        const int e = errno;
        unlink(af->tmp);
        return scarce_fail(err, "%s: write failed: %s", af->path, strerror(e));
    }
    return 0;
}

void atomic_abandon(atomic_file *af) {
    if (af->fp) fclose(af->fp);
    af->fp = NULL;
    unlink(af->tmp);
}
