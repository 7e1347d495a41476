/* neon_util.h - small NEON helpers shared by the kernels/arm/neon_*.c files. */
#ifndef SCARCE_NEON_UTIL_H
#define SCARCE_NEON_UTIL_H

#include <arm_neon.h>
#include <stdint.h>

/* The int8 kernel files (neon_q32.c, neon_kquant.c, neon_iq.c, neon_lowbit.c) are compiled
 * twice: as they are, for plain ARMv8 NEON, and through their *_dotprod.c copy, which
 * defines NEON_DOTPROD_COPY and compiles them for ARMv8.2's dot-product instruction (sdot).
 * NEON_FN names the one exported function of each (its install function) per copy;
 * neon_install picks the copy from the CPU's HWCAP_ASIMDDP at run time. */
#if defined(NEON_DOTPROD_COPY)
#define NEON_FN(name) name##_neondp
#else
#define NEON_FN(name) name##_neon
#endif

/* acc + the products of 16 int8 pairs, four at a time into each int32 lane: the dot-product
 * instruction in the dotprod copies, else widening multiplies and pairwise adds. Lanes
 * differ between the two; only their sum is used. */
static inline int32x4_t neon_dot_s8(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(NEON_DOTPROD_COPY) && defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, a, b);
#else
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
#endif
}

/* Exact integer sum of 16 code x activation products. */
static inline int neon_dot16(int8x16_t q, const int8_t *a) {
    return vaddvq_s32(neon_dot_s8(vdupq_n_s32(0), q, vld1q_s8(a)));
}

/* Exact integer sum of 32 code x activation products. */
static inline int32x4_t neon_dot32(int8x16_t q0, int8x16_t q1, const int8_t *a) {
    return neon_dot_s8(neon_dot_s8(vdupq_n_s32(0), q0, vld1q_s8(a)), q1, vld1q_s8(a + 16));
}

/* Byte j = `value` where bit j of the 16 bits is set, else 0 (Q5's fifth bits). */
static inline uint8x16_t neon_bits_to_bytes(uint32_t bits16, uint8_t value) {
    static const uint8_t bit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
    uint8x16_t v = vcombine_u8(vdup_n_u8((uint8_t)bits16), vdup_n_u8((uint8_t)(bits16 >> 8)));
    return vandq_u8(vtstq_u8(v, vld1q_u8(bit)), vdupq_n_u8(value));
}

#endif
