/* avx512_emu.h - scalar models of the AVX-512 intrinsics the kernels/x86/avx512_*.c files
 * use, so that `make test-emu512` can run the AVX-512 kernel tests on a CPU without
 * AVX-512 (the files are then compiled for AVX2 with this header forced in first).
 *
 * What it checks: the kernels' logic (layouts, lanes, offsets, tails, integer bounds, the
 * float operations) against the scalar references. What it does not: that the hardware
 * instructions behave as these models (each is written from Intel's description, quoted
 * in its comment), nor speed. A kernel that starts using an intrinsic not modelled here
 * fails to compile in that build (its AVX-512 inline cannot be inlined into AVX2 code):
 * add the model. */
#ifndef SCARCE_AVX512_EMU_H
#define SCARCE_AVX512_EMU_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef union {
    __m128i v;
    int8_t s8[16];
} emu128;
typedef union {
    __m256i v;
    uint8_t u8[32];
    int8_t s8[32];
    uint16_t u16[16];
    int16_t s16[16];
    int32_t s32[8];
} emu256;
typedef union {
    __m512i v;
    uint8_t u8[64];
    uint16_t u16[32];
    int32_t s32[16];
    int64_t s64[8];
} emu512i;
typedef union {
    __m512 v;
    float f[16];
} emu512;

/* vpdpbusd: "multiply groups of 4 adjacent pairs of unsigned 8-bit integers in a with
 * corresponding signed 8-bit integers in b ... sum these 4 results with the corresponding
 * 32-bit integer in src" (no saturation: wraps) */
static inline __m256i emu_dpbusd(__m256i src, __m256i a, __m256i b) {
    emu256 r = {src}, x = {a}, y = {b};
    for (int i = 0; i < 8; i++) {
        int32_t t = 0;
        for (int k = 0; k < 4; k++) t += (int32_t)x.u8[4 * i + k] * y.s8[4 * i + k];
        r.s32[i] = (int32_t)((uint32_t)r.s32[i] + (uint32_t)t);
    }
    return r.v;
}

/* vpdpwssd: "multiply groups of 2 adjacent pairs of signed 16-bit integers in a with
 * corresponding 16-bit integers in b ... sum these 2 results with the corresponding 32-bit
 * integer in src" (no saturation) */
static inline __m256i emu_dpwssd(__m256i src, __m256i a, __m256i b) {
    emu256 r = {src}, x = {a}, y = {b};
    for (int i = 0; i < 8; i++) {
        uint32_t t = (uint32_t)(x.s16[2 * i] * y.s16[2 * i]) +
                     (uint32_t)(x.s16[2 * i + 1] * y.s16[2 * i + 1]);
        r.s32[i] = (int32_t)((uint32_t)r.s32[i] + t);
    }
    return r.v;
}

/* byte i of a where bit i of k is set, else 0 */
static inline __m256i emu_maskz_mov_epi8(__mmask32 k, __m256i a) {
    emu256 r = {a};
    for (int i = 0; i < 32; i++)
        if (!((k >> i) & 1)) r.s8[i] = 0;
    return r.v;
}

/* bit i set where byte i of a equals byte i of b */
static inline __mmask32 emu_cmpeq_epi8_mask(__m256i a, __m256i b) {
    emu256 x = {a}, y = {b};
    __mmask32 k = 0;
    for (int i = 0; i < 32; i++)
        if (x.u8[i] == y.u8[i]) k |= (__mmask32)1 << i;
    return k;
}

/* masked loads: lanes whose bit is clear are 0 and their memory is not read */
static inline __m256i emu_maskz_loadu_epi16(__mmask16 k, const void *p) {
    emu256 r;
    for (int i = 0; i < 16; i++) {
        uint16_t v = 0;
        if ((k >> i) & 1) memcpy(&v, (const char *)p + 2 * i, 2);
        r.u16[i] = v;
    }
    return r.v;
}
static inline __m512 emu_maskz_loadu_ps(__mmask16 k, const void *p) {
    emu512 r;
    for (int i = 0; i < 16; i++) {
        r.f[i] = 0;
        if ((k >> i) & 1) memcpy(&r.f[i], (const char *)p + 4 * i, 4);
    }
    return r.v;
}
static inline __m512 emu_loadu_ps(const void *p) {
    emu512 r;
    memcpy(r.f, p, 64);
    return r.v;
}

/* float lane operations (fmadd: one rounding, as fmaf) */
static inline __m512 emu_set1_ps(float f) {
    emu512 r;
    for (int i = 0; i < 16; i++) r.f[i] = f;
    return r.v;
}
static inline __m512 emu_setzero_ps(void) {
    return emu_set1_ps(0.0f);
}
static inline __m512 emu_abs_ps(__m512 a) {
    emu512 r = {a};
    for (int i = 0; i < 16; i++) r.f[i] = fabsf(r.f[i]);
    return r.v;
}
/* maxps: the second operand when either is NaN or both are zero */
static inline __m512 emu_max_ps(__m512 a, __m512 b) {
    emu512 x = {a}, y = {b};
    for (int i = 0; i < 16; i++) x.f[i] = x.f[i] > y.f[i] ? x.f[i] : y.f[i];
    return x.v;
}
static inline __m512 emu_add_ps(__m512 a, __m512 b) {
    emu512 x = {a}, y = {b};
    for (int i = 0; i < 16; i++) x.f[i] += y.f[i];
    return x.v;
}
static inline __m512 emu_mul_ps(__m512 a, __m512 b) {
    emu512 x = {a}, y = {b};
    for (int i = 0; i < 16; i++) x.f[i] *= y.f[i];
    return x.v;
}
static inline __m512 emu_fmadd_ps(__m512 a, __m512 b, __m512 c) {
    emu512 x = {a}, y = {b}, z = {c};
    for (int i = 0; i < 16; i++) x.f[i] = fmaf(x.f[i], y.f[i], z.f[i]);
    return x.v;
}
/* reductions: the order of the additions differs from gcc's shuffle tree (results agree
 * to rounding; the tests allow for float order) */
static inline float emu_reduce_add_ps(__m512 a) {
    emu512 x = {a};
    float s = 0;
    for (int i = 0; i < 16; i++) s += x.f[i];
    return s;
}
static inline float emu_reduce_max_ps(__m512 a) {
    emu512 x = {a};
    float m = x.f[0];
    for (int i = 1; i < 16; i++) m = m > x.f[i] ? m : x.f[i];
    return m;
}
static inline int emu_reduce_add_epi32(__m512i a) {
    emu512i x = {a};
    uint32_t s = 0;
    for (int i = 0; i < 16; i++) s += (uint32_t)x.s32[i];
    return (int)s;
}

/* conversions: cvtps2dq rounds to nearest even (the default MXCSR mode, as lrintf);
 * vpmovsdb saturates to [-128, 127]; vcvtph2ps is exact */
static inline __m512i emu_cvtps_epi32(__m512 a) {
    emu512 x = {a};
    emu512i r;
    for (int i = 0; i < 16; i++) r.s32[i] = (int32_t)lrintf(x.f[i]);
    return r.v;
}
/* vpminsd: "compare packed signed 32-bit integers in a and b, and store packed minimum" */
static inline __m512i emu_min_epi32(__m512i a, __m512i b) {
    emu512i x = {a}, y = {b}, r;
    for (int i = 0; i < 16; i++) r.s32[i] = x.s32[i] < y.s32[i] ? x.s32[i] : y.s32[i];
    return r.v;
}
static inline __m128i emu_cvtsepi32_epi8(__m512i a) {
    emu512i x = {a};
    emu128 r;
    for (int i = 0; i < 16; i++)
        r.s8[i] = (int8_t)(x.s32[i] > 127 ? 127 : x.s32[i] < -128 ? -128 : x.s32[i]);
    return r.v;
}
static inline __m512 emu_cvtph_ps(__m256i h) {
    emu256 x = {h};
    emu512 r;
    for (int i = 0; i < 16; i++) r.f[i] = _cvtsh_ss(x.u16[i]);
    return r.v;
}
static inline __m512i emu_cvtepu16_epi32(__m256i a) {
    emu256 x = {a};
    emu512i r;
    for (int i = 0; i < 16; i++) r.s32[i] = x.u16[i];
    return r.v;
}
static inline __m512i emu_cvtepu8_epi16(__m256i a) {
    emu256 x = {a};
    emu512i r;
    for (int i = 0; i < 32; i++) r.u16[i] = x.u8[i];
    return r.v;
}

/* integer lane operations and casts */
static inline __m512i emu_slli_epi32(__m512i a, unsigned k) {
    emu512i x = {a};
    for (int i = 0; i < 16; i++) x.s32[i] = k > 31 ? 0 : (int32_t)((uint32_t)x.s32[i] << k);
    return x.v;
}
static inline __m512i emu_slli_epi16(__m512i a, unsigned k) {
    emu512i x = {a};
    for (int i = 0; i < 32; i++) x.u16[i] = k > 15 ? 0 : (uint16_t)(x.u16[i] << k);
    return x.v;
}
static inline __m512i emu_srai_epi16(__m512i a, unsigned k) {
    emu512i x = {a};
    for (int i = 0; i < 32; i++) x.u16[i] = (uint16_t)((int16_t)x.u16[i] >> (k > 15 ? 15 : k));
    return x.v;
}
static inline __m512i emu_and_si512(__m512i a, __m512i b) {
    emu512i x = {a}, y = {b};
    for (int i = 0; i < 16; i++) x.s32[i] &= y.s32[i];
    return x.v;
}
static inline __m512i emu_set1_epi16(short v) {
    emu512i r;
    for (int i = 0; i < 32; i++) r.u16[i] = (uint16_t)v;
    return r.v;
}
static inline __m512i emu_set1_epi32(int v) {
    emu512i r;
    for (int i = 0; i < 16; i++) r.s32[i] = v;
    return r.v;
}
static inline __m512 emu_castsi512_ps(__m512i a) {
    emu512 r;
    memcpy(&r, &a, 64);
    return r.v;
}
static inline __m256i emu_castsi512_si256(__m512i a) {
    emu256 r;
    memcpy(&r, &a, 32);
    return r.v;
}
static inline __m256i emu_extracti64x4_epi64(__m512i a, int upper) {
    emu256 r;
    memcpy(&r, (const char *)&a + 32 * (upper & 1), 32);
    return r.v;
}

/* byte tables (the LUT kernels, avx512_lut.c) */
/* vpshufb: "shuffle 8-bit integers in a within 128-bit lanes using shuffle control mask in
 * the corresponding 8-bit element of b" (a control byte with bit 7 set gives 0) */
static inline __m512i emu_shuffle_epi8(__m512i a, __m512i b) {
    emu512i x = {a}, y = {b}, r;
    for (int i = 0; i < 64; i++)
        r.u8[i] = y.u8[i] & 0x80 ? 0 : x.u8[i / 16 * 16 + (y.u8[i] & 15)];
    return r.v;
}
/* vpunpcklbw / vpunpckhbw: "unpack and interleave 8-bit integers from the low (high) half
 * of each 128-bit lane in a and b" */
static inline __m512i emu_unpack_epi8(__m512i a, __m512i b, int high) {
    emu512i x = {a}, y = {b}, r;
    for (int lane = 0; lane < 4; lane++)
        for (int j = 0; j < 8; j++) {
            r.u8[16 * lane + 2 * j] = x.u8[16 * lane + 8 * high + j];
            r.u8[16 * lane + 2 * j + 1] = y.u8[16 * lane + 8 * high + j];
        }
    return r.v;
}
static inline __m512i emu_unpacklo_epi8(__m512i a, __m512i b) { return emu_unpack_epi8(a, b, 0); }
static inline __m512i emu_unpackhi_epi8(__m512i a, __m512i b) { return emu_unpack_epi8(a, b, 1); }
static inline __m512i emu_add_epi16(__m512i a, __m512i b) {
    emu512i x = {a}, y = {b};
    for (int i = 0; i < 32; i++) x.u16[i] = (uint16_t)(x.u16[i] + y.u16[i]);
    return x.v;
}
static inline __m512i emu_srli_epi16(__m512i a, unsigned k) {
    emu512i x = {a};
    for (int i = 0; i < 32; i++) x.u16[i] = k > 15 ? 0 : (uint16_t)(x.u16[i] >> k);
    return x.v;
}
static inline __m512i emu_set1_epi8(char v) {
    emu512i r;
    memset(r.u8, (unsigned char)v, 64);
    return r.v;
}
static inline __m512i emu_setzero_si512(void) { return emu_set1_epi8(0); }
static inline __m512i emu_loadu_si512(const void *p) {
    emu512i r;
    memcpy(r.u8, p, 64);
    return r.v;
}
/* _mm512_set_epi64: e7 is the highest element */
static inline __m512i emu_set_epi64(long long e7, long long e6, long long e5, long long e4,
                                    long long e3, long long e2, long long e1, long long e0) {
    emu512i r = {.s64 = {e0, e1, e2, e3, e4, e5, e6, e7}};
    return r.v;
}
/* vpermq (512): "shuffle 64-bit integers in a across lanes using the corresponding index
 * in idx" (low 3 bits) */
static inline __m512i emu_permutexvar_epi64(__m512i idx, __m512i a) {
    emu512i i = {idx}, x = {a}, r;
    for (int k = 0; k < 8; k++) r.s64[k] = x.s64[i.s64[k] & 7];
    return r.v;
}
/* the upper 256 bits are undefined in Intel's description; the model zeroes them */
static inline __m512i emu_castsi256_si512(__m256i a) {
    emu512i r = {.s64 = {0}};
    memcpy(r.u8, &a, 32);
    return r.v;
}
/* vpblendmd: "blend packed 32-bit integers from a and b using control mask k" (b where set) */
static inline __m512i emu_mask_blend_epi32(__mmask16 k, __m512i a, __m512i b) {
    emu512i x = {a}, y = {b};
    for (int i = 0; i < 16; i++)
        if ((k >> i) & 1) x.s32[i] = y.s32[i];
    return x.v;
}

/* the 512-bit block-32 kernels (avx512_repack.c, avx512_tile.c) */
/* vpdpbusd (512): emu_dpbusd on each 256-bit half */
static inline __m512i emu_dpbusd512(__m512i src, __m512i a, __m512i b) {
    __m256i r[2];
    for (int h = 0; h < 2; h++)
        r[h] = emu_dpbusd(emu_extracti64x4_epi64(src, h), emu_extracti64x4_epi64(a, h),
                          emu_extracti64x4_epi64(b, h));
    emu512i o;
    memcpy(o.u8, &r[0], 32), memcpy(o.u8 + 32, &r[1], 32);
    return o.v;
}
/* vpdpwssd (512): emu_dpwssd on each 256-bit half (the Q2_K pair tile, avx512_repack_q2k.c) */
static inline __m512i emu_dpwssd512(__m512i src, __m512i a, __m512i b) {
    __m256i r[2];
    for (int h = 0; h < 2; h++)
        r[h] = emu_dpwssd(emu_extracti64x4_epi64(src, h), emu_extracti64x4_epi64(a, h),
                          emu_extracti64x4_epi64(b, h));
    emu512i o;
    memcpy(o.u8, &r[0], 32), memcpy(o.u8 + 32, &r[1], 32);
    return o.v;
}
static inline __m512i emu_srai_epi32(__m512i a, unsigned k) {
    emu512i x = {a};
    for (int i = 0; i < 16; i++) x.s32[i] >>= k > 31 ? 31 : k;
    return x.v;
}
static inline __m512 emu_sub_ps(__m512 a, __m512 b) {
    emu512 x = {a}, y = {b};
    for (int i = 0; i < 16; i++) x.f[i] -= y.f[i];
    return x.v;
}
/* vpermd (512): "shuffle 32-bit integers in a across lanes using the corresponding index in
 * idx" (low 4 bits) */
static inline __m512i emu_permutexvar_epi32(__m512i idx, __m512i a) {
    emu512i i = {idx}, x = {a}, r;
    for (int k = 0; k < 16; k++) r.s32[k] = x.s32[i.s32[k] & 15];
    return r.v;
}
static inline __m512i emu_xor_si512(__m512i a, __m512i b) {
    emu512i x = {a}, y = {b};
    for (int i = 0; i < 8; i++) x.s64[i] ^= y.s64[i];
    return x.v;
}
/* vshufi64x2: "shuffle 128-bits (composed of 2 64-bit integers) selected by imm8 from a and
 * b": lanes 0, 1 from a (imm bits 1:0, 3:2), lanes 2, 3 from b (bits 5:4, 7:6) */
static inline __m512i emu_shuffle_i64x2(__m512i a, __m512i b, int imm) {
    emu512i x = {a}, y = {b}, r;
    for (int l = 0; l < 4; l++)
        memcpy(r.u8 + 16 * l, (l < 2 ? x.u8 : y.u8) + 16 * ((imm >> (2 * l)) & 3), 16);
    return r.v;
}
static inline __m512i emu_add_epi32(__m512i a, __m512i b) {
    emu512i x = {a}, y = {b};
    for (int i = 0; i < 16; i++) x.s32[i] = (int32_t)((uint32_t)x.s32[i] + (uint32_t)y.s32[i]);
    return x.v;
}
static inline __m512i emu_sub_epi32(__m512i a, __m512i b) {
    emu512i x = {a}, y = {b};
    for (int i = 0; i < 16; i++) x.s32[i] = (int32_t)((uint32_t)x.s32[i] - (uint32_t)y.s32[i]);
    return x.v;
}
/* vcvtdq2ps: round to nearest even, as the C conversion in the default rounding mode */
static inline __m512 emu_cvtepi32_ps(__m512i a) {
    emu512i x = {a};
    emu512 r;
    for (int i = 0; i < 16; i++) r.f[i] = (float)x.s32[i];
    return r.v;
}
static inline void emu_storeu_ps(float *p, __m512 a) { memcpy(p, &a, 64); }
/* vinserti64x4: a with its 256-bit half imm replaced by b */
static inline __m512i emu_inserti64x4(__m512i a, __m256i b, int imm) {
    emu512i x = {a};
    memcpy(x.u8 + 32 * (imm & 1), &b, 32);
    return x.v;
}
/* vpsrlw with a merge mask: 16-bit element i shifted where bit i of k is set, src's else */
static inline __m512i emu_mask_srli_epi16(__m512i src, __mmask32 k, __m512i a, unsigned n) {
    emu512i r = {src}, x = {a};
    for (int i = 0; i < 32; i++)
        if ((k >> i) & 1) r.u16[i] = n > 15 ? 0 : (uint16_t)(x.u16[i] >> n);
    return r.v;
}
static inline __m512i emu_broadcast_i32x4(__m128i a) {
    emu512i r;
    for (int l = 0; l < 4; l++) memcpy(r.u8 + 16 * l, &a, 16);
    return r.v;
}
static inline __m512i emu_broadcast_i64x4(__m256i a) {
    emu512i r;
    for (int h = 0; h < 2; h++) memcpy(r.u8 + 32 * h, &a, 32);
    return r.v;
}
/* kunpckdq: "unpack and interleave 32 bits from masks a and b": b in bits 31:0, a in 63:32 */
static inline __mmask64 emu_kunpackd(__mmask64 a, __mmask64 b) {
    return (__mmask64)(((uint64_t)a << 32) | (uint32_t)b);
}
/* vpternlogd: bit j of the result is bit (a_j << 2 | b_j << 1 | c_j) of imm */
static inline __m512i emu_ternarylogic_epi32(__m512i a, __m512i b, __m512i c, int imm) {
    emu512i x = {a}, y = {b}, z = {c}, r;
    for (int i = 0; i < 64; i++) {
        uint8_t o = 0;
        for (int j = 0; j < 8; j++) {
            int at = ((x.u8[i] >> j) & 1) << 2 | ((y.u8[i] >> j) & 1) << 1 | ((z.u8[i] >> j) & 1);
            o |= (uint8_t)(((imm >> at) & 1) << j);
        }
        r.u8[i] = o;
    }
    return r.v;
}
/* vmovdqu8 with a zero mask: byte i of a where bit i of k is set, else 0 */
static inline __m512i emu_maskz_mov_epi8_512(__mmask64 k, __m512i a) {
    emu512i r = {a};
    for (int i = 0; i < 64; i++)
        if (!((k >> i) & 1)) r.u8[i] = 0;
    return r.v;
}
static inline __m256 emu_castps512_ps256(__m512 a) {
    __m256 r;
    memcpy(&r, &a, 32);
    return r;
}
static inline __m256 emu_extractf32x8_ps(__m512 a, int upper) {
    __m256 r;
    memcpy(&r, (const char *)&a + 32 * (upper & 1), 32);
    return r;
}
/* _mm512_set_epi32: e15 is the highest element */
static inline __m512i emu_set_epi32(int e15, int e14, int e13, int e12, int e11, int e10, int e9,
                                    int e8, int e7, int e6, int e5, int e4, int e3, int e2, int e1,
                                    int e0) {
    emu512i r = {.s32 = {e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15}};
    return r.v;
}

/* The intrinsics (some are macros in gcc's headers when not optimizing) become the models. */
#undef _mm256_dpbusd_epi32
#define _mm256_dpbusd_epi32 emu_dpbusd
#undef _mm256_dpwssd_epi32
#define _mm256_dpwssd_epi32 emu_dpwssd
#undef _mm256_maskz_mov_epi8
#define _mm256_maskz_mov_epi8 emu_maskz_mov_epi8
#undef _mm256_cmpeq_epi8_mask
#define _mm256_cmpeq_epi8_mask emu_cmpeq_epi8_mask
#undef _mm256_maskz_loadu_epi16
#define _mm256_maskz_loadu_epi16 emu_maskz_loadu_epi16
#undef _mm512_maskz_loadu_ps
#define _mm512_maskz_loadu_ps emu_maskz_loadu_ps
#undef _mm512_loadu_ps
#define _mm512_loadu_ps emu_loadu_ps
#undef _mm512_set1_ps
#define _mm512_set1_ps emu_set1_ps
#undef _mm512_setzero_ps
#define _mm512_setzero_ps emu_setzero_ps
#undef _mm512_abs_ps
#define _mm512_abs_ps emu_abs_ps
#undef _mm512_max_ps
#define _mm512_max_ps emu_max_ps
#undef _mm512_add_ps
#define _mm512_add_ps emu_add_ps
#undef _mm512_mul_ps
#define _mm512_mul_ps emu_mul_ps
#undef _mm512_fmadd_ps
#define _mm512_fmadd_ps emu_fmadd_ps
#undef _mm512_reduce_add_ps
#define _mm512_reduce_add_ps emu_reduce_add_ps
#undef _mm512_reduce_max_ps
#define _mm512_reduce_max_ps emu_reduce_max_ps
#undef _mm512_reduce_add_epi32
#define _mm512_reduce_add_epi32 emu_reduce_add_epi32
#undef _mm512_set1_epi32
#define _mm512_set1_epi32 emu_set1_epi32
#undef _mm512_min_epi32
#define _mm512_min_epi32 emu_min_epi32
#undef _mm512_cvtps_epi32
#define _mm512_cvtps_epi32 emu_cvtps_epi32
#undef _mm512_cvtsepi32_epi8
#define _mm512_cvtsepi32_epi8 emu_cvtsepi32_epi8
#undef _mm512_cvtph_ps
#define _mm512_cvtph_ps emu_cvtph_ps
#undef _mm512_cvtepu16_epi32
#define _mm512_cvtepu16_epi32 emu_cvtepu16_epi32
#undef _mm512_cvtepu8_epi16
#define _mm512_cvtepu8_epi16 emu_cvtepu8_epi16
#undef _mm512_slli_epi32
#define _mm512_slli_epi32 emu_slli_epi32
#undef _mm512_slli_epi16
#define _mm512_slli_epi16 emu_slli_epi16
#undef _mm512_srai_epi16
#define _mm512_srai_epi16 emu_srai_epi16
#undef _mm512_and_si512
#define _mm512_and_si512 emu_and_si512
#undef _mm512_set1_epi16
#define _mm512_set1_epi16 emu_set1_epi16
#undef _mm512_castsi512_ps
#define _mm512_castsi512_ps emu_castsi512_ps
#undef _mm512_castsi512_si256
#define _mm512_castsi512_si256 emu_castsi512_si256
#undef _mm512_extracti64x4_epi64
#define _mm512_extracti64x4_epi64 emu_extracti64x4_epi64

#undef _mm512_shuffle_epi8
#define _mm512_shuffle_epi8 emu_shuffle_epi8
#undef _mm512_unpacklo_epi8
#define _mm512_unpacklo_epi8 emu_unpacklo_epi8
#undef _mm512_unpackhi_epi8
#define _mm512_unpackhi_epi8 emu_unpackhi_epi8
#undef _mm512_add_epi16
#define _mm512_add_epi16 emu_add_epi16
#undef _mm512_srli_epi16
#define _mm512_srli_epi16 emu_srli_epi16
#undef _mm512_set1_epi8
#define _mm512_set1_epi8 emu_set1_epi8
#undef _mm512_setzero_si512
#define _mm512_setzero_si512 emu_setzero_si512
#undef _mm512_loadu_si512
#define _mm512_loadu_si512 emu_loadu_si512
#undef _mm512_set_epi64
#define _mm512_set_epi64 emu_set_epi64
#undef _mm512_permutexvar_epi64
#define _mm512_permutexvar_epi64 emu_permutexvar_epi64
#undef _mm512_castsi256_si512
#define _mm512_castsi256_si512 emu_castsi256_si512
#undef _mm512_mask_blend_epi32
#define _mm512_mask_blend_epi32 emu_mask_blend_epi32

#undef _mm512_dpbusd_epi32
#define _mm512_dpbusd_epi32 emu_dpbusd512
#undef _mm512_dpwssd_epi32
#define _mm512_dpwssd_epi32 emu_dpwssd512
#undef _mm512_srai_epi32
#define _mm512_srai_epi32 emu_srai_epi32
#undef _mm512_sub_ps
#define _mm512_sub_ps emu_sub_ps
#undef _mm512_permutexvar_epi32
#define _mm512_permutexvar_epi32 emu_permutexvar_epi32
#undef _mm512_xor_si512
#define _mm512_xor_si512 emu_xor_si512
#undef _mm512_shuffle_i64x2
#define _mm512_shuffle_i64x2 emu_shuffle_i64x2
#undef _mm512_add_epi32
#define _mm512_add_epi32 emu_add_epi32
#undef _mm512_sub_epi32
#define _mm512_sub_epi32 emu_sub_epi32
#undef _mm512_cvtepi32_ps
#define _mm512_cvtepi32_ps emu_cvtepi32_ps
#undef _mm512_storeu_ps
#define _mm512_storeu_ps emu_storeu_ps
#undef _mm512_inserti64x4
#define _mm512_inserti64x4 emu_inserti64x4
#undef _mm512_mask_srli_epi16
#define _mm512_mask_srli_epi16 emu_mask_srli_epi16
#undef _mm512_broadcast_i32x4
#define _mm512_broadcast_i32x4 emu_broadcast_i32x4
#undef _mm512_broadcast_i64x4
#define _mm512_broadcast_i64x4 emu_broadcast_i64x4
#undef _mm512_kunpackd
#define _mm512_kunpackd emu_kunpackd
#undef _mm512_ternarylogic_epi32
#define _mm512_ternarylogic_epi32 emu_ternarylogic_epi32
#undef _mm512_maskz_mov_epi8
#define _mm512_maskz_mov_epi8 emu_maskz_mov_epi8_512
#undef _mm512_castps512_ps256
#define _mm512_castps512_ps256 emu_castps512_ps256
#undef _mm512_extractf32x8_ps
#define _mm512_extractf32x8_ps emu_extractf32x8_ps
#undef _mm512_set_epi32
#define _mm512_set_epi32 emu_set_epi32

#endif
