/* kquant512_rows.h - the Q4_K, Q5_K and Q6_K row dot products and tiles in 512-bit
 * registers (AVX-512 BW + VNNI + GFNI), for avx512_kquant.c: kq512_tile.
 *
 * One register holds 64 codes whose 64 activations are contiguous, so activations load as
 * they are, and codes come out of the packed bytes by GF2P8AFFINEQB, which applies an 8x8
 * bit matrix to every byte, a matrix per 64-bit lane: a 32-byte load broadcast to both
 * halves, with the low-nibble matrix in the low half and the high-nibble one in the high
 * half, is the 64 codes of a Q4_K sub-block pair in one instruction (AVX2: and, shift,
 * and). Q5_K's fifth bit and Q6_K's two high bits come out of qh the same way, moved to
 * bit 4 (and 5), and ORed in. Then maddubs (codes < 64 unsigned, so pairs are exact in
 * int16) and vpdpwssd with the sub-block scales (the scale of each code pair, vpermw from
 * the block's scales) into int32 lanes: the reference's exact integer sums. Q2_K, Q4_K and
 * Q5_K (with mins) reduce them per super-block and fold as the reference does (fold_with_min):
 * their results have the reference's bits; Q6_K folds per block with an fma in the lanes, so
 * only the order of its float sum differs from the reference.
 *
 * Instructions per 32 weights at decode (64 rows x 2048 columns, one activation; counted by
 * single-stepping on a Sapphire-Rapids-class Xeon), against the 256-bit kernels of
 * kquant_rows.h / q2k_rows.h: Q4_K 6.43 (11.64), Q5_K 7.74 (14.91), Q6_K 5.83 (10.05),
 * Q2_K 5.36 (its packed 8-row tile, which decode keeps: 5.61, now 4.31 in
 * avx512_repack_q2k.c; Q4_K's decode is the packed tile of avx512_repack_q4k.c: 3.79). About
 * half of Q4_K's 51 per block are the 16 of the codes; the rest is the per-block scale unpack
 * and float step. */
#ifndef SCARCE_KQUANT512_ROWS_H
#define SCARCE_KQUANT512_ROWS_H

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "avx2_util.h"
#include "kquant_unpack.h"

/* Activations per weight unpack in the tiles (prefill, speculative verification). */
#define KQ512_NA 4

/* GF2P8AFFINEQB matrices (one per 64-bit lane): output bit i of a byte is the parity of
 * matrix byte 7 - i AND the input byte. */
#define GF_LOW_NIBBLE 0x0102040800000000ll  /* bits 0-3 -> 0-3 */
#define GF_HIGH_NIBBLE 0x1020408000000000ll /* bits 4-7 -> 0-3 */
/* bit b -> bit 4 */
#define GF_BIT_TO_4(b) ((long long)(1 << (b)) << 24)
/* bits b, b + 1 -> bits 4, 5 */
#define GF_BITS_TO_45(b) (GF_BIT_TO_4(b) | (long long)(1 << ((b) + 1)) << 16)

/* low-half matrix lo, high-half hi */
static inline __m512i gf_halves(long long lo, long long hi) {
    return _mm512_set_epi64(hi, hi, hi, hi, lo, lo, lo, lo);
}

/* 32 bytes at p in both 256-bit halves */
static inline __m512i bcast32(const uint8_t *p) {
    return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p));
}

/* word k of the result = word idx[k] of w (vpermw) */
static inline __m512i words_at(const uint16_t *idx, __m512i w) {
    return _mm512_permutexvar_epi16(_mm512_loadu_si512(idx), w);
}

static inline const block_q8_K *kq512_act(const char *a, size_t a_stride, int j, int64_t i) {
    return (const block_q8_K *)(a + j * a_stride) + i;
}

/* sum + int32 lanes of scales . maddubs(codes, activations) */
static inline __m512i scaled_dot512(__m512i sum, __m512i codes, const int8_t *a, __m512i scales) {
    __m512i pairs = _mm512_maddubs_epi16(codes, _mm512_loadu_si512(a));
    return _mm512_dpwssd_epi32(sum, pairs, scales);
}

/* The block's d and dmin (two adjacent halves at p) as floats in lanes 0 and 1. */
static inline __m128 d_dmin(const void *p) {
    uint32_t bits;
    memcpy(&bits, p, 4);
    return _mm_cvtph_ps(_mm_cvtsi32_si128((int)bits));
}

/* The float step of a block with mins, for one activation of scale yd (dd: d_dmin), in the
 * reference's order (dot_q45_k, vec_dot_q2_k_ref): the integer sums reduced over the lanes
 * first (exact), then sum + yd (d (float)sumi - dmin (float)summ), no fma. Summing the d
 * and the dmin terms apart (an fma per block in the lanes, subtracted once at the row's end)
 * missed the scalar reference by 6.2e-3 in the logits of tests/test_repack.c's Q4_K model.
 * 13 instructions a block and activation where that took 6, so the tiles share one reduction
 * tree between 4 activations (fold4_with_min) or, for one activation, 4 rows (fold_rows4).
 * Cost, 64 rows x 2048 columns in L2, 1 thread, ns per row and activation, old / new fold
 * (the Sapphire-Rapids-class Xeon, load 6): Q4_K 57.9 / 59.2 (1 activation), 33.1 / 35.3
 * (4); Q2_K 49.5 / 51.2, 30.7 / 32.7. From DRAM (decode of an unpacked matrix) no difference
 * can show: 17-19 GB/s of weights a thread against the ~11 DRAM gives one. */
static inline float fold_with_min(__m128 dd, float yd, __m512i sumi, __m256i min_sum, float sum) {
    const __m256i s8 =
        _mm256_add_epi32(_mm512_castsi512_si256(sumi), _mm512_extracti64x4_epi64(sumi, 1));
    __m256i t = _mm256_hadd_epi32(s8, min_sum); /* per 128-bit half: s s m m */
    t = _mm256_hadd_epi32(t, t);                /* per 128-bit half: s m s m */
    const __m128i both = _mm_add_epi32(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
    const __m128 terms = _mm_mul_ps(dd, _mm_cvtepi32_ps(both)); /* d sumi, dmin summ */
    return sum + yd * _mm_cvtss_f32(_mm_sub_ss(terms, _mm_movehdup_ps(terms)));
}

/* fold_with_min for N = 2 .. 4 (row, activation) pairs at once, lane j the pair j: one tree
 * of horizontal adds reduces all their integer sums (where fold_with_min took a reduction
 * each), then the same float operations lane by lane with d, dmin and the activation scale
 * y of each pair. */
static inline __attribute__((always_inline)) __m128 fold4_with_min(__m128 d, __m128 dmin, __m128 y,
                                                                   const __m512i *sumi,
                                                                   const __m256i *min_sum,
                                                                   __m128 acc, const int N) {
    __m256i s[4], m[4];
    for (int j = 0; j < 4; j++) {
        s[j] = j < N ? _mm256_add_epi32(_mm512_castsi512_si256(sumi[j]),
                                        _mm512_extracti64x4_epi64(sumi[j], 1))
                     : _mm256_setzero_si256();
        m[j] = j < N ? min_sum[j] : _mm256_setzero_si256();
    }
    /* per 128-bit half: lane j = pair j's partial sum */
    const __m256i S =
        _mm256_hadd_epi32(_mm256_hadd_epi32(s[0], s[1]), _mm256_hadd_epi32(s[2], s[3]));
    const __m256i M =
        _mm256_hadd_epi32(_mm256_hadd_epi32(m[0], m[1]), _mm256_hadd_epi32(m[2], m[3]));
    const __m128i si = _mm_add_epi32(_mm256_castsi256_si128(S), _mm256_extracti128_si256(S, 1));
    const __m128i sm = _mm_add_epi32(_mm256_castsi256_si128(M), _mm256_extracti128_si256(M, 1));
    const __m128 diff =
        _mm_sub_ps(_mm_mul_ps(d, _mm_cvtepi32_ps(si)), _mm_mul_ps(dmin, _mm_cvtepi32_ps(sm)));
    return _mm_add_ps(acc, _mm_mul_ps(y, diff));
}

/* One row's block against NA activations: fold_with_min into the float acc for one, else
 * fold4_with_min into the lanes of acc4 (lane j activation j); and the sums out at the end. */
#define FOLD_BLOCK(dd, yd, sumi, min_sum, acc, acc4, NA)                                           \
    do {                                                                                           \
        if (NA == 1)                                                                               \
            acc = fold_with_min(dd, yd[0], sumi[0], min_sum[0], acc);                              \
        else                                                                                       \
            acc4 = fold4_with_min(                                                                 \
                _mm_shuffle_ps(dd, dd, 0x00), _mm_shuffle_ps(dd, dd, 0x55),                        \
                _mm_setr_ps(yd[0], NA > 1 ? yd[1] : 0, NA > 2 ? yd[2] : 0, NA > 3 ? yd[3] : 0),    \
                sumi, min_sum, acc4, NA);                                                          \
    } while (0)
#define STORE_SUMS(s, s_stride, acc, acc4, NA)                                                     \
    do {                                                                                           \
        float lanes_[4];                                                                           \
        _mm_storeu_ps(lanes_, acc4);                                                               \
        for (int j_ = 0; j_ < NA; j_++) s[j_ * s_stride] = NA == 1 ? acc : lanes_[j_];             \
    } while (0)

/* Four rows' blocks (dd[r]: d_dmin of row r) against one activation (scale yd): lane r row r. */
static inline __attribute__((always_inline)) __m128
fold_rows4(const __m128 *dd, float yd, const __m512i *sumi, const __m256i *min_sum, __m128 acc) {
    const __m128 t01 = _mm_unpacklo_ps(dd[0], dd[1]), t23 = _mm_unpacklo_ps(dd[2], dd[3]);
    return fold4_with_min(_mm_movelh_ps(t01, t23), _mm_movehl_ps(t23, t01), _mm_set1_ps(yd), sumi,
                          min_sum, acc, 4);
}

/* Q4_K / Q5_K scales and mins (k4_scale_min for all 8 sub-blocks, as kquant_unpack.h's
 * k45_scales but in vector registers): int16 words 0-7 the scales, 8-15 the mins. Of the 12
 * bytes b: scale j < 4 = b[j] & 63, min j < 4 = b[4 + j] & 63; scale j >= 4 = (b[4 + j] &
 * 15) | (b[j - 4] >> 6) << 4, min j >= 4 = (b[4 + j] >> 4) | (b[j] >> 6) << 4. Reads 16
 * bytes from `packed` (the 4 after the 12 are the block's next field). */
static inline __m256i k45_scales_mins(const uint8_t *packed) {
    const __m128i b = _mm_loadu_si128((const __m128i *)packed);
    const __m128i low_src = _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11);
    const __m128i top_src = _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7);
    const __m128i low_mask =
        _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0);
    const __m128i high_mask = _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15);
    __m128i v = _mm_shuffle_epi8(b, low_src);
    __m128i low = _mm_and_si128(v, low_mask);
    __m128i high = _mm_and_si128(_mm_srli_epi16(v, 4), high_mask);
    __m128i top =
        _mm_and_si128(_mm_srli_epi16(_mm_shuffle_epi8(b, top_src), 2), _mm_set1_epi8(0x30));
    return _mm256_cvtepu8_epi16(_mm_ternarylogic_epi32(low, high, top, 0xFE)); /* a | b | c */
}

/* vpermw index: each min twice (words 8-15 of k45_scales_mins), one per bsum of 16. */
static const uint16_t k45_min_pairs_idx[16] = {8,  8,  9,  9,  10, 10, 11, 11,
                                               12, 12, 13, 13, 14, 14, 15, 15};

/* vpermw index: words 0-15 scale 2p, 16-31 scale 2p + 1 (Q4_K/Q5_K chunk p). */
static const uint16_t k45_scale_idx[4][32] = {
#define S(p)                                                                                       \
    {                                                                                              \
        2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, 2 * p, \
            2 * p, 2 * p, 2 * p, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, \
            2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1, 2 * p + 1,           \
            2 * p + 1, 2 * p + 1, 2 * p + 1                                                        \
    }
    S(0), S(1), S(2), S(3)
#undef S
};

/* Q4_K (five = 0) and Q5_K (five = 1), block i of one row against NA activations: the
 * integer sums sumi[j], min_sum[j] (in lanes) and the activation scales yd[j]; returns the
 * block's d_dmin. Chunk p = codes 64p .. 64p + 63: low nibbles of qs[32p ..] (sub-block
 * 2p), then their high nibbles (2p + 1); Q5_K's fifth bits are bits 2p and 2p + 1 of
 * qh[0 .. 31]. */
static inline __attribute__((always_inline)) __m128
block_q45_k(const void *w, int64_t i, const char *a, size_t a_stride, __m512i *sumi,
            __m256i *min_sum, float *yd, const int NA, const int five) {
    const __m512i nibbles = gf_halves(GF_LOW_NIBBLE, GF_HIGH_NIBBLE);
    const block_q4_K *x4 = five ? NULL : (const block_q4_K *)w + i;
    const block_q5_K *x5 = five ? (const block_q5_K *)w + i : NULL;
    const uint8_t *scales = five ? x5->scales : x4->scales, *qs = five ? x5->qs : x4->qs;
    const __m256i sc_m = k45_scales_mins(scales);
    const __m256i m_pairs =
        _mm256_permutexvar_epi16(_mm256_loadu_si256((const __m256i *)k45_min_pairs_idx), sc_m);
    const __m512i sc512 = _mm512_castsi256_si512(sc_m);
    __m512i H = five ? bcast32(x5->qh) : _mm512_setzero_si512();
    for (int j = 0; j < NA; j++) sumi[j] = _mm512_setzero_si512();
    for (int p = 0; p < 4; p++) {
        __m512i codes = _mm512_gf2p8affine_epi64_epi8(bcast32(qs + 32 * p), nibbles, 0);
        if (five)
            codes = _mm512_or_si512(
                codes, _mm512_gf2p8affine_epi64_epi8(
                           H, gf_halves(GF_BIT_TO_4(2 * p), GF_BIT_TO_4(2 * p + 1)), 0));
        const __m512i scv = words_at(k45_scale_idx[p], sc512);
        for (int j = 0; j < NA; j++)
            sumi[j] = scaled_dot512(sumi[j], codes, kq512_act(a, a_stride, j, i)->qs + 64 * p, scv);
    }
    for (int j = 0; j < NA; j++) {
        const block_q8_K *y = kq512_act(a, a_stride, j, i);
        min_sum[j] = _mm256_madd_epi16(m_pairs, _mm256_loadu_si256((const __m256i *)y->bsums));
        yd[j] = y->d;
    }
    return d_dmin(five ? (const void *)&x5->d : (const void *)&x4->d);
}

/* Q4_K / Q5_K, one row against NA activations (s[j * s_stride]). */
static inline __attribute__((always_inline)) void row512_q45_k(int64_t nb, float *s,
                                                               size_t s_stride, const void *w,
                                                               const char *a, size_t a_stride,
                                                               const int NA, const int five) {
    float acc = 0; /* NA = 1 */
    __m128 acc4 = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m512i sumi[KQ512_NA];
        __m256i min_sum[KQ512_NA];
        float yd[KQ512_NA];
        const __m128 dd = block_q45_k(w, i, a, a_stride, sumi, min_sum, yd, NA, five);
        FOLD_BLOCK(dd, yd, sumi, min_sum, acc, acc4, NA);
    }
    STORE_SUMS(s, s_stride, acc, acc4, NA);
}

/* vpermw index for the chunk k of 64 codes of a type with sub-blocks of 16 (Q2_K, Q6_K):
 * words 8l .. 8l + 7 (the 8 code pairs of 128-bit lane l) = scale 4k + l. */
static const uint16_t sub16_scale_idx[4][32] = {
#define S(b)                                                                                       \
    {                                                                                              \
        b, b, b, b, b, b, b, b, b + 1, b + 1, b + 1, b + 1, b + 1, b + 1, b + 1, b + 1, b + 2,     \
            b + 2, b + 2, b + 2, b + 2, b + 2, b + 2, b + 2, b + 3, b + 3, b + 3, b + 3, b + 3,    \
            b + 3, b + 3, b + 3                                                                    \
    }
    S(0), S(4), S(8), S(12)
#undef S
};

/* Decode (one activation) prefetches the bytes this far ahead of each Q6_K block: the rows
 * of a share follow each other in the file, so the look-ahead runs on into the next row.
 * The hardware prefetchers alone left this kernel the slowest decode of all types (the
 * Q6_K output matrix of TinyLlama-shaped TQ1_0 mixes: 21% of a 2-thread decode for 21% of
 * its bytes, where the TQ1_0 layers took 61% for 79%). Measured on the 2-core
 * Sapphire-Rapids-class Xeon, 1 thread, median of 7-11 matvecs of 357120 x 2048 (600 MB,
 * tiled), machine loaded (load 6-9; 1-thread read probe 11.5 GB/s): none 6.3-7.4 GB/s,
 * 2048 bytes 10.4-10.6, 4096 10.0-10.8, 8192 9.3-10.6. */
#ifndef Q6K_PREFETCH_AHEAD
#define Q6K_PREFETCH_AHEAD 4096
#endif

/* The lines of `bytes` bytes from p, one a 64 bytes (a block's lines from its first byte:
 * the next block's first line covers what the last one may leave). always_inline: see
 * repack_kx8_walk.h (gcc drops a plain inline function made only of prefetches). */
static inline __attribute__((always_inline)) void prefetch_lines(const void *p, const int bytes) {
#pragma GCC unroll 4
    for (int l = 0; l < (bytes + 63) / 64; l++) _mm_prefetch((const char *)p + 64 * l, _MM_HINT_T0);
}
static inline __attribute__((always_inline)) void prefetch_q6k_block(const void *blk) {
    prefetch_lines((const char *)blk + Q6K_PREFETCH_AHEAD, sizeof(block_q6_K));
}

/* Q6_K: x = d * sc * (q - 32), one row against NA activations: sum sc q a - 32 sum sc bsums.
 * Half h: chunk 0 = codes 128h .. 128h + 63 = low nibbles of ql[64h .. 64h + 63] with bits
 * 0-1 (first 32) and 2-3 (next 32) of qh[32h ..] as bits 4-5; chunk 1 = codes 128h + 64 ..
 * = the high nibbles of the same ql with bits 4-5 and 6-7. */
static inline __attribute__((always_inline)) void row512_q6_k(int64_t nb, float *s, size_t s_stride,
                                                              const void *w, const char *a,
                                                              size_t a_stride, const int NA) {
    const block_q6_K *x = w;
    const __m512i low4 = _mm512_set1_epi8(15);
    const __m512i high2[2] = {gf_halves(GF_BITS_TO_45(0), GF_BITS_TO_45(2)),
                              gf_halves(GF_BITS_TO_45(4), GF_BITS_TO_45(6))};
    __m512 acc[KQ512_NA];
    for (int j = 0; j < NA; j++) acc[j] = _mm512_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        if (NA == 1 && Q6K_PREFETCH_AHEAD > 0) prefetch_q6k_block(&x[i]);
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m512i sc512 = _mm512_castsi256_si512(sc16);
        __m512i sumi[KQ512_NA];
        for (int j = 0; j < NA; j++) sumi[j] = _mm512_setzero_si512();
        for (int h = 0; h < 2; h++) {
            const __m512i L = _mm512_loadu_si512(x[i].ql + 64 * h);
            const __m512i H = bcast32(x[i].qh + 32 * h);
            for (int c = 0; c < 2; c++) {
                __m512i high = _mm512_gf2p8affine_epi64_epi8(H, high2[c], 0);
                /* (low nibbles) | high: (L & 15) | high, or (L >> 4 & 15) | high */
                __m512i codes =
                    _mm512_ternarylogic_epi32(c ? _mm512_srli_epi16(L, 4) : L, low4, high, 0xEA);
                const __m512i scv = words_at(sub16_scale_idx[2 * h + c], sc512);
                for (int j = 0; j < NA; j++)
                    sumi[j] = scaled_dot512(
                        sumi[j], codes, kq512_act(a, a_stride, j, i)->qs + 128 * h + 64 * c, scv);
            }
        }
        const float d = half_f16c(x[i].d);
        for (int j = 0; j < NA; j++) {
            const block_q8_K *y = kq512_act(a, a_stride, j, i);
            __m256i offset = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y->bsums));
            /* - 32 sum sc bsums, in the low 8 lanes */
            __m512i total =
                _mm512_sub_epi32(sumi[j], _mm512_zextsi256_si512(_mm256_slli_epi32(offset, 5)));
            acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_set1_ps(d * y->d), acc[j]);
        }
    }
    for (int j = 0; j < NA; j++) s[j * s_stride] = _mm512_reduce_add_ps(acc[j]);
}

/* bits b, b + 1 -> bits 0, 1 */
#define GF_BITS_TO_01(b) ((long long)(1 << (b)) << 56 | (long long)(1 << ((b) + 1)) << 48)

/* Q2_K: x = d * sc * q - dmin * m, 16 sub-blocks of 16: block i of one row against NA
 * activations, as block_q45_k. Chunk k = 2h + c: codes 128h + 64c .. + 63 = bits 4c, 4c + 1
 * (first 32) and 4c + 2, 4c + 3 (next 32) of qs[32h .. 32h + 31], the 128-bit lane l in
 * sub-block 4k + l. */
static inline __attribute__((always_inline)) __m128 block_q2_k(const void *w, int64_t i,
                                                               const char *a, size_t a_stride,
                                                               __m512i *sumi, __m256i *min_sum,
                                                               float *yd, const int NA) {
    const block_q2_K *x = (const block_q2_K *)w + i;
    const __m512i pairs[2] = {gf_halves(GF_BITS_TO_01(0), GF_BITS_TO_01(2)),
                              gf_halves(GF_BITS_TO_01(4), GF_BITS_TO_01(6))};
    const __m128i low4 = _mm_set1_epi8(15);
    const __m128i packed = _mm_loadu_si128((const __m128i *)x->scales);
    const __m512i sc512 = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(_mm_and_si128(packed, low4)));
    const __m256i mins = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low4));
    for (int j = 0; j < NA; j++) sumi[j] = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++) {
        const __m512i Q = bcast32(x->qs + 32 * h);
        for (int c = 0; c < 2; c++) {
            const __m512i codes = _mm512_gf2p8affine_epi64_epi8(Q, pairs[c], 0);
            const __m512i scv = words_at(sub16_scale_idx[2 * h + c], sc512);
            for (int j = 0; j < NA; j++)
                sumi[j] = scaled_dot512(sumi[j], codes,
                                        kq512_act(a, a_stride, j, i)->qs + 128 * h + 64 * c, scv);
        }
    }
    for (int j = 0; j < NA; j++) {
        const block_q8_K *y = kq512_act(a, a_stride, j, i);
        min_sum[j] = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)y->bsums));
        yd[j] = y->d;
    }
    return d_dmin(&x->d);
}

/* Q2_K, one row against NA activations (s[j * s_stride]). */
static inline __attribute__((always_inline)) void row512_q2_k(int64_t nb, float *s, size_t s_stride,
                                                              const void *w, const char *a,
                                                              size_t a_stride, const int NA) {
    float acc = 0; /* NA = 1 */
    __m128 acc4 = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m512i sumi[KQ512_NA];
        __m256i min_sum[KQ512_NA];
        float yd[KQ512_NA];
        const __m128 dd = block_q2_k(w, i, a, a_stride, sumi, min_sum, yd, NA);
        FOLD_BLOCK(dd, yd, sumi, min_sum, acc, acc4, NA);
    }
    STORE_SUMS(s, s_stride, acc, acc4, NA);
}

/* rows4_with_min prefetches the next 4 rows' blocks as it reads its own (1: on): the file
 * layout's decode of Q5_K (always: it has no packed copy) and of Q4_K / Q2_K (rows % 8 != 0,
 * SCARCE_REPACK=0). 2-core Sapphire-Rapids-class Xeon, 1 thread, caller CPU time, median of
 * 7 matvecs of ~600 MB (x 2048 columns, tiled), two rounds, load 9-10, off / on: Q5_K
 * 7.15 / 11.10 and 7.01 / 10.22 GB/s, Q4_K 6.93 / 10.67 and 6.64 / 10.74, Q2_K 5.77 / 9.33
 * and 5.59 / 9.69. */
#ifndef ROWS4_PREFETCH
#define ROWS4_PREFETCH 1
#endif

/* Four rows (w_stride apart) of Q2_K (q2) or Q4_K / Q5_K against one activation: s[0 .. 3],
 * each row's blocks folded as row512_q45_k / row512_q2_k fold them (the same bits), the four
 * folds sharing one reduction tree. */
static inline __attribute__((always_inline)) void rows4_with_min(int64_t nb, float *s,
                                                                 const char *w, size_t w_stride,
                                                                 const char *a, const int q2,
                                                                 const int five) {
    const int block_bytes =
        q2 ? (int)sizeof(block_q2_K) : five ? (int)sizeof(block_q5_K) : (int)sizeof(block_q4_K);
    __m128 acc = _mm_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m512i sumi[4];
        __m256i min_sum[4];
        __m128 dd[4];
        float yd;
        for (int r = 0; r < 4; r++) /* the next 4 rows' block i (see ROWS4_PREFETCH) */
            if (ROWS4_PREFETCH)
                prefetch_lines(w + (4 + r) * w_stride + i * block_bytes, block_bytes);
        for (int r = 0; r < 4; r++)
            dd[r] =
                q2 ? block_q2_k(w + r * w_stride, i, a, 0, &sumi[r], &min_sum[r], &yd, 1)
                   : block_q45_k(w + r * w_stride, i, a, 0, &sumi[r], &min_sum[r], &yd, 1, five);
        acc = fold_rows4(dd, yd, sumi, min_sum, acc);
    }
    _mm_storeu_ps(s, acc);
}

enum { KQ512_Q4_K, KQ512_Q5_K, KQ512_Q6_K, KQ512_Q2_K };

static inline __attribute__((always_inline)) void
kq512_rows(int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride, int nrows,
           const char *a, size_t a_stride, const int NA, const int TYPE) {
    int r = 0;
    if (NA == 1 && TYPE != KQ512_Q6_K) /* decode: four rows share a fold (rows4_with_min) */
        for (; r + 4 <= nrows; r += 4)
            rows4_with_min(nb, s + r, w + r * w_stride, w_stride, a, TYPE == KQ512_Q2_K,
                           TYPE == KQ512_Q5_K);
    for (; r < nrows; r++) {
        if (TYPE == KQ512_Q6_K)
            row512_q6_k(nb, s + r, s_stride, w + r * w_stride, a, a_stride, NA);
        else if (TYPE == KQ512_Q2_K)
            row512_q2_k(nb, s + r, s_stride, w + r * w_stride, a, a_stride, NA);
        else
            row512_q45_k(nb, s + r, s_stride, w + r * w_stride, a, a_stride, NA,
                         TYPE == KQ512_Q5_K);
    }
}

/* The NR x NA tile of vec_dot_tile: activations in groups of KQ512_NA (then 2, then 1), each
 * against every row. Per (row, activation) exactly the row dot (the NA = 1 walk): the same
 * integer sums and float operations, so the results are bit-identical to it. */
static inline __attribute__((always_inline)) void
kq512_tile(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride, int nrows,
           const void *a, size_t a_stride, int nact, const int TYPE) {
    const int64_t nb = n / QK_K;
    const char *ab = a;
    int j = 0;
    for (; j + KQ512_NA <= nact; j += KQ512_NA)
        kq512_rows(nb, s + j * s_stride, s_stride, w, w_stride, nrows, ab + j * a_stride, a_stride,
                   KQ512_NA, TYPE);
    if (j + 2 <= nact) {
        kq512_rows(nb, s + j * s_stride, s_stride, w, w_stride, nrows, ab + j * a_stride, a_stride,
                   2, TYPE);
        j += 2;
    }
    if (j < nact)
        kq512_rows(nb, s + j * s_stride, s_stride, w, w_stride, nrows, ab + j * a_stride, a_stride,
                   1, TYPE);
}

#endif
