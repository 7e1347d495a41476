/* avx2_gemm_i8.c - Q4_0 and Q8_0 weights x Q8_0 activations for batches: the panel is
 * repacked once per batch into 8 interleaved rows, then 8 rows x up to 4 tokens per call.
 *
 * Packed layout of 8 rows (r = 0..7) for block i: 8 groups g of 32 bytes, group g holding
 * the unsigned nibbles q (0..15) of elements 4g..4g+3 of every row, row after row. One
 * maddubs of a group with a token's 4 activation bytes (broadcast) gives int16 lanes 2r,
 * 2r+1 = row r's two pair sums; the 8 groups of a block add up in int16 (|sum| <= 8 * 2 *
 * 15 * 127 = 30480 < 32767), one madd makes the 8 rows' int32 block sums, and
 *   sum (q - 8) y = sum q y - 8 sum y
 * takes the token's precomputed 8 sum y. The block scale is one mul + one fma for 8 rows.
 * Per 8 rows x 1 token x 32 elements that is 8 maddubs + 1 madd on the multiplier pipe,
 * against 8 x (maddubs + madd) for the row-by-row tiles (avx2_tile.c), and one cvt/fma
 * instead of eight. The result is the same exact int block sums times the same scales. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../gemm.h"
#include "avx2_util.h"

/* 8x8 transpose of int32 lanes: out[g] lane r = in[r] lane g. */
static inline void transpose8(__m256i v[8]) {
    __m256i t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++)
        for (int h = 0; h < 2; h++) {
            u[4 * i + h] = _mm256_unpacklo_epi64(t[4 * i + h], t[4 * i + 2 + h]);
            u[4 * i + 2 + h] = _mm256_unpackhi_epi64(t[4 * i + h], t[4 * i + 2 + h]);
        }
    /* u[0..3]: rows 0-3 of columns (0,1,2,3 | 4,5,6,7) per 128-bit lane; u[4..7]: rows 4-7 */
    static const int order[4] = {0, 2, 1, 3}; /* u index -> column within a lane */
    for (int k = 0; k < 4; k++) {
        v[order[k]] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x20);
        v[order[k] + 4] = _mm256_permute2x128_si256(u[k], u[4 + k], 0x31);
    }
}

void gemm_pack_q4_0x8_avx2(const void *w, size_t row_bytes, int nrows, int64_t nb,
                           uint8_t *qs, float *d) {
    const __m256i low = _mm256_set1_epi8(0x0F);
    for (int64_t i = 0; i < nb; i++) {
        __m256i v[8];
        for (int r = 0; r < 8; r++) {
            if (r >= nrows) {
                v[r] = _mm256_setzero_si256();
                d[i * 8 + r] = 0;
                continue;
            }
            const block_q4_0 *b = (const block_q4_0 *)((const char *)w + r * row_bytes) + i;
            __m128i q = _mm_loadu_si128((const __m128i *)b->qs);
            /* elements 0..15 are the low nibbles, 16..31 the high ones */
            v[r] = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), low);
            d[i * 8 + r] = half_f16c(b->d);
        }
        transpose8(v);
        for (int g = 0; g < 8; g++) _mm256_storeu_si256((__m256i *)(qs + (i * 8 + g) * 32), v[g]);
    }
}

static inline __attribute__((always_inline)) void kernel(
    int64_t nb, const uint8_t *qs, const float *d, const char *act, size_t act_row,
    const int32_t *ysum8, float *y, size_t ldy, const int NA) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4];
    for (int j = 0; j < NA; j++) acc[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i s16[4];
        for (int j = 0; j < NA; j++) s16[j] = _mm256_setzero_si256();
        for (int g = 0; g < 8; g++) {
            __m256i wq = _mm256_loadu_si256((const __m256i *)(qs + (i * 8 + g) * 32));
            for (int j = 0; j < NA; j++) {
                const block_q8_0 *a = (const block_q8_0 *)(act + j * act_row) + i;
                int32_t four;
                memcpy(&four, a->qs + 4 * g, 4);
                s16[j] = _mm256_add_epi16(s16[j], _mm256_maddubs_epi16(wq, _mm256_set1_epi32(four)));
            }
        }
        __m256 dw = _mm256_loadu_ps(d + i * 8);
        for (int j = 0; j < NA; j++) {
            const block_q8_0 *a = (const block_q8_0 *)(act + j * act_row) + i;
            __m256i s32 = _mm256_sub_epi32(_mm256_madd_epi16(s16[j], ones),
                                           _mm256_set1_epi32(ysum8[j * nb + i]));
            __m256 dy = _mm256_set1_ps(half_f16c(a->d));
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_mul_ps(dw, dy), acc[j]);
        }
    }
    for (int j = 0; j < NA; j++) _mm256_storeu_ps(y + j * ldy, acc[j]);
}

void gemm_q4_0x8_avx2(int64_t nb, const uint8_t *qs, const float *d, const void *act,
                      size_t act_row, const int32_t *ysum8, int nact, float *y, size_t ldy) {
    switch (nact) {
    case 4: kernel(nb, qs, d, act, act_row, ysum8, y, ldy, 4); break;
    case 3: kernel(nb, qs, d, act, act_row, ysum8, y, ldy, 3); break;
    case 2: kernel(nb, qs, d, act, act_row, ysum8, y, ldy, 2); break;
    case 1: kernel(nb, qs, d, act, act_row, ysum8, y, ldy, 1); break;
    default: break;
    }
}

/* ---- Q8_0 weights: the same layout with signed bytes. Pairs of |w| * y reach 2 * 127 *
 * 127 = 32258, so each group needs its own madd to int32 (no int16 sums across groups),
 * and the sign moves onto the activations per group: |w| * sign(y, w) = w * y. ---- */

void gemm_pack_q8_0x8_avx2(const void *w, size_t row_bytes, int nrows, int64_t nb,
                           uint8_t *qs, float *d) {
    for (int64_t i = 0; i < nb; i++) {
        __m256i v[8];
        for (int r = 0; r < 8; r++) {
            if (r >= nrows) {
                v[r] = _mm256_setzero_si256();
                d[i * 8 + r] = 0;
                continue;
            }
            const block_q8_0 *b = (const block_q8_0 *)((const char *)w + r * row_bytes) + i;
            v[r] = _mm256_loadu_si256((const __m256i *)b->qs);
            d[i * 8 + r] = half_f16c(b->d);
        }
        transpose8(v);
        for (int g = 0; g < 8; g++) _mm256_storeu_si256((__m256i *)(qs + (i * 8 + g) * 32), v[g]);
    }
}

static inline __attribute__((always_inline)) void kernel_q8(
    int64_t nb, const uint8_t *qs, const float *d, const char *act, size_t act_row,
    float *y, size_t ldy, const int NA) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[4];
    for (int j = 0; j < NA; j++) acc[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i s32[4];
        for (int j = 0; j < NA; j++) s32[j] = _mm256_setzero_si256();
        for (int g = 0; g < 8; g++) {
            __m256i wq = _mm256_loadu_si256((const __m256i *)(qs + (i * 8 + g) * 32));
            __m256i aw = _mm256_sign_epi8(wq, wq);
            for (int j = 0; j < NA; j++) {
                const block_q8_0 *a = (const block_q8_0 *)(act + j * act_row) + i;
                int32_t four;
                memcpy(&four, a->qs + 4 * g, 4);
                __m256i sy = _mm256_sign_epi8(_mm256_set1_epi32(four), wq);
                s32[j] = _mm256_add_epi32(s32[j],
                                          _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sy), ones));
            }
        }
        __m256 dw = _mm256_loadu_ps(d + i * 8);
        for (int j = 0; j < NA; j++) {
            const block_q8_0 *a = (const block_q8_0 *)(act + j * act_row) + i;
            __m256 dy = _mm256_set1_ps(half_f16c(a->d));
            acc[j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32[j]), _mm256_mul_ps(dw, dy), acc[j]);
        }
    }
    for (int j = 0; j < NA; j++) _mm256_storeu_ps(y + j * ldy, acc[j]);
}

void gemm_q8_0x8_avx2(int64_t nb, const uint8_t *qs, const float *d, const void *act,
                      size_t act_row, const int32_t *ysum8, int nact, float *y, size_t ldy) {
    switch (nact) {
    case 4: kernel_q8(nb, qs, d, act, act_row, y, ldy, 4); break;
    case 3: kernel_q8(nb, qs, d, act, act_row, y, ldy, 3); break;
    case 2: kernel_q8(nb, qs, d, act, act_row, y, ldy, 2); break;
    case 1: kernel_q8(nb, qs, d, act, act_row, y, ldy, 1); break;
    default: break;
    }
}
