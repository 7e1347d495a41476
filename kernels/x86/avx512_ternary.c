/* avx512_ternary.c - the ternary VNNI kernels of kernels/ternary.h (AVX-512 F/BW/VL, VNNI),
 * 8 rows at a time. TQ2_0: one 64-byte load a row and super-block, 4 vpdpbusd against
 * prepared activation vectors shared by the 8 rows, and one transposing reduction that
 * turns the 8 rows' int32 lanes into 8 sums. TQ1_0: 64-byte loads of 8-byte pieces of all
 * 8 rows, 10 vpdpbusd a piece against broadcast activation qwords, rows in lane pairs. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../ternary.h"

enum { TQ2_ACT = 256, TQ1_ACT = 256 };

/* Each packed block's lines are prefetched this many blocks ahead (the hardware prefetchers
 * alone left the kernels at 60-70% of their cached rate). 2-core Sapphire-Rapids-class Xeon,
 * lut_bench 1048576 x 2048, 1 thread, GB/s, distance 0 / 4 / 8 / 16 blocks, two rounds,
 * load 2-4: tq2_0 7.28 / 10.03 / 11.54 / 9.97 and 8.43 / 9.95 / 10.26 / 11.40; tq1_0 5.90
 * / 7.81 / 8.82 / 5.81 and 6.57 / 8.12 / 8.58 / 9.47. tg32 on the TinyLlama shape could not
 * tell 4 / 8 / 12 / 16 apart under the load (26-31 tok/s each). */
#ifndef TQ_PREFETCH_BLOCKS
#define TQ_PREFETCH_BLOCKS 8
#endif

static inline void prefetch_block(const uint8_t *x8, size_t bytes) {
#pragma GCC unroll 9
    for (size_t l = 0; l < (bytes + 63) / 64; l++)
        _mm_prefetch((const char *)x8 + TQ_PREFETCH_BLOCKS * bytes + 64 * l, _MM_HINT_T0);
}

/* Bytes of a prepared row: `head` bytes, per block `per_block` bytes, then A and d of
 * every block (a multiple of 64). */
static size_t prepared_bytes(int64_t cols, size_t head, size_t per_block) {
    const size_t nb = (size_t)(cols / QK_K);
    return (head + nb * per_block + nb * 8 + 63) / 64 * 64;
}

/* A and d of block i after the codes */
static void block_sums(const block_q8_K *a, int64_t nb, uint8_t *after_codes) {
    int *asum = (int *)after_codes;
    float *da = (float *)(asum + nb);
    for (int64_t i = 0; i < nb; i++) {
        int A = 0;
        for (int k = 0; k < QK_K / 16; k++) A += a[i].bsums[k];
        asum[i] = A, da[i] = a[i].d;
    }
}

size_t ternary_prepare_tq2_0_avx512(const void *act, int64_t cols, void *dst) {
    const size_t bytes = prepared_bytes(cols, 0, TQ2_ACT);
    if (!dst) return bytes;
    const block_q8_K *a = act;
    const int64_t nb = cols / QK_K;
    uint8_t *q = dst;
    for (int64_t i = 0; i < nb; i++, q += TQ2_ACT)
        for (int s = 0; s < 4; s++) {
            memcpy(q + 64 * s, a[i].qs + 32 * s, 32);
            memcpy(q + 64 * s + 32, a[i].qs + 128 + 32 * s, 32);
        }
    block_sums(a, nb, q);
    return bytes;
}

/* The activation code of the weight under byte j (0..51: qs, then qh) of a row's block,
 * trit n (quant/blocks.h tq1_pos, inverted): j < 32 qs[32 n + j], j < 48 qs[160 + 16 n + j -
 * 32], else qs[240 + 4 n + j - 48] for n < 4 (qh's fifth trit holds no weight). Piece m of
 * the prepared block holds, for n < 5, bytes 8 m .. 8 m + 7 at 40 m + 8 n: runs of 8 codes
 * that lie together in qs, and qh's 16 codes are qs[240 ..] as they are. */
size_t ternary_prepare_tq1_0_avx512(const void *act, int64_t cols, void *dst) {
    const size_t bytes = prepared_bytes(cols, 0, TQ1_ACT);
    if (!dst) return bytes;
    const block_q8_K *a = act;
    const int64_t nb = cols / QK_K;
    int8_t *q = dst;
    /* copied in those runs: the byte by byte walk it replaced was 0.25 ms of a 1-thread
     * TinyLlama-shaped TQ1_0 token (perf; 2-core Sapphire-Rapids-class Xeon), run by the
     * caller alone at 2 threads */
    for (int64_t i = 0; i < nb; i++, q += TQ1_ACT) {
        for (int m = 0; m < 6; m++)
            for (int n = 0; n < 5; n++)
                memcpy(q + 40 * m + 8 * n,
                       a[i].qs + (m < 4 ? 32 * n + 8 * m : 160 + 16 * n + 8 * (m - 4)), 8);
        memcpy(q + 240, a[i].qs + 240, 16);
    }
    block_sums(a, nb, (uint8_t *)q);
    return bytes;
}

/* The 8 rows' sums of their 16 int32 lanes, rows 0..7 in order: pairs of rows interleaved
 * (epi32, then epi64) leave rows 0..3 / 4..7 in every 128-bit lane, then the lanes fold. */
static inline __m256i row_sums(const __m512i acc[8]) {
    __m512i p[4], q[2];
    for (int k = 0; k < 4; k++)
        p[k] = _mm512_add_epi32(_mm512_unpacklo_epi32(acc[2 * k], acc[2 * k + 1]),
                                _mm512_unpackhi_epi32(acc[2 * k], acc[2 * k + 1]));
    for (int k = 0; k < 2; k++)
        q[k] = _mm512_add_epi32(_mm512_unpacklo_epi64(p[2 * k], p[2 * k + 1]),
                                _mm512_unpackhi_epi64(p[2 * k], p[2 * k + 1]));
    /* lanes: q0 L0+L1, q0 L2+L3, q1 L0+L1, q1 L2+L3 -> (rows 0..3, rows 4..7) */
    __m512i v = _mm512_add_epi32(_mm512_shuffle_i32x4(q[0], q[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_i32x4(q[0], q[1], _MM_SHUFFLE(3, 1, 3, 1)));
    v = _mm512_shuffle_i32x4(v, v, _MM_SHUFFLE(3, 1, 2, 0));
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

/* sum += (sumi - A) x (d x d_a), the reference's steps for 8 rows */
static inline __m256 add_block(__m256 sum, __m256i sumi, int A, const uint8_t *d8, float da) {
    __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)d8));
    __m256 scale = _mm256_mul_ps(d, _mm256_set1_ps(da));
    sumi = _mm256_sub_epi32(sumi, _mm256_set1_epi32(A));
    return _mm256_add_ps(sum, _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), scale));
}

/* The 8 rows' int32 sums of one TQ2_0 block: codes (qs >> 2 s) & 3 against vector s. */
static inline __m256i rows_tq2_0(const uint8_t *x8, const __m512i a[4]) {
    const __m512i low2 = _mm512_set1_epi8(3);
    __m512i acc[8];
    for (int r = 0; r < 8; r++) {
        const __m512i v = _mm512_loadu_si512(x8 + 16 + 64 * r);
        __m512i c = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(v, low2), a[0]);
        c = _mm512_dpbusd_epi32(c, _mm512_and_si512(_mm512_srli_epi16(v, 2), low2), a[1]);
        c = _mm512_dpbusd_epi32(c, _mm512_and_si512(_mm512_srli_epi16(v, 4), low2), a[2]);
        acc[r] = _mm512_dpbusd_epi32(c, _mm512_and_si512(_mm512_srli_epi16(v, 6), low2), a[3]);
    }
    return row_sums(acc);
}

/* NG (1 or 2) 8-row groups of TQ2_0 over nb blocks, the groups' blocks alternating, each
 * group's sums in the reference's block order. Two groups read two streams at once: one
 * stream left the Llama-2-7B-shape TQ2_0 decode at 58% of the read probe (TQ1_0 82%), as
 * one stream did the AVX2 Q4_K tile (avx2_repack_q4k.c). With pairs (same 2-core Xeon,
 * `scarce bench -p 0 -n 16 -r 3 -t 1,2`, two interleaved rounds): 7B shape 5.1 / 9.7 ->
 * 6.4 / 11.9 tok/s (76 / 75% of the probe), TinyLlama shape 32.0 / 60.3 -> 40.6 / 73.4. */
static inline void groups_tq2_0(int64_t nb, float *s, const uint8_t *x8, size_t group_bytes,
                                const uint8_t *qa, const int *asum, const float *da,
                                const int NG) {
    __m256 sum[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
    for (int64_t i = 0; i < nb; i++, x8 += 8 * sizeof(block_tq2_0), qa += TQ2_ACT) {
        const __m512i a[4] = {_mm512_loadu_si512(qa), _mm512_loadu_si512(qa + 64),
                              _mm512_loadu_si512(qa + 128), _mm512_loadu_si512(qa + 192)};
        for (int g = 0; g < NG; g++) {
            const uint8_t *blk = x8 + g * group_bytes;
            if (TQ_PREFETCH_BLOCKS) prefetch_block(blk, 8 * sizeof(block_tq2_0));
            sum[g] = add_block(sum[g], rows_tq2_0(blk, a), asum[i], blk, da[i]);
        }
    }
    for (int g = 0; g < NG; g++) _mm256_storeu_ps(s + 8 * g, sum[g]);
}

/* 8 bytes at p as one int64 (vpbroadcastq's operand), 4 as one int32 */
static inline int64_t load8(const uint8_t *p) {
    int64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline int load4(const uint8_t *p) {
    int v;
    memcpy(&v, p, 4);
    return v;
}

/* The 8 rows' sums from int32 lanes where row r owns lanes 2r and 2r + 1: lane pairs
 * added as qwords, then each qword's low half, in row order. */
static inline __m256i pair_sums(__m512i v) {
    return _mm512_cvtepi64_epi32(_mm512_add_epi32(v, _mm512_srli_epi64(v, 32)));
}

/* One 8-row group of TQ1_0. With x_0 = b and x_(n+1) = 3 x_n mod 256 (two byte adds),
 * trit n of byte b is t_n = floor(3 x_n / 256), so 256 t_n = 3 x_n - x_(n+1) exactly, and
 * sum t_n a = (3 sum x_n a - sum x_(n+1) a) / 256 with both sums vpdpbusd's (x unsigned,
 * a signed): two vpdpbusd a trit vector, no compares, tables or multiplies; per row the
 * sum is a multiple of 256, so the shift is exact. A piece m is 64 bytes, row r's code
 * bytes 8 m .. 8 m + 7 in lanes 2r and 2r + 1, so one broadcast qword of activation codes
 * serves the 8 rows and every lane of a vpdpbusd carries weights (the row-per-register
 * kernel before this one used 52 of 64 bytes and needed a transposing reduction a block);
 * qh's 4 bytes a row go zero-extended to lanes 2r, and their fifth trit has no weight.
 * Three pairs of accumulators keep vpdpbusd's latency (5 cycles) off the critical path.
 * Instructions of the block loop (8 rows x 256 weights; gcc -O3, counted in the object
 * code: valgrind has no AVX-512), before -> after this layout: 259 -> 212, i.e. 4.05 -> 3.31
 * a 32 weights; vector ALU 234 -> 160 (vpdpbusd 80 -> 68, vpaddb 80 -> 68, the transposing
 * reduction and per-row fixups gone). vpdpbusd and vpaddb zmm both issue on 2 ports here
 * (microbenchmark: 12 independent ones in ~6.9 and ~6 core cycles), so ALU uops / 2 is the
 * bound: ~80 cycles a block, 5.2 bytes a cycle; measured (test_ternary_x8.c ternary_x8_bench,
 * 2-core SPR-class Xeon at ~3 GHz, 1 thread, in cache) 10.7 -> 15.0 GB/s. */
static void group_tq1_0(int64_t nb, float *s, const uint8_t *x8, const uint8_t *qa,
                        const int *asum, const float *da) {
    __m256 sum = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++, x8 += 8 * sizeof(block_tq1_0), qa += TQ1_ACT) {
        if (TQ_PREFETCH_BLOCKS) prefetch_block(x8, 8 * sizeof(block_tq1_0));
        __m512i plus[3], minus[3];
        for (int k = 0; k < 3; k++) plus[k] = minus[k] = _mm512_setzero_si512();
        for (int m = 0; m < 6; m++) {
            __m512i x = _mm512_loadu_si512(x8 + 16 + 64 * m);
            for (int n = 0; n < 5; n++) {
                const __m512i y = _mm512_set1_epi64(load8(qa + 40 * m + 8 * n));
                plus[m % 3] = _mm512_dpbusd_epi32(plus[m % 3], x, y);
                x = _mm512_add_epi8(x, _mm512_add_epi8(x, x));
                minus[m % 3] = _mm512_dpbusd_epi32(minus[m % 3], x, y);
            }
        }
        __m512i x = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(x8 + 400)));
        for (int n = 0; n < 4; n++) {
            const __m512i y = _mm512_set1_epi32(load4(qa + 240 + 4 * n));
            plus[n % 3] = _mm512_dpbusd_epi32(plus[n % 3], x, y);
            x = _mm512_add_epi8(x, _mm512_add_epi8(x, x));
            minus[n % 3] = _mm512_dpbusd_epi32(minus[n % 3], x, y);
        }
        const __m512i p = _mm512_add_epi32(plus[0], _mm512_add_epi32(plus[1], plus[2])),
                      q = _mm512_add_epi32(minus[0], _mm512_add_epi32(minus[1], minus[2]));
        const __m512i v = _mm512_sub_epi32(_mm512_add_epi32(p, _mm512_slli_epi32(p, 1)), q);
        sum = add_block(sum, _mm256_srai_epi32(pair_sums(v), 8), asum[i], x8, da[i]);
    }
    _mm256_storeu_ps(s, sum);
}

/* Batches (nact > 1): each packed block's codes are decoded once and every token then
 * takes one vpdpbusd a code vector from them (the decode-time kernels above redo the
 * unpack per token: TQ1_0's two vpdpbusd a trit vector would be paid per token). */
static inline void codes_tq2_0(const uint8_t *x8, __m512i *codes) {
    const __m512i low2 = _mm512_set1_epi8(3);
    for (int r = 0; r < 8; r++) {
        const __m512i v = _mm512_loadu_si512(x8 + 16 + 64 * r);
        codes[4 * r] = _mm512_and_si512(v, low2);
        codes[4 * r + 1] = _mm512_and_si512(_mm512_srli_epi16(v, 2), low2);
        codes[4 * r + 2] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low2);
        codes[4 * r + 3] = _mm512_and_si512(_mm512_srli_epi16(v, 6), low2);
    }
}

/* One 8-row group of a TQ2_0 batch: 4 code vectors a row. Each token's running sums live
 * in s between blocks (the first block starts them at 0 + term, as the reference does). */
static void batch_group_tq2_0(int64_t nb, float *s, size_t s_stride, const uint8_t *x8,
                              const uint8_t *a, size_t a_stride, int nact) {
    for (int64_t i = 0; i < nb; i++, x8 += 8 * sizeof(block_tq2_0)) {
        __m512i codes[8 * 4];
        codes_tq2_0(x8, codes);
        for (int b = 0; b < nact; b++) {
            const uint8_t *qa = a + b * a_stride;
            const int *asum = (const int *)(qa + nb * TQ2_ACT);
            const float *da = (const float *)(asum + nb);
            __m512i y[4], acc[8];
            for (int v = 0; v < 4; v++) y[v] = _mm512_loadu_si512(qa + i * TQ2_ACT + 64 * v);
            for (int r = 0; r < 8; r++) {
                __m512i c = _mm512_setzero_si512();
                for (int v = 0; v < 4; v++) c = _mm512_dpbusd_epi32(c, codes[4 * r + v], y[v]);
                acc[r] = c;
            }
            float *out = s + b * s_stride;
            __m256 sum = i ? _mm256_loadu_ps(out) : _mm256_setzero_ps();
            _mm256_storeu_ps(out, add_block(sum, row_sums(acc), asum[i], x8, da[i]));
        }
    }
}

/* TQ1_0's trit codes t = (x >= 86) + (x >= 171) = floor(3 x / 256), byte by byte. */
static inline __m512i trit_codes(__m512i x) {
    const __m512i c = _mm512_maskz_mov_epi8(_mm512_cmpge_epu8_mask(x, _mm512_set1_epi8(86)),
                                            _mm512_set1_epi8(1));
    return _mm512_mask_mov_epi8(c, _mm512_cmpge_epu8_mask(x, _mm512_set1_epi8((char)171)),
                                _mm512_set1_epi8(2));
}

/* A block's 34 trit-code vectors in group_tq1_0's lanes: pieces m = 0..5 trits 0..4 at
 * 5 m + n, qh's trits 0..3 at 30 + n (zero in the odd lanes). */
static inline void codes_tq1_0(const uint8_t *x8, __m512i *codes) {
    for (int m = 0; m < 6; m++) {
        __m512i x = _mm512_loadu_si512(x8 + 16 + 64 * m);
        for (int n = 0; n < 5; n++) {
            codes[5 * m + n] = trit_codes(x);
            x = _mm512_add_epi8(x, _mm512_add_epi8(x, x));
        }
    }
    __m512i x = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const __m256i *)(x8 + 400)));
    for (int n = 0; n < 4; n++) {
        codes[30 + n] = trit_codes(x);
        x = _mm512_add_epi8(x, _mm512_add_epi8(x, x));
    }
}

/* One 8-row group of a TQ1_0 batch: 34 vpdpbusd a token and block against the broadcast
 * activation codes group_tq1_0 uses, four accumulators (vpdpbusd's latency). */
static void batch_group_tq1_0(int64_t nb, float *s, size_t s_stride, const uint8_t *x8,
                              const uint8_t *a, size_t a_stride, int nact) {
    for (int64_t i = 0; i < nb; i++, x8 += 8 * sizeof(block_tq1_0)) {
        __m512i codes[34];
        codes_tq1_0(x8, codes);
        for (int b = 0; b < nact; b++) {
            const uint8_t *qa = a + b * a_stride, *q = qa + i * TQ1_ACT;
            const int *asum = (const int *)(qa + nb * TQ1_ACT);
            const float *da = (const float *)(asum + nb);
            __m512i acc[4];
            for (int k = 0; k < 4; k++) acc[k] = _mm512_setzero_si512();
#pragma GCC unroll 30
            for (int k = 0; k < 30; k++)
                acc[k % 4] = _mm512_dpbusd_epi32(acc[k % 4], codes[k],
                                                 _mm512_set1_epi64(load8(q + 8 * k)));
#pragma GCC unroll 4
            for (int n = 0; n < 4; n++)
                acc[n] = _mm512_dpbusd_epi32(acc[n], codes[30 + n],
                                             _mm512_set1_epi32(load4(q + 240 + 4 * n)));
            const __m512i v = _mm512_add_epi32(_mm512_add_epi32(acc[0], acc[1]),
                                               _mm512_add_epi32(acc[2], acc[3]));
            float *out = s + b * s_stride;
            __m256 sum = i ? _mm256_loadu_ps(out) : _mm256_setzero_ps();
            _mm256_storeu_ps(out, add_block(sum, pair_sums(v), asum[i], x8, da[i]));
        }
    }
}

void tile_tq2_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                         int nrows, const void *a, size_t a_stride, int nact) {
    const int64_t nb = n / QK_K;
    if (nact > 1) {
        for (int g = 0; g < nrows / 8; g++)
            batch_group_tq2_0(nb, s + 8 * g, s_stride, (const uint8_t *)w + (size_t)g * 8 * w_stride,
                              a, a_stride, nact);
        return;
    }
    const uint8_t *qa = a; /* one token */
    const int *asum = (const int *)(qa + nb * TQ2_ACT);
    const float *da = (const float *)(asum + nb);
    const size_t group_bytes = 8 * w_stride;
    int g = 0;
    for (; g + 2 <= nrows / 8; g += 2)
        groups_tq2_0(nb, s + 8 * g, (const uint8_t *)w + g * group_bytes, group_bytes, qa, asum, da, 2);
    if (g < nrows / 8)
        groups_tq2_0(nb, s + 8 * g, (const uint8_t *)w + g * group_bytes, group_bytes, qa, asum, da, 1);
}

void tile_tq1_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                         int nrows, const void *a, size_t a_stride, int nact) {
    const int64_t nb = n / QK_K;
    if (nact > 1) {
        for (int g = 0; g < nrows / 8; g++)
            batch_group_tq1_0(nb, s + 8 * g, s_stride, (const uint8_t *)w + (size_t)g * 8 * w_stride,
                              a, a_stride, nact);
        return;
    }
    const uint8_t *qa = a; /* one token */
    const int *asum = (const int *)(qa + nb * TQ1_ACT);
    const float *da = (const float *)(asum + nb);
    for (int g = 0; g < nrows / 8; g++)
        group_tq1_0(nb, s + 8 * g, (const uint8_t *)w + (size_t)g * 8 * w_stride, qa, asum, da);
}
