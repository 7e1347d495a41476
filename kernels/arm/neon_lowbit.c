/* neon_lowbit.c - NEON dot products of the formats below 2 bits and FP4 with scales per 16:
 * the ternary TQ2_0 and TQ1_0 (Q8_K activations), Q1_0 and NVFP4 (Q8_0 activations).
 *   TQ2_0 / TQ1_0: as the references (kernels/ref/dot_tq.c), per super-block the exact
 *   integer sum, scaled and added in the reference's order: equal bit for bit. The codes
 *   q = t + 1 (0..2) are multiplied as they are and sum t a = sum q a - sum a, sum a from
 *   the activation's bsums.
 *   Q1_0 / NVFP4: exact integer sums per Q8_0 block (per sub-block of 16 for NVFP4), then
 *   scaled in float lanes: Q1_0 is then summed in the reference's order, NVFP4 (as the AVX2
 *   kernel) in float lanes, another order than the reference (kernels/ref/dot_lowbit.c). */
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "neon.h"
#include "neon_util.h"

/* Sum of the 256 activation codes of a Q8_K block, from its 16 bsums. */
static inline int sum_activations(const block_q8_K *a) {
    const int16x8_t b0 = vld1q_s16(a->bsums), b1 = vld1q_s16(a->bsums + 8);
    return vaddvq_s32(vaddq_s32(vpaddlq_s16(b0), vpaddlq_s16(b1)));
}

/* TQ2_0: element 128 h + 32 l + j is crumb l of qs[32 h + j] (blocks.h). */
static void vec_dot_tq2_0_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_tq2_0 *x = w;
    const block_q8_K *a = act;
    const uint8x16_t three = vdupq_n_u8(3);
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int32x4_t acc = vdupq_n_s32(0);
        for (int h = 0; h < 2; h++) {
            const uint8x16_t v0 = vld1q_u8(x[i].qs + 32 * h), v1 = vld1q_u8(x[i].qs + 32 * h + 16);
            for (int l = 0; l < 4; l++) {
                const int8x16_t shift = vdupq_n_s8((int8_t)(-2 * l));
                const uint8x16_t q0 = vandq_u8(vshlq_u8(v0, shift), three);
                const uint8x16_t q1 = vandq_u8(vshlq_u8(v1, shift), three);
                const int8_t *y = a[i].qs + 128 * h + 32 * l;
                acc = neon_dot_s8(acc, vreinterpretq_s8_u8(q0), vld1q_s8(y));
                acc = neon_dot_s8(acc, vreinterpretq_s8_u8(q1), vld1q_s8(y + 16));
            }
        }
        const int sumi = vaddvq_s32(acc) - sum_activations(&a[i]);
        sum += (float)sumi * (fp16_to_f32(x[i].d) * a[i].d);
    }
    *s = sum;
}

/* TQ1_0: trit n of byte b is ((b 3^n mod 256) 3) >> 8 (blocks.h): a byte multiply by the
 * lane's 3^n, then the high byte of the widened product by 3. */
static inline uint8x16_t trits(uint8x16_t b, uint8x16_t pow3) {
    const uint8x16_t m = vmulq_u8(b, pow3);
    const uint16x8_t lo = vmull_u8(vget_low_u8(m), vdup_n_u8(3));
    const uint16x8_t hi = vmull_high_u8(m, vdupq_n_u8(3));
    return vcombine_u8(vshrn_n_u16(lo, 8), vshrn_n_u16(hi, 8));
}

/* Element order (blocks.h): trits 0..4 of qs[0..31] (5 x 32), of qs[32..47] (5 x 16), and
 * trits 0..3 of qh[0..3] (4 x 4, as one vector of qh repeated: lane 4 t + j = qh[j]). */
static void vec_dot_tq1_0_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_tq1_0 *x = w;
    const block_q8_K *a = act;
    static const uint8_t pow3_qh[16] = {1, 1, 1, 1, 3, 3, 3, 3, 9, 9, 9, 9, 27, 27, 27, 27};
    const uint8x16_t last = vld1q_u8(pow3_qh);
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t *y = a[i].qs;
        const uint8x16_t v0 = vld1q_u8(x[i].qs), v1 = vld1q_u8(x[i].qs + 16);
        const uint8x16_t v2 = vld1q_u8(x[i].qs + 32);
        int32x4_t acc = vdupq_n_s32(0);
        uint8_t p = 1;
        for (int t = 0; t < 5; t++, p = (uint8_t)(3 * p)) {
            const uint8x16_t pow3 = vdupq_n_u8(p);
            acc = neon_dot_s8(acc, vreinterpretq_s8_u8(trits(v0, pow3)), vld1q_s8(y + 32 * t));
            acc = neon_dot_s8(acc, vreinterpretq_s8_u8(trits(v1, pow3)), vld1q_s8(y + 32 * t + 16));
            acc =
                neon_dot_s8(acc, vreinterpretq_s8_u8(trits(v2, pow3)), vld1q_s8(y + 160 + 16 * t));
        }
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        const uint8x16_t vh = vreinterpretq_u8_u32(vdupq_n_u32(qh));
        acc = neon_dot_s8(acc, vreinterpretq_s8_u8(trits(vh, last)), vld1q_s8(y + 240));
        const int sumi = vaddvq_s32(acc) - sum_activations(&a[i]);
        sum += (float)sumi * (fp16_to_f32(x[i].d) * a[i].d);
    }
    *s = sum;
}

/* Q1_0: per Q8_0 block k the 32 bits qs[4k .. 4k + 3] (element j: bit j % 8 of byte j / 8)
 * become +1 (set) / -1 (clear) bytes; the four blocks' integer sums are the four lanes of
 * pairwise adds, times their d_a in float lanes, then added and times d in the reference's
 * order (d_a d multiplied first would turn a zero block sum with an infinite d into NaN). */
static inline int8x16_t plus_minus_one(uint32_t bits16) {
    const uint8x16_t set = neon_bits_to_bytes(bits16, 2);
    return vsubq_s8(vreinterpretq_s8_u8(set), vdupq_n_s8(1));
}

static void vec_dot_q1_0_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_q1_0 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / 128; i++) {
        int32x4_t p[4];
        float da[4];
        for (int k = 0; k < 4; k++) {
            const block_q8_0 *y = &a[4 * i + k];
            uint32_t bits;
            memcpy(&bits, x[i].qs + 4 * k, 4);
            p[k] = neon_dot32(plus_minus_one(bits & 0xFFFF), plus_minus_one(bits >> 16), y->qs);
            da[k] = fp16_to_f32(y->d);
        }
        const int32x4_t sums = vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3]));
        const float32x4_t part = vmulq_f32(vcvtq_f32_s32(sums), vld1q_f32(da));
        const float block = vgetq_lane_f32(part, 0) + vgetq_lane_f32(part, 1) +
                            vgetq_lane_f32(part, 2) + vgetq_lane_f32(part, 3);
        sum += block * fp16_to_f32(x[i].d);
    }
    *s = sum;
}

/* NVFP4: sub-block sb (16 elements: low nibbles of qs[8 sb ..] then high) meets half sb % 2
 * of Q8_0 block 2 i + sb / 2; its values are the doubled E2M1 grid (kvalues_mxfp4) by one
 * table lookup, and the four sub-blocks' integer sums are the four lanes of pairwise adds. */
static void vec_dot_nvfp4_neon(int64_t n, float *s, const void *w, const void *act) {
    const block_nvfp4 *x = w;
    const block_q8_0 *a = act;
    const int8x16_t grid = vld1q_s8(kvalues_mxfp4);
    float32x4_t acc = vdupq_n_f32(0);
    for (int64_t i = 0; i < n / 64; i++) {
        int32x4_t p[4];
        float scale[4];
        for (int h = 0; h < 2; h++) {
            const block_q8_0 *y = &a[2 * i + h];
            const uint8x16_t q = vld1q_u8(x[i].qs + 16 * h); /* sub-blocks 2 h, 2 h + 1 */
            const uint8x16_t lo = vandq_u8(q, vdupq_n_u8(15)), hi = vshrq_n_u8(q, 4);
            /* element order: sub-block 2 h is lo[0..7], hi[0..7]; 2 h + 1 is lo[8..15], hi[8..15]
             */
            const int8x16_t v0 = vqtbl1q_s8(grid, vcombine_u8(vget_low_u8(lo), vget_low_u8(hi)));
            const int8x16_t v1 = vqtbl1q_s8(grid, vcombine_u8(vget_high_u8(lo), vget_high_u8(hi)));
            p[2 * h] = neon_dot_s8(vdupq_n_s32(0), v0, vld1q_s8(y->qs));
            p[2 * h + 1] = neon_dot_s8(vdupq_n_s32(0), v1, vld1q_s8(y->qs + 16));
            const float da = fp16_to_f32(y->d);
            scale[2 * h] = ue4m3_half(x[i].d[2 * h]) * da;
            scale[2 * h + 1] = ue4m3_half(x[i].d[2 * h + 1]) * da;
        }
        const int32x4_t sums = vpaddq_s32(vpaddq_s32(p[0], p[1]), vpaddq_s32(p[2], p[3]));
        acc = vfmaq_f32(acc, vcvtq_f32_s32(sums), vld1q_f32(scale));
    }
    *s = vaddvq_f32(acc);
}

void NEON_FN(lowbit_install)(isa_kernels *k) {
    kernels_set(k, QT_TQ2_0, (type_kernels){.vec_dot = vec_dot_tq2_0_neon});
    kernels_set(k, QT_TQ1_0, (type_kernels){.vec_dot = vec_dot_tq1_0_neon});
    kernels_set(k, QT_Q1_0, (type_kernels){.vec_dot = vec_dot_q1_0_neon});
    kernels_set(k, QT_NVFP4, (type_kernels){.vec_dot = vec_dot_nvfp4_neon});
}
