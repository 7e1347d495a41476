/* avx2_repack_q4k.c - gemv over the 8-row interleaved Q4_K layout (kernels/repack.h,
 * "q4_kx8", the AVX-512 tile's layout) against Q8_K activations, in AVX2 only: decode and
 * batches of up to REPACK_MAX_BATCH tokens on CPUs without AVX-512 (Zen 1-3, Haswell to
 * Comet Lake).
 *
 *   sum x a = da (d sumi - dmin summ),  sumi = sum_k sc_k S_k,  S_k = sum_{e in k} q_e a_e,
 *                                       summ = sum_k m_k B_k,   B_k = bsums[2k] + bsums[2k+1]
 *
 * Lane = row. A 32-byte chunk 8p + k holds 4 codes of each of the 8 rows: the low nibbles
 * are elements 64p + 4k .. + 3 (sub-block 2p), the high ones + 32 (sub-block 2p + 1), so one
 * activation dword broadcast serves all 8 rows. No VNNI
 * on these CPUs: maddubs gives per row two int16 partial sums, and the 8 chunks of a
 * sub-block add up in int16 before anything else (|8 x 2 x 15 x 128| = 30720 < 32767, with
 * activation codes down to -128), then one madd with the row's scale in both halves of its
 * dword (sc | sc << 16) makes S_k sc_k in int32 (|2 x 30720 x 63| < 2^22; |sumi| < 2^24).
 * Per 8 rows x 64 codes: 8 loads, 8 and + 8 shift + 8 and (nibbles), 16 broadcasts, 16
 * maddubs, 14 int16 adds, 2 madd, 2 adds. The scales leave the layout's 48-bit row-pair
 * words by two 16-byte loads (row r's 24 bits are bytes 3r .. 3r + 2 of the unit, rows 4-7
 * from 12 bytes on) and one pshufb that puts the 16 bits holding the field in both halves of
 * each row's dword, then a 16-bit shift and mask. The mins: the pairs (m_2t, m_2t+1) as
 * int16 in the rows' dwords, madd against the broadcast bsum pairs (B_2t | B_2t+1 << 16,
 * prep_blocks, once per activation block). Then the reference's float steps per row and
 * block (dot_q45_k, kernels/ref/dot_qk.c; mul, mul, sub, mul, add, no fma): the integers are
 * exact, so the results are bit-identical to tile_q4_kx8_ref and vec_dot_q4_k_ref
 * (tests/test_repack.c).
 *
 * Against 1 to 4 activations (repack_kx8_walk.h). Instructions per 32 weights, decode (64 x
 * 2048, one activation; callgrind, library built with -march=x86-64-v3, i.e. 16 ymm
 * registers as on Zen 1-3): the row kernel (avx2_kquant.c) 13.2, this tile 6.88; 4
 * activations 31.9 -> 21.7 (per weight x activation 8.0 -> 5.4). Sharing broadcasts between
 * two groups (as the AVX2 Q2_K tile) counted 7.34, then 6.92 with the pragma below: on 16
 * registers the saved broadcasts go into spills. What decode lacked was not instructions but
 * memory streams: one group at a time read one stream, and the tile reached 8.4-8.7 GB/s
 * where the AVX-512 pair tile reads 11.2-11.7 (1 thread, 40 packed 5632 x 2048 matrices,
 * 460 MB streamed per pass, median of 7; a harness outside the tree on the 2-core
 * Sapphire-Rapids-class Xeon VM, bench lock). So one activation walks two groups, their
 * blocks alternating, both prefetched (kx8_pair, KX8_PAIRS): 10.3-10.6 GB/s. (Look-ahead in
 * blocks 2 / 3 / 4 / 5 / 6 / 8 / 12: 10.9 / 11.0 / 10.5-10.7 / 10.3 / 10.1 / 10.1 / 9.8 in the
 * harness, 4 and 8 tied in the model, so the shared default of 8 stays.)
 * Batches: 4 activations' sums did not fit 16 registers, and gcc spilled 232 ymm registers
 * a block, reassociated the int16 chains into trees (all 8 products of a sum kept) and
 * hoisted later chunks' broadcasts; with the sums in memory (MEM_NA), a barrier per chunk
 * and the chains pinned: 2 spills a block, and at 64 tokens in 24-row panels (matmul.c)
 * the harness gives 33.4 -> 48.1 GB/s x tokens (4 tokens 33-34 -> 43-45). Loop bodies of
 * the gcc 12 objects, instructions per 32 weights (x activation): 1 activation 6.75 (one
 * group) -> 6.70 (pair), 4 activations 5.35 -> 4.35.
 * TinyLlama-shape q4_k, SCARCE_ISA=avx2, `tools/side_by_side.py --isa avx2 -p 64 -n 32 -r 3
 * -t 1,2` against llama.cpp built for AVX2 only, old and new binaries alternated twice, load
 * 3.5, tok/s at 1 / 2 threads: tg32 12.4, 12.7 / 22.6, 24.2 -> 17.1, 18.3 / 29.8, 33.5
 * (llama.cpp 12.1-12.8 / 19.9-23.6), pp64 55.4, 55.7 / 98.0, 104.4 -> 75.7, 82.1 / 110.2,
 * 139.8 (llama.cpp 46-47 / 88-96). */
/* as avx2_repack_q2k.c: without it gcc schedules loads far ahead and spills (stack accesses
 * of the pure-AVX2 one-activation walk 54 -> 12) */
#pragma GCC optimize("schedule-insns", "sched-pressure")

#include <immintrin.h>
#include <stdalign.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx2_util.h"

enum { X8_BYTES = REPACK_ROWS * sizeof(block_q4_K), UNITS_AT = 32, QS_AT = 128 };
/* an activation block's 4 bsum pairs (prep_blocks) */
#define PREP_BYTES 16
#define KX8_PAIRS
#include "repack_kx8_walk.h"
#include "q4k_prep.h"

/* Unit u of a packed block with row r's 24 bits (4 fields of 6) at bytes 4 (r % 4) ..: the
 * unit's bytes 0-15 in the low 128-bit lane, 12-27 in the high one (pshufb works per lane). */
static inline __m256i unit_load(const uint8_t *blk, int u) {
    const uint8_t *p = blk + UNITS_AT + 24 * u;
    return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                   _mm_loadu_si128((const __m128i *)(p + 12)), 1);
}

/* pshufb of unit_load: each row's dword = its bytes (b0, b1, b0, b1) (fields 0, 1 at bits 0
 * and 6 of each half), (b1, b2, b1, b2) (fields 2, 3 at bits 4, 10), or (b0, b1, b2, 0). */
static inline __m256i unit_bytes(__m256i unit, int which) {
    static const int8_t idx[3][16] = {{0, 1, 0, 1, 3, 4, 3, 4, 6, 7, 6, 7, 9, 10, 9, 10},
                                      {1, 2, 1, 2, 4, 5, 4, 5, 7, 8, 7, 8, 10, 11, 10, 11},
                                      {0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1}};
    return _mm256_shuffle_epi8(
        unit, _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)idx[which])));
}

/* Field j (0..3) of each row in both int16 halves of its dword: the madd operand that
 * scales a row's two int16 sums. w = unit_bytes(unit, j / 2). */
static inline __m256i field_pair(__m256i w, int j) {
    const __m256i six = _mm256_set1_epi16(0x3F);
    switch (j) {
    case 0:
        return _mm256_and_si256(w, six);
    case 1:
        return _mm256_and_si256(_mm256_srli_epi16(w, 6), six);
    case 2:
        return _mm256_and_si256(_mm256_srli_epi16(w, 4), six);
    default:
        return _mm256_srli_epi16(w, 10);
    }
}

/* Fields 2t and 2t + 1 of each row as the int16 pair (f_2t, f_2t+1) of its dword, from the
 * rows' 24 bits x (unit_bytes(unit, 2)). */
static inline __m256i field_twins(__m256i x, int t) {
    const __m256i six = _mm256_set1_epi16(0x3F);
    const __m256i lo = t ? _mm256_srli_epi32(x, 12) : x;
    const __m256i hi = t ? _mm256_srli_epi32(x, 2) : _mm256_slli_epi32(x, 10);
    return _mm256_and_si256(_mm256_blend_epi16(lo, hi, 0xAA), six);
}

/* From this many activations on, kx8_block's int32 sums and kx8_run's float accumulators
 * live in memory (one load and store per sub-block pair or block): in registers they made
 * 4 activations' 8 int16 sums, 4 int32 sums and 4 accumulators on 16 ymm registers, which
 * gcc spilled inside the chunk loop (232 ymm stores a block; 2 now). */
enum { MEM_NA = 2 };
/* Block blk (8 rows) x NA activations, ab[j] activation j's block and bp[j] its prepared
 * data: acc[j] += the rows' block sums against activation j. */
static inline __attribute__((always_inline)) void kx8_block(const uint8_t *blk,
                                                            const block_q8_K *const *ab,
                                                            const int32_t *const *bp, __m256 *acc,
                                                            const int NA) {
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256i sumi_r[MAX_NA];
    alignas(32) __m256i sumi_m[MAX_NA];
    __m256i *sumi = sumi_r;
    if (NA >= MEM_NA) __asm__("" : "=r"(sumi) : "0"(sumi_m));
    for (int j = 0; j < NA; j++) sumi[j] = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int p = 0; p < 4; p++) {
        __m256i s_lo[MAX_NA], s_hi[MAX_NA];
#pragma GCC unroll 8
        for (int k = 0; k < 8; k++) {
            /* without it gcc hoists the broadcasts of later chunks and spills them */
            __asm__ volatile("" ::: "memory");
            const __m256i raw =
                _mm256_loadu_si256((const __m256i *)(blk + QS_AT + 32 * (8 * p + k)));
            const __m256i lo = _mm256_and_si256(raw, low4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
            for (int j = 0; j < NA; j++) {
                const int8_t *a = ab[j]->qs + 64 * p + 4 * k;
                const __m256i x_lo = _mm256_maddubs_epi16(lo, bcast4(a));
                const __m256i x_hi = _mm256_maddubs_epi16(hi, bcast4(a + 32));
                s_lo[j] = k ? _mm256_add_epi16(s_lo[j], x_lo) : x_lo;
                s_hi[j] = k ? _mm256_add_epi16(s_hi[j], x_hi) : x_hi;
                /* a chain, not a tree: reassociated, the 8 products of each sum are kept
                 * (and spilled) until the end of the sub-block */
                __asm__("" : "+x"(s_lo[j]), "+x"(s_hi[j]));
            }
        }
        /* sub-blocks 2p and 2p + 1: unit p / 2, fields 2 (p % 2) and + 1 */
        const __m256i wb = unit_bytes(unit_load(blk, p / 2), p % 2);
        const __m256i sc_lo = field_pair(wb, 2 * (p % 2));
        const __m256i sc_hi = field_pair(wb, 2 * (p % 2) + 1);
        for (int j = 0; j < NA; j++)
            sumi[j] = _mm256_add_epi32(sumi[j], _mm256_add_epi32(_mm256_madd_epi16(s_lo[j], sc_lo),
                                                                 _mm256_madd_epi16(s_hi[j], sc_hi)));
    }
    const __m256i x2 = unit_bytes(unit_load(blk, 2), 2);
    const __m256i x3 = unit_bytes(unit_load(blk, 3), 2);
    const __m256i mins[4] = {field_twins(x2, 0), field_twins(x2, 1), field_twins(x3, 0),
                             field_twins(x3, 1)};
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
    const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16)));
    for (int j = 0; j < NA; j++) {
        __m256i summ = _mm256_madd_epi16(mins[0], _mm256_set1_epi32(bp[j][0]));
        for (int q = 1; q < 4; q++)
            summ = _mm256_add_epi32(summ, _mm256_madd_epi16(mins[q], _mm256_set1_epi32(bp[j][q])));
        /* the reference's da * (d * sumi - dmin * summ), then += */
        const __m256 v = _mm256_sub_ps(_mm256_mul_ps(d, _mm256_cvtepi32_ps(sumi[j])),
                                       _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(summ)));
        acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_set1_ps(ab[j]->d), v));
    }
}

/* kx8_block's activation pointers for block i (prepared data from block i0 on) */
static inline __attribute__((always_inline)) void block_acts(const tile_args *t, int64_t i,
                                                             int64_t i0, const block_q8_K **ab,
                                                             const int32_t **bp, const int NA) {
    for (int j = 0; j < NA; j++) ab[j] = act_row(t, j) + i, bp[j] = act_prep(t, j, i - i0);
}

/* Blocks [from, to) of one group (blocks w, 8 rows) x NA activations, prepared data from
 * block i0 on; y += (accumulate) or y = sums. */
static inline __attribute__((always_inline)) void kx8_run(const tile_args *t, const uint8_t *w,
                                                          int64_t i0, int64_t from, int64_t to,
                                                          float *y, int accumulate, const int NA) {
    __m256 acc_r[MAX_NA];
    alignas(32) __m256 acc_m[MAX_NA];
    __m256 *acc = acc_r;
    if (NA >= MEM_NA) __asm__("" : "=r"(acc) : "0"(acc_m));
    for (int j = 0; j < NA; j++)
        acc[j] = accumulate ? _mm256_loadu_ps(y + j * t->y_stride) : _mm256_setzero_ps();
    for (int64_t i = from; i < to; i++) {
        const uint8_t *blk = w + i * X8_BYTES;
        prefetch_block(blk);
        const block_q8_K *ab[MAX_NA];
        const int32_t *bp[MAX_NA];
        block_acts(t, i, i0, ab, bp, NA);
        kx8_block(blk, ab, bp, acc, NA);
    }
    for (int j = 0; j < NA; j++) _mm256_storeu_ps(y + j * t->y_stride, acc[j]);
}

/* kx8_group of repack_kx8_walk.h: one group (blocks w, 8 rows) x NA activations over blocks
 * [i0, i1); y += (accumulate) or y = sums. */
static inline __attribute__((always_inline)) void kx8_group(const tile_args *t, const uint8_t *w,
                                                            int64_t i0, int64_t i1, int accumulate,
                                                            const int NA) {
    kx8_run(t, w, i0, i0, i1, t->y, accumulate, NA);
}

/* kx8_pair of repack_kx8_walk.h: two groups (blocks w and w + gb, 16 rows) x NA activations
 * over blocks [from, to) of the span from i0, y[j * y_stride + 0..15]. One activation: the
 * two groups' blocks alternate, two streams from memory with both prefetched (the same
 * steps per group as kx8_group: the same bits). More: one group after the other (kx8_run),
 * their blocks come from L2 (a batch panel) and two accumulator sets would not fit. */
static inline __attribute__((always_inline)) void kx8_pair(const tile_args *t, const uint8_t *w,
                                                           size_t gb, size_t ahead0, int64_t i0,
                                                           int64_t from, int64_t to, int accumulate,
                                                           const int NA) {
    if (NA > 1) {
        kx8_run(t, w, i0, from, to, t->y, accumulate, NA);
        kx8_run(t, w + gb, i0, from, to, t->y + 8, accumulate, NA);
        return;
    }
    __m256 acc0[MAX_NA], acc1[MAX_NA];
    for (int j = 0; j < NA; j++) {
        acc0[j] = accumulate ? _mm256_loadu_ps(t->y + j * t->y_stride) : _mm256_setzero_ps();
        acc1[j] = accumulate ? _mm256_loadu_ps(t->y + j * t->y_stride + 8) : _mm256_setzero_ps();
    }
    for (int64_t i = from; i < to; i++) {
        const uint8_t *b0 = w + i * X8_BYTES, *b1 = b0 + gb;
        prefetch_pair(b0, b1, ahead0);
        const block_q8_K *ab[MAX_NA];
        const int32_t *bp[MAX_NA];
        block_acts(t, i, i0, ab, bp, NA);
        kx8_block(b0, ab, bp, acc0, NA);
        kx8_block(b1, ab, bp, acc1, NA);
    }
    for (int j = 0; j < NA; j++) {
        _mm256_storeu_ps(t->y + j * t->y_stride, acc0[j]);
        _mm256_storeu_ps(t->y + j * t->y_stride + 8, acc1[j]);
    }
}

void tile_q4_kx8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    kx8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}
