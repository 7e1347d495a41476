/* float.c - the unquantized formats: f32, f16 (IEEE half), bf16 (upper half of f32). */
#include <string.h>

#include "formats.h"
#include "fp16.h"

void dequantize_f32(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }
void quantize_f32(const float *src, void *dst, int64_t n, const float *importance) {
    (void)importance;
    memcpy(dst, src, (size_t)n * 4);
}

void dequantize_f16(const void *src, float *dst, int64_t n) {
    const uint16_t *h = src;
    for (int64_t i = 0; i < n; i++) dst[i] = fp16_to_f32(h[i]);
}
void quantize_f16(const float *src, void *dst, int64_t n, const float *importance) {
    (void)importance;
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = f32_to_fp16(src[i]);
}

void dequantize_bf16(const void *src, float *dst, int64_t n) {
    const uint16_t *h = src;
    for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_f32(h[i]);
}
void quantize_bf16(const float *src, void *dst, int64_t n, const float *importance) {
    (void)importance;
    uint16_t *h = dst;
    for (int64_t i = 0; i < n; i++) h[i] = f32_to_bf16(src[i]);
}
