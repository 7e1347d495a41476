/* neon_q32.c - NEON dot products of the block-32 types (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL,
 * MXFP4, Q2_0_32) and of Q2_0 with Q8_0 activations. As the references (kernels/ref/
 * dot_q32.c): per block the exact integer sum of code products, times the scales; only the
 * float accumulation differs (Q8_0 and Q4_0 sum in float lanes; the others add the blocks in
 * order, as the reference does). Compiled twice, plain and with sdot (neon_util.h). */
#include <stddef.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "neon.h"
#include "neon_util.h"

/* Low nibbles (elements 0..15) and high nibbles (16..31) of a Q4-style block. */
static inline void nibbles(const uint8_t *qs, uint8x16_t *lo, uint8x16_t *hi) {
    uint8x16_t q = vld1q_u8(qs);
    *lo = vandq_u8(q, vdupq_n_u8(15)), *hi = vshrq_n_u8(q, 4);
}

/* Sum of the 32 activation codes of a Q8_0 block (the affine types' m term). */
static inline int sum_codes(const block_q8_0 *a) {
    int16x8_t s = vaddq_s16(vpaddlq_s8(vld1q_s8(a->qs)), vpaddlq_s8(vld1q_s8(a->qs + 16)));
    return vaddvq_s16(s);
}

/* One block of an affine type (x = d q + m), as the reference: d sumi da + m sum(a) da. */
static inline float affine_block(int sumi, uint16_t d, uint16_t m, const block_q8_0 *a) {
    float da = fp16_to_f32(a->d);
    return (float)sumi * (fp16_to_f32(d) * da) + (float)sum_codes(a) * (fp16_to_f32(m) * da);
}

static uint32_t qh_bits(const uint8_t *qh) {
    return qh[0] | qh[1] << 8 | qh[2] << 16 | (uint32_t)qh[3] << 24;
}

/* The 5-bit codes of a Q5 block: nibble | fifth bit << 4, minus offset. */
static inline void q5_codes(const uint8_t *qs, const uint8_t *qh4, int offset, int8x16_t *lo,
                            int8x16_t *hi) {
    uint8x16_t l, h;
    nibbles(qs, &l, &h);
    const uint32_t qh = qh_bits(qh4);
    l = vorrq_u8(l, neon_bits_to_bytes(qh & 0xffff, 16));
    h = vorrq_u8(h, neon_bits_to_bytes(qh >> 16, 16));
    *lo = vsubq_s8(vreinterpretq_s8_u8(l), vdupq_n_s8((int8_t)offset));
    *hi = vsubq_s8(vreinterpretq_s8_u8(h), vdupq_n_s8((int8_t)offset));
}

static void vec_dot_q4_1_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_q4_1 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        uint8x16_t lo, hi;
        nibbles(x[i].qs, &lo, &hi);
        int sumi =
            vaddvq_s32(neon_dot32(vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(hi), a[i].qs));
        sum += affine_block(sumi, x[i].d, x[i].m, &a[i]);
    }
    *s = sum;
}

static void vec_dot_q5_1_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_q5_1 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        int8x16_t lo, hi;
        q5_codes(x[i].qs, x[i].qh, 0, &lo, &hi);
        int sumi = vaddvq_s32(neon_dot32(lo, hi, a[i].qs));
        sum += affine_block(sumi, x[i].d, x[i].m, &a[i]);
    }
    *s = sum;
}

/* MXFP4: as IQ4_NL with the doubled E2M1 grid and the halved power-of-two scale. */
static void vec_dot_mxfp4_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_mxfp4 *x = w;
    const block_q8_0 *a = act;
    const int8x16_t grid = vld1q_s8(kvalues_mxfp4);
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        uint8x16_t lo, hi;
        nibbles(x[i].qs, &lo, &hi);
        int sumi = vaddvq_s32(neon_dot32(vqtbl1q_s8(grid, lo), vqtbl1q_s8(grid, hi), a[i].qs));
        sum += (float)sumi * (e8m0_half(x[i].e) * fp16_to_f32(a[i].d));
    }
    *s = sum;
}

/* The 2-bit codes of bytes qs[0..15] at shifts 0, 2, 4, 6: element 4 b + k of the group. */
static inline uint8x16_t crumbs(uint8x16_t q, int k) {
    return vandq_u8(vshlq_u8(q, vdupq_n_s8((int8_t)(-2 * k))), vdupq_n_u8(3));
}

/* Q2_0 (block 64): element e is crumb e % 4 of byte e / 4; the codes are deinterleaved into
 * element order with two unzips, then each Q8_0 half as the reference does. */
static void vec_dot_q2_0_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_q2_0 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / 64; i++) {
        const uint8x16_t q = vld1q_u8(x[i].qs);
        /* c_k[b] = element 4 b + k; zip to element order: e = 4 b + k */
        const uint8x16_t c0 = crumbs(q, 0), c1 = crumbs(q, 1), c2 = crumbs(q, 2), c3 = crumbs(q, 3);
        const uint8x16x2_t z02 = vzipq_u8(c0, c2), z13 = vzipq_u8(c1, c3);
        const uint8x16x2_t e0 = vzipq_u8(z02.val[0], z13.val[0]),
                           e1 = vzipq_u8(z02.val[1], z13.val[1]);
        const uint8x16_t el[4] = {e0.val[0], e0.val[1], e1.val[0], e1.val[1]};
        float part = 0;
        for (int h = 0; h < 2; h++) {
            const int8x16_t v0 = vsubq_s8(vreinterpretq_s8_u8(el[2 * h]), vdupq_n_s8(1));
            const int8x16_t v1 = vsubq_s8(vreinterpretq_s8_u8(el[2 * h + 1]), vdupq_n_s8(1));
            const block_q8_0 *ah = &a[2 * i + h];
            part += fp16_to_f32(ah->d) * (float)vaddvq_s32(neon_dot32(v0, v1, ah->qs));
        }
        sum += fp16_to_f32(x[i].d) * part;
    }
    *s = sum;
}

/* Q2_0_32: element j is crumb j / 8 of byte j % 8 (8 bytes, duplicated to 16 lanes). */
static void vec_dot_q2_0_32_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_q2_0_32 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        const uint8x8_t b = vld1_u8(x[i].qs);
        const uint8x16_t q = vcombine_u8(b, b);
        /* lanes 0..7 crumb 0, 8..15 crumb 1: elements 0..15; then crumbs 2 and 3 */
        const int8x16_t sh01 = vcombine_s8(vdup_n_s8(0), vdup_n_s8(-2));
        const int8x16_t sh23 = vcombine_s8(vdup_n_s8(-4), vdup_n_s8(-6));
        const uint8x16_t lo = vandq_u8(vshlq_u8(q, sh01), vdupq_n_u8(3));
        const uint8x16_t hi = vandq_u8(vshlq_u8(q, sh23), vdupq_n_u8(3));
        int sumi =
            vaddvq_s32(neon_dot32(vreinterpretq_s8_u8(lo), vreinterpretq_s8_u8(hi), a[i].qs));
        sum += affine_block(sumi, x[i].d, x[i].m, &a[i]);
    }
    *s = sum;
}

/* ---- Q8_0, Q4_0, Q5_0, IQ4_NL: codes c (signed int8 after the offset or grid lookup) times
 * one d per block. NR rows x NA activations at a time (vec_dot_tile): each activation block
 * is loaded once for NR rows, each weight block's codes made once for NA tokens. Per block
 * and pair, the exact integer sum in 4 int32 lanes, converted and added with one FMA by
 * d_w d_a into float lanes, summed at the end: each pair's operations are the same whatever
 * NR and NA, and the row kernels are the 1 x 1 tile, so a tile's sums are bit-identical to
 * the row kernel's (and a verified token's logits to decoding it alone, kernels/gemm.c). */
enum { TILE_Q8_0, TILE_Q4_0, TILE_Q5_0, TILE_IQ4_NL };
enum { MAX_NR = 4, MAX_NA = 2 };

static inline size_t tile_block_bytes(const int KIND) {
    return KIND == TILE_Q8_0   ? sizeof(block_q8_0)
           : KIND == TILE_Q5_0 ? sizeof(block_q5_0)
                               : sizeof(block_q4_0); /* Q4_0, IQ4_NL */
}

/* The 32 signed codes of a weight block (elements 0..15, 16..31); every block starts with d. */
static inline __attribute__((always_inline)) void tile_codes(const uint8_t *blk, const int KIND,
                                                             int8x16_t c[2]) {
    if (KIND == TILE_Q8_0) {
        c[0] = vld1q_s8((const int8_t *)blk + offsetof(block_q8_0, qs));
        c[1] = vld1q_s8((const int8_t *)blk + offsetof(block_q8_0, qs) + 16);
    } else if (KIND == TILE_Q5_0) {
        q5_codes(blk + offsetof(block_q5_0, qs), blk + offsetof(block_q5_0, qh), 16, &c[0], &c[1]);
    } else {
        uint8x16_t lo, hi;
        nibbles(blk + offsetof(block_q4_0, qs), &lo, &hi);
        if (KIND == TILE_Q4_0) {
            c[0] = vsubq_s8(vreinterpretq_s8_u8(lo), vdupq_n_s8(8));
            c[1] = vsubq_s8(vreinterpretq_s8_u8(hi), vdupq_n_s8(8));
        } else {
            const int8x16_t grid = vld1q_s8(kvalues_iq4nl);
            c[0] = vqtbl1q_s8(grid, lo), c[1] = vqtbl1q_s8(grid, hi);
        }
    }
}

/* One NR x NA tile over nb blocks; s[j * s_stride + r]. NR, NA are constants at each call
 * site (always_inline), so the arrays live in registers. */
static inline __attribute__((always_inline)) void
tile_x(int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride, const char *a,
       size_t a_stride, const int NR, const int NA, const int KIND) {
    const size_t bb = tile_block_bytes(KIND);
    float32x4_t acc[MAX_NR][MAX_NA];
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) acc[r][j] = vdupq_n_f32(0);
    for (int64_t i = 0; i < nb; i++) {
        int8x16_t y[MAX_NA][2];
        float dy[MAX_NA];
        for (int j = 0; j < NA; j++) {
            const block_q8_0 *b = (const block_q8_0 *)(a + j * a_stride) + i;
            y[j][0] = vld1q_s8(b->qs), y[j][1] = vld1q_s8(b->qs + 16);
            dy[j] = fp16_to_f32(b->d);
        }
        for (int r = 0; r < NR; r++) {
            const uint8_t *blk = (const uint8_t *)(w + r * w_stride) + i * bb;
            uint16_t d;
            memcpy(&d, blk, 2);
            const float dx = fp16_to_f32(d);
            int8x16_t c[2];
            tile_codes(blk, KIND, c);
            for (int j = 0; j < NA; j++) {
                const int32x4_t p =
                    neon_dot_s8(neon_dot_s8(vdupq_n_s32(0), c[0], y[j][0]), c[1], y[j][1]);
                acc[r][j] = vfmaq_n_f32(acc[r][j], vcvtq_f32_s32(p), dx * dy[j]);
            }
        }
    }
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) s[j * s_stride + r] = vaddvq_f32(acc[r][j]);
}

/* Activations in pairs (then a single); for each, rows in groups of MAX_NR (then singles). */
static inline __attribute__((always_inline)) void
tile_all(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride, int nrows,
         const void *act, size_t a_stride, int nact, const int KIND) {
    const int64_t nb = n / QK32;
    for (int j = 0; j < nact;) {
        const char *a = (const char *)act + j * a_stride;
        float *sj = s + j * s_stride;
        const char *wr = w;
        int r = 0;
        if (j + MAX_NA <= nact) {
            for (; r + MAX_NR <= nrows; r += MAX_NR)
                tile_x(nb, sj + r, s_stride, wr + r * w_stride, w_stride, a, a_stride, MAX_NR,
                       MAX_NA, KIND);
            for (; r < nrows; r++)
                tile_x(nb, sj + r, s_stride, wr + r * w_stride, w_stride, a, a_stride, 1, MAX_NA,
                       KIND);
            j += MAX_NA;
        } else {
            for (; r + MAX_NR <= nrows; r += MAX_NR)
                tile_x(nb, sj + r, s_stride, wr + r * w_stride, w_stride, a, a_stride, MAX_NR, 1,
                       KIND);
            for (; r < nrows; r++)
                tile_x(nb, sj + r, s_stride, wr + r * w_stride, w_stride, a, a_stride, 1, 1, KIND);
            j++;
        }
    }
}

#define TILE_KERNELS(name, KIND)                                                                   \
    static void vec_dot_tile_##name##_neon(int64_t n, float *s, size_t s_stride, const void *w,    \
                                           size_t w_stride, int nrows, const void *a,              \
                                           size_t a_stride, int nact) {                            \
        tile_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND);                     \
    }                                                                                              \
    static void vec_dot_##name##_neon(int64_t n, float *s, const void *w, const void *a) {         \
        tile_all(n, s, 0, w, 0, 1, a, 0, 1, KIND);                                                 \
    }
TILE_KERNELS(q8_0, TILE_Q8_0)
TILE_KERNELS(q4_0, TILE_Q4_0)
TILE_KERNELS(q5_0, TILE_Q5_0)
TILE_KERNELS(iq4_nl, TILE_IQ4_NL)

void NEON_FN(q32_install)(isa_kernels *k) {
    kernels_set(
        k, QT_Q8_0,
        (type_kernels){.vec_dot = vec_dot_q8_0_neon, .vec_dot_tile = vec_dot_tile_q8_0_neon});
    kernels_set(
        k, QT_Q4_0,
        (type_kernels){.vec_dot = vec_dot_q4_0_neon, .vec_dot_tile = vec_dot_tile_q4_0_neon});
    kernels_set(k, QT_Q4_1, (type_kernels){.vec_dot = vec_dot_q4_1_neon});
    kernels_set(
        k, QT_Q5_0,
        (type_kernels){.vec_dot = vec_dot_q5_0_neon, .vec_dot_tile = vec_dot_tile_q5_0_neon});
    kernels_set(k, QT_Q5_1, (type_kernels){.vec_dot = vec_dot_q5_1_neon});
    kernels_set(
        k, QT_IQ4_NL,
        (type_kernels){.vec_dot = vec_dot_iq4_nl_neon, .vec_dot_tile = vec_dot_tile_iq4_nl_neon});
    kernels_set(k, QT_MXFP4, (type_kernels){.vec_dot = vec_dot_mxfp4_neon});
    kernels_set(k, QT_Q2_0, (type_kernels){.vec_dot = vec_dot_q2_0_neon});
    kernels_set(k, QT_Q2_0_32, (type_kernels){.vec_dot = vec_dot_q2_0_32_neon});
}
