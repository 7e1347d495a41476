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

static inline float iq_dot_rows(int64_t n, const void *w, const block_q8_K *a, size_t bytes,
                                iq_unpack_fn unpack, float factor) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *block = (const uint8_t *)w + i * bytes;
        int32x4_t acc = vdupq_n_s32(0);
        iq_sub u;
        for (int ib = 0; ib < 8; ib++) {
            unpack(block, ib, &u);
            const int8_t *y = a[i].qs + 32 * ib;
            const int8x16_t lo = signed_mag(u.mag[0], u.mag[1], u.signs & 0xFFFF);
            const int8x16_t hi = signed_mag(u.mag[2], u.mag[3], u.signs >> 16);
            acc = vmlaq_n_s32(acc, neon_dot_s8(vdupq_n_s32(0), lo, vld1q_s8(y)), u.ls[0]);
            acc = vmlaq_n_s32(acc, neon_dot_s8(vdupq_n_s32(0), hi, vld1q_s8(y + 16)), u.ls[1]);
        }
        sum += fp16_to_f32(u.d) * a[i].d * (float)vaddvq_s32(acc);
    }
    return factor * sum;
}

static void vec_dot_iq2_xxs_neon(int64_t n, float *s, const void *w, const void *a) {
    *s = iq_dot_rows(n, w, a, sizeof(block_iq2_xxs), iq2_xxs_sub, 0.125f);
}
static void vec_dot_iq2_xs_neon(int64_t n, float *s, const void *w, const void *a) {
    *s = iq_dot_rows(n, w, a, sizeof(block_iq2_xs), iq2_xs_sub, 0.125f);
}
static void vec_dot_iq2_s_neon(int64_t n, float *s, const void *w, const void *a) {
    *s = iq_dot_rows(n, w, a, sizeof(block_iq2_s), iq2_s_sub, 0.125f);
}
static void vec_dot_iq3_xxs_neon(int64_t n, float *s, const void *w, const void *a) {
    *s = iq_dot_rows(n, w, a, sizeof(block_iq3_xxs), iq3_xxs_sub, 0.25f);
}
static void vec_dot_iq3_s_neon(int64_t n, float *s, const void *w, const void *a) {
    *s = iq_dot_rows(n, w, a, sizeof(block_iq3_s), iq3_s_sub, 1.0f);
}
static void vec_dot_iq1_s_neon(int64_t n, float *s, const void *w, const void *a) {
    *s = iq_dot_rows(n, w, a, sizeof(block_iq1_s), iq1_s_sub, 0.125f);
}
static void vec_dot_iq1_m_neon(int64_t n, float *s, const void *w, const void *a) {
    *s = iq_dot_rows(n, w, a, sizeof(block_iq1_m), iq1_m_sub, 0.125f);
}

void NEON_FN(iq_install)(isa_kernels *k) {
    kernels_set(k, QT_IQ4_XS, (type_kernels){.vec_dot = vec_dot_iq4_xs_neon});
    kernels_set(k, QT_IQ2_XXS, (type_kernels){.vec_dot = vec_dot_iq2_xxs_neon});
    kernels_set(k, QT_IQ2_XS, (type_kernels){.vec_dot = vec_dot_iq2_xs_neon});
    kernels_set(k, QT_IQ2_S, (type_kernels){.vec_dot = vec_dot_iq2_s_neon});
    kernels_set(k, QT_IQ3_XXS, (type_kernels){.vec_dot = vec_dot_iq3_xxs_neon});
    kernels_set(k, QT_IQ3_S, (type_kernels){.vec_dot = vec_dot_iq3_s_neon});
    kernels_set(k, QT_IQ1_S, (type_kernels){.vec_dot = vec_dot_iq1_s_neon});
    kernels_set(k, QT_IQ1_M, (type_kernels){.vec_dot = vec_dot_iq1_m_neon});
}
