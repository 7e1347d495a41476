/* avx512_tile.c - block-32 weights (Q4_0, Q8_0, Q5_0, Q5_1, IQ4_NL; file layout) against Q8_0
 * activations, NR rows x NA activations at a time (vec_dot_tile of the ISA tables): the walk
 * of tile_rows.h with VNNI products. The row kernels of Q5_0, Q5_1 and IQ4_NL are the 1 x 1
 * tile. The codes go into vpdpbusd unsigned, the offset comes off with the activation's code
 * sum, computed once per activation block for all rows:
 *   Q4_0, Q5_0: sum (q - k) y = sum q y - k sum y        (q the code, k = 8 / 16)
 *   Q8_0:       sum x y = sum (x ^ 0x80) y - 128 sum y    (x ^ 0x80 = x + 128, 0..255)
 *   IQ4_NL:     the same with the grid stored xor 0x80
 *   Q5_1:       sum q y, and sum y for the m term
 * All exact in int32 for every code (-128 included). */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "avx512.h"
#include "avx512_util.h"
#include "tile_rows.h"

/* the code offset k of the unsigned codes; Q5_1: 1 (its prep is sum y) */
static inline char code_offset(const int KIND) {
    return KIND == TILE_Q4_0 ? 8 : KIND == TILE_Q5_0 ? 16 : KIND == TILE_Q5_1 ? 1 : (char)0x80;
}

/* k sum y (Q5_1: sum y) as 8 int32 lanes */
static inline __m256i act_prep(__m256i qy, const int KIND) {
    return dpbusd(_mm256_setzero_si256(), _mm256_set1_epi8(code_offset(KIND)), qy);
}

static inline void row_prep(const uint8_t *blk, const int KIND, __m256i w[2]) {
    if (KIND == TILE_Q4_0) {
        w[0] = unpack_nibbles(blk + offsetof(block_q4_0, qs));
    } else if (KIND == TILE_Q8_0) {
        w[0] =
            _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + offsetof(block_q8_0, qs))),
                             _mm256_set1_epi8((char)0x80));
    } else if (KIND == TILE_IQ4_NL) {
        const __m256i grid = _mm256_xor_si256(
            _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl)),
            _mm256_set1_epi8((char)0x80));
        w[0] = _mm256_shuffle_epi8(grid, unpack_nibbles(blk + offsetof(block_iq4_nl, qs)));
    } else {
        const size_t qh = KIND == TILE_Q5_0 ? offsetof(block_q5_0, qh) : offsetof(block_q5_1, qh);
        const size_t qs = KIND == TILE_Q5_0 ? offsetof(block_q5_0, qs) : offsetof(block_q5_1, qs);
        w[0] = _mm256_or_si256(unpack_nibbles(blk + qs), q5_fifth_bits_k(blk + qh));
    }
    w[1] = w[0];
}

static inline __m256i block_dot(const __m256i w[2], __m256i qy, __m256i prep, const int KIND) {
    __m256i qa = dpbusd(_mm256_setzero_si256(), w[0], qy);
    return KIND == TILE_Q5_1 ? qa : _mm256_sub_epi32(qa, prep);
}

TILE_ROWS_ENTRY_POINTS(avx512)
