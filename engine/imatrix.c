/* imatrix.c - collects E[x_j^2] per input column of each weight matrix (see imatrix.h). */
#include "imatrix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../quant/types.h"
#include "gguf.h"

typedef struct {
    char *name;
    int64_t cols;
    double *sum_x2; /* [cols] */
    int64_t rows;   /* activation rows accumulated */
} entry;

struct imatrix {
    entry *e;
    int n, cap;
    int oom;
};

imatrix *imatrix_new(void) {
    return calloc(1, sizeof(imatrix));
}

void imatrix_free(imatrix *im) {
    if (!im) return;
    for (int i = 0; i < im->n; i++) free(im->e[i].name), free(im->e[i].sum_x2);
    free(im->e);
    free(im);
}

int imatrix_count(const imatrix *im) {
    return im->n;
}

static entry *find_or_add(imatrix *im, const char *name, int64_t cols) {
    for (int i = 0; i < im->n; i++)
        if (!strcmp(im->e[i].name, name)) return im->e[i].cols == cols ? &im->e[i] : NULL;
    if (im->n == im->cap) {
        int cap = im->cap ? 2 * im->cap : 64;
        entry *grown = realloc(im->e, (size_t)cap * sizeof *grown);
        if (!grown) return NULL;
        im->e = grown, im->cap = cap;
    }
    entry *e = &im->e[im->n];
    e->name = strdup(name);
    e->sum_x2 = calloc((size_t)cols, sizeof *e->sum_x2);
    if (!e->name || !e->sum_x2) {
        free(e->name), free(e->sum_x2);
        return NULL;
    }
    e->cols = cols, e->rows = 0;
    im->n++;
    return e;
}

void imatrix_observe(void *ctx, const char *weight, const float *x, int B, int64_t cols) {
    imatrix *im = ctx;
    entry *e = find_or_add(im, weight, cols);
    if (!e) {
        im->oom = 1;
        return;
    }
    for (int b = 0; b < B; b++) {
        const float *row = x + (size_t)b * cols;
        for (int64_t j = 0; j < cols; j++) e->sum_x2[j] += (double)row[j] * row[j];
    }
    e->rows += B;
}

/* llama-imatrix's layout (tools/imatrix/imatrix.cpp save_imatrix, read back by
 * common/imatrix-loader.cpp, which llama-quantize requires to carry imatrix.datasets,
 * imatrix.chunk_count and imatrix.chunk_size): per weight "<weight>.in_sum2", f32
 * [cols, 1], the sum of x_j^2 over the rows seen, and "<weight>.counts", f32 [1, 1], the
 * rows seen; mean = in_sum2 / counts. Weights never seen are left out (as llama.cpp does). */
int imatrix_write(const imatrix *im, const char *path, int n_chunks, int chunk_size,
                  const char *dataset, scarce_error *err) {
    if (im->oom) return scarce_fail(err, "%s: out of memory while collecting activations", path);
    gguf_writer *w = gguf_writer_new();
    float *sum = NULL;
    int rc = -1;
    if (!w) return scarce_fail(err, "%s: out of memory", path);
    gguf_writer_set_str(w, "general.type", "imatrix");
    const char *datasets[1] = {dataset};
    gguf_writer_set_arr_str(w, "imatrix.datasets", datasets, dataset ? 1 : 0);
    gguf_writer_set_u32(w, "imatrix.chunk_count", (uint32_t)n_chunks);
    gguf_writer_set_u32(w, "imatrix.chunk_size", (uint32_t)chunk_size);
    char name[512];
    for (int i = 0; i < im->n; i++) {
        const entry *e = &im->e[i];
        int64_t ne[2] = {e->cols, 1}, one[2] = {1, 1};
        if (!e->rows) continue;
        if (snprintf(name, sizeof name, "%s.in_sum2", e->name) >= (int)sizeof name) {
            scarce_fail(err, "%s: weight name %s is too long", path, e->name);
            goto done;
        }
        if (gguf_writer_add_tensor(w, name, QT_F32, 2, ne, err)) goto done;
        snprintf(name, sizeof name, "%s.counts", e->name);
        if (gguf_writer_add_tensor(w, name, QT_F32, 2, one, err)) goto done;
    }
    if (gguf_writer_open(w, path, err)) goto done;
    for (int i = 0; i < im->n; i++) {
        const entry *e = &im->e[i];
        if (!e->rows) continue;
        float *grown = realloc(sum, (size_t)e->cols * sizeof *sum);
        if (!grown) {
            scarce_fail(err, "%s: out of memory", path);
            goto done;
        }
        sum = grown;
        for (int64_t j = 0; j < e->cols; j++) sum[j] = (float)e->sum_x2[j];
        const float count = (float)e->rows;
        if (gguf_writer_write(w, sum, (size_t)e->cols * sizeof *sum, err) ||
            gguf_writer_write(w, &count, sizeof count, err))
            goto done;
    }
    rc = gguf_writer_finish(w, err);
done:
    free(sum);
    gguf_writer_free(w);
    return rc;
}
