/* avx2_repack.c - gemv over the 8-row interleaved Q4_0 / Q4_1 / Q8_0 layout (kernels/repack.h).
 *
 * One 256-bit load of a packed block holds 4 weights of each of 8 rows (lane = row), so
 * the activation is broadcast 4 bytes at a time and one maddubs multiplies 32 weights of
 * 8 rows. The per-block fold (int32 -> float, x scales, accumulate) is done once for the
 * 8 rows, and the 8 row sums come out as one vector: no horizontal sums. Decode walks two
 * groups (16 rows) per broadcast; batches one group against up to 4 activations, so each
 * weight load and nibble unpack serves 4 tokens.
 *
 * Float operations per row are those of the scalar reference (exact block sum, scale
 * product, then mul and add rather than fma): results are bit-identical to it.
 *
 * Q4_0: nibbles q (0..15) stay unsigned, so maddubs(q, y) needs no sign trick and
 *   sum (q - 8) y = sum q y - 8 sum y,
 * with 8 sum y computed once per activation block for all rows. The 8 maddubs of a block
 * add up in int16: 8 x 2 x 15 x 128 = 30720 < 32767. Q4_1 (x = d q + m) is the same loop
 * without the subtraction; its m term, m dy sum y, uses sum y computed once per activation
 * block as well. Q8_0 uses the sign trick
 * (|w| x sign(y, w)); its int16 pairs (up to 2 x 128 x 127) go to int32 after each.
 *
 * ggml's block_q4_0x8 interleaves 8-byte chunks and stores nibbles xor 0x88 (signed, times
 * 16), which needs a sign fix-up per multiply; 4-byte chunks and unsigned nibbles need one
 * dword broadcast per chunk and one subtraction per block instead. */
/* Register-pressure-aware scheduling before allocation: without it gcc 12 starts every
 * broadcast and maddubs of a block early and spills the sums and accumulators to the
 * stack (263 ymm stack accesses vs 58; measured faster, see tests/test_repack.c bench). */
#pragma GCC optimize("schedule-insns", "sched-pressure")

#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx2_util.h"
#include "repack_x8_walk.h"

/* Decode (group pairs) prefetches each group's lines this many bytes ahead. Measured on the
 * 2-core Sapphire-Rapids-class Xeon with SCARCE_ISA=avx2: 600 MB matvec of 2048 columns in
 * 64-row pieces as matmul hands them out, 1 thread, thread CPU time, median of 3 rounds of 5,
 * load 5-8, none / 1024 / 2048 / 3072 bytes: Q4_0 7.97 / 11.14 / 11.64 / 11.18 GB/s, Q8_0
 * 9.72 / 11.22 / 11.51 / 11.47 (Q4_0 5.61 -> 6.11 instructions per 32 weights). */
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 2048
#endif

/* Q4_0's code offset (q - 8) comes off as 8 sum y; Q4_1's m term takes sum y; Q8_0's
 * codes are signed (sign trick), no offset. */
static inline int32_t ysum_mult(const int KIND) {
    return KIND == KIND_Q8_0 ? 0 : KIND == KIND_Q4_0 ? 8 : 1;
}

/* NG groups x NA activations over blocks [from, to) of the span that starts at block i0
 * (ysum's index base). Q4: the maddubs of a block add up in int16 (8 x 2 x 15 x 128 = 30720
 * < 32767), one madd to int32 per block. Q8_0: |w| x sign(y, w), the int16 pairs (up to 2 x
 * 128 x 127) to int32 after each maddubs. A pair (NG = 2, decode) prefetches the first
 * group's lines ahead0 bytes ahead and the second's PREFETCH_AHEAD (x8_tile). */
static inline __attribute__((always_inline)) void x8_blocks(const tile_args *t, int64_t i0,
                                                            int64_t from, int64_t to,
                                                            size_t ahead0,
                                                            int32_t (*ysum)[SPAN_BLOCKS],
                                                            int accumulate, const int NG,
                                                            const int NA, const int KIND) {
    const size_t bb = x8_bytes(KIND), head = head_bytes(KIND);
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    __m256 acc[MAX_NG][MAX_NA];
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < NA; j++)
            acc[g][j] =
                accumulate ? _mm256_loadu_ps(t->y + j * t->y_stride + 8 * g) : _mm256_setzero_ps();
    for (int64_t i = from; i < to; i++) {
        const uint8_t *blk = t->w + i * bb;
        if (NG == 2) {
            const char *p0 = (const char *)blk + ahead0,
                       *p1 = (const char *)blk + t->group_bytes + PREFETCH_AHEAD;
#pragma GCC unroll 5
            for (size_t l = 0; l < (bb + 63) / 64; l++) {
                _mm_prefetch(p0 + 64 * l, _MM_HINT_T0);
                _mm_prefetch(p1 + 64 * l, _MM_HINT_T0);
            }
        }
        __m256i sum[MAX_NG][MAX_NA]; /* Q4: int16 lanes, Q8_0: int32 */
        for (int g = 0; g < NG; g++)
            for (int j = 0; j < NA; j++) sum[g][j] = _mm256_setzero_si256();
        for (int c = 0; c < (KIND == KIND_Q8_0 ? 8 : 4); c++)
            for (int g = 0; g < NG; g++) {
                __m256i raw =
                    _mm256_loadu_si256((const __m256i *)(blk + g * t->group_bytes + head + 32 * c));
                for (int j = 0; j < NA; j++) {
                    const int8_t *qs = act_row(t, j)[i].qs;
                    if (KIND == KIND_Q8_0) {
                        __m256i pairs = _mm256_maddubs_epi16(
                            _mm256_sign_epi8(raw, raw), _mm256_sign_epi8(bcast4(qs + 4 * c), raw));
                        sum[g][j] = _mm256_add_epi32(sum[g][j], _mm256_madd_epi16(pairs, ones));
                    } else {
                        __m256i lo = _mm256_and_si256(raw, m4);
                        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                        sum[g][j] = _mm256_add_epi16(sum[g][j],
                                                     _mm256_maddubs_epi16(lo, bcast4(qs + 4 * c)));
                        sum[g][j] = _mm256_add_epi16(
                            sum[g][j], _mm256_maddubs_epi16(hi, bcast4(qs + 16 + 4 * c)));
                    }
                }
            }
        for (int g = 0; g < NG; g++) {
            const uint8_t *gblk = blk + g * t->group_bytes;
            __m256 dx = load_scales(gblk);
            for (int j = 0; j < NA; j++) {
                __m256i isum = KIND == KIND_Q8_0 ? sum[g][j] : _mm256_madd_epi16(sum[g][j], ones);
                acc[g][j] = fold(acc[g][j], isum, dx, gblk, act_row(t, j)[i].d,
                                 ysum_mult(KIND) ? ysum[j][i - i0] : 0, KIND);
            }
        }
    }
    for (int g = 0; g < NG; g++)
        for (int j = 0; j < NA; j++) _mm256_storeu_ps(t->y + j * t->y_stride + 8 * g, acc[g][j]);
}

/* NG groups x NA activations over blocks [i0, i1) (see repack_x8_walk.h). A pair's first
 * group looks ahead PREFETCH_AHEAD bytes until that lands in the second group (being read
 * now), then 2 groups further, in the next pair's second group (the second group's lands in
 * the next pair's first by itself), as the AVX-512 pair tile (avx512_repack.c): two runs, no
 * per-block cost. */
static inline __attribute__((always_inline)) void x8_tile(const tile_args *t, int64_t i0,
                                                          int64_t i1, int32_t (*ysum)[SPAN_BLOCKS],
                                                          int accumulate, const int NG,
                                                          const int NA, const int KIND) {
    if (NG == 1) {
        x8_blocks(t, i0, i0, i1, 0, ysum, accumulate, NG, NA, KIND);
        return;
    }
    const size_t bb = x8_bytes(KIND), gb = t->group_bytes;
    const int64_t i_jump = gb > PREFETCH_AHEAD ? (int64_t)((gb - PREFETCH_AHEAD + bb - 1) / bb) : 0;
    const int64_t mid = i_jump < i0 ? i0 : i_jump > i1 ? i1 : i_jump;
    if (mid > i0) x8_blocks(t, i0, i0, mid, PREFETCH_AHEAD, ysum, accumulate, NG, NA, KIND);
    if (i1 > mid)
        x8_blocks(t, i0, mid, i1, PREFETCH_AHEAD + 2 * gb, ysum, accumulate || mid > i0, NG, NA,
                  KIND);
}

static inline __m256i code_sums(__m256i q) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
}

void tile_q4_0x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q4_0);
}

void tile_q4_1x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q4_1);
}

void tile_q8_0x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    x8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KIND_Q8_0);
}
