/* avx512_repack.c - gemv over the 8-row interleaved Q4_0 / Q4_1 / Q8_0 layout
 * (kernels/repack.h) with AVX-512 VNNI in 512-bit registers.
 *
 * The walk of repack_x8_walk.h (lane = row; two groups, 16 rows, per pass in decode, one
 * group x up to 4 activations in batches); what changes from avx2_repack.c is the product.
 * A 64-byte load holds chunks c and c + 1 of a group's 8 rows (lanes 0-7 chunk c, 8-15
 * chunk c + 1), and one vpdpbusd adds their 4-byte dots into int32 against the activation
 * dwords c and c + 1 (one vpermd of the block's codes: act_pair), where the 256-bit walk
 * broadcasts one dword per chunk and multiplies 4 weights of 8 rows. The two halves of a
 * group's sum are added in int32 before the fold; in decode the fold then covers both
 * groups' 16 rows in one register. The codes go in unsigned:
 *   Q4_0: q (0..15), sum (q - 8) y = sum q y - 8 sum y
 *   Q4_1: q (0..15), x = d q + m (the m term uses sum y)
 *   Q8_0: q + 128 = q ^ 0x80 (0..255), sum q y = sum (q + 128) y - 128 sum y
 * with k sum y computed once per activation block for all rows. All sums are exact in
 * int32 for every code (Q8_0's -128 included, unlike the AVX2 sign trick), and the float
 * operations per row are the reference's (mul, then add; Q4_1 as tile_q4_1x8_ref): results
 * are bit-identical to tile_*x8_ref (tests/test_repack.c).
 *
 * Instructions per block of the inner loops (objdump of gcc 12 -O3; 256-bit walk -> this),
 * decode (2 groups x 1 activation, 512 weights): Q4_0 71 -> 45, Q4_1 78 -> 52, Q8_0 64 -> 41;
 * batches (1 group x 4 activations): Q4_0 122 -> 93, Q4_1 139 -> 110, Q8_0 118 -> 91. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx512.h"
#include "avx512_util.h"
#include "repack_x8_walk.h"

/* Decode prefetches each group's lines this many bytes ahead (both groups of a pass: two
 * streams, each crossing a 4 KiB page every ~28 blocks of Q4_0, where the hardware streamer
 * stops). Measured on the 2-core Sapphire-Rapids-class Xeon, one thread, thread CPU time of
 * a 600 MB matvec (2048 columns, 64-row pieces as matmul hands them out), median of 5
 * interleaved rounds, load average ~2 (other jobs): distance none / 1024 / 1536 / 2048 / 3072
 * bytes, Q4_0 9.13 / 11.07 / 10.94 / 10.68 / 11.05 GB/s, Q8_0 10.96 / 12.51 / 12.96 / 12.99
 * / 12.78 (`scarce membw` read peak 11.5 in the same hour). Instructions per 32 weights at
 * decode (64 rows x 2048 columns, ptrace single-step): Q4_0 3.11 -> 3.61, Q8_0 2.86 -> 3.63. */
#define PREFETCH_AHEAD 2048

/* the code offset: Q4_0 q - 8, Q8_0 (q ^ 0x80) - 128, Q4_1 none (its m term takes sum y) */
static inline int32_t ysum_mult(const int KIND) {
    return KIND == KIND_Q8_0 ? 128 : KIND == KIND_Q4_0 ? 8 : 1;
}

/* The activation dwords (c, c + 1) of a block as 16 lanes: lanes 0-7 dword c, 8-15 dword
 * c + 1 (one vpermd of the block's 32 codes; c even). */
static inline __m512i act_pair(__m256i qy, int c) {
    const __m512i idx = _mm512_set_epi32(c + 1, c + 1, c + 1, c + 1, c + 1, c + 1, c + 1, c + 1,
                                         c, c, c, c, c, c, c, c);
    return _mm512_permutexvar_epi32(idx, _mm512_castsi256_si512(qy));
}

/* Sum q y of one group's block (8 rows) as 16 int32 lanes: lanes r and 8 + r hold parts of
 * row r (chunks c even and odd). A 64-byte load holds chunks c, c + 1 of the 8 rows. */
static inline __m512i group_dot(const uint8_t *qs, const __m512i y[4], const int KIND) {
    __m512i s = _mm512_setzero_si512();
    if (KIND == KIND_Q8_0) {
        const __m512i bias = _mm512_set1_epi8((char)0x80);
        for (int p = 0; p < 4; p++)
            s = _mm512_dpbusd_epi32(
                s, _mm512_xor_si512(_mm512_loadu_si512(qs + 64 * p), bias), y[p]);
    } else {
        const __m512i m4 = _mm512_set1_epi8(0x0F);
        for (int p = 0; p < 2; p++) {
            __m512i raw = _mm512_loadu_si512(qs + 64 * p);
            s = _mm512_dpbusd_epi32(s, _mm512_and_si512(raw, m4), y[p]);
            s = _mm512_dpbusd_epi32(s, _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4), y[2 + p]);
        }
    }
    return s;
}

/* 16 fp16 scales: 8 at p0 (lanes 0-7), 8 at p1 (lanes 8-15). */
static inline __m512 load_scales16(const uint8_t *p0, const uint8_t *p1) {
    __m256i h = _mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p0)),
        _mm_loadu_si128((const __m128i *)p1), 1);
    return _mm512_cvtph_ps(h);
}

/* acc + one block of both groups of a pair (b0, b1: their packed blocks) against activation
 * block a, ysum its code sum times the code offset: x8_pair512's step. */
static inline __attribute__((always_inline)) __m512 pair_block(__m512 acc, const uint8_t *b0,
                                                               const uint8_t *b1,
                                                               const block_q8_0 *a, int32_t ysum,
                                                               const int KIND) {
    const size_t head = head_bytes(KIND);
    const __m256i qy = _mm256_loadu_si256((const __m256i *)a->qs);
    __m512i y[4];
    for (int p = 0; p < 4; p++) y[p] = act_pair(qy, 2 * p);
    __m512i s0 = group_dot(b0 + head, y, KIND), s1 = group_dot(b1 + head, y, KIND);
    /* lanes 0-7: group 0's halves summed, 8-15: group 1's */
    __m512i isum = _mm512_add_epi32(_mm512_shuffle_i64x2(s0, s1, 0x44),
                                    _mm512_shuffle_i64x2(s0, s1, 0xEE));
    __m512 fdy = _mm512_cvtph_ps(_mm256_set1_epi16((short)a->d));
    __m512 dx = load_scales16(b0, b1);
    if (KIND == KIND_Q4_1) {
        __m512 mx = load_scales16(b0 + 2 * REPACK_ROWS, b1 + 2 * REPACK_ROWS);
        __m512 qyf = _mm512_mul_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dx, fdy));
        __m512 my = _mm512_mul_ps(_mm512_set1_ps((float)ysum), _mm512_mul_ps(mx, fdy));
        return _mm512_add_ps(acc, _mm512_add_ps(qyf, my));
    }
    isum = _mm512_sub_epi32(isum, _mm512_set1_epi32(ysum));
    return _mm512_add_ps(acc, _mm512_mul_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dx, fdy)));
}

/* Decode: two groups (16 rows) x one activation over blocks [i0, i1) in 512-bit registers.
 * Per block each group's chunk pairs go through vpdpbusd against the activation dword pairs
 * (act_pair: 4 vpermd for both groups, where the 256-bit walk broadcasts 8 dwords); the two
 * halves of each group's sum meet in int32 (exact), and the fold works on the 16 rows at
 * once, lanes 0-7 group 0 and 8-15 group 1, with fold()'s float operations per lane:
 * bit-identical to the 256-bit walk and to tile_*x8_ref. y[0..15] are the 16 rows. */
static inline __attribute__((always_inline)) void x8_pair512(const tile_args *t, int64_t i0,
                                                             int64_t i1, const int32_t *ysum,
                                                             int accumulate, const int KIND) {
    const size_t bb = x8_bytes(KIND), gb = t->group_bytes;
    const block_q8_0 *act = act_row(t, 0);
    __m512 acc = accumulate ? _mm512_loadu_ps(t->y) : _mm512_setzero_ps();
    /* group 0's look-ahead past its end would land in group 1 (read now): from block
     * i_jump on it goes 2 groups further, to the next pair's group 1 (group 1's lands in
     * the next pair's group 0 by itself). Two loops, so the jump costs nothing per block.
     * Same machine and probe as PREFETCH_AHEAD, load average 5-6, median of 5 / 3 rounds:
     * Q4_0 12.19 -> 12.68 GB/s, Q8_0 11.33 -> 12.36. */
    const int64_t i_jump = gb > PREFETCH_AHEAD ? (int64_t)((gb - PREFETCH_AHEAD + bb - 1) / bb) : 0;
    for (int part = 0; part < 2; part++) {
        const int64_t from = part ? (i_jump > i0 ? i_jump : i0) : i0;
        const int64_t to = part ? i1 : (i_jump < i1 ? i_jump : i1);
        const size_t ahead0 = PREFETCH_AHEAD + (part ? 2 * gb : 0);
        for (int64_t i = from; i < to; i++) {
            const uint8_t *b0 = t->w + i * bb, *b1 = b0 + gb;
#pragma GCC unroll 5
            for (size_t l = 0; l < (bb + 63) / 64; l++) {
                _mm_prefetch((const char *)b0 + ahead0 + 64 * l, _MM_HINT_T0);
                _mm_prefetch((const char *)b1 + PREFETCH_AHEAD + 64 * l, _MM_HINT_T0);
            }
            acc = pair_block(acc, b0, b1, &act[i], ysum[i - i0], KIND);
        }
    }
    _mm512_storeu_ps(t->y, acc);
}

/* One group x NA activations (batches; the odd group of decode) over blocks [i0, i1): the
 * group's chunk pairs unpacked once per block for the NA activations, each multiplied by
 * vpdpbusd against the activation's dword pairs (act_pair), the two halves of the int32 sum
 * added, then fold() as the 256-bit walk: bit-identical to it and to tile_*x8_ref. Its lines
 * are prefetched PREFETCH_AHEAD bytes ahead too (past the group's end: the next group's, read
 * next): batch panels of 24 rows as matmul cuts them (32 KB), 600 MB of 2048 columns, 1
 * thread, thread CPU time, median of 3 rounds of 5, load 5-8, none / 1024 / 2048 bytes:
 * Q4_0 4 tokens 5.03 / 6.45 / 6.99 GB/s, 2 tokens 6.3-6.8 / 7.5-8.9 / 8.7-10.3, Q8_0 4 tokens
 * 6.51 / 7.66 / 7.14. */
static inline __attribute__((always_inline)) void x8_group512(const tile_args *t, int64_t i0,
                                                              int64_t i1,
                                                              int32_t (*ysum)[SPAN_BLOCKS],
                                                              int accumulate, const int NA,
                                                              const int KIND) {
    const size_t bb = x8_bytes(KIND), head = head_bytes(KIND);
    __m256 acc[MAX_NA];
    for (int j = 0; j < NA; j++)
        acc[j] = accumulate ? _mm256_loadu_ps(t->y + j * t->y_stride) : _mm256_setzero_ps();
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *blk = t->w + i * bb;
#pragma GCC unroll 5
        for (size_t l = 0; l < (bb + 63) / 64; l++)
            _mm_prefetch((const char *)blk + PREFETCH_AHEAD + 64 * l, _MM_HINT_T0);
        /* the weights of chunk pairs, in the order group_dot multiplies them */
        __m512i wq[4];
        if (KIND == KIND_Q8_0) {
            for (int p = 0; p < 4; p++)
                wq[p] = _mm512_xor_si512(_mm512_loadu_si512(blk + head + 64 * p),
                                         _mm512_set1_epi8((char)0x80));
        } else {
            const __m512i m4 = _mm512_set1_epi8(0x0F);
            for (int p = 0; p < 2; p++) {
                __m512i raw = _mm512_loadu_si512(blk + head + 64 * p);
                wq[p] = _mm512_and_si512(raw, m4);
                wq[2 + p] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
            }
        }
        __m256 dx = load_scales(blk);
        for (int j = 0; j < NA; j++) {
            const block_q8_0 *a = act_row(t, j) + i;
            const __m256i qy = _mm256_loadu_si256((const __m256i *)a->qs);
            __m512i s = _mm512_setzero_si512();
            for (int p = 0; p < 4; p++) s = _mm512_dpbusd_epi32(s, wq[p], act_pair(qy, 2 * p));
            __m256i isum = _mm256_add_epi32(_mm512_castsi512_si256(s),
                                            _mm512_extracti64x4_epi64(s, 1));
            acc[j] = fold(acc[j], isum, dx, blk, a->d, ysum_mult(KIND) ? ysum[j][i - i0] : 0,
                          KIND);
        }
    }
    for (int j = 0; j < NA; j++) _mm256_storeu_ps(t->y + j * t->y_stride, acc[j]);
}

/* NG groups x NA activations over blocks [i0, i1); y += (accumulate) or y = sums.
 * ysum[j][i - i0]: activation j's block i sum times the code offset. x8_span pairs groups
 * for one activation only (NG = 2: NA = 1). */
static inline __attribute__((always_inline)) void x8_tile(const tile_args *t, int64_t i0,
                                                          int64_t i1, int32_t (*ysum)[SPAN_BLOCKS],
                                                          int accumulate, const int NG,
                                                          const int NA, const int KIND) {
    if (NG == 2)
        x8_pair512(t, i0, i1, ysum[0], accumulate, KIND);
    else
        x8_group512(t, i0, i1, ysum, accumulate, NA, KIND);
}

static inline __m256i code_sums(__m256i q) {
    return sum_s8(q);
}

void tile_q4_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q4_0);
}

void tile_q4_1x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q4_1);
}

void tile_q8_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q8_0);
}
