/* neon_iq.c - NEON dot products of the 256-element IQ formats (IQ4_XS and the codebook formats
 * IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M) with Q8_K activations. As the
 * references (kernels/ref/dot_iq.c): per super-block the exact integer sum over sub-blocks of
 * (sub-block scale) x (sum of grid value x activation code), then the reference's float
 * expression per super-block, added in the same order: equal to the reference bit for bit. */
#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "../../quant/iq_unpack.h"
#include "neon.h"
#include "neon_util.h"

/* IQ4_XS: per sub-block of 32 the 4-bit indices (Q4_0's nibble order) become grid values by
 * one table lookup, and the int32 lanes of their products are added times the scale l - 32
 * (|lane| <= 4 * 127 * 127 times |l - 32| <= 32: far from overflow). */
static void vec_dot_iq4_xs_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_iq4_xs *x = w;
    const block_q8_K *a = act;
    const int8x16_t grid = vld1q_s8(kvalues_iq4nl);
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int32x4_t acc = vdupq_n_s32(0);
        for (int ib = 0; ib < QK_K / 32; ib++) {
            const uint8x16_t q = vld1q_u8(x[i].qs + 16 * ib);
            const int8x16_t lo = vqtbl1q_s8(grid, vandq_u8(q, vdupq_n_u8(15)));
            const int8x16_t hi = vqtbl1q_s8(grid, vshrq_n_u8(q, 4));
            acc = vmlaq_n_s32(acc, neon_dot32(lo, hi, a[i].qs + 32 * ib),
                              iq4xs_scale(&x[i], ib) - 32);
        }
        sum += (float)vaddvq_s32(acc) * (fp16_to_f32(x[i].d) * a[i].d);
    }
    *s = sum;
}

/* The codebook formats, each sub-block unpacked by quant/iq_unpack.h (the grid lookups are
 * scalar, as in the AVX2 kernels): the magnitudes (<= 62) take their signs (bit set:
 * negative) as int8, so the activation codes are used as they are (a -128 code would not
 * overflow), and each half of 16 is scaled by its odd scale ls. */
static inline int8x16_t signed_mag(uint64_t mag_lo, uint64_t mag_hi, uint32_t signs16) {
    const int8x16_t m =
        vreinterpretq_s8_u64(vcombine_u64(vcreate_u64(mag_lo), vcreate_u64(mag_hi)));
    const int8x16_t neg = vreinterpretq_s8_u8(neon_bits_to_bytes(signs16, 0xFF));
    return vsubq_s8(veorq_s8(m, neg), neg); /* (m ^ -1) - (-1) = -m where neg */
}

/* nrows x nact dot products (vec_dot_tile; the row kernel is its 1 x 1 case): each sub-block
 * is unpacked once for up to IQ_NA tokens (the unpack, scalar grid lookups, costs more than
 * the products), and each (row, token) sums as the reference: exact integer sum per
 * super-block, then the reference's float expression, super-blocks in order. */
enum { IQ_NA = 4 };

static inline void iq_tile(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                           int nrows, const void *act, size_t a_stride, int nact, size_t bytes,
                           iq_unpack_fn unpack, float factor) {
    for (int r = 0; r < nrows; r++) {
        const uint8_t *row = (const uint8_t *)w + r * w_stride;
        for (int j0 = 0; j0 < nact; j0 += IQ_NA) {
            const int na = nact - j0 < IQ_NA ? nact - j0 : IQ_NA;
            const block_q8_K *a[IQ_NA];
            float sum[IQ_NA] = {0};
            for (int j = 0; j < na; j++)
                a[j] = (const block_q8_K *)((const char *)act + (j0 + j) * a_stride);
            for (int64_t i = 0; i < n / QK_K; i++) {
                int32x4_t acc[IQ_NA];
                for (int j = 0; j < na; j++) acc[j] = vdupq_n_s32(0);
                iq_sub u;
                for (int ib = 0; ib < 8; ib++) {
                    unpack(row + i * bytes, ib, &u);
                    const int8x16_t lo = signed_mag(u.mag[0], u.mag[1], u.signs & 0xFFFF);
                    const int8x16_t hi = signed_mag(u.mag[2], u.mag[3], u.signs >> 16);
                    for (int j = 0; j < na; j++) {
                        const int8_t *y = a[j][i].qs + 32 * ib;
                        acc[j] = vmlaq_n_s32(acc[j], neon_dot_s8(vdupq_n_s32(0), lo, vld1q_s8(y)),
                                             u.ls[0]);
                        acc[j] = vmlaq_n_s32(
                            acc[j], neon_dot_s8(vdupq_n_s32(0), hi, vld1q_s8(y + 16)), u.ls[1]);
                    }
                }
                for (int j = 0; j < na; j++)
                    sum[j] += fp16_to_f32(u.d) * a[j][i].d * (float)vaddvq_s32(acc[j]);
            }
            for (int j = 0; j < na; j++) s[(size_t)(j0 + j) * s_stride + r] = factor * sum[j];
        }
    }
}

#define IQ_KERNELS(fmt, factor)                                                                    \
    static void vec_dot_##fmt##_neon(int64_t n, float *s, const void *w, const void *a) {          \
        iq_tile(n, s, 0, w, 0, 1, a, 0, 1, sizeof(block_##fmt), fmt##_sub, factor);                \
    }                                                                                              \
    static void vec_dot_tile_##fmt##_neon(int64_t n, float *s, size_t s_stride, const void *w,     \
                                          size_t w_stride, int nrows, const void *a,               \
                                          size_t a_stride, int nact) {                             \
        iq_tile(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, sizeof(block_##fmt),        \
                fmt##_sub, factor);                                                                \
    }
IQ_KERNELS(iq2_xxs, 0.125f)
IQ_KERNELS(iq2_xs, 0.125f)
IQ_KERNELS(iq2_s, 0.125f)
IQ_KERNELS(iq3_xxs, 0.25f)
IQ_KERNELS(iq3_s, 1.0f)
IQ_KERNELS(iq1_s, 0.125f)
IQ_KERNELS(iq1_m, 0.125f)

void NEON_FN(iq_install)(isa_kernels *k) {
    kernels_set(k, QT_IQ4_XS, (type_kernels){.vec_dot = vec_dot_iq4_xs_neon});
    kernels_set(
        k, QT_IQ2_XXS,
        (type_kernels){.vec_dot = vec_dot_iq2_xxs_neon, .vec_dot_tile = vec_dot_tile_iq2_xxs_neon});
    kernels_set(
        k, QT_IQ2_XS,
        (type_kernels){.vec_dot = vec_dot_iq2_xs_neon, .vec_dot_tile = vec_dot_tile_iq2_xs_neon});
    kernels_set(
        k, QT_IQ2_S,
        (type_kernels){.vec_dot = vec_dot_iq2_s_neon, .vec_dot_tile = vec_dot_tile_iq2_s_neon});
    kernels_set(
        k, QT_IQ3_XXS,
        (type_kernels){.vec_dot = vec_dot_iq3_xxs_neon, .vec_dot_tile = vec_dot_tile_iq3_xxs_neon});
    kernels_set(
        k, QT_IQ3_S,
        (type_kernels){.vec_dot = vec_dot_iq3_s_neon, .vec_dot_tile = vec_dot_tile_iq3_s_neon});
    kernels_set(
        k, QT_IQ1_S,
        (type_kernels){.vec_dot = vec_dot_iq1_s_neon, .vec_dot_tile = vec_dot_tile_iq1_s_neon});
    kernels_set(
        k, QT_IQ1_M,
        (type_kernels){.vec_dot = vec_dot_iq1_m_neon, .vec_dot_tile = vec_dot_tile_iq1_m_neon});
}
