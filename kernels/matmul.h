/* matmul.h - weight matrix x activations, any weight type, threaded (OpenMP).
 *
 * A weight matrix is `rows` rows of `cols` elements in one type (GGUF: ne[0] = cols,
 * ne[1] = rows). Activations are f32; they are converted once per call to the type's
 * dot_type and reused for every row. Threads split rows. */
#ifndef SCARCE_MATMUL_H
#define SCARCE_MATMUL_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const void *data;
    uint32_t type;
    int64_t rows, cols;
    size_t row_bytes;
    /* NULL, or the same rows re-laid 8 at a time (kernels/repack.h) that matvec and batches
     * up to REPACK_MAX_BATCH read; owned by whoever called repack_matrix. data keeps the
     * file layout (qmatrix_row, larger batches). */
    const void *packed;
} qmatrix;

/* y[rows] = W x[cols] */
void matvec(const qmatrix *W, const float *x, float *y);
/* Y[b][rows] = W X[b][cols] for b < B: every weight row is read once for the batch. */
void matmul(const qmatrix *W, const float *X, int64_t B, float *Y);
/* Dequantizes row r of W into out[cols] (embedding lookup). */
void qmatrix_row(const qmatrix *W, int64_t r, float *out);

void kernels_set_threads(int n_threads);
int kernels_threads(void);

#endif
