/* dot_q32.c - reference dot products of the block-32 weight types with Q8_0 activations,
 * and the Q8_0 activation quantizer.
 *
 * Integer types: per block, the integer sum of code products (exact), then one multiply by
 * both scales, accumulated in float over blocks in order — as ggml does, so SIMD versions can
 * reproduce it exactly. Affine types (x = d q + m) add m * d_a * sum(a codes) per block. */
#include <math.h>

#include "../../quant/blocks.h"
#include "../../quant/formats.h"
#include "../../quant/fp16.h"
#include "ref.h"

void quantize_row_q8_0_ref(const float *x, void *y, int64_t n) {
    block_q8_0 *b = y;
    for (int64_t i = 0; i < n / QK32; i++) {
        float amax = 0;
        for (int j = 0; j < QK32; j++) amax = fmaxf(amax, fabsf(x[i * QK32 + j]));
        float d = amax / 127, inv_d = d > 0 ? 1 / d : 0;
        b[i].d = f32_to_fp16(d);
        for (int j = 0; j < QK32; j++) b[i].qs[j] = (int8_t)lrintf(x[i * QK32 + j] * inv_d);
    }
}

static int sum_codes(const block_q8_0 *a) {
    int s = 0;
    for (int j = 0; j < QK32; j++) s += a->qs[j];
    return s;
}

void vec_dot_q8_0_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q8_0 *x = w, *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = 0;
        for (int j = 0; j < QK32; j++) sumi += x[i].qs[j] * a[i].qs[j];
        sum += (float)sumi * (fp16_to_f32(x[i].d) * fp16_to_f32(a[i].d));
    }
    *s = sum;
}

void vec_dot_q4_0_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q4_0 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = 0;
        for (int j = 0; j < QK32 / 2; j++) {
            sumi += ((x[i].qs[j] & 0xF) - 8) * a[i].qs[j];
            sumi += ((x[i].qs[j] >> 4) - 8) * a[i].qs[j + 16];
        }
        sum += (float)sumi * (fp16_to_f32(x[i].d) * fp16_to_f32(a[i].d));
    }
    *s = sum;
}

void vec_dot_q4_1_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q4_1 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = 0;
        for (int j = 0; j < QK32 / 2; j++)
            sumi += (x[i].qs[j] & 0xF) * a[i].qs[j] + (x[i].qs[j] >> 4) * a[i].qs[j + 16];
        float da = fp16_to_f32(a[i].d);
        sum += (float)sumi * (fp16_to_f32(x[i].d) * da) +
               (float)sum_codes(&a[i]) * (fp16_to_f32(x[i].m) * da);
    }
    *s = sum;
}

static uint32_t qh_bits(const uint8_t *qh) {
    return qh[0] | qh[1] << 8 | qh[2] << 16 | (uint32_t)qh[3] << 24;
}

/* sum of 5-bit codes times activation codes of one Q5_0 / Q5_1 block (offset: 16 or 0) */
static int dot_q5_codes(const uint8_t *qs, const uint8_t *qh4, int offset, const int8_t *aq) {
    uint32_t qh = qh_bits(qh4);
    int sumi = 0;
    for (int j = 0; j < QK32 / 2; j++) {
        int lo = (qs[j] & 0xF) | ((qh >> j) & 1) << 4;
        int hi = (qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4;
        sumi += (lo - offset) * aq[j] + (hi - offset) * aq[j + 16];
    }
    return sumi;
}

void vec_dot_q5_0_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q5_0 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = dot_q5_codes(x[i].qs, x[i].qh, 16, a[i].qs);
        sum += (float)sumi * (fp16_to_f32(x[i].d) * fp16_to_f32(a[i].d));
    }
    *s = sum;
}

void vec_dot_q5_1_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q5_1 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = dot_q5_codes(x[i].qs, x[i].qh, 0, a[i].qs);
        float da = fp16_to_f32(a[i].d);
        sum += (float)sumi * (fp16_to_f32(x[i].d) * da) +
               (float)sum_codes(&a[i]) * (fp16_to_f32(x[i].m) * da);
    }
    *s = sum;
}

/* sum of grid[index] * a_q over a block of 4-bit indices packed as Q4_0's nibbles */
static int dot_grid_codes(const int8_t *grid, const uint8_t *qs, const int8_t *aq) {
    int sumi = 0;
    for (int j = 0; j < QK32 / 2; j++)
        sumi += grid[qs[j] & 0xF] * aq[j] + grid[qs[j] >> 4] * aq[j + 16];
    return sumi;
}

void vec_dot_iq4_nl_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_iq4_nl *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = dot_grid_codes(kvalues_iq4nl, x[i].qs, a[i].qs);
        sum += (float)sumi * (fp16_to_f32(x[i].d) * fp16_to_f32(a[i].d));
    }
    *s = sum;
}

/* MXFP4: integer grid values (doubled E2M1) times codes, the halved power-of-two scale
 * applied per block as ggml does (vec_dot_mxfp4_q8_0). */
void vec_dot_mxfp4_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_mxfp4 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = dot_grid_codes(kvalues_mxfp4, x[i].qs, a[i].qs);
        sum += (float)sumi * (e8m0_half(x[i].e) * fp16_to_f32(a[i].d));
    }
    *s = sum;
}

/* Q2_0 (block 64 = two Q8_0 blocks): per Q8_0 half the integer sum of (q - 1) a_q times its
 * d_a, the two added in float, then times d, as ggml (vec_dot_q2_0_q8_0). */
void vec_dot_q2_0_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q2_0 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / 64; i++) {
        float part = 0;
        for (int h = 0; h < 2; h++) {
            const block_q8_0 *ah = &a[2 * i + h];
            int sumi = 0;
            for (int j = 0; j < QK32; j++) {
                int e = QK32 * h + j;
                sumi += (((x[i].qs[e / 4] >> 2 * (e % 4)) & 3) - 1) * ah->qs[j];
            }
            part += fp16_to_f32(ah->d) * (float)sumi;
        }
        sum += fp16_to_f32(x[i].d) * part;
    }
    *s = sum;
}

void vec_dot_q2_0_32_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q2_0_32 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        int sumi = 0;
        for (int j = 0; j < QK32; j++) sumi += ((x[i].qs[j % 8] >> 2 * (j / 8)) & 3) * a[i].qs[j];
        float da = fp16_to_f32(a[i].d);
        sum += (float)sumi * (fp16_to_f32(x[i].d) * da) +
               (float)sum_codes(&a[i]) * (fp16_to_f32(x[i].m) * da);
    }
    *s = sum;
}

/* FP8 values are not integers: per block, the float sum in element order of
 * fp8(code) * a_code (each product is exact in float), then times both scales. */
static float dot_fp8(int64_t n, const void *w, const void *act, float (*decode)(uint8_t)) {
    const block_fp8 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        float block = 0;
        for (int j = 0; j < QK32; j++) block += decode(x[i].qs[j]) * (float)a[i].qs[j];
        sum += block * (fp16_to_f32(x[i].d) * fp16_to_f32(a[i].d));
    }
    return sum;
}

void vec_dot_fp8_e4m3_ref(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_fp8(n, w, a, fp8_e4m3_to_f32);
}
void vec_dot_fp8_e5m2_ref(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_fp8(n, w, a, fp8_e5m2_to_f32);
}
