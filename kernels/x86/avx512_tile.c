/* avx512_tile.c - block-32 weights (Q4_0, Q8_0, Q5_0, Q5_1, IQ4_NL; file layout) against Q8_0
 * activations, NR rows x NA activations at a time (vec_dot_tile of the ISA tables): the walk
 * of tile_rows.h with VNNI products. The row kernels of Q5_0, Q5_1 and IQ4_NL are the 1 x 1
 * tile. The codes go into vpdpbusd unsigned, the offset comes off with the activation's code
 * sum, computed once per activation block for all rows:
 *   Q4_0, Q5_0: sum (q - k) y = sum q y - k sum y        (q the code, k = 8 / 16)
 *   Q8_0:       sum x y = sum (x ^ 0x80) y - 128 sum y    (x ^ 0x80 = x + 128, 0..255)
 *   IQ4_NL:     the same with the grid stored xor 0x80
 *   Q5_1:       sum q y, and sum y for the m term
 * All exact in int32 for every code (-128 included). Decode (one activation) goes through
 * tile_x4_one: two rows per 512-bit register (instructions per 4 rows x 32 weights, objdump
 * of gcc 12 -O3, tile_x -> tile_x4_one: Q5_0 73 -> 48, IQ4_NL 68 -> 45, Q4_0 64 -> 40,
 * Q8_0 49 -> 34, Q5_1 102 -> 63). */
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

/* Rows r0, r1's weight blocks (b0, b1) as 64 unsigned codes: lanes 0-31 row r0's 32 codes
 * in row_prep's order, 32-63 row r1's. Nibbles: the two rows' 16 bytes side by side,
 * each 128-bit lane doubled (vshufi64x2), the odd lanes shifted by 4 (one masked shift). */
static inline __m512i rows2_prep(const uint8_t *b0, const uint8_t *b1, const int KIND) {
    if (KIND == TILE_Q8_0) {
        const size_t qs = offsetof(block_q8_0, qs);
        __m512i q = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(b0 + qs))),
            _mm256_loadu_si256((const __m256i *)(b1 + qs)), 1);
        return _mm512_xor_si512(q, _mm512_set1_epi8((char)0x80));
    }
    const size_t qs = KIND == TILE_Q5_0   ? offsetof(block_q5_0, qs)
                      : KIND == TILE_Q5_1 ? offsetof(block_q5_1, qs)
                                          : offsetof(block_q4_0, qs); /* Q4_0, IQ4_NL */
    __m512i q = _mm512_castsi256_si512(_mm256_inserti128_si256(
        _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(b0 + qs))),
        _mm_loadu_si128((const __m128i *)(b1 + qs)), 1));
    q = _mm512_shuffle_i64x2(q, q, 0x50); /* 128-bit lanes 0 0 1 1 */
    q = _mm512_mask_srli_epi16(q, 0xFF00FF00u, q, 4);
    if (KIND == TILE_Q5_0 || KIND == TILE_Q5_1) {
        /* (q & 0x0F) | the fifth bits (bit j of qh: 0x10 in byte j), one vpternlogd */
        const size_t qh = KIND == TILE_Q5_0 ? offsetof(block_q5_0, qh) : offsetof(block_q5_1, qh);
        uint32_t h0, h1;
        memcpy(&h0, b0 + qh, 4), memcpy(&h1, b1 + qh, 4);
        __mmask64 fifth = _mm512_kunpackd((__mmask64)h1, (__mmask64)h0);
        return _mm512_ternarylogic_epi32(q, _mm512_set1_epi8(0x0F),
                                         _mm512_maskz_mov_epi8(fifth, _mm512_set1_epi8(0x10)), 0xEA);
    }
    q = _mm512_and_si512(q, _mm512_set1_epi8(0x0F));
    if (KIND == TILE_IQ4_NL) {
        const __m512i grid = _mm512_xor_si512(
            _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)kvalues_iq4nl)),
            _mm512_set1_epi8((char)0x80));
        return _mm512_shuffle_epi8(grid, q);
    }
    return q;
}

/* 16 floats: lanes 0-7 the fp16 at b0, 8-15 the one at b1 (two rows' d or m). */
static inline __m512 rows2_scale(const uint8_t *b0, const uint8_t *b1) {
    uint16_t h0, h1;
    memcpy(&h0, b0, 2), memcpy(&h1, b1, 2);
    return _mm512_cvtph_ps(_mm256_set_m128i(_mm_set1_epi16((short)h1), _mm_set1_epi16((short)h0)));
}

/* The decode tile, 4 rows x 1 activation, two rows per 512-bit register (lanes 0-7 the
 * first row's 8 partial sums, 8-15 the second's): one vpdpbusd and one fold for two rows,
 * the activation loaded and its code sum formed once per block. Each lane goes through
 * tile_x's operations (the int32 partial sum less k sum y, exact; its float times
 * dx dy, FMA into the accumulator; Q5_1's m term added after), and each row's 8 lanes
 * through the same horizontal sum: the same bits as tile_x and the row kernels (the 1 x 1
 * tile), tests/test_gemm.c. */
static inline __attribute__((always_inline)) void tile_x4_one(int64_t nb, float *s, const char *w,
                                                              size_t w_stride, const char *a,
                                                              const int KIND) {
    const size_t bb = tile_block_bytes(KIND);
    const block_q8_0 *y = (const block_q8_0 *)a;
    __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t i = 0; i < nb; i++) {
        const __m512i qy = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)y[i].qs));
        const __m512i prep = _mm512_dpbusd_epi32(_mm512_setzero_si512(),
                                                 _mm512_set1_epi8(code_offset(KIND)), qy);
        /* the sums start at -k sum y (Q5_1: 0), so vpdpbusd leaves sum (q - k) y */
        const __m512i start =
            KIND == TILE_Q5_1 ? _mm512_setzero_si512() : _mm512_sub_epi32(_mm512_setzero_si512(), prep);
        const __m512 dy = _mm512_set1_ps(half_f16c(y[i].d));
        for (int p = 0; p < 2; p++) {
            const uint8_t *b0 = (const uint8_t *)(w + 2 * p * w_stride) + i * bb,
                          *b1 = b0 + w_stride;
            __m512 f = _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(start, rows2_prep(b0, b1, KIND), qy));
            __m512 dxy = _mm512_mul_ps(rows2_scale(b0, b1), dy);
            if (KIND == TILE_Q5_1) {
                __m512 m = _mm512_mul_ps(_mm512_cvtepi32_ps(prep),
                                         _mm512_mul_ps(rows2_scale(b0 + 2, b1 + 2), dy));
                acc[p] = _mm512_add_ps(acc[p], _mm512_fmadd_ps(f, dxy, m));
            } else {
                acc[p] = _mm512_fmadd_ps(f, dxy, acc[p]);
            }
        }
    }
    for (int p = 0; p < 2; p++) {
        s[2 * p] = hsum_f32x8(_mm512_castps512_ps256(acc[p]));
        s[2 * p + 1] = hsum_f32x8(_mm512_extractf32x8_ps(acc[p], 1));
    }
}

TILE_ROWS_ENTRY_POINTS(avx512)
