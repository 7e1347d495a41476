/* neon_kquant_tile.c - multi-token tiles (vec_dot_tile) of the K-quants (Q2_K .. Q6_K) with
 * Q8_K activations: each super-block of a row is unpacked once into its 256 signed codes and
 * 16 integer scales (and mins) per 16 elements, then dotted with up to KQ_NA tokens.
 *
 * The integer sums per super-block are exact, so they equal the row kernels' (neon_kquant.c)
 * whatever the order of their terms; the float expression per super-block and the order of
 * the super-blocks are the row kernels' too: each (row, token) of a tile is bit-identical to
 * the row kernel, as the x86 tiles are (a verified token's logits equal decoding it alone,
 * kernels/gemm.c). Compiled twice, plain and with sdot (neon_util.h). */
#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "neon.h"
#include "neon_util.h"

enum { KQ_NA = 4 };

/* One super-block unpacked: code c[k] lane l is element 16 k + l; sc[k] / mn[k] the integer
 * scale and min of elements 16 k .. 16 k + 15 (a scale per 32 appears twice; mn 0 for the
 * formats without mins). */
typedef struct {
    int8x16_t c[16];
    int16_t sc[16], mn[16];
    float d, dmin;
} kq_block;

typedef void (*kq_unpack_fn)(const void *block, kq_block *u);

static inline uint8x16_t bit_bytes(uint8x16_t v, uint8_t mask, uint8_t value) {
    return vandq_u8(vtstq_u8(v, vdupq_n_u8(mask)), vdupq_n_u8(value));
}

static inline uint8x16_t crumb(uint8x16_t q, int j) { /* (q >> 2 j) & 3 */
    return vandq_u8(vshlq_u8(q, vdupq_n_s8((int8_t)(-2 * j))), vdupq_n_u8(3));
}

/* Q2_K: element 128 h + 32 j + l = crumb j of qs[32 h + l]; scales[k]: scale | min << 4. */
static void unpack_q2_k(const void *block, kq_block *u) {
    const block_q2_K *x = block;
    for (int h = 0; h < 2; h++)
        for (int half = 0; half < 2; half++) {
            const uint8x16_t q = vld1q_u8(x->qs + 32 * h + 16 * half);
            for (int j = 0; j < 4; j++)
                u->c[8 * h + 2 * j + half] = vreinterpretq_s8_u8(crumb(q, j));
        }
    for (int k = 0; k < 16; k++) u->sc[k] = x->scales[k] & 0xF, u->mn[k] = x->scales[k] >> 4;
    u->d = fp16_to_f32(x->d), u->dmin = fp16_to_f32(x->dmin);
}

/* Q3_K: Q2_K's crumbs | bit 4 h + j of hmask[l % 32] as 4, minus 4; 6-bit scales - 32. */
static void unpack_q3_k(const void *block, kq_block *u) {
    const block_q3_K *x = block;
    for (int half = 0; half < 2; half++) {
        const uint8x16_t hm = vld1q_u8(x->hmask + 16 * half);
        for (int h = 0; h < 2; h++) {
            const uint8x16_t q = vld1q_u8(x->qs + 32 * h + 16 * half);
            for (int j = 0; j < 4; j++) {
                uint8x16_t c = vorrq_u8(crumb(q, j), bit_bytes(hm, (uint8_t)(1 << (4 * h + j)), 4));
                u->c[8 * h + 2 * j + half] = vsubq_s8(vreinterpretq_s8_u8(c), vdupq_n_s8(4));
            }
        }
    }
    for (int k = 0; k < 16; k++) u->sc[k] = (int16_t)(k3_scale(k, x->scales) - 32), u->mn[k] = 0;
    u->d = fp16_to_f32(x->d), u->dmin = 0;
}

/* Q4_K / Q5_K: sub-block 2 p (elements 64 p ..) is the low nibbles of qs[32 p ..], 2 p + 1 the
 * high ones; Q5_K's fifth bits are bits 2 p, 2 p + 1 of qh[l] (qh NULL for Q4_K). */
static inline void unpack_q45_k(const uint16_t *dd, const uint8_t *scales, const uint8_t *qs,
                                const uint8_t *qh, kq_block *u) {
    for (int p = 0; p < 4; p++) {
        const uint8x16_t q0 = vld1q_u8(qs + 32 * p), q1 = vld1q_u8(qs + 32 * p + 16);
        uint8x16_t c[4] = {vandq_u8(q0, vdupq_n_u8(15)), vandq_u8(q1, vdupq_n_u8(15)),
                           vshrq_n_u8(q0, 4), vshrq_n_u8(q1, 4)};
        if (qh) {
            const uint8x16_t h0 = vld1q_u8(qh), h1 = vld1q_u8(qh + 16);
            c[0] = vorrq_u8(c[0], bit_bytes(h0, (uint8_t)(1 << 2 * p), 16));
            c[1] = vorrq_u8(c[1], bit_bytes(h1, (uint8_t)(1 << 2 * p), 16));
            c[2] = vorrq_u8(c[2], bit_bytes(h0, (uint8_t)(2 << 2 * p), 16));
            c[3] = vorrq_u8(c[3], bit_bytes(h1, (uint8_t)(2 << 2 * p), 16));
        }
        for (int k = 0; k < 4; k++) u->c[4 * p + k] = vreinterpretq_s8_u8(c[k]);
        for (int half = 0; half < 2; half++) {
            uint8_t sc, m;
            k4_scale_min(2 * p + half, scales, &sc, &m);
            u->sc[4 * p + 2 * half] = u->sc[4 * p + 2 * half + 1] = sc;
            u->mn[4 * p + 2 * half] = u->mn[4 * p + 2 * half + 1] = m;
        }
    }
    u->d = fp16_to_f32(dd[0]), u->dmin = fp16_to_f32(dd[1]);
}

static void unpack_q4_k(const void *block, kq_block *u) {
    const block_q4_K *x = block;
    const uint16_t dd[2] = {x->d, x->dmin};
    unpack_q45_k(dd, x->scales, x->qs, NULL, u);
}

static void unpack_q5_k(const void *block, kq_block *u) {
    const block_q5_K *x = block;
    const uint16_t dd[2] = {x->d, x->dmin};
    unpack_q45_k(dd, x->scales, x->qs, x->qh, u);
}

/* Q6_K: low 4 bits from ql, high 2 from qh (blocks.h), minus 32; int8 scales. */
static void unpack_q6_k(const void *block, kq_block *u) {
    const block_q6_K *x = block;
    for (int h = 0; h < 2; h++)
        for (int half = 0; half < 2; half++) {
            const int l0 = 16 * half;
            const uint8x16_t qh = vld1q_u8(x->qh + 32 * h + l0);
            const uint8x16_t ql0 = vld1q_u8(x->ql + 64 * h + l0);
            const uint8x16_t ql1 = vld1q_u8(x->ql + 64 * h + 32 + l0);
            const uint8x16_t low[4] = {vandq_u8(ql0, vdupq_n_u8(15)), vandq_u8(ql1, vdupq_n_u8(15)),
                                       vshrq_n_u8(ql0, 4), vshrq_n_u8(ql1, 4)};
            for (int part = 0; part < 4; part++) {
                const uint8x16_t c = vorrq_u8(low[part], vshlq_n_u8(crumb(qh, part), 4));
                u->c[(128 * h + 32 * part + l0) / 16] =
                    vsubq_s8(vreinterpretq_s8_u8(c), vdupq_n_s8(32));
            }
        }
    for (int k = 0; k < 16; k++) u->sc[k] = x->scales[k], u->mn[k] = 0;
    u->d = fp16_to_f32(x->d), u->dmin = 0;
}

/* One token's term of a super-block, in the row kernels' float expression. */
static inline float kq_token(const kq_block *u, const block_q8_K *a, int with_min) {
    int32x4_t acc = vdupq_n_s32(0);
    for (int k = 0; k < 16; k++)
        acc = vmlaq_n_s32(acc, neon_dot_s8(vdupq_n_s32(0), u->c[k], vld1q_s8(a->qs + 16 * k)),
                          u->sc[k]);
    const int sumi = vaddvq_s32(acc);
    if (!with_min) return a->d * u->d * (float)sumi;
    const int16x8_t m0 = vld1q_s16(u->mn), m1 = vld1q_s16(u->mn + 8);
    const int16x8_t b0 = vld1q_s16(a->bsums), b1 = vld1q_s16(a->bsums + 8);
    int32x4_t m = vmull_s16(vget_low_s16(m0), vget_low_s16(b0));
    m = vmlal_high_s16(m, m0, b0);
    m = vmlal_s16(m, vget_low_s16(m1), vget_low_s16(b1));
    m = vmlal_high_s16(m, m1, b1);
    const int summ = vaddvq_s32(m);
    return a->d * (u->d * (float)sumi - u->dmin * (float)summ);
}

static inline void kq_tile(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                           int nrows, const void *act, size_t a_stride, int nact, size_t bytes,
                           kq_unpack_fn unpack, int with_min) {
    kq_block u;
    for (int r = 0; r < nrows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * w_stride;
        for (int j0 = 0; j0 < nact; j0 += KQ_NA) {
            const int na = nact - j0 < KQ_NA ? nact - j0 : KQ_NA;
            float sum[KQ_NA] = {0};
            for (int64_t i = 0; i < n / QK_K; i++) {
                unpack(row + i * bytes, &u);
                for (int j = 0; j < na; j++) {
                    const block_q8_K *a =
                        (const block_q8_K *)((const char *)act + (j0 + j) * a_stride) + i;
                    sum[j] += kq_token(&u, a, with_min);
                }
            }
            for (int j = 0; j < na; j++) s[(size_t)(j0 + j) * s_stride + r] = sum[j];
        }
    }
}

#define KQ_TILE(fmt, block, with_min)                                                              \
    static void vec_dot_tile_##fmt##_neon(int64_t n, float *s, size_t s_stride, const void *w,     \
                                          size_t w_stride, int nrows, const void *a,               \
                                          size_t a_stride, int nact) {                             \
        kq_tile(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, sizeof(block),              \
                unpack_##fmt, with_min);                                                           \
    }
KQ_TILE(q2_k, block_q2_K, 1)
KQ_TILE(q3_k, block_q3_K, 0)
KQ_TILE(q4_k, block_q4_K, 1)
KQ_TILE(q5_k, block_q5_K, 1)
KQ_TILE(q6_k, block_q6_K, 0)

void NEON_FN(kquant_tile_install)(isa_kernels *k) {
    kernels_set(k, QT_Q2_K, (type_kernels){.vec_dot_tile = vec_dot_tile_q2_k_neon});
    kernels_set(k, QT_Q3_K, (type_kernels){.vec_dot_tile = vec_dot_tile_q3_k_neon});
    kernels_set(k, QT_Q4_K, (type_kernels){.vec_dot_tile = vec_dot_tile_q4_k_neon});
    kernels_set(k, QT_Q5_K, (type_kernels){.vec_dot_tile = vec_dot_tile_q5_k_neon});
    kernels_set(k, QT_Q6_K, (type_kernels){.vec_dot_tile = vec_dot_tile_q6_k_neon});
}
