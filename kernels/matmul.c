/* matmul.c - weight matrix x activations for any weight type, rows split over threads. */
#include "matmul.h"

#include <omp.h>
#include <stdlib.h>

#include "../quant/types.h"

static int n_threads_set = 1;

void kernels_set_threads(int n_threads) {
    n_threads_set = n_threads > 0 ? n_threads : 1;
    omp_set_num_threads(n_threads_set);
}

int kernels_threads(void) { return n_threads_set; }

/* Converts B activation rows to the weight type's dot_type; returns X itself for f32. */
static const void *convert_activations(const quant_type *t, const float *X, int64_t B,
                                       int64_t cols, size_t *act_row, void **owned) {
    *owned = NULL;
    if (t->dot_type == QT_F32) {
        *act_row = (size_t)cols * sizeof(float);
        return X;
    }
    const quant_type *dt = qtype(t->dot_type);
    *act_row = qtype_row_bytes(t->dot_type, cols);
    char *buf = malloc(*act_row * (size_t)B);
    if (!buf) abort(); /* a few KB per token: out of memory here is not recoverable */
    for (int64_t b = 0; b < B; b++) {
        if (dt->from_float)
            dt->from_float(X + b * cols, buf + b * *act_row, cols);
        else
            dt->quantize(X + b * cols, buf + b * *act_row, cols, NULL);
    }
    *owned = buf;
    return buf;
}

void matmul(const qmatrix *W, const float *X, int64_t B, float *Y) {
    const quant_type *t = qtype(W->type);
    size_t act_row;
    void *owned;
    const char *act = convert_activations(t, X, B, W->cols, &act_row, &owned);
    const char *w = W->data;
    const int64_t rows = W->rows, cols = W->cols;
    const size_t row_bytes = W->row_bytes;
    vec_dot_fn dot = t->vec_dot;
#pragma omp parallel for schedule(static) if (rows * cols * B > 32768)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t b = 0; b < B; b++)
            dot(cols, &Y[b * rows + r], w + r * row_bytes, act + b * act_row);
    free(owned);
}

void matvec(const qmatrix *W, const float *x, float *y) { matmul(W, x, 1, y); }

void qmatrix_row(const qmatrix *W, int64_t r, float *out) {
    qtype(W->type)->dequantize((const char *)W->data + r * W->row_bytes, out, W->cols);
}
