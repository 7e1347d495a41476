/* blocks.h - the byte layouts of the block formats (ggml's, byte for byte, plus ours).
 *
 * Shared by quant/ (quantize/dequantize) and kernels/ (vec_dot). Every struct is packed by
 * construction (only uint8/int8/uint16 after a uint16, or a float first), and its size is
 * checked below, so sizeof(block_x) == block_bytes of the type table. Half floats are stored
 * as raw uint16 (IEEE binary16, see fp16.h). */
#ifndef SCARCE_BLOCKS_H
#define SCARCE_BLOCKS_H

#include <stdint.h>
#include <string.h>

#define QK32 32  /* elements per block of the block-32 types */
#define QK_K 256 /* elements per super-block of the K-quants */
#define K_SCALE_SIZE 12

/* Q8_0: x[i] = d * qs[i] */
typedef struct { uint16_t d; int8_t qs[QK32]; } block_q8_0;
/* Q4_0: x[j] = d * (nibble - 8); qs[j] low nibble = element j, high nibble = element j+16 */
typedef struct { uint16_t d; uint8_t qs[QK32 / 2]; } block_q4_0;
/* Q4_1: x[j] = d * nibble + m, nibbles as Q4_0 */
typedef struct { uint16_t d, m; uint8_t qs[QK32 / 2]; } block_q4_1;
/* Q4_1_F32 (scarce): Q4_1 with f32 d and m (its dot products read them with no conversion) */
typedef struct { float d, m; uint8_t qs[QK32 / 2]; } block_q4_1_f32;
/* Q5_0: x[j] = d * (q - 16), q = nibble | bit j of qh (little-endian uint32) << 4 */
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[QK32 / 2]; } block_q5_0;
/* Q5_1: x[j] = d * q + m, q as Q5_0 */
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[QK32 / 2]; } block_q5_1;
/* IQ4_NL: x[j] = d * kvalues_iq4nl[index], indices packed as Q4_0's nibbles */
typedef struct { uint16_t d; uint8_t qs[QK32 / 2]; } block_iq4_nl;
/* Q2_0 (llama.cpp's, block 64): x[j] = d * (q - 1), q = (qs[j / 4] >> 2 (j % 4)) & 3 */
typedef struct { uint16_t d; uint8_t qs[16]; } block_q2_0;
/* MXFP4: x[j] = 2^(e - 128) * kvalues_mxfp4[index]: E8M0 exponent e, then 4-bit E2M1
 * codes packed as Q4_0's nibbles (see mxfp4.c) */
typedef struct { uint8_t e; uint8_t qs[QK32 / 2]; } block_mxfp4;
/* NVFP4 (block 64): 4 sub-blocks of 16, each with a UE4M3 scale d[s]; x = ue4m3_half(d[s]) *
 * kvalues_mxfp4[code]; sub-block s's codes in qs[8s .. 8s+7]: low nibble element 16s + j,
 * high nibble 16s + 8 + j. A tensor may carry a per-tensor f32 scale (nvfp4.c). */
typedef struct { uint8_t d[4]; uint8_t qs[32]; } block_nvfp4;
/* Q1_0 (block 128): x = bit ? d : -d, element j is bit j % 8 of qs[j / 8]. */
typedef struct { uint16_t d; uint8_t qs[16]; } block_q1_0;

/* Q2_K: 16 sub-blocks of 16; scales[k] = scale (low 4 bits) | min (high 4 bits);
 * element 128h + 32j + l (h<2, j<4, l<32) = (qs[32h + l] >> 2j) & 3, sub-block 8h + 2j + l/16;
 * x = d * scale * q - dmin * min. */
typedef struct { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; uint16_t d, dmin; } block_q2_K;
/* Q3_K: 16 sub-blocks of 16, 6-bit scales (minus 32) packed in 12 bytes (see q3_k.c);
 * element 128h + 32j + l: low 2 bits (qs[32h + l] >> 2j) & 3, high bit = hmask[l] bit 4h+j;
 * x = d * (scale - 32) * (low + 4*high - 4). */
typedef struct { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; uint16_t d; } block_q3_K;
/* Q4_K: 8 sub-blocks of 32, 6-bit scale and min per sub-block packed in 12 bytes (q4_k.c);
 * element 64p + l (l<32) = qs[32p + l] & 15 (sub-block 2p), 64p + 32 + l = qs[32p + l] >> 4
 * (sub-block 2p+1); x = d * scale * q - dmin * min. */
typedef struct { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; } block_q4_K;
/* Q5_K: as Q4_K plus a fifth bit: element 64p + l has bit 2p of qh[l], 64p + 32 + l bit 2p+1. */
typedef struct { uint16_t d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; } block_q5_K;
/* Q6_K: 16 sub-blocks of 16 with int8 scales; for half h (128 elements) and l < 32:
 * element 128h + l      = (ql[64h + l] & 15)      | ((qh[32h + l] >> 0) & 3) << 4
 *         128h + 32 + l = (ql[64h + 32 + l] & 15) | ((qh[32h + l] >> 2) & 3) << 4
 *         128h + 64 + l = (ql[64h + l] >> 4)      | ((qh[32h + l] >> 4) & 3) << 4
 *         128h + 96 + l = (ql[64h + 32 + l] >> 4) | ((qh[32h + l] >> 6) & 3) << 4
 * x = d * scales[element / 16] * (q - 32). */
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; } block_q6_K;
/* TQ2_0: x = d * (q - 1), q in 0..2 (3 decodes as 2: ggml's kernels allow it); element
 * 128h + 32l + m (h < 2, l < 4, m < 32) = (qs[32h + m] >> 2l) & 3. */
typedef struct { uint8_t qs[QK_K / 4]; uint16_t d; } block_tq2_0;
/* TQ1_0: x = d * (trit - 1), 5 trits per byte (4 in qh) as base-3 digits scaled to a byte:
 * byte = ceil(v * 256 / 243) for v = sum trit_n 3^(4-n), so trit n of byte b is
 * ((uint8_t)(b * 3^n) * 3) >> 8. Element k: k < 160 trit k/32 of qs[k%32]; k < 240 trit
 * (k-160)/16 of qs[32 + (k-160)%16]; else trit (k-240)/4 of qh[(k-240)%4] (tq1_0.c). */
typedef struct { uint8_t qs[48]; uint8_t qh[4]; uint16_t d; } block_tq1_0;
/* IQ4_XS: 8 sub-blocks of 32, x = d * (l - 32) * kvalues_iq4nl[index]; l (6 bits) of
 * sub-block ib = nibble ib % 2 of scales_l[ib / 2] | bits 2ib..2ib+1 of scales_h << 4;
 * indices of sub-block ib in qs[16 ib ..] packed as Q4_0's nibbles (iq4_xs.c). */
typedef struct { uint16_t d; uint16_t scales_h; uint8_t scales_l[QK_K / 64]; uint8_t qs[QK_K / 2]; } block_iq4_xs;
/* IQ2_XXS: 8 sub-blocks of 8 bytes: 4 grid indices, then 4 x 7 sign bits and a 4-bit scale
 * (iq2_xxs.c). Stored as ggml does, uint16 units. */
typedef struct { uint16_t d; uint16_t qs[QK_K / 8]; } block_iq2_xxs;
/* IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S: sub-block layouts in iq_unpack.h */
typedef struct { uint16_t d; uint16_t qs[QK_K / 8]; uint8_t scales[QK_K / 32]; } block_iq2_xs;
typedef struct { uint16_t d; uint8_t qs[QK_K / 4]; uint8_t qh[QK_K / 32]; uint8_t scales[QK_K / 32]; } block_iq2_s;
typedef struct { uint16_t d; uint8_t qs[3 * QK_K / 8]; } block_iq3_xxs;
typedef struct { uint16_t d; uint8_t qs[QK_K / 4]; uint8_t qh[QK_K / 32]; uint8_t signs[QK_K / 8]; uint8_t scales[QK_K / 64]; } block_iq3_s;
/* IQ1_S, IQ1_M: 11-bit indices into iq1s_grid (values -1, 0, 1) shifted by +-1/8; sub-block
 * layouts in iq_unpack.h. IQ1_M has no d field: its fp16 d is the top nibbles of scales. */
typedef struct { uint16_t d; uint8_t qs[QK_K / 8]; uint16_t qh[QK_K / 32]; } block_iq1_s;
typedef struct { uint8_t qs[QK_K / 8]; uint8_t qh[QK_K / 16]; uint8_t scales[QK_K / 32]; } block_iq1_m;
/* Q8_K: activations of the K-quant dot products; bsums[k] = sum of qs[16k .. 16k+15]. */
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;

/* FP8 (scarce): x[j] = d * fp8_decode(qs[j]), E4M3 or E5M2 by type. */
typedef struct { uint16_t d; uint8_t qs[QK32]; } block_fp8;
/* Q2_0_32 (scarce): x[j] = d * q + m, q = (qs[j % 8] >> 2 * (j / 8)) & 3 (see q2_0_32.c). */
typedef struct { uint16_t d, m; uint8_t qs[QK32 / 4]; } block_q2_0_32;

_Static_assert(sizeof(block_q8_0) == 34, "q8_0");
_Static_assert(sizeof(block_q4_0) == 18, "q4_0");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1");
_Static_assert(sizeof(block_q4_1_f32) == 24, "q4_1_f32");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1");
_Static_assert(sizeof(block_iq4_nl) == 18, "iq4_nl");
_Static_assert(sizeof(block_mxfp4) == 17, "mxfp4");
_Static_assert(sizeof(block_q2_0) == 18, "q2_0");
_Static_assert(sizeof(block_nvfp4) == 36, "nvfp4");
_Static_assert(sizeof(block_q1_0) == 18, "q1_0");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K");
_Static_assert(sizeof(block_iq4_xs) == 136, "iq4_xs");
_Static_assert(sizeof(block_iq2_xxs) == 66, "iq2_xxs");
_Static_assert(sizeof(block_iq2_xs) == 74, "iq2_xs");
_Static_assert(sizeof(block_iq2_s) == 82, "iq2_s");
_Static_assert(sizeof(block_iq3_xxs) == 98, "iq3_xxs");
_Static_assert(sizeof(block_iq3_s) == 110, "iq3_s");
_Static_assert(sizeof(block_iq1_s) == 50, "iq1_s");
_Static_assert(sizeof(block_iq1_m) == 56, "iq1_m");
_Static_assert(sizeof(block_tq2_0) == 66, "tq2_0");
_Static_assert(sizeof(block_tq1_0) == 54, "tq1_0");
_Static_assert(sizeof(block_fp8) == 34, "fp8");
_Static_assert(sizeof(block_q2_0_32) == 12, "q2_0_32");

/* ggml's fixed non-linear 4-bit grid of IQ4_NL. */
static const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                         1,    13,   25,  38,  53,  69,  89,  113};

/* The 16 E2M1 (FP4) values doubled, so they are integers: code = sign bit (8) | 3-bit
 * magnitude 0, 0.5, 1, 1.5, 2, 3, 4, 6 (times 2). As ggml, which halves the block scale to
 * match (e8m0_half). */
static const int8_t kvalues_mxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

/* Half of the E8M0 scale 2^(e - 127), i.e. 2^(e - 128), exactly (as ggml's
 * GGML_E8M0_TO_FP32_HALF): e = 0 and 1 are the denormals 2^-128 and 2^-127, e = 255 is
 * 2^127 (ggml keeps it a number; OCP's NaN code is not used). */
static inline float e8m0_half(uint8_t e) {
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Half of an unsigned E4M3 (UE4M3) scale, halved like e8m0_half to go with the doubled
 * kvalues_mxfp4 (as ggml's ggml_ue4m3_to_fp32): 4 exponent bits (bias 7), 3 mantissa bits,
 * exponent 0 denormal (m 2^-9); codes 0 and 0x7F (NaN in E4M3) are 0. Exact in float. */
static inline float ue4m3_half(uint8_t c) {
    if (c == 0 || c == 0x7F) return 0.0f;
    int e = (c >> 3) & 0xF, m = c & 7;
    if (e == 0) return (float)m / 1024.0f; /* m 2^-9, halved */
    float v = (float)(8 + m) / 16.0f;      /* (1 + m / 8) / 2, times 2^(e - 7): */
    for (int k = e; k > 7; k--) v *= 2.0f;
    for (int k = e; k < 7; k++) v *= 0.5f;
    return v;
}

/* TQ1_0: trit n (0 = the most significant base-3 digit) of a packed byte. */
static inline int tq1_trit(uint8_t b, int n) {
    static const uint8_t pow3[5] = {1, 3, 9, 27, 81};
    return ((uint8_t)(b * pow3[n]) * 3) >> 8;
}
/* TQ1_0: where element k (0..255) of a block is: returns the byte position (0..47 in qs,
 * 48..51 for qh[0..3]) and sets its trit (see block_tq1_0). */
static inline int tq1_pos(int k, int *trit) {
    if (k < 160) return *trit = k / 32, k % 32;
    if (k < 240) return *trit = (k - 160) / 16, 32 + (k - 160) % 16;
    return *trit = (k - 240) / 4, 48 + (k - 240) % 4;
}
static inline uint8_t tq1_byte(const block_tq1_0 *b, int pos) {
    return pos < 48 ? b->qs[pos] : b->qh[pos - 48];
}

/* Q4_K / Q5_K: the 6-bit scale and min of sub-block j (0..7) from the 12 packed bytes:
 * j < 4: low 6 bits of bytes j and j+4; j >= 4: low nibble / high nibble of byte j+4 with
 * the top 2 bits taken from bytes j-4 (scale) and j (min). */
static inline void k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

/* IQ4_XS: the 6-bit scale code l (0..63, value l - 32) of sub-block ib (0..7). */
static inline int iq4xs_scale(const block_iq4_xs *b, int ib) {
    return ((b->scales_l[ib / 2] >> 4 * (ib % 2)) & 0xF) | ((b->scales_h >> 2 * ib) & 3) << 4;
}

/* Q3_K: the 6-bit scale code (0..63, value = code - 32) of sub-block j (0..15): low 4 bits
 * from byte j (j < 8, low nibble) or j-8 (high nibble), high 2 bits from byte 8 + j%4 at
 * bit 2*(j/4). */
static inline int k3_scale(int j, const uint8_t *s) {
    int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
    int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return lo | hi << 4;
}

#endif
