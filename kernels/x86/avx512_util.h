/* avx512_util.h - small VNNI helpers shared by the kernels/x86/avx512_*.c files (compiled with
 * -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni; see the Makefile). */
#ifndef SCARCE_AVX512_UTIL_H
#define SCARCE_AVX512_UTIL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "avx2_util.h" /* bcast4, half_f16c, hsum_f32x8: AVX2 instructions, fine here */

/* Bit i of the 32-bit qh as 0x10 in byte i (the fifth bit of Q5 codes), else 0: a mask
 * register holds the 32 bits as they are (AVX512BW). */
static inline __m256i q5_fifth_bits_k(const uint8_t *qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    return _mm256_maskz_mov_epi8((__mmask32)bits, _mm256_set1_epi8(0x10));
}

/* acc + 8 int32 lanes of sum(u8[i] * s8[i]) over groups of 4 bytes: vpdpbusd. Unlike
 * maddubs there is no int16 intermediate: exact for every u8 and s8 code. */
static inline __m256i dpbusd(__m256i acc, __m256i u, __m256i s) {
    return _mm256_dpbusd_epi32(acc, u, s);
}

/* dpbusd(acc, u, the dword at p in every lane), the dword as the EVEX form's {1to8}
 * broadcast memory operand: for _mm256_set1_epi32 of a load, gcc 12 emits a separate
 * vpbroadcastd and the VEX vpdpbusd (the q4_kx8 tile: 4.48 -> 3.50 instructions per 32
 * weights). test-emu512's model takes the intrinsics. */
static inline __m256i dpbusd_bcast(__m256i acc, __m256i u, const int8_t *p) {
#ifdef SCARCE_AVX512_EMU_H
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_dpbusd_epi32(acc, u, _mm256_set1_epi32(v));
#else
    __asm__("vpdpbusd %2%{1to8%}, %1, %0" : "+v"(acc) : "v"(u), "m"(*(const int32_t *)p));
    return acc;
#endif
}

/* 16 rows of a pair of 8-row groups (the Q2_K and Q4_K pair tiles): lanes 0-7 (bytes 0-31)
 * from p0, lanes 8-15 from p1. */
static inline __m512i load_pair(const uint8_t *p0, const uint8_t *p1) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p0)),
                              _mm256_loadu_si256((const __m256i *)p1), 1);
}

/* dpbusd of 16 lanes against the dword at p in every lane ({1to16}, as dpbusd_bcast). */
static inline __m512i dpbusd16_bcast(__m512i acc, __m512i u, const int8_t *p) {
#ifdef SCARCE_AVX512_EMU_H
    int32_t v;
    memcpy(&v, p, 4);
    return _mm512_dpbusd_epi32(acc, u, _mm512_set1_epi32(v));
#else
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(u), "m"(*(const int32_t *)p));
    return acc;
#endif
}

/* acc + 8 int32 lanes of s16 pairs a[2i] b[2i] + a[2i+1] b[2i+1]: vpdpwssd (madd + add). */
static inline __m256i dpwssd(__m256i acc, __m256i a, __m256i b) {
    return _mm256_dpwssd_epi32(acc, a, b);
}

/* 8 int32 lanes of partial sums of the 32 signed bytes y (4 bytes a lane). */
static inline __m256i sum_s8(__m256i y) {
    return dpbusd(_mm256_setzero_si256(), _mm256_set1_epi8(1), y);
}

/* 16 weights of each float kind as 16 floats; the masked forms load lanes of `mask` only
 * (masked-off lanes read nothing and give 0). */
static inline __m512 load16_f32(const void *p) {
    return _mm512_loadu_ps(p);
}
static inline __m512 load16_f16(const void *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}
static inline __m512 load16_bf16(const void *p) {
    __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}
static inline __m512 load16_f32_mask(const void *p, __mmask16 mask) {
    return _mm512_maskz_loadu_ps(mask, p);
}
static inline __m512 load16_f16_mask(const void *p, __mmask16 mask) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p));
}
static inline __m512 load16_bf16_mask(const void *p, __mmask16 mask) {
    __m512i u = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}

#endif
