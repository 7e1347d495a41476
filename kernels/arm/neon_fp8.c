/* neon_fp8.c - NEON dot products of FP8 (E4M3, E5M2; scarce's block of 32 with an fp16
 * scale) with Q8_0 activations. As the reference (kernels/ref/dot_q32.c): per block the float
 * sum of fp8(code) * a_code (each product exact in float), then times both scales; the sum
 * within a block runs in another order.
 *   E5M2 is the high byte of an fp16 (same exponent width and bias): code << 8.
 *   E4M3 (bias 7, no infinities, S.1111.111 = NaN): sign << 15 | rest << 7 is an fp16 with
 *   the exponent 8 too small, so the value is that times 2^8 (exact, subnormals included). */
#include <arm_neon.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "neon.h"

/* 8 codes as two f32x4 times 8 activation codes, added into acc. */
static inline float32x4_t fma8(float32x4_t acc, float16x8_t w, int8x8_t a) {
    int16x8_t a16 = vmovl_s8(a);
    acc =
        vfmaq_f32(acc, vcvt_f32_f16(vget_low_f16(w)), vcvtq_f32_s32(vmovl_s16(vget_low_s16(a16))));
    return vfmaq_f32(acc, vcvt_high_f32_f16(w), vcvtq_f32_s32(vmovl_high_s16(a16)));
}

static inline float16x8_t e5m2_to_f16(uint8x8_t c) {
    return vreinterpretq_f16_u16(vshll_n_u8(c, 8));
}

/* E4M3 without the 2^8 factor (applied per block); NaN codes become fp16 NaN. */
static inline float16x8_t e4m3_to_f16_scaled(uint8x8_t c) {
    uint16x8_t c16 = vmovl_u8(c);
    uint16x8_t bits = vorrq_u16(vshlq_n_u16(vandq_u16(c16, vdupq_n_u16(0x80)), 8),
                                vshlq_n_u16(vandq_u16(c16, vdupq_n_u16(0x7f)), 7));
    uint16x8_t nan = vceqq_u16(vandq_u16(c16, vdupq_n_u16(0x7f)), vdupq_n_u16(0x7f));
    return vreinterpretq_f16_u16(vbslq_u16(nan, vdupq_n_u16(0x7e00), bits));
}

static float dot_fp8(int64_t n, const void *w, const void *act, int e4m3) {
    const block_fp8 *x = w;
    const block_q8_0 *a = act;
    const float unit = e4m3 ? 256.0f : 1.0f;
    float sum = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        float32x4_t acc = vdupq_n_f32(0);
        for (int j = 0; j < QK32; j += 8) {
            uint8x8_t c = vld1_u8(x[i].qs + j);
            float16x8_t v = e4m3 ? e4m3_to_f16_scaled(c) : e5m2_to_f16(c);
            acc = fma8(acc, v, vld1_s8(a[i].qs + j));
        }
        sum += vaddvq_f32(acc) * unit * (fp16_to_f32(x[i].d) * fp16_to_f32(a[i].d));
    }
    return sum;
}

void vec_dot_fp8_e4m3_neon(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_fp8(n, w, a, 1);
}

void vec_dot_fp8_e5m2_neon(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_fp8(n, w, a, 0);
}
