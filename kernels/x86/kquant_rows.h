/* kquant_rows.h - the Q3_K, Q4_K, Q5_K and Q6_K row dot products, and the Q4_K, Q5_K and Q6_K
 * tiles (one row against up to KQ_NA activations per unpack: tile_kq), shared by the AVX2 and
 * AVX-512 kernels (avx2_kquant.c explains them): dot_q3_k, dot_q4_k, dot_q5_k, dot_q6_k. The
 * including file defines, before including this,
 *   __m256i scaled_dot(__m256i sum, __m256i q, const int8_t *a, __m256i scales)
 * = sum + 8 int32 lanes of sum(scale * q * a) over 32 codes (q unsigned < 64, a int8,
 * scales int16 for each pair of codes): the one step where the ISAs differ. */
#ifndef SCARCE_KQUANT_ROWS_H
#define SCARCE_KQUANT_ROWS_H

#include <immintrin.h>
#include <stdint.h>

#include "../../quant/blocks.h"
#include "avx2_util.h"
#include "kquant_unpack.h"

/* Decode (one activation) prefetches each block's lines this many bytes ahead: a share's
 * rows follow each other in the file, so the look-ahead runs on into the next row (the
 * hardware prefetchers alone left these row walks at 50-70% of the read rate, as the
 * 512-bit ones of kquant512_rows.h). 2-core Sapphire-Rapids-class Xeon, SCARCE_ISA=avx2,
 * 1 thread, caller CPU time, median of 5 matvecs of ~600 MB x 2048 columns, two rounds,
 * load 10-11, none / 4096 bytes: Q6_K 6.28 / 9.36 and 6.16 / 9.18 GB/s, Q5_K 6.10 / 8.70
 * and 5.68 / 8.85, Q4_K 5.93 / 8.75 and 6.06 / 8.91, Q3_K 5.14 / 5.40 and 4.96 / 7.19
 * (AVX-512's Q3_K row, the same code: 5.30 / 4.46 and 5.07 / 8.68; noisy). */
#ifndef KQ_PREFETCH_AHEAD
#define KQ_PREFETCH_AHEAD 4096
#endif

/* The lines of the `bytes` bytes KQ_PREFETCH_AHEAD past blk (the next block's first line
 * covers what the last may leave). always_inline: gcc drops a plain inline function made
 * only of prefetches (repack_kx8_walk.h). */
static inline __attribute__((always_inline)) void kq_prefetch(const void *blk, const int bytes) {
#pragma GCC unroll 4
    for (int l = 0; l < (bytes + 63) / 64; l++)
        _mm_prefetch((const char *)blk + KQ_PREFETCH_AHEAD + 64 * l, _MM_HINT_T0);
}

/* Q3_K: x = d * (sc - 32) * (q - 4), 16 sub-blocks of 16, q = 2 low bits (as Q2_K) | the
 * hmask bit 4h + j << 2. q (0..7) goes unsigned into maddubs; the -4 is taken out with the
 * bsums in one madd of the 16 scales (as Q6_K): sum s q a - 4 sum s bsums. The hmask bit b
 * is moved to bit 2 by one 16-bit shift by b - 2 (bits never cross a byte: b <= 7) and one
 * AND. Scale pairs by pshufb from the int16 scales. */
static void dot_q3_k(int64_t n, float *s, const void *w, const void *a) {
    const block_q3_K *x = w;
    const block_q8_K *y = a;
    const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        kq_prefetch(&x[i], sizeof(block_q3_K));
        __m256i sc16 = q3k_scales(x[i].scales);
        __m256i offset = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        __m256i sc_lanes[2] = {_mm256_permute2x128_si256(sc16, sc16, 0x00),
                               _mm256_permute2x128_si256(sc16, sc16, 0x11)};
        __m256i H = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i Q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
            for (int j = 0; j < 4; j++) {
                const int b = 4 * h + j; /* the hmask bit of this chunk */
                __m256i lo = _mm256_and_si256(_mm256_srli_epi16(Q, 2 * j), three);
                __m256i hs = b >= 2 ? _mm256_srli_epi16(H, b - 2) : _mm256_slli_epi16(H, 2 - b);
                __m256i q = _mm256_or_si256(lo, _mm256_and_si256(hs, four));
                sumi =
                    scaled_dot(sumi, q, y[i].qs + 128 * h + 32 * j, word_pair(sc_lanes[h], 2 * j));
            }
        }
        /* exact in int32: |sumi| <= 256 * 32 * 7 * 128, |4 offset| <= 4 * 256 * 32 * 128 */
        __m256i total = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 2));
        float d = half_f16c(x[i].d) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d), acc);
    }
    *s = hsum_f32x8(acc);
}

/* Activations per weight unpack in the tiles below (prefill, speculative verification). */
#define KQ_NA 4

static inline const block_q8_K *kq_act(const char *a, size_t a_stride, int j, int64_t i) {
    return (const block_q8_K *)(a + j * a_stride) + i;
}

/* Q4_K (five = 0) and Q5_K (five = 1): x = d * sc * q - dmin * m, 8 sub-blocks of 32, q = 4
 * bits; Q5_K's fifth bit of code 64p + l is bit 2p of qh[l], of 64p + 32 + l bit 2p + 1
 * (q < 32 keeps maddubs exact). The two block layouts differ only in where qs starts.
 * One row against NA activations (s[j * s_stride]): each 32 codes unpacked once for NA. */
static inline __attribute__((always_inline)) void row_q45_k(int64_t nb, float *s, size_t s_stride,
                                                            const void *w, const char *a,
                                                            size_t a_stride, const int NA,
                                                            const int five) {
    const __m256i low4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    __m256 acc[KQ_NA], acc_min[KQ_NA];
    for (int j = 0; j < NA; j++) acc[j] = acc_min[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        /* d, dmin and scales sit at the same offsets in both block types */
        const block_q4_K *x4 = five ? NULL : (const block_q4_K *)w + i;
        const block_q5_K *x5 = five ? (const block_q5_K *)w + i : NULL;
        const uint8_t *scales = five ? x5->scales : x4->scales, *qs = five ? x5->qs : x4->qs;
        const uint16_t d16 = five ? x5->d : x4->d, dmin16 = five ? x5->dmin : x4->dmin;
        if (NA == 1)
            kq_prefetch(five ? (const void *)x5 : (const void *)x4,
                        five ? sizeof(block_q5_K) : sizeof(block_q4_K));
        __m256i m_pairs, sc = k45_scales(scales, &m_pairs);
        __m256i H = five ? _mm256_loadu_si256((const __m256i *)x5->qh) : _mm256_setzero_si256();
        __m256i sumi[KQ_NA];
        for (int j = 0; j < NA; j++) sumi[j] = _mm256_setzero_si256();
        for (int p = 0; p < 4; p++) {
            __m256i Q = _mm256_loadu_si256((const __m256i *)(qs + 32 * p));
            __m256i lo = _mm256_and_si256(Q, low4);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(Q, 4), low4);
            if (five) {
                __m256i h_lo = _mm256_and_si256(_mm256_srli_epi16(H, 2 * p), one);
                __m256i h_hi = _mm256_and_si256(_mm256_srli_epi16(H, 2 * p + 1), one);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(h_lo, 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(h_hi, 4));
            }
            __m256i sc_lo = k45_scale(sc, 2 * p), sc_hi = k45_scale(sc, 2 * p + 1);
            for (int j = 0; j < NA; j++) {
                const int8_t *aq = kq_act(a, a_stride, j, i)->qs + 64 * p;
                sumi[j] = scaled_dot(sumi[j], lo, aq, sc_lo);
                sumi[j] = scaled_dot(sumi[j], hi, aq + 32, sc_hi);
            }
        }
        for (int j = 0; j < NA; j++) {
            const block_q8_K *y = kq_act(a, a_stride, j, i);
            __m256i min_sum =
                _mm256_madd_epi16(m_pairs, _mm256_loadu_si256((const __m256i *)y->bsums));
            float d = half_f16c(d16) * y->d, dmin = half_f16c(dmin16) * y->d;
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi[j]), _mm256_set1_ps(d), acc[j]);
            acc_min[j] =
                _mm256_fmadd_ps(_mm256_cvtepi32_ps(min_sum), _mm256_set1_ps(dmin), acc_min[j]);
        }
    }
    for (int j = 0; j < NA; j++) s[j * s_stride] = hsum_f32x8(_mm256_sub_ps(acc[j], acc_min[j]));
}

/* x = d * sc * (q - 32), 16 sub-blocks of 16, q = 6 bits (4 in ql, 2 in qh):
 * sum sc (q - 32) a = sum sc q a - 32 sum sc bsum. One row against NA activations. */
static inline __attribute__((always_inline)) void row_q6_k(int64_t nb, float *s, size_t s_stride,
                                                           const void *w, const char *a,
                                                           size_t a_stride, const int NA) {
    const block_q6_K *x = w;
    const __m256i low4 = _mm256_set1_epi8(15), low2 = _mm256_set1_epi8(3);
    __m256 acc[KQ_NA];
    for (int j = 0; j < NA; j++) acc[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        if (NA == 1) kq_prefetch(&x[i], sizeof(block_q6_K));
        /* the 16 int8 scales as int16: sum sc bsums in one madd, scale pairs by pshufb */
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        __m256i sc_lanes[2] = {_mm256_permute2x128_si256(sc16, sc16, 0x00),
                               _mm256_permute2x128_si256(sc16, sc16, 0x11)};
        __m256i sumi[KQ_NA];
        for (int j = 0; j < NA; j++) sumi[j] = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i L0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h));
            __m256i L1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h + 32));
            __m256i H = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            for (int g = 0; g < 4; g++) {
                __m256i L = g & 1 ? L1 : L0;
                __m256i low = _mm256_and_si256(g < 2 ? L : _mm256_srli_epi16(L, 4), low4);
                __m256i high = _mm256_and_si256(_mm256_srli_epi16(H, 2 * g), low2);
                __m256i q = _mm256_or_si256(low, _mm256_slli_epi16(high, 4));
                __m256i sp = word_pair(sc_lanes[h], 2 * g);
                for (int j = 0; j < NA; j++)
                    sumi[j] = scaled_dot(sumi[j], q,
                                         kq_act(a, a_stride, j, i)->qs + 128 * h + 32 * g, sp);
            }
        }
        for (int j = 0; j < NA; j++) {
            const block_q8_K *y = kq_act(a, a_stride, j, i);
            __m256i offset = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y->bsums));
            float d = half_f16c(x[i].d) * y->d;
            __m256i total =
                _mm256_sub_epi32(sumi[j], _mm256_slli_epi32(offset, 5)); /* - 32 sum sc bsums */
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d), acc[j]);
        }
    }
    for (int j = 0; j < NA; j++) s[j * s_stride] = hsum_f32x8(acc[j]);
}

enum { KQ_Q4_K, KQ_Q5_K, KQ_Q6_K };

static inline __attribute__((always_inline)) void kq_row(int64_t nb, float *s, size_t s_stride,
                                                         const void *w, const char *a,
                                                         size_t a_stride, const int NA,
                                                         const int TYPE) {
    if (TYPE == KQ_Q6_K)
        row_q6_k(nb, s, s_stride, w, a, a_stride, NA);
    else
        row_q45_k(nb, s, s_stride, w, a, a_stride, NA, TYPE == KQ_Q5_K);
}

/* Every row against NA activations. */
static inline __attribute__((always_inline)) void kq_rows(int64_t nb, float *s, size_t s_stride,
                                                          const char *w, size_t w_stride, int nrows,
                                                          const char *a, size_t a_stride,
                                                          const int NA, const int TYPE) {
    for (int r = 0; r < nrows; r++)
        kq_row(nb, s + r, s_stride, w + r * w_stride, a, a_stride, NA, TYPE);
}

/* The NR x NA tile of vec_dot_tile: activations in groups of KQ_NA (then 2, then 1), each
 * against every row. Per (row, activation) exactly the row dot (the NA = 1 walk): the same
 * integer sums and float operations, so the results are bit-identical to it. */
static inline __attribute__((always_inline)) void tile_kq(int64_t n, float *s, size_t s_stride,
                                                          const void *w, size_t w_stride, int nrows,
                                                          const void *a, size_t a_stride, int nact,
                                                          const int TYPE) {
    const int64_t nb = n / QK_K;
    const char *ab = a;
    int j = 0;
    for (; j + KQ_NA <= nact; j += KQ_NA)
        kq_rows(nb, s + j * s_stride, s_stride, w, w_stride, nrows, ab + j * a_stride, a_stride,
                KQ_NA, TYPE);
    if (j + 2 <= nact) {
        kq_rows(nb, s + j * s_stride, s_stride, w, w_stride, nrows, ab + j * a_stride, a_stride, 2,
                TYPE);
        j += 2;
    }
    if (j < nact)
        kq_rows(nb, s + j * s_stride, s_stride, w, w_stride, nrows, ab + j * a_stride, a_stride, 1,
                TYPE);
}

static void dot_q4_k(int64_t n, float *s, const void *w, const void *a) {
    row_q45_k(n / QK_K, s, 0, w, a, 0, 1, 0);
}

static void dot_q5_k(int64_t n, float *s, const void *w, const void *a) {
    row_q45_k(n / QK_K, s, 0, w, a, 0, 1, 1);
}

static void dot_q6_k(int64_t n, float *s, const void *w, const void *a) {
    row_q6_k(n / QK_K, s, 0, w, a, 0, 1);
}

#endif
