/* avx2_tile.c - block-32 weights (Q4_0, Q8_0, Q5_0, Q5_1, IQ4_NL) against Q8_0 activations,
 * NR rows x NA activations at a time (vec_dot_tile of the ISA tables, kernels/cpu.h): the
 * walk of tile_rows.h with AVX2 products. The row kernels of Q5_0, Q5_1 and IQ4_NL are the
 * 1 x 1 tile.
 *
 * Unsigned codes (Q4_0, Q5_0: the nibble q, 0..15 / 0..31) without the sign trick:
 *   sum (q - k) y = sum q y - sum k y     (k = 8 / 16),
 * both as int16 pairs from maddubs (|pair| <= 2 * 31 * 128 and 2 * 16 * 128: no saturation),
 * subtracted before one madd to int32: the block sum is exact, as in the reference, and
 * sum k y is formed once per activation block for all rows. Q5_1 (x = d q + m) takes sum q y
 * the same way and sum y for its m term.
 * Signed codes (Q8_0; IQ4_NL after the grid lookup): sign trick, |x| (unsigned) times y
 * with x's sign. It needs y != -128 (sign(-128) cannot be negated in int8): the Q8_0
 * activation quantizers give codes in [-127, 127] (tests/test_gemm.c checks it). */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"
#include "tile_rows.h"

static inline int signed_codes(const int KIND) {
    return KIND == TILE_Q8_0 || KIND == TILE_IQ4_NL;
}

/* Q4_0 / Q5_0: the int16 pairs of k y; Q5_1: sum y as 8 int32 lanes; signed codes: nothing */
static inline __m256i act_prep(__m256i qy, const int KIND) {
    if (KIND == TILE_Q5_1)
        return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), qy),
                                 _mm256_set1_epi16(1));
    if (signed_codes(KIND)) return qy;
    return _mm256_maddubs_epi16(_mm256_set1_epi8(KIND == TILE_Q4_0 ? 8 : 16), qy);
}

/* Unsigned codes: the codes; signed ones: the codes and their absolute values */
static inline void row_prep(const uint8_t *blk, const int KIND, __m256i w[2]) {
    if (KIND == TILE_Q8_0) {
        w[0] = _mm256_loadu_si256((const __m256i *)(blk + offsetof(block_q8_0, qs)));
    } else if (KIND == TILE_IQ4_NL) {
        const __m256i grid =
            _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl));
        w[0] = _mm256_shuffle_epi8(grid, unpack_nibbles(blk + offsetof(block_iq4_nl, qs)));
    } else if (KIND == TILE_Q4_0) {
        w[0] = w[1] = unpack_nibbles(blk + offsetof(block_q4_0, qs));
        return;
    } else {
        const size_t qh = KIND == TILE_Q5_0 ? offsetof(block_q5_0, qh) : offsetof(block_q5_1, qh);
        const size_t qs = KIND == TILE_Q5_0 ? offsetof(block_q5_0, qs) : offsetof(block_q5_1, qs);
        w[0] = w[1] = _mm256_or_si256(unpack_nibbles(blk + qs), q5_fifth_bits(blk + qh));
        return;
    }
    w[1] = _mm256_sign_epi8(w[0], w[0]);
}

static inline __m256i block_dot(const __m256i w[2], __m256i qy, __m256i prep, const int KIND) {
    const __m256i ones = _mm256_set1_epi16(1);
    if (signed_codes(KIND))
        return _mm256_madd_epi16(_mm256_maddubs_epi16(w[1], _mm256_sign_epi8(qy, w[0])), ones);
    if (KIND == TILE_Q5_1) return _mm256_madd_epi16(_mm256_maddubs_epi16(w[0], qy), ones);
    return _mm256_madd_epi16(_mm256_sub_epi16(_mm256_maddubs_epi16(w[0], qy), prep), ones);
}

static inline __attribute__((always_inline)) void tile_x4_one(int64_t nb, float *s, const char *w,
                                                              size_t w_stride, const char *a,
                                                              const int KIND) {
    tile_x(nb, s, 0, w, w_stride, a, 0, MAX_NR, 1, KIND);
}

TILE_ROWS_ENTRY_POINTS(avx2)

/* Q5_0 (q - 16) and IQ4_NL (the grid value) blocks as Q8_0 blocks, exactly: the same d and
 * the same int8 values (type_kernels.to_q8_0: GEMM_I8X8 runs them on Q8_0's packed
 * kernel). row_prep's codes, so the values are the tile's. */
static inline __attribute__((always_inline)) void to_q8_0(const void *src, void *dst, int64_t n,
                                                          const int KIND) {
    const uint8_t *x = src;
    block_q8_0 *y = dst;
    const size_t bb = tile_block_bytes(KIND);
    for (int64_t i = 0; i < n / QK32; i++) {
        const uint8_t *blk = x + i * bb;
        __m256i w[2];
        row_prep(blk, KIND, w);
        if (KIND == TILE_Q5_0) w[0] = _mm256_sub_epi8(w[0], _mm256_set1_epi8(16));
        memcpy(&y[i].d, blk, sizeof y[i].d);
        _mm256_storeu_si256((__m256i *)y[i].qs, w[0]);
    }
}

void q5_0_to_q8_0_avx2(const void *src, void *dst, int64_t n) {
    to_q8_0(src, dst, n, TILE_Q5_0);
}
void iq4_nl_to_q8_0_avx2(const void *src, void *dst, int64_t n) {
    to_q8_0(src, dst, n, TILE_IQ4_NL);
}
