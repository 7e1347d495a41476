/* avx512_repack_q2k.c - gemv over the Q2_K layout in sub-block dwords (kernels/repack.h,
 * "q2_kx8d") against Q8_K activations with AVX-512 VNNI: decode and batches of up to 15
 * tokens.
 *
 *   sum x a = da (d sumi - dmin summ),  sumi = sum_k sc_k S_k,  S_k = sum_{e in k} q_e a_e,
 *                                       summ = sum_k m_k bsums_k     (k = 16 sub-blocks)
 *
 * Lane = row, 256-bit registers. A row's dword in a chunk holds 4 qs bytes whose codes at
 * bits 2j are 4 elements of one sub-block, so per chunk and j one and (codes q for even j;
 * for odd j masked in place, 4 q) and one vpdpbusd against the activation dword, broadcast
 * from memory as an EVEX operand, add to that sub-block's S_k in the rows' lanes. S_k fits
 * int16 (|S_k| <= 4 x 3 x 128 x 16 = 24576), so vpdpwssd of S_k with the scale zero-extended
 * in the lane (sc, 0) is sc_k S_k: one instruction per sub-block and 8 rows. The scales come
 * from the layout's scale groups by one and per group and one vpshufb per sub-block (byte
 * k % 4 of each row's dword to its low byte, zeros above). The mins take vpdpbusd too: the
 * row's 4 min nibbles of a group as bytes against the activation's bsums split in base-16
 * digits (bsums = 16 hi + lo, lo in 0..15, hi in -128..127; formed once per activation
 * block): summ = sum m lo + 16 sum m hi. All integers are the reference's exactly:
 *   sumi = even-j sums + (odd-j sums, 4 sc S) / 4,   |sumi| <= 256 x 3 x 15 x 128,
 * and the float fold is the reference's operations (mul, mul, sub, mul, add; no fma):
 * results are bit-identical to tile_q2_kx8d_ref and vec_dot_q2_k_ref.
 *
 * Two groups at a time (kx8_pair): the same steps in 512-bit registers, lanes 0-7 one
 * group's rows and 8-15 the next group's, each 64-byte operand two 32-byte loads (vmovdqu,
 * vinserti64x4). Both halves want the same activation dword, so vpdpbusd keeps its {1to16}
 * memory broadcast and every unpack, shuffle and fold instruction serves 16 rows; an odd
 * last group goes through the 256-bit kx8_group.
 *
 * Instructions per 32 weights at decode (64 rows x 2048 columns, one activation, ptrace
 * single-step on the Sapphire-Rapids-class Xeon): the byte-pair layout (q2_kx8, maddubs into
 * int16 pair sums, repack_q2k_walk.h) 5.61, this one 4.14 (2 activations 4.98 -> 3.13 per
 * weight x activation, 4: 4.57 -> 2.60), 4.31 with the prefetches (PREFETCH_AHEAD); in group
 * pairs 2.63 (2 activations 1.82, 4: 1.55 per weight x activation). In L3 (20 MB matvec, 64-row
 * pieces, 1 thread, thread CPU time, median of 3 rounds of 9, load 3-4) 19.9 -> 25.8 GB/s;
 * from DRAM (600 MB, 5 runs a round, load 5-8) 2048 columns 9.14 -> 10.20, 5632 columns
 * 10.20 -> 11.58 GB/s. Prefetch distance of the pair, same probe, 4 / 8 / 12 / 16 blocks:
 * 2048 columns 10.71 / 10.71 / 11.60 / 12.54, 5632 columns 11.06 / 11.16 / 10.97 / 10.37-10.80
 * GB/s: flat within the load's noise, 8 kept. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx512.h"
#include "avx512_util.h"

enum { X8_BYTES = REPACK_ROWS * sizeof(block_q2_K), SCALES_AT = 32, QS_AT = 160 };
/* an activation block's bsums in base-16 digits (prep_blocks) */
#define PREP_BYTES 32
#define KX8_PAIRS
#include "repack_kx8_walk.h"

/* vpshufb index (per 128-bit lane): byte b of each dword to its byte 0, zeros above */
static inline __m256i byte_to_lane(int b) {
    const int x = (int)0x80808000u | b;
    return _mm256_setr_epi32(x, x + 4, x + 8, x + 12, x, x + 4, x + 8, x + 12);
}

/* kx8_group of repack_kx8_walk.h: one group (blocks w, 8 rows) x NA activations over
 * blocks [i0, i1); y += (accumulate) or y = sums. */
static inline __attribute__((always_inline)) void kx8_group(const tile_args *t, const uint8_t *w,
                                                            int64_t i0, int64_t i1, int accumulate,
                                                            const int NA) {
    const __m256i m3 = _mm256_set1_epi8(3), m12 = _mm256_set1_epi8(12);
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    __m256 acc[MAX_NA];
    for (int j = 0; j < NA; j++)
        acc[j] = accumulate ? _mm256_loadu_ps(t->y + j * t->y_stride) : _mm256_setzero_ps();
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *blk = w + i * X8_BYTES;
        prefetch_block(blk);
        __m256i even[MAX_NA], odd[MAX_NA];
        for (int j = 0; j < NA; j++) even[j] = odd[j] = _mm256_setzero_si256();
        __m256i sc[4]; /* scale groups, the scale nibbles as bytes */
        for (int g = 0; g < 4; g++)
            sc[g] = _mm256_and_si256(
                _mm256_loadu_si256((const __m256i *)(blk + SCALES_AT + 32 * g)), low4);
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++)
#pragma GCC unroll 2
            for (int half = 0; half < 2; half++) {
                /* S of sub-blocks 8h + 2jj + half, jj = 0..3 */
                __m256i sub[MAX_NA][4];
                for (int j = 0; j < NA; j++)
                    for (int jj = 0; jj < 4; jj++) sub[j][jj] = _mm256_setzero_si256();
#pragma GCC unroll 4
                for (int kk = 0; kk < 4; kk++) {
                    const int k = 4 * half + kk;
                    const __m256i raw =
                        _mm256_loadu_si256((const __m256i *)(blk + QS_AT + 32 * (8 * h + k)));
                    const __m256i raw4 = _mm256_srli_epi16(raw, 4);
                    const __m256i codes[4] = {_mm256_and_si256(raw, m3), _mm256_and_si256(raw, m12),
                                              _mm256_and_si256(raw4, m3),
                                              _mm256_and_si256(raw4, m12)};
                    for (int j = 0; j < NA; j++) {
                        const int8_t *a = act_row(t, j)[i].qs + 128 * h + 4 * k;
                        for (int jj = 0; jj < 4; jj++)
                            sub[j][jj] = dpbusd_bcast(sub[j][jj], codes[jj], a + 32 * jj);
                    }
                }
                for (int jj = 0; jj < 4; jj++) {
                    /* sub-block 8h + 2jj + half: group 2h + jj / 2, byte (2jj + half) % 4 */
                    const __m256i scale =
                        _mm256_shuffle_epi8(sc[2 * h + jj / 2], byte_to_lane((2 * jj + half) % 4));
                    for (int j = 0; j < NA; j++) {
                        if (jj % 2)
                            odd[j] = _mm256_dpwssd_epi32(odd[j], sub[j][jj], scale);
                        else
                            even[j] = _mm256_dpwssd_epi32(even[j], sub[j][jj], scale);
                    }
                }
            }
        __m256i mins[4];
        for (int g = 0; g < 4; g++)
            mins[g] = _mm256_and_si256(
                _mm256_srli_epi16(_mm256_loadu_si256((const __m256i *)(blk + SCALES_AT + 32 * g)),
                                  4),
                low4);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16)));
        for (int j = 0; j < NA; j++) {
            const int8_t *dg = act_prep(t, j, i - i0);
            __m256i summ_lo = _mm256_setzero_si256(), summ_hi = _mm256_setzero_si256();
            for (int g = 0; g < 4; g++) {
                summ_lo = dpbusd_bcast(summ_lo, mins[g], dg + 4 * g);
                summ_hi = dpbusd_bcast(summ_hi, mins[g], dg + 16 + 4 * g);
            }
            const __m256i summ = _mm256_add_epi32(summ_lo, _mm256_slli_epi32(summ_hi, 4));
            const __m256i sumi = _mm256_add_epi32(even[j], _mm256_srai_epi32(odd[j], 2));
            /* the reference's da * (d * sumi - dmin * summ), then += */
            const __m256 v = _mm256_sub_ps(_mm256_mul_ps(d, _mm256_cvtepi32_ps(sumi)),
                                           _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(summ)));
            acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_set1_ps(act_row(t, j)[i].d), v));
        }
    }
    for (int j = 0; j < NA; j++) _mm256_storeu_ps(t->y + j * t->y_stride, acc[j]);
}

/* load_pair, dpbusd16_bcast: avx512_util.h */

/* kx8_pair of repack_kx8_walk.h: two groups (blocks w and w + gb, 16 rows) x NA activations
 * over blocks [i0, i1), kx8_group's steps in 512-bit registers, lanes 0-7 the first group's
 * rows and 8-15 the second's: both halves take the same activation dword, so every
 * vpdpbusd keeps its {1to16} memory broadcast and every unpack, scale shuffle and fold
 * instruction serves 16 rows. y[j * y_stride + 0..15] += (accumulate) or = the sums. */
static inline __attribute__((always_inline)) void kx8_pair(const tile_args *t, const uint8_t *w,
                                                           size_t gb, size_t ahead0, int64_t i0,
                                                           int64_t from, int64_t to, int accumulate,
                                                           const int NA) {
    const __m512i m3 = _mm512_set1_epi8(3), m12 = _mm512_set1_epi8(12);
    const __m512i low4 = _mm512_set1_epi8(0x0F);
    __m512 acc[MAX_NA];
    for (int j = 0; j < NA; j++)
        acc[j] = accumulate ? _mm512_loadu_ps(t->y + j * t->y_stride) : _mm512_setzero_ps();
    for (int64_t i = from; i < to; i++) {
        const uint8_t *b0 = w + i * X8_BYTES, *b1 = b0 + gb;
        prefetch_pair(b0, b1, ahead0);
        __m512i even[MAX_NA], odd[MAX_NA];
        for (int j = 0; j < NA; j++) even[j] = odd[j] = _mm512_setzero_si512();
        __m512i sc[4]; /* scale groups, the scale nibbles as bytes */
        for (int g = 0; g < 4; g++)
            sc[g] = _mm512_and_si512(load_pair(b0 + SCALES_AT + 32 * g, b1 + SCALES_AT + 32 * g),
                                     low4);
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++)
#pragma GCC unroll 2
            for (int half = 0; half < 2; half++) {
                /* S of sub-blocks 8h + 2jj + half, jj = 0..3 */
                __m512i sub[MAX_NA][4];
                for (int j = 0; j < NA; j++)
                    for (int jj = 0; jj < 4; jj++) sub[j][jj] = _mm512_setzero_si512();
#pragma GCC unroll 4
                for (int kk = 0; kk < 4; kk++) {
                    const int k = 4 * half + kk, at = QS_AT + 32 * (8 * h + k);
                    const __m512i raw = load_pair(b0 + at, b1 + at);
                    const __m512i raw4 = _mm512_srli_epi16(raw, 4);
                    const __m512i codes[4] = {_mm512_and_si512(raw, m3), _mm512_and_si512(raw, m12),
                                              _mm512_and_si512(raw4, m3),
                                              _mm512_and_si512(raw4, m12)};
                    for (int j = 0; j < NA; j++) {
                        const int8_t *a = act_row(t, j)[i].qs + 128 * h + 4 * k;
                        for (int jj = 0; jj < 4; jj++)
                            sub[j][jj] = dpbusd16_bcast(sub[j][jj], codes[jj], a + 32 * jj);
                    }
                }
                for (int jj = 0; jj < 4; jj++) {
                    /* sub-block 8h + 2jj + half: group 2h + jj / 2, byte (2jj + half) % 4 */
                    const __m256i idx = byte_to_lane((2 * jj + half) % 4);
                    const __m512i scale = _mm512_shuffle_epi8(
                        sc[2 * h + jj / 2],
                        _mm512_inserti64x4(_mm512_castsi256_si512(idx), idx, 1));
                    for (int j = 0; j < NA; j++) {
                        if (jj % 2)
                            odd[j] = _mm512_dpwssd_epi32(odd[j], sub[j][jj], scale);
                        else
                            even[j] = _mm512_dpwssd_epi32(even[j], sub[j][jj], scale);
                    }
                }
            }
        __m512i mins[4];
        for (int g = 0; g < 4; g++)
            mins[g] = _mm512_and_si512(
                _mm512_srli_epi16(load_pair(b0 + SCALES_AT + 32 * g, b1 + SCALES_AT + 32 * g), 4),
                low4);
        const __m512 d = _mm512_cvtph_ps(_mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)b0)),
            _mm_loadu_si128((const __m128i *)b1), 1));
        const __m512 dmin = _mm512_cvtph_ps(_mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(b0 + 16))),
            _mm_loadu_si128((const __m128i *)(b1 + 16)), 1));
        for (int j = 0; j < NA; j++) {
            const int8_t *dg = act_prep(t, j, i - i0);
            __m512i summ_lo = _mm512_setzero_si512(), summ_hi = _mm512_setzero_si512();
            for (int g = 0; g < 4; g++) {
                summ_lo = dpbusd16_bcast(summ_lo, mins[g], dg + 4 * g);
                summ_hi = dpbusd16_bcast(summ_hi, mins[g], dg + 16 + 4 * g);
            }
            const __m512i summ = _mm512_add_epi32(summ_lo, _mm512_slli_epi32(summ_hi, 4));
            const __m512i sumi = _mm512_add_epi32(even[j], _mm512_srai_epi32(odd[j], 2));
            /* the reference's da * (d * sumi - dmin * summ), then += */
            const __m512 v = _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(sumi)),
                                           _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(summ)));
            acc[j] = _mm512_add_ps(acc[j], _mm512_mul_ps(_mm512_set1_ps(act_row(t, j)[i].d), v));
        }
    }
    for (int j = 0; j < NA; j++) _mm512_storeu_ps(t->y + j * t->y_stride, acc[j]);
}

/* Blocks [i0, i1) of an activation: bytes 32 (i - i0) + k = bsums_k & 15 (0..15), 16 + k =
 * bsums_k >> 4 (|bsums_k| <= 16 x 128: -128..127), so bsums_k = 16 hi + lo. */
static void prep_blocks(const block_q8_K *a, int64_t i0, int64_t i1, int32_t *out) {
    for (int64_t i = i0; i < i1; i++) {
        const __m256i b = _mm256_loadu_si256((const __m256i *)a[i].bsums);
        const __m256i lo = _mm256_and_si256(b, _mm256_set1_epi16(15));
        const __m256i hi = _mm256_srai_epi16(b, 4);
        /* packs per 128-bit lane: lo 0-7, hi 0-7 | lo 8-15, hi 8-15; then lo 0-15, hi 0-15 */
        const __m256i packed = _mm256_permute4x64_epi64(_mm256_packs_epi16(lo, hi), 0xD8);
        _mm256_storeu_si256((__m256i *)(out + 8 * (i - i0)), packed);
    }
}

void tile_q2_kx8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    kx8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}
