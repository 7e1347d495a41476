/* neon_kquant.c - NEON dot products of the K-quants (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) with Q8_K
 * activations. As the references (kernels/ref/dot_qk.c): per sub-block the exact integer sum
 * of code products (16 or 32 lanes), times the integer sub-block scale, summed as an integer
 * over the super-block, then the same float expression per super-block, added in order. The
 * element -> bit positions are those of quant/blocks.h. */
#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "neon.h"
#include "neon_util.h"

/* Lanes of v (bytes) where bit `mask` is set become `value`, others 0. */
static inline uint8x16_t bit_bytes(uint8x16_t v, uint8_t mask, uint8_t value) {
    return vandq_u8(vtstq_u8(v, vdupq_n_u8(mask)), vdupq_n_u8(value));
}

static void vec_dot_q2_k_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_q2_K *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sumi = 0, summ = 0;
        for (int h = 0; h < 2; h++)
            for (int half = 0; half < 2; half++) { /* l in [16 half, 16 half + 16) */
                const uint8x16_t q = vld1q_u8(x[i].qs + 32 * h + 16 * half);
                for (int j = 0; j < 4; j++) {
                    const int e = 128 * h + 32 * j + 16 * half, k = e / 16;
                    uint8x16_t c =
                        vandq_u8(vshlq_u8(q, vdupq_n_s8((int8_t)(-2 * j))), vdupq_n_u8(3));
                    sumi +=
                        (x[i].scales[k] & 0xF) * neon_dot16(vreinterpretq_s8_u8(c), a[i].qs + e);
                }
            }
        for (int k = 0; k < 16; k++) summ += (x[i].scales[k] >> 4) * a[i].bsums[k];
        sum += a[i].d * (fp16_to_f32(x[i].d) * (float)sumi - fp16_to_f32(x[i].dmin) * (float)summ);
    }
    *s = sum;
}

static void vec_dot_q3_k_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_q3_K *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sumi = 0;
        for (int half = 0; half < 2; half++) {
            const uint8x16_t hm = vld1q_u8(x[i].hmask + 16 * half);
            for (int h = 0; h < 2; h++) {
                const uint8x16_t q = vld1q_u8(x[i].qs + 32 * h + 16 * half);
                for (int j = 0; j < 4; j++) {
                    const int e = 128 * h + 32 * j + 16 * half, k = e / 16;
                    uint8x16_t c =
                        vandq_u8(vshlq_u8(q, vdupq_n_s8((int8_t)(-2 * j))), vdupq_n_u8(3));
                    c = vorrq_u8(c, bit_bytes(hm, (uint8_t)(1 << (4 * h + j)), 4));
                    int8x16_t v = vsubq_s8(vreinterpretq_s8_u8(c), vdupq_n_s8(4));
                    sumi += (k3_scale(k, x[i].scales) - 32) * neon_dot16(v, a[i].qs + e);
                }
            }
        }
        sum += a[i].d * fp16_to_f32(x[i].d) * (float)sumi;
    }
    *s = sum;
}

/* Q4_K and Q5_K: sub-block 2p is the low nibbles of qs[32p .. 32p + 31], 2p + 1 the high
 * ones; Q5_K's fifth bits are bits 2p and 2p + 1 of qh[l] (qh NULL for Q4_K). */
static float dot_q45_k(const uint16_t *dd, const uint8_t *scales, const uint8_t *qs,
                       const uint8_t *qh, const block_q8_K *a) {
    int sumi = 0, summ = 0;
    for (int p = 0; p < 4; p++) {
        uint8x16_t q0 = vld1q_u8(qs + 32 * p), q1 = vld1q_u8(qs + 32 * p + 16);
        uint8x16_t lo0 = vandq_u8(q0, vdupq_n_u8(15)), lo1 = vandq_u8(q1, vdupq_n_u8(15));
        uint8x16_t hi0 = vshrq_n_u8(q0, 4), hi1 = vshrq_n_u8(q1, 4);
        if (qh) {
            uint8x16_t h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
            lo0 = vorrq_u8(lo0, bit_bytes(h0, (uint8_t)(1 << 2 * p), 16));
            lo1 = vorrq_u8(lo1, bit_bytes(h1, (uint8_t)(1 << 2 * p), 16));
            hi0 = vorrq_u8(hi0, bit_bytes(h0, (uint8_t)(2 << 2 * p), 16));
            hi1 = vorrq_u8(hi1, bit_bytes(h1, (uint8_t)(2 << 2 * p), 16));
        }
        uint8_t sc_lo, m_lo, sc_hi, m_hi;
        k4_scale_min(2 * p, scales, &sc_lo, &m_lo);
        k4_scale_min(2 * p + 1, scales, &sc_hi, &m_hi);
        const int8_t *y = a->qs + 64 * p;
        sumi +=
            sc_lo * vaddvq_s32(neon_dot32(vreinterpretq_s8_u8(lo0), vreinterpretq_s8_u8(lo1), y));
        sumi += sc_hi *
                vaddvq_s32(neon_dot32(vreinterpretq_s8_u8(hi0), vreinterpretq_s8_u8(hi1), y + 32));
        summ += m_lo * (a->bsums[4 * p] + a->bsums[4 * p + 1]);
        summ += m_hi * (a->bsums[4 * p + 2] + a->bsums[4 * p + 3]);
    }
    return a->d * (fp16_to_f32(dd[0]) * (float)sumi - fp16_to_f32(dd[1]) * (float)summ);
}

static void vec_dot_q4_k_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_q4_K *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint16_t dd[2] = {x[i].d, x[i].dmin};
        sum += dot_q45_k(dd, x[i].scales, x[i].qs, NULL, &a[i]);
    }
    *s = sum;
}

static void vec_dot_q5_k_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_q5_K *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint16_t dd[2] = {x[i].d, x[i].dmin};
        sum += dot_q45_k(dd, x[i].scales, x[i].qs, x[i].qh, &a[i]);
    }
    *s = sum;
}

static void vec_dot_q6_k_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_q6_K *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sumi = 0;
        for (int h = 0; h < 2; h++)
            for (int half = 0; half < 2; half++) { /* l in [16 half, 16 half + 16) */
                const int l0 = 16 * half;
                const uint8x16_t qh = vld1q_u8(x[i].qh + 32 * h + l0);
                const uint8x16_t ql0 = vld1q_u8(x[i].ql + 64 * h + l0);
                const uint8x16_t ql1 = vld1q_u8(x[i].ql + 64 * h + 32 + l0);
                const uint8x16_t low[4] = {vandq_u8(ql0, vdupq_n_u8(15)),
                                           vandq_u8(ql1, vdupq_n_u8(15)), vshrq_n_u8(ql0, 4),
                                           vshrq_n_u8(ql1, 4)};
                for (int part = 0; part < 4; part++) {
                    const int e = 128 * h + 32 * part + l0;
                    uint8x16_t hb =
                        vandq_u8(vshlq_u8(qh, vdupq_n_s8((int8_t)(-2 * part))), vdupq_n_u8(3));
                    uint8x16_t c = vorrq_u8(low[part], vshlq_n_u8(hb, 4));
                    int8x16_t v = vsubq_s8(vreinterpretq_s8_u8(c), vdupq_n_s8(32));
                    sumi += x[i].scales[e / 16] * neon_dot16(v, a[i].qs + e);
                }
            }
        sum += a[i].d * fp16_to_f32(x[i].d) * (float)sumi;
    }
    *s = sum;
}

void NEON_FN(kquant_install)(isa_kernels *k) {
    kernels_set(k, QT_Q2_K, (type_kernels){.vec_dot = vec_dot_q2_k_neon});
    kernels_set(k, QT_Q3_K, (type_kernels){.vec_dot = vec_dot_q3_k_neon});
    kernels_set(k, QT_Q4_K, (type_kernels){.vec_dot = vec_dot_q4_k_neon});
    kernels_set(k, QT_Q5_K, (type_kernels){.vec_dot = vec_dot_q5_k_neon});
    kernels_set(k, QT_Q6_K, (type_kernels){.vec_dot = vec_dot_q6_k_neon});
}
