/* dot_float.c - reference dot products of weights with f32 activations: unquantized ones,
 * and Q4_1_F32 (Q4_1 codes with f32 scales). */
#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "ref.h"

void vec_dot_f32_ref(int64_t n, float *s, const void *w, const void *a) {
    const float *x = w, *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += x[i] * y[i];
    *s = sum;
}

void vec_dot_f16_ref(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = w;
    const float *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += fp16_to_f32(x[i]) * y[i];
    *s = sum;
}

void vec_dot_bf16_ref(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = w;
    const float *y = a;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++) sum += bf16_to_f32(x[i]) * y[i];
    *s = sum;
}

/* s[j * s_stride + i] = dot(row i, activation row j) by the row dot `dot`. */
static void tile_by_rows(vec_dot_fn dot, int64_t n, float *s, size_t s_stride, const void *w,
                         size_t w_stride, int nrows, const void *a, size_t a_stride, int nact) {
    for (int j = 0; j < nact; j++)
        for (int i = 0; i < nrows; i++)
            dot(n, &s[j * s_stride + i], (const char *)w + i * w_stride,
                (const char *)a + j * a_stride);
}

void vec_dot_tile_f32_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                          int nrows, const void *a, size_t a_stride, int nact) {
    tile_by_rows(vec_dot_f32_ref, n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}

void vec_dot_tile_f16_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                          int nrows, const void *a, size_t a_stride, int nact) {
    tile_by_rows(vec_dot_f16_ref, n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}

void vec_dot_tile_bf16_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                           int nrows, const void *a, size_t a_stride, int nact) {
    tile_by_rows(vec_dot_bf16_ref, n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}

/* Q4_1_F32 rows x f32 activations: each weight d * q + m, times its activation. */
void vec_dot_q4_1_f32_ref(int64_t n, float *s, const void *w, const void *a) {
    const block_q4_1_f32 *x = w;
    const float *y = a;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++, y += QK32) {
        const float d = x[i].d, m = x[i].m;
        for (int j = 0; j < QK32 / 2; j++)
            sum += (d * (x[i].qs[j] & 0xF) + m) * y[j] + (d * (x[i].qs[j] >> 4) + m) * y[j + 16];
    }
    *s = sum;
}
