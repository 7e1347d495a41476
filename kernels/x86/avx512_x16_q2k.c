/* avx512_x16_q2k.c - large batches (B >= 16) of Q2_K's packed copy (repack.h "q2_kx8d", the
 * decode layout) with rows in the lanes, against x16k activations (act_x16.h).
 *
 * Why not tokens in the lanes, as avx512_x16_kquant.c does for the file layout: there the
 * weight dword is vpdpbusd's unsigned operand, which has no memory-broadcast form, so every
 * vpdpbusd pays a separate vpbroadcastd (and gcc added register copies): 44 uops per 16
 * vpdpbusd in its inner loop, 37% of the VNNI peak on 110M q2_k pp128 (perf annotate, 1
 * thread, Sapphire-Rapids-class Xeon; `vnni` probe: 4.25 G zmm vpdpbusd/s there). Here lane
 * = row, so the activation dword is the signed operand and takes {1to16} from memory: one
 * fused uop per vpdpbusd, each unpacked weight register reused for TOK tokens.
 *
 * Per pair of 8-row groups (16 rows, lanes 0-7 the first group) and super-block, unpacked
 * once for all tokens (sb_unpack, 4.7 KB: L1):
 *   u[c]  dword c = codes 4c .. 4c + 3 of each row times its sub-block scale (q sc <= 45
 *         fits a byte; a 16-bit multiply carries nothing between the bytes), so
 *         sumi = sum_c vpdpbusd(u[c], a[c]) is the reference's sum_k sc_k sum_{e in k} q_e a_e
 *   mm[j] min pair (m_2j, m_2j+1) of each row, int16 | int16 << 16, so
 *         summ = sum_j vpdpwssd(mm[j], bsums pair j) = sum_k m_k bsums_k
 * then per token the reference's fold, no fma: acc += dy (d (float)sumi - dmin (float)summ),
 * super-block by super-block: results are bit-identical to tile_q2_kx8d_ref and
 * vec_dot_q2_k_ref (tests/test_gemm_q2k.c, tests/test_x16_gemm.c).
 *
 * Measured on the 2-core Sapphire-Rapids-class Xeon VM, load 6-8 (other engineers' jobs):
 * SCARCE_KBENCH=1 test_runner gemm_q2k_bench (110M shapes, B 64, 1 thread) 191-208 GMAC/s
 * here against 108-116 for the file-layout kernel (the VNNI peak is 272); `scarce bench -m
 * 110m-q2_k.gguf -p 128 -n 0 -r 3 -t 1,2`, two alternating rounds with llama-bench: pp128
 * 1 thread 709, 600 -> 1274, 1075 tok/s (llama.cpp 502, 497), 2 threads 753, 553 -> 1064,
 * 1002 (llama.cpp 762, 755). */
#include <immintrin.h>
#include <stdalign.h>

#include "../../quant/blocks.h"
#include "../act_x16.h"
#include "../repack.h"
#include "avx512.h"
#include "avx512_util.h" /* load_pair */

enum { X8_BYTES = REPACK_ROWS * sizeof(block_q2_K), SCALES_AT = 32, QS_AT = 160 };

/* Tokens per pass over a super-block's u: TOK accumulators + u + 8 min pairs in zmm. */
#define TOK 8
/* Tokens whose float sums are kept at once (acc, 16 KiB on the stack): larger batches run
 * the weights again per chunk (forward's batches are at most 64). */
#define CHUNK_TOKENS 256

/* A pair of groups' super-block, unpacked for the products. */
typedef struct {
    alignas(64) uint32_t u[64][16];
    uint32_t mm[8][16];
    float d[16], dmin[16];
} pair_block;

/* 16 fp16 of which 8 at p0 (lanes 0-7) and 8 at p1, as floats. */
static inline __m512 load_pair_f16(const uint8_t *p0, const uint8_t *p1) {
    return _mm512_cvtph_ps(
        _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p0)),
                                _mm_loadu_si128((const __m128i *)p1), 1));
}

/* vpshufb index (per 128-bit lane): bytes b0 and b1 of each dword to its bytes 0 and 2,
 * zeros in 1 and 3 (two int16 per row) */
static inline __m512i words_of_bytes(int b0, int b1) {
    const int x = (int)(0x80008000u | (unsigned)b1 << 16 | (unsigned)b0);
    return _mm512_broadcast_i32x4(_mm_setr_epi32(x, x + 0x40004, x + 0x80008, x + 0xC000C));
}

/* Block b0 of the first group and b1 of the second -> p. Scale group t (repack.h) holds
 * row r's scale bytes 4t .. 4t + 3 (scale | min << 4); qs chunk 8h + k row r's qs bytes
 * 32h + 4k .., whose codes at bits 2j are elements 128h + 32j + 4k .. + 3: activation dword
 * 32h + 8j + k, sub-block 8h + 2j + k / 4. */
static inline void unpack_pair(const uint8_t *b0, const uint8_t *b1, pair_block *p) {
    const __m512i m3 = _mm512_set1_epi8(3), low4 = _mm512_set1_epi16(0x0F);
    __m512i group[4], sc[16];
    for (int t = 0; t < 4; t++)
        group[t] = load_pair(b0 + SCALES_AT + 32 * t, b1 + SCALES_AT + 32 * t);
    for (int k = 0; k < 16; k++) /* the scale nibble of sub-block k in both int16 of a row */
        sc[k] =
            _mm512_and_si512(_mm512_shuffle_epi8(group[k / 4], words_of_bytes(k % 4, k % 4)), low4);
    for (int j = 0; j < 8; j++) /* min nibbles of sub-blocks 2j, 2j + 1 as an int16 pair */
        _mm512_store_si512(
            p->mm[j],
            _mm512_srli_epi16(
                _mm512_shuffle_epi8(group[j / 2], words_of_bytes(2 * j % 4, 2 * j % 4 + 1)), 4));
    _mm512_store_ps(p->d, load_pair_f16(b0, b1));
    _mm512_store_ps(p->dmin, load_pair_f16(b0 + 16, b1 + 16));
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < 8; k++) {
            const int at = QS_AT + 32 * (8 * h + k);
            const __m512i raw = load_pair(b0 + at, b1 + at);
            for (int j = 0; j < 4; j++) {
                const __m512i codes = _mm512_and_si512(_mm512_srli_epi16(raw, 2 * j), m3);
                _mm512_store_si512(p->u[32 * h + 8 * j + k],
                                   _mm512_mullo_epi16(codes, sc[8 * h + 2 * j + k / 4]));
            }
        }
}

/* acc + vpdpbusd(u, the dword at p in every lane): {1to16} from memory, one fused uop (for
 * _mm512_set1_epi32 of a load gcc emits a separate vpbroadcastd). */
static inline __m512i dpbusd_bcast16(__m512i acc, __m512i u, const uint8_t *p) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(u), "m"(*(const int32_t *)p));
    return acc;
}
static inline __m512i dpwssd_bcast16(__m512i acc, __m512i w, const uint8_t *p) {
    __asm__("vpdpwssd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const int32_t *)p));
    return acc;
}

/* NT (<= TOK) tokens from lane t0 of one x16k super-block a against p: acc[t][16 rows] +=
 * the reference's fold of this super-block. The min terms go first, through memory, so
 * that the code loop holds only its NT sums and u in registers. */
static inline __attribute__((always_inline)) void
tokens_block(const pair_block *p, const uint8_t *a, int t0, float *acc, const int NT) {
    alignas(64) float min_term[TOK][16];
    const __m512 d = _mm512_load_ps(p->d), dmin = _mm512_load_ps(p->dmin);
    for (int t = 0; t < NT; t++) {
        __m512i summ = _mm512_setzero_si512();
        for (int j = 0; j < 8; j++)
            summ = dpwssd_bcast16(summ, _mm512_load_si512(p->mm[j]),
                                  a + X16K_BSUMS_AT + 64 * j + 4 * (t0 + t));
        _mm512_store_ps(min_term[t], _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(summ)));
    }
    __m512i sumi[TOK];
    for (int t = 0; t < NT; t++) sumi[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (int c = 0; c < 64; c++) {
        const __m512i u = _mm512_load_si512(p->u[c]);
        for (int t = 0; t < NT; t++)
            sumi[t] = dpbusd_bcast16(sumi[t], u, a + 64 * c + 4 * (t0 + t));
    }
    for (int t = 0; t < NT; t++) {
        const __m512 v = _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(sumi[t])),
                                       _mm512_load_ps(min_term[t]));
        const __m512 dy = _mm512_set1_ps(((const float *)(a + X16K_D_AT))[t0 + t]);
        float *at = acc + 16 * t;
        _mm512_store_ps(at, _mm512_add_ps(_mm512_load_ps(at), _mm512_mul_ps(dy, v)));
    }
}

/* One pair of groups (b1 = b0 for a lone last group: its lanes 8-15 are discarded) against
 * tokens [b0, b0 + nb) (b0 % 16 == 0) into acc[token - b0][16]. */
static void pair_tokens(const uint8_t *w0, const uint8_t *w1, int64_t nsb, const uint8_t *act,
                        int64_t b0, int64_t nb, float *acc) {
    pair_block p;
    for (int64_t i = 0; i < nb * 16; i++) acc[i] = 0;
    for (int64_t i = 0; i < nsb; i++) {
        unpack_pair(w0 + i * X8_BYTES, w1 + i * X8_BYTES, &p);
        for (int64_t b = 0; b < nb; b += TOK) {
            const int64_t tok = b0 + b;
            const uint8_t *a = act + ((tok / X16_TOKENS) * nsb + i) * X16K_BLOCK_BYTES;
            const int t0 = (int)(tok % X16_TOKENS);
            /* tokens past B in the last group are zero in x16k: computed, never stored */
            tokens_block(&p, a, t0, acc + 16 * b, TOK);
        }
    }
}

void gemm_q2_kx8d_x16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                             int nrows, const void *act, int64_t B) {
    const int64_t nsb = cols / QK_K;
    const size_t gb = REPACK_ROWS * w_stride;
    const int groups = nrows / REPACK_ROWS;
    alignas(64) float acc[CHUNK_TOKENS * 16];
    for (int64_t b0 = 0; b0 < B; b0 += CHUNK_TOKENS) {
        const int64_t nb = B - b0 < CHUNK_TOKENS ? B - b0 : CHUNK_TOKENS;
        const int64_t nb_pad = (nb + TOK - 1) / TOK * TOK;
        for (int g = 0; g < groups; g += 2) {
            const uint8_t *w0 = (const uint8_t *)w + g * gb;
            const int two = g + 1 < groups;
            pair_tokens(w0, two ? w0 + gb : w0, nsb, act, b0, nb_pad, acc);
            const __mmask16 lanes = two ? 0xFFFF : 0x00FF;
            for (int64_t b = 0; b < nb; b++)
                _mm512_mask_storeu_ps(Y + (b0 + b) * ldy + g * REPACK_ROWS, lanes,
                                      _mm512_load_ps(acc + 16 * b));
        }
    }
}
