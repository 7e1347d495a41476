/* imatrix_read.c - importance matrices as quantizers read them (see imatrix.h). */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"
#include "gguf.h"
#include "imatrix.h"

typedef struct {
    char *name;
    int64_t n;
    float *values; /* means */
} dat_entry;

struct imatrix_file {
    char *path;
    gguf_file *gguf; /* ours or llama-imatrix's GGUF; NULL for .dat */
    dat_entry *dat;
    int n_dat, chunks;
};

void imatrix_close(imatrix_file *f) {
    if (!f) return;
    gguf_close(f->gguf);
    for (int i = 0; i < f->n_dat; i++) free(f->dat[i].name), free(f->dat[i].values);
    free(f->dat), free(f->path);
    free(f);
}

int imatrix_chunks(const imatrix_file *f) {
    return f->chunks;
}

static int read_i32(FILE *fp, int32_t *v) {
    return fread(v, 4, 1, fp) == 1 ? 0 : -1;
}

/* The legacy .dat: entries of (name, ncall, values = mean * ncall). */
static int read_dat(imatrix_file *f, FILE *fp, scarce_error *err) {
    int32_t n = 0;
    if (read_i32(fp, &n) || n < 0 || n > 1 << 20)
        return scarce_fail(err, "%s: not an imatrix (GGUF or llama.cpp .dat)", f->path);
    if (!(f->dat = calloc((size_t)n + 1, sizeof *f->dat)))
        return scarce_fail(err, "%s: out of memory", f->path);
    for (int i = 0; i < n; i++) {
        int32_t len = 0, ncall = 0, nval = 0;
        dat_entry *e = &f->dat[f->n_dat];
        if (read_i32(fp, &len) || len <= 0 || len > 4096 || !(e->name = calloc((size_t)len + 1, 1)))
            return scarce_fail(err, "%s: entry %d: bad name length", f->path, i);
        f->n_dat++;
        if (fread(e->name, 1, (size_t)len, fp) != (size_t)len || read_i32(fp, &ncall) ||
            read_i32(fp, &nval) || nval <= 0 || nval > 1 << 26)
            return scarce_fail(err, "%s: entry %d (%s): truncated", f->path, i, e->name);
        e->n = nval;
        if (!(e->values = malloc((size_t)nval * sizeof *e->values)) ||
            fread(e->values, sizeof *e->values, (size_t)nval, fp) != (size_t)nval)
            return scarce_fail(err, "%s: entry %s: truncated values", f->path, e->name);
        for (int32_t j = 0; ncall > 0 && j < nval; j++) e->values[j] /= (float)ncall;
    }
    int32_t last_call = 0;
    if (!read_i32(fp, &last_call) && last_call > 0) f->chunks = last_call;
    return 0;
}

imatrix_file *imatrix_open(const char *path, scarce_error *err) {
    imatrix_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return scarce_fail(err, "%s: out of memory", path), NULL;
    }
    FILE *fp = fopen(path, "rb");
    char magic[4] = {0};
    if (!fp || fread(magic, 1, 4, fp) != 4) {
        if (fp) fclose(fp);
        scarce_fail(err, "%s: cannot read", path);
        imatrix_close(f);
        return NULL;
    }
    int rc;
    if (!memcmp(magic, "GGUF", 4)) {
        fclose(fp);
        rc = (f->gguf = gguf_open(path, err)) ? 0 : -1;
        int64_t chunks = 0; /* optional; an integer when present (issue 21) */
        if (!rc && gguf_find(f->gguf, "imatrix.chunk_count") &&
            gguf_get_i64(f->gguf, "imatrix.chunk_count", &chunks, err))
            rc = -1;
        else if (!rc && (chunks < 0 || chunks > INT_MAX))
            rc = scarce_fail(err, "%s: imatrix.chunk_count = %lld is out of range", path,
                             (long long)chunks);
        f->chunks = (int)chunks;
    } else {
        rewind(fp);
        rc = read_dat(f, fp, err);
        fclose(fp);
    }
    if (rc) {
        imatrix_close(f);
        return NULL;
    }
    return f;
}

static int64_t n_elements(const gguf_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->n_dims; d++) n *= t->ne[d];
    return n;
}

/* Fills out from the file's entry for weight; 1 found, 0 absent, -1 bad. */
static int lookup(const imatrix_file *f, const char *weight, int64_t cols, float *out,
                  scarce_error *err) {
    if (!f->gguf) {
        for (int i = 0; i < f->n_dat; i++) {
            if (strcmp(f->dat[i].name, weight)) continue;
            if (f->dat[i].n < cols || f->dat[i].n % cols)
                return scarce_fail(err, "%s: imatrix entry %s has %lld values, expected %lld",
                                   f->path, weight, (long long)f->dat[i].n, (long long)cols);
            memcpy(out, f->dat[i].values, (size_t)cols * sizeof *out);
            return 1;
        }
        return 0;
    }
    char name[512];
    const gguf_tensor *mean = gguf_find_tensor(f->gguf, weight), *sum = NULL, *count = NULL;
    if (!mean) {
        snprintf(name, sizeof name, "%s.in_sum2", weight);
        sum = gguf_find_tensor(f->gguf, name);
        snprintf(name, sizeof name, "%s.counts", weight);
        count = gguf_find_tensor(f->gguf, name);
        if (!sum || !count) return 0;
    }
    const gguf_tensor *t = mean ? mean : sum;
    if (t->type != QT_F32 || t->ne[0] != cols ||
        (count && (count->type != QT_F32 || n_elements(count) < 1)))
        return scarce_fail(
            err, "%s: imatrix entry %s: expected f32 values for %lld columns, found %lld %s",
            f->path, weight, (long long)cols, (long long)t->ne[0],
            qtype(t->type) ? qtype(t->type)->name : "?");
    const float *v = t->data;
    const float n = count ? ((const float *)count->data)[0] : 1.0f;
    for (int64_t j = 0; j < cols; j++) out[j] = n > 0 ? v[j] / n : 1.0f;
    return 1;
}

int imatrix_get(const imatrix_file *f, const char *weight, int64_t cols, float *out,
                scarce_error *err) {
    const int rc = lookup(f, weight, cols, out, err);
    for (int64_t j = 0; rc == 1 && j < cols; j++)
        if (!isfinite(out[j]) || out[j] < 0)
            return scarce_fail(err, "%s: imatrix entry %s: value %lld is %g (expected >= 0)",
                               f->path, weight, (long long)j, out[j]);
    return rc;
}
