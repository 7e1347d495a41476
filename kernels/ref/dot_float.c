/* dot_float.c - reference dot products of unquantized weights with f32 activations. */
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
