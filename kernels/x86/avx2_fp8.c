/* avx2_fp8.c - FP8 weights (E4M3, E5M2; quant/fp8.c) against Q8_0 activations: vec_dot
 * and NR x NA tiles (vec_dot_tile of the ISA tables, kernels/cpu.h).
 *
 * Decode of the weights, exact, 8 at a time by F16C:
 *   E5M2 is the top byte of an IEEE half: a byte unpack into the high half of 16-bit lanes
 *     is the half (inf and NaN codes included).
 *   E4M3 moved 7 bits up inside a half is exactly its value * 2^-8 (bias 7 -> 15; the
 *     subnormals m 2^-9 land on the half subnormals m 2^-17). From the unpacked word
 *     b << 8, an arithmetic shift right by 1 puts the magnitude in place and copies the sign
 *     into bit 14, which an AND clears. The 2^8 goes into the activation's scale.
 *     E4M3's NaN code S.1111.111 would become 480 * 2^-8: a finite value, so NaN codes are
 *     detected on the bytes instead (max of b | 0x80 reaches 0xFF) and the row's result set
 *     to NaN, which is what the reference gives (its decode is NaN, and NaN * a is NaN).
 *
 * The activation is the same for every row, so its int8 codes are turned into floats once
 * per call (a chunk of columns in a stack buffer), with d_a (times 2^8 for E4M3) per block.
 * Per block of 32 and row: 4 exact products summed by FMA (as the reference: the float sum
 * of fp8(code) * a_code), then times d_w * d_a by one FMA into the row's accumulator. Only
 * the float summation order differs from the reference. Rows go 4 at a time (4 independent
 * FMA chains), and in batches 2 activations share each decode.
 * Measured (Zen1, 4096 x 4096, 1 thread): E4M3 3.07 -> ~4.2 GB/s, E5M2 3.16 -> ~5.5. A decode
 * in 32-bit lanes (b << 24, shifted onto the float exponent, times 2^120 / 2^112 in the scale)
 * ran at the same speed, and it makes float denormals of the fp8 subnormals: not kept. */
#include <immintrin.h>
#include <math.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"

#include "fp8_walk.h"

/* The 32 codes of one block as floats, in the order 0-7, 8-15, 16-23, 24-31. E4M3 values
 * are scaled by 2^-8. *nan_max collects max(b | 0x80) for the E4M3 NaN test. */
static inline __attribute__((always_inline)) void fp8_decode(const uint8_t *qs, const int e4m3,
                                                             __m256 f[4], __m256i *nan_max) {
    __m256i b = _mm256_loadu_si256((const __m256i *)qs), z = _mm256_setzero_si256();
    /* 256-bit unpacks: lo = bytes 0-7 | 16-23, hi = bytes 8-15 | 24-31 */
    __m256i lo = _mm256_unpacklo_epi8(z, b), hi = _mm256_unpackhi_epi8(z, b);
    if (e4m3) {
        const __m256i clear14 = _mm256_set1_epi16((short)0xBFFF);
        lo = _mm256_and_si256(_mm256_srai_epi16(lo, 1), clear14);
        hi = _mm256_and_si256(_mm256_srai_epi16(hi, 1), clear14);
        *nan_max = _mm256_max_epu8(*nan_max, _mm256_or_si256(b, _mm256_set1_epi8((char)0x80)));
    }
    f[0] = _mm256_cvtph_ps(_mm256_castsi256_si128(lo));
    f[1] = _mm256_cvtph_ps(_mm256_castsi256_si128(hi));
    f[2] = _mm256_cvtph_ps(_mm256_extracti128_si256(lo, 1));
    f[3] = _mm256_cvtph_ps(_mm256_extracti128_si256(hi, 1));
}

/* 1 when the E4M3 row's blocks hold a NaN code (magnitude 0x7F). */
static int has_nan_code(const block_fp8 *x, int64_t nb) {
    for (int64_t i = 0; i < nb; i++)
        for (int j = 0; j < QK32; j++)
            if ((x[i].qs[j] & 0x7F) == 0x7F) return 1;
    return 0;
}

/* NR rows x NA activations over nb blocks (w: the rows' first block of the chunk, act: the
 * converted chunk, act j at j * nb blocks). s[j * s_stride + r] is set (add = 0) or added
 * to. NR, NA and e4m3 are constants at each call site: the arrays live in registers. */
static inline __attribute__((always_inline)) void
tile_fp8(int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride,
         const act_floats *act, int add, const int NR, const int NA, const int e4m3) {
    __m256 acc[MAX_NR][MAX_NA];
    __m256i nan_max = _mm256_setzero_si256();
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) acc[r][j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        for (int r = 0; r < NR; r++) {
            const block_fp8 *x = (const block_fp8 *)(w + r * w_stride) + i;
            __m256 f[4];
            fp8_decode(x->qs, e4m3, f, &nan_max);
            __m256 dw = _mm256_cvtph_ps(_mm_set1_epi16((short)x->d));
            for (int j = 0; j < NA; j++) {
                const float *q = act->q + (j * nb + i) * QK32;
                __m256 blk = _mm256_mul_ps(f[0], _mm256_load_ps(q));
                blk = _mm256_fmadd_ps(f[1], _mm256_load_ps(q + 8), blk);
                blk = _mm256_fmadd_ps(f[2], _mm256_load_ps(q + 16), blk);
                blk = _mm256_fmadd_ps(f[3], _mm256_load_ps(q + 24), blk);
                __m256 d = _mm256_mul_ps(dw, _mm256_broadcast_ss(&act->d[j * nb + i]));
                acc[r][j] = _mm256_fmadd_ps(blk, d, acc[r][j]);
            }
        }
    }
    int nan_seen = e4m3 && _mm256_movemask_epi8(_mm256_cmpeq_epi8(nan_max, _mm256_set1_epi8(-1)));
    for (int r = 0; r < NR; r++) {
        int row_nan = nan_seen && has_nan_code((const block_fp8 *)(w + r * w_stride), nb);
        for (int j = 0; j < NA; j++) {
            float v = row_nan ? NAN : hsum_f32x8(acc[r][j]);
            s[j * s_stride + r] = add ? s[j * s_stride + r] + v : v;
        }
    }
}

void vec_dot_tile_fp8_e4m3_avx2(int64_t n, float *s, size_t s_stride, const void *w,
                                size_t w_stride, int nrows, const void *a, size_t a_stride,
                                int nact) {
    tile_fp8_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, 1);
}
void vec_dot_tile_fp8_e5m2_avx2(int64_t n, float *s, size_t s_stride, const void *w,
                                size_t w_stride, int nrows, const void *a, size_t a_stride,
                                int nact) {
    tile_fp8_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, 0);
}

void vec_dot_fp8_e4m3_avx2(int64_t n, float *s, const void *w, const void *a) {
    tile_fp8_all(n, s, 0, w, 0, 1, a, 0, 1, 1);
}
void vec_dot_fp8_e5m2_avx2(int64_t n, float *s, const void *w, const void *a) {
    tile_fp8_all(n, s, 0, w, 0, 1, a, 0, 1, 0);
}
