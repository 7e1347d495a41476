/* neon_float.c - AArch64 NEON dot products of the float formats (f32, f16, bf16) with f32
 * activations. Same contract as the AVX2 kernels: only the float accumulation order differs
 * from the reference; and the Q8_0 activation quantizer. Plain ARMv8 NEON (fp16 -> f32
 * conversions are in the base ISA). */
#include <arm_neon.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "neon.h"

void vec_dot_f32_neon(int64_t n, float *s, const void *w, const void *a) {
    const float *x = w, *y = a;
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = acc0, acc2 = acc0, acc3 = acc0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        acc0 = vfmaq_f32(acc0, vld1q_f32(x + i), vld1q_f32(y + i));
        acc1 = vfmaq_f32(acc1, vld1q_f32(x + i + 4), vld1q_f32(y + i + 4));
        acc2 = vfmaq_f32(acc2, vld1q_f32(x + i + 8), vld1q_f32(y + i + 8));
        acc3 = vfmaq_f32(acc3, vld1q_f32(x + i + 12), vld1q_f32(y + i + 12));
    }
    for (; i + 4 <= n; i += 4) acc0 = vfmaq_f32(acc0, vld1q_f32(x + i), vld1q_f32(y + i));
    float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), vaddq_f32(acc2, acc3)));
    for (; i < n; i++) sum += x[i] * y[i];
    *s = sum;
}

void vec_dot_f16_neon(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = w;
    const float *y = a;
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = acc0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(x + i));
        acc0 = vfmaq_f32(acc0, vcvt_f32_f16(vget_low_f16(h)), vld1q_f32(y + i));
        acc1 = vfmaq_f32(acc1, vcvt_high_f32_f16(h), vld1q_f32(y + i + 4));
    }
    float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; i++) sum += fp16_to_f32(x[i]) * y[i];
    *s = sum;
}

/* bf16 is the high half of an f32: widen by a 16-bit shift. */
void vec_dot_bf16_neon(int64_t n, float *s, const void *w, const void *a) {
    const uint16_t *x = w;
    const float *y = a;
    float32x4_t acc0 = vdupq_n_f32(0), acc1 = acc0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint16x8_t h = vld1q_u16(x + i);
        float32x4_t lo = vreinterpretq_f32_u32(vshll_n_u16(vget_low_u16(h), 16));
        float32x4_t hi = vreinterpretq_f32_u32(vshll_high_n_u16(h, 16));
        acc0 = vfmaq_f32(acc0, lo, vld1q_f32(y + i));
        acc1 = vfmaq_f32(acc1, hi, vld1q_f32(y + i + 4));
    }
    float sum = vaddvq_f32(vaddq_f32(acc0, acc1));
    for (; i < n; i++) sum += bf16_to_f32(x[i]) * y[i];
    *s = sum;
}

/* Activations -> Q8_0 as the reference (quantize_row_q8_0_ref): d = amax / 127, codes x / d
 * rounded to nearest even (vcvtnq, as lrintf in the default rounding mode): the same bytes
 * for finite inputs. */
void quantize_row_q8_0_neon(const float *src, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32;
        float32x4_t v[8], amax = vdupq_n_f32(0);
        for (int k = 0; k < 8; k++) {
            v[k] = vld1q_f32(x + 4 * k);
            amax = vmaxq_f32(amax, vabsq_f32(v[k]));
        }
        const float d = vmaxvq_f32(amax) / 127, inv_d = d > 0 ? 1 / d : 0;
        y[i].d = f32_to_fp16(d);
        int16x8_t h[4];
        for (int k = 0; k < 4; k++)
            h[k] = vcombine_s16(vqmovn_s32(vcvtnq_s32_f32(vmulq_n_f32(v[2 * k], inv_d))),
                                vqmovn_s32(vcvtnq_s32_f32(vmulq_n_f32(v[2 * k + 1], inv_d))));
        vst1q_s8(y[i].qs, vcombine_s8(vqmovn_s16(h[0]), vqmovn_s16(h[1])));
        vst1q_s8(y[i].qs + 16, vcombine_s8(vqmovn_s16(h[2]), vqmovn_s16(h[3])));
    }
}
