/* avx2_kquant_q2k.c - Q2_K weights against Q8_K activations: vec_dot and NR x NA tiles.
 *
 * x = d * sc * q - dmin * m, 16 sub-blocks of 16, q = 2 bits, sc and m 4-bit integers.
 *   sum x a = d * da * sum_k sc_k sum q a  -  dmin * da * sum_k m_k bsums_k
 * The min term takes one madd of the 16 mins with the activation's 16 bsums.
 *
 * The scale goes into the codes before the multiply: q * sc (0..45) is looked up with
 * pshufb in a 4-byte table (0, sc, 2 sc, 3 sc) per sub-block, and a 32-byte chunk of codes
 * is exactly two sub-blocks (one per 128-bit lane). So maddubs gives int16 pairs of
 * sc * q * a directly, and no per-sub-block multiply by the scale remains: two chunks'
 * pairs are added in int16 and go to int32 in one madd with ones. Per 64 codes that is
 * 2 maddubs + 1 madd on the one multiply pipe (Zen1), instead of 2 + 2.
 * Overflow: |pair| <= 2 * 45 * 128 = 11520, two chunks <= 23040 < 32767, so the int16
 * sums are exact, and the int32 super-block sum (<= 256 * 45 * 128) too: only the float
 * sum over super-blocks differs in order from the reference. */
#include <immintrin.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"

#ifndef MAX_NA
#define MAX_NA 4 /* activations per weight unpack (measured: 4 > 2 > 1) */
#endif

/* The lookup tables of one block: lut[h] lane 0 dword j = (0, s, 2s, 3s) of sub-block
 * 8h + 2j, lane 1 dword j the same for sub-block 8h + 2j + 1 (the two sub-blocks of
 * chunk j of half h). Built in 128-bit registers (one uop each on Zen1). */
static inline void q2k_tables(const uint8_t *scales, __m256i lut[2]) {
    const __m128i evens_odds = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
    __m128i sc = _mm_loadu_si128((const __m128i *)scales);
    __m128i s1 = _mm_and_si128(_mm_shuffle_epi8(sc, evens_odds), _mm_set1_epi8(15));
    __m128i s2 = _mm_add_epi8(s1, s1), s3 = _mm_add_epi8(s2, s1), zero = _mm_setzero_si128();
    __m128i e01 = _mm_unpacklo_epi8(zero, s1), e23 = _mm_unpacklo_epi8(s2, s3);
    __m128i o01 = _mm_unpackhi_epi8(zero, s1), o23 = _mm_unpackhi_epi8(s2, s3);
    lut[0] = _mm256_set_m128i(_mm_unpacklo_epi16(o01, o23), _mm_unpacklo_epi16(e01, e23));
    lut[1] = _mm256_set_m128i(_mm_unpackhi_epi16(o01, o23), _mm_unpackhi_epi16(e01, e23));
}

/* 16 int16 lanes of the mins m_k (high nibbles of the scales). */
static inline __m256i q2k_mins(const uint8_t *scales) {
    __m128i sc = _mm_loadu_si128((const __m128i *)scales);
    return _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sc, 4), _mm_set1_epi8(15)));
}

/* The 8 chunks of 32 scaled codes sc * q of one block (chunk 4h + j = codes 128h + 32j ..).
 * Two chunks share one pshufb table: chunk 2m's index is its code q (bytes 0..3 of the
 * table = dword m of lut), chunk 2m+1's is 4q, straight from the mask of bits 2-3 without
 * a shift (bytes 0, 4, 8, 12 = dword m+1's bytes 0..3). Byte 0 is 0 in both. */
static inline void q2k_unpack(const block_q2_K *x, __m256i c[8]) {
    const __m256i three = _mm256_set1_epi8(3), twelve = _mm256_set1_epi8(12);
    const __m256i pair01 = _mm256_setr_epi8(0, 1, 2, 3, 5, -1, -1, -1, 6, -1, -1, -1, 7, -1, -1, -1,
                                            0, 1, 2, 3, 5, -1, -1, -1, 6, -1, -1, -1, 7, -1, -1, -1);
    const __m256i pair23 = _mm256_setr_epi8(8, 9, 10, 11, 13, -1, -1, -1, 14, -1, -1, -1, 15, -1, -1, -1,
                                            8, 9, 10, 11, 13, -1, -1, -1, 14, -1, -1, -1, 15, -1, -1, -1);
    __m256i lut[2];
    q2k_tables(x->scales, lut);
    for (int h = 0; h < 2; h++) {
        __m256i Q = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * h));
        __m256i Q4 = _mm256_srli_epi16(Q, 4);
        __m256i t01 = _mm256_shuffle_epi8(lut[h], pair01), t23 = _mm256_shuffle_epi8(lut[h], pair23);
        c[4 * h + 0] = _mm256_shuffle_epi8(t01, _mm256_and_si256(Q, three));
        c[4 * h + 1] = _mm256_shuffle_epi8(t01, _mm256_and_si256(Q, twelve));
        c[4 * h + 2] = _mm256_shuffle_epi8(t23, _mm256_and_si256(Q4, three));
        c[4 * h + 3] = _mm256_shuffle_epi8(t23, _mm256_and_si256(Q4, twelve));
    }
}

/* 8 int32 lanes of sum sc * q * a over the block (c from q2k_unpack). */
static inline __m256i q2k_sum(const __m256i c[8], const int8_t *a) {
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i sum = _mm256_setzero_si256();
    for (int k = 0; k < 8; k += 2) {
        __m256i p0 = _mm256_maddubs_epi16(c[k], _mm256_loadu_si256((const __m256i *)(a + 32 * k)));
        __m256i p1 = _mm256_maddubs_epi16(c[k + 1], _mm256_loadu_si256((const __m256i *)(a + 32 * k + 32)));
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_add_epi16(p0, p1), ones));
    }
    return sum;
}

/* One row against NA activations over nb blocks; s[j * s_stride]. NA is a constant at
 * each call site. The row's blocks are unpacked once for the NA activations. (Several rows
 * per activation load do not pay here: the kernel is bound by the vector uops of the
 * unpack, not by loads, and 2 or 4 rows measured slower from register spills.) */
static inline __attribute__((always_inline)) void row_q2_k(int64_t nb, float *s, size_t s_stride,
                                                           const block_q2_K *x, const char *a,
                                                           size_t a_stride, const int NA) {
    __m256 acc[MAX_NA];
    for (int j = 0; j < NA; j++) acc[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i c[8];
        q2k_unpack(&x[i], c);
        __m256i mins = q2k_mins(x[i].scales);
        __m256 d = _mm256_set1_ps(half_f16c(x[i].d)), dmin = _mm256_set1_ps(half_f16c(x[i].dmin));
        for (int j = 0; j < NA; j++) {
            const block_q8_K *y = (const block_q8_K *)(a + j * a_stride) + i;
            __m256i sum = q2k_sum(c, y->qs);
            __m256i msum = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)y->bsums));
            __m256 t = _mm256_fmsub_ps(_mm256_cvtepi32_ps(sum), d,
                                       _mm256_mul_ps(_mm256_cvtepi32_ps(msum), dmin));
            acc[j] = _mm256_fmadd_ps(t, _mm256_set1_ps(y->d), acc[j]);
        }
    }
    for (int j = 0; j < NA; j++) s[j * s_stride] = hsum_f32x8(acc[j]);
}

void vec_dot_q2_k_avx2(int64_t n, float *s, const void *w, const void *a) {
    row_q2_k(n / QK_K, s, 0, w, a, 0, 1);
}

/* Activations in groups of MAX_NA (then single), each group against every row. */
void vec_dot_tile_q2_k_avx2(int64_t n, float *s, size_t s_stride, const void *w,
                            size_t w_stride, int nrows, const void *a, size_t a_stride, int nact) {
    const int64_t nb = n / QK_K;
    const char *wb = w, *ab = a;
    int j = 0;
    for (; j + MAX_NA <= nact; j += MAX_NA)
        for (int r = 0; r < nrows; r++)
            row_q2_k(nb, s + j * s_stride + r, s_stride, (const block_q2_K *)(wb + r * w_stride),
                     ab + j * a_stride, a_stride, MAX_NA);
    for (; j < nact; j++)
        for (int r = 0; r < nrows; r++)
            row_q2_k(nb, s + j * s_stride + r, s_stride, (const block_q2_K *)(wb + r * w_stride),
                     ab + j * a_stride, a_stride, 1);
}
