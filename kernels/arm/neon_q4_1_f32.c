/* neon_q4_1_f32.c - Q4_1_F32 rows x f32 activations on NEON (the speculative draft's format,
 * engine/draft_quant.h; why it exists: kernels/x86/avx512_q4_1_f32.c). Plain ARMv8 NEON.
 *
 * Per block of 32: low and high nibbles of the 16 code bytes, widened u8 -> u16 -> u32 and
 * converted 4 at a time, d * q + m by one FMA, then one FMA with the activations, into four
 * accumulators. Not the reference's summation order (tolerance in tests/test_kernels.c). */
#include <arm_neon.h>

#include "../../quant/blocks.h"
#include "neon.h"

static inline float32x4_t weights4(uint16x4_t q4, float32x4_t d, float32x4_t m) {
    return vfmaq_f32(m, vcvtq_f32_u32(vmovl_u16(q4)), d);
}

/* 16 weights (the nibbles of one half of the block, in order) times y[0..15] */
static inline void half_fma(uint8x16_t q, const float *y, float32x4_t d, float32x4_t m,
                            float32x4_t acc[4]) {
    const uint16x8_t lo = vmovl_u8(vget_low_u8(q)), hi = vmovl_u8(vget_high_u8(q));
    acc[0] = vfmaq_f32(acc[0], weights4(vget_low_u16(lo), d, m), vld1q_f32(y));
    acc[1] = vfmaq_f32(acc[1], weights4(vget_high_u16(lo), d, m), vld1q_f32(y + 4));
    acc[2] = vfmaq_f32(acc[2], weights4(vget_low_u16(hi), d, m), vld1q_f32(y + 8));
    acc[3] = vfmaq_f32(acc[3], weights4(vget_high_u16(hi), d, m), vld1q_f32(y + 12));
}

void vec_dot_q4_1_f32_neon(int64_t n, float *s, const void *w, const void *a) {
    const block_q4_1_f32 *x = w;
    const float *y = a;
    float32x4_t acc[4] = {vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0), vdupq_n_f32(0)};
    for (int64_t i = 0; i < n / QK32; i++, y += QK32) {
        const float32x4_t d = vdupq_n_f32(x[i].d), m = vdupq_n_f32(x[i].m);
        const uint8x16_t q = vld1q_u8(x[i].qs);
        half_fma(vandq_u8(q, vdupq_n_u8(0x0F)), y, d, m, acc);
        half_fma(vshrq_n_u8(q, 4), y + 16, d, m, acc);
    }
    *s = vaddvq_f32(vaddq_f32(vaddq_f32(acc[0], acc[1]), vaddq_f32(acc[2], acc[3])));
}
