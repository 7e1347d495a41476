/* avx512_util.h - small helpers shared by the kernels/x86/avx512_*.c files (compiled with
 * -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni; see the Makefile). */
#ifndef SCARCE_AVX512_UTIL_H
#define SCARCE_AVX512_UTIL_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* 4 bytes at p (any alignment) in every 32-bit lane of a 256-bit register. */
static inline __m256i bcast4_256(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* IEEE half -> float (exact). */
static inline float half_to_f32(uint16_t h) { return _cvtsh_ss(h); }

/* Sum of 8 float lanes, in the order hsum_f32x8 (avx2_util.h) uses. */
static inline float hsum8_f32(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* acc + 8 int32 lanes of sum(u8[i] * s8[i]) over groups of 4 bytes: vpdpbusd. Unlike
 * maddubs there is no int16 intermediate: exact for every u8 and s8 code. */
static inline __m256i dpbusd(__m256i acc, __m256i u, __m256i s) {
    return _mm256_dpbusd_epi32(acc, u, s);
}

/* acc + 8 int32 lanes of s16 pairs a[2i] b[2i] + a[2i+1] b[2i+1]: vpdpwssd (madd + add). */
static inline __m256i dpwssd(__m256i acc, __m256i a, __m256i b) {
    return _mm256_dpwssd_epi32(acc, a, b);
}

/* 32 signed bytes x 32 signed bytes -> 8 int32 lanes, exact for every code (-128 too):
 * sum x y = sum (x + 128) y - 128 sum y, x + 128 = x ^ 0x80 read unsigned. */
static inline __m256i dot_s8s8(__m256i x, __m256i y) {
    const __m256i bias = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi8(1);
    __m256i biased = dpbusd(_mm256_setzero_si256(), _mm256_xor_si256(x, bias), y);
    __m256i ysum = dpbusd(_mm256_setzero_si256(), ones, y);
    return _mm256_sub_epi32(biased, _mm256_slli_epi32(ysum, 7));
}

/* 8 int32 lanes of partial sums of the 32 signed bytes y (4 bytes a lane). */
static inline __m256i sum_s8(__m256i y) {
    return dpbusd(_mm256_setzero_si256(), _mm256_set1_epi8(1), y);
}

#endif
