/* avx512_tile.c - Q4_0 and Q8_0 weights (file layout) against Q8_0 activations, NR rows x
 * NA activations at a time (vec_dot_tile of the ISA tables): the walk of tile_rows.h with
 * VNNI products. The codes go into vpdpbusd unsigned, the offset comes off with the
 * activation's code sum, computed once per activation block for all rows:
 *   Q4_0: sum (q - 8) y = sum q y - 8 sum y            (q = the nibble, 0..15)
 *   Q8_0: sum x y = sum (x ^ 0x80) y - 128 sum y        (x ^ 0x80 = x + 128, 0..255)
 * Both exact in int32 for every code (-128 included). */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "avx512.h"
#include "avx512_util.h"
#include "tile_rows.h"

/* k sum y as 8 int32 lanes: k = 8 (Q4_0) or 128 (Q8_0) */
static inline __m256i act_prep(__m256i qy, const int KIND) {
    const __m256i k = _mm256_set1_epi8((char)(KIND == TILE_Q4_0 ? 8 : 0x80));
    return dpbusd(_mm256_setzero_si256(), k, qy);
}

static inline void row_prep(const uint8_t *qs, const int KIND, __m256i w[2]) {
    if (KIND == TILE_Q4_0)
        w[0] = unpack_nibbles(qs);
    else
        w[0] =
            _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)qs), _mm256_set1_epi8((char)0x80));
    w[1] = w[0];
}

static inline __m256i block_dot(const __m256i w[2], __m256i qy, __m256i prep, const int KIND) {
    (void)KIND;
    return _mm256_sub_epi32(dpbusd(_mm256_setzero_si256(), w[0], qy), prep);
}

void vec_dot_tile_q4_0_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact) {
    tile_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, TILE_Q4_0);
}

void vec_dot_tile_q8_0_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact) {
    tile_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, TILE_Q8_0);
}
