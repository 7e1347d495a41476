/* avx2_util.h - small AVX2 helpers shared by the kernels/x86/avx2_*.c files. */
#ifndef SCARCE_AVX2_UTIL_H
#define SCARCE_AVX2_UTIL_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bit i of the 32-bit qh as 0x10 in byte i (the fifth bit of Q5 codes), else 0. */
static inline __m256i q5_fifth_bits(const uint8_t *qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    __m256i v = _mm256_set1_epi32((int)bits);
    /* byte i takes byte i/8 of bits, then tests its bit i%8 */
    const __m256i spread = _mm256_set_epi64x(0x0303030303030303ll, 0x0202020202020202ll,
                                             0x0101010101010101ll, 0x0000000000000000ll);
    v = _mm256_shuffle_epi8(v, spread);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    v = _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

/* 4 bytes at p (any alignment) in every 32-bit lane: one activation quad against the 8
 * rows of a packed x8 block (kernels/repack.h). */
static inline __m256i bcast4(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

/* 16 packed bytes of Q4-style nibbles -> 32 codes: lanes 0..15 the low nibbles (elements
 * 0..15), 16..31 the high ones (elements 16..31). */
static inline __m256i unpack_nibbles(const uint8_t *qs) {
    __m128i q = _mm_loadu_si128((const __m128i *)qs);
    __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/* Bit j of bits (j < 32) as 0xFF in byte j where set, 0 where clear. */
static inline __m256i bits_to_bytes(uint32_t bits) {
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2,
                                            2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i mask = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    __m256i b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)bits), spread);
    return _mm256_cmpeq_epi8(_mm256_and_si256(b, mask), mask);
}

/* y negated in the bytes where m is 0xFF ((y ^ m) - m); |y| <= 127 keeps it exact. */
static inline __m256i negate_where(__m256i y, __m256i m) {
    return _mm256_sub_epi8(_mm256_xor_si256(y, m), m);
}

/* IEEE half -> float with F16C (exact, like fp16_to_f32, but one instruction). */
static inline float half_f16c(uint16_t h) {
    return _cvtsh_ss(h);
}

/* Sum of the 8 lanes. */
static inline float hsum_f32x8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* Sum of the 8 int32 lanes. */
static inline int isum_i32x8(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* 8 int32 lanes of sum(u8[i] * s8[i]) over groups of 4 bytes (no VNNI on AVX2:
 * maddubs to int16 pairs, then madd with ones to int32). |s8| <= 127 keeps maddubs
 * from saturating as long as u8 <= 255 and pairs sum below 32767: u8 <= 127 here. */
static inline __m256i dot_u8s8_i32(__m256i u, __m256i s) {
    __m256i pairs = _mm256_maddubs_epi16(u, s);
    return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

/* 32 signed bytes x 32 signed bytes -> 8 int32 lanes (sign moved onto the second). Exact
 * for every x and every y but -128 (sign_epi8 cannot negate it): y is an activation code,
 * and the Q8_0 activation quantizers give [-127, 127] (quantize_row_q8_0_avx2). */
static inline __m256i dot_s8s8_i32(__m256i x, __m256i y) {
    __m256i ax = _mm256_sign_epi8(x, x);
    __m256i sy = _mm256_sign_epi8(y, x);
    return dot_u8s8_i32(ax, sy);
}

/* 4-bit indices packed as Q4_0's nibbles, looked up in a 16-entry int8 grid (in both
 * 128-bit lanes), times 32 activation codes: 8 int32 lanes of exact partial sums. */
static inline __m256i dot_grid_q8(__m256i grid, const uint8_t *qs, const int8_t *aq) {
    __m256i qx = _mm256_shuffle_epi8(grid, unpack_nibbles(qs));
    return dot_s8s8_i32(qx, _mm256_loadu_si256((const __m256i *)aq));
}

/* 8 weights of each float kind as 8 floats (the f32 / f16 / bf16 row dots and tiles). */
static inline __m256 load8_f32(const void *p) {
    return _mm256_loadu_ps(p);
}
static inline __m256 load8_f16(const void *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
static inline __m256 load8_bf16(const void *p) {
    __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}
static inline float f32_identity(float f) {
    return f;
}

#endif
