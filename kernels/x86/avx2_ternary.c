/* avx2_ternary.c - the ternary formats (TQ2_0, TQ1_0) against Q8_K activations.
 *
 * Codes q = t + 1 are 0..2, so maddubs takes them as the unsigned operand against the int8
 * activations, and sum t a = sum q a - sum a, where sum a comes from the activation's
 * bsums. Per super-block the integer sum is exact, and it is scaled and added to the float
 * sum in the reference's order: the result equals the reference bit for bit. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"

/* sum over the 256 activation codes, from the 16 bsums, as 8 int32 lanes */
static inline __m256i sum_activations(const block_q8_K *a) {
    __m256i bsums = _mm256_loadu_si256((const __m256i *)a->bsums);
    return _mm256_madd_epi16(bsums, _mm256_set1_epi16(1));
}

void vec_dot_tq2_0_avx2(int64_t n, float *s, const void *w, const void *act) {
    const block_tq2_0 *x = w;
    const block_q8_K *a = act;
    const __m256i low2 = _mm256_set1_epi8(3);
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
            for (int l = 0; l < 4; l++) {
                __m256i q = _mm256_and_si256(_mm256_srli_epi16(v, 2 * l), low2);
                __m256i y = _mm256_loadu_si256((const __m256i *)(a[i].qs + 128 * h + 32 * l));
                acc = _mm256_add_epi32(acc, dot_u8s8_i32(q, y));
            }
        }
        int sumi = isum_i32x8(_mm256_sub_epi32(acc, sum_activations(&a[i])));
        sum += (float)sumi * (half_f16c(x[i].d) * a[i].d);
    }
    *s = sum;
}

/* TQ1_0: trit n of byte b is ((b * 3^n mod 256) * 3) >> 8. Per 16-bit lane of 2 bytes,
 * `mult` the 3^n of that lane's two bytes: each byte is multiplied in its own lane
 * (mod 256 by masking), then times 3 puts the trit in the high byte of the product. */
static inline __m256i trits(__m256i v, __m256i mult) {
    const __m256i low = _mm256_set1_epi16(0x00FF), three = _mm256_set1_epi16(3);
    __m256i lo = _mm256_and_si256(_mm256_mullo_epi16(_mm256_and_si256(v, low), mult), low);
    __m256i hi = _mm256_and_si256(_mm256_mullo_epi16(_mm256_srli_epi16(v, 8), mult), low);
    lo = _mm256_srli_epi16(_mm256_mullo_epi16(lo, three), 8);
    hi = _mm256_andnot_si256(low, _mm256_mullo_epi16(hi, three));
    return _mm256_or_si256(lo, hi);
}

/* Element order (blocks.h): 5 x 32 from qs[0..31], 5 x 16 from qs[32..47], 4 x 4 from qh.
 * The 16-byte group runs as two 32-element vectors (trits n and n+1 side by side), and its
 * fifth trit shares a vector with the 16 qh elements (qh repeated, byte 4n + j = qh[j]). */
void vec_dot_tq1_0_avx2(int64_t n, float *s, const void *w, const void *act) {
    const block_tq1_0 *x = w;
    const block_q8_K *a = act;
    const __m256i pow3[5] = {_mm256_set1_epi16(1), _mm256_set1_epi16(3), _mm256_set1_epi16(9),
                             _mm256_set1_epi16(27), _mm256_set1_epi16(81)};
    const __m256i pair01 = _mm256_setr_m128i(_mm_set1_epi16(1), _mm_set1_epi16(3));
    const __m256i pair23 = _mm256_setr_m128i(_mm_set1_epi16(9), _mm_set1_epi16(27));
    const __m256i last =
        _mm256_setr_m128i(_mm_set1_epi16(81), _mm_setr_epi16(1, 1, 3, 3, 9, 9, 27, 27));
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t *y = a[i].qs;
        __m256i acc = _mm256_setzero_si256();
        __m256i v = _mm256_loadu_si256((const __m256i *)x[i].qs);
        for (int t = 0; t < 5; t++)
            acc = _mm256_add_epi32(
                acc,
                dot_u8s8_i32(trits(v, pow3[t]), _mm256_loadu_si256((const __m256i *)(y + 32 * t))));
        __m128i v16 = _mm_loadu_si128((const __m128i *)(x[i].qs + 32));
        __m256i both = _mm256_setr_m128i(v16, v16);
        acc = _mm256_add_epi32(
            acc, dot_u8s8_i32(trits(both, pair01), _mm256_loadu_si256((const __m256i *)(y + 160))));
        acc = _mm256_add_epi32(
            acc, dot_u8s8_i32(trits(both, pair23), _mm256_loadu_si256((const __m256i *)(y + 192))));
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        __m256i tail = _mm256_setr_m128i(v16, _mm_set1_epi32((int)qh));
        acc = _mm256_add_epi32(
            acc, dot_u8s8_i32(trits(tail, last), _mm256_loadu_si256((const __m256i *)(y + 224))));
        int sumi = isum_i32x8(_mm256_sub_epi32(acc, sum_activations(&a[i])));
        sum += (float)sumi * (half_f16c(x[i].d) * a[i].d);
    }
    *s = sum;
}

/* ---- TQ2_0, 8 rows at a time (vec_dot_tile): decode and batches on the file layout ----
 *
 * The row kernel above spends per 32 weights a shift, a mask, maddubs, madd and an add, and
 * per block a horizontal sum: ~7 instructions a 32 weights, compute-bound (37% of the read
 * peak at tg32 on the TinyLlama shape, SCARCE_ISA=avx2, Sapphire-Rapids-class Xeon VM).
 * Here the codes are masked in place (q & 3 and q & 12 = 4 q of the 2-bit fields at 0 and
 * 2, the same after one shift by 4), so a 32-byte load costs one shift and four masks, and
 * the maddubs results add up in int16 per row over the whole block: the plain codes (4
 * maddubs, |4 x 2 x 3 x 128| = 3072) and the 4 q ones (|4 x 2 x 12 x 128| = 12288) apart,
 * then one madd each (by 4 and by 1) gives 4 sum q a in 8 int32 lanes. The 8 rows' lanes
 * fold in one transposing reduction (hadd), >> 2 exactly, - A: the reference's sumi, and
 * its float steps per row, (float) sumi x (d x d_a), added in block order: bit-identical to
 * vec_dot_tq2_0_ref. About 4.1 instructions a 32 weights. */

/* Activations per weight unpack in the tiles below (batches: prefill, verification). */
#define TQ_NA 4

/* 4 sum q a of one row's block in 8 int32 lanes against NA activations' codes a[j] (codes
 * q = 0..3): out[j] */
static inline __attribute__((always_inline)) void
tq2_row_x4(const uint8_t *qs, const int8_t *const a[TQ_NA], __m256i out[TQ_NA], const int NA) {
    const __m256i m3 = _mm256_set1_epi8(3), m12 = _mm256_set1_epi8(12);
    __m256i plain[TQ_NA], quad[TQ_NA];
    for (int j = 0; j < NA; j++) plain[j] = quad[j] = _mm256_setzero_si256();
    for (int h = 0; h < 2; h++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * h));
        const __m256i v4 = _mm256_srli_epi16(v, 4);
        const __m256i c0 = _mm256_and_si256(v, m3), c1 = _mm256_and_si256(v, m12);
        const __m256i c2 = _mm256_and_si256(v4, m3), c3 = _mm256_and_si256(v4, m12);
        for (int j = 0; j < NA; j++) {
            const int8_t *y = a[j] + 128 * h;
            plain[j] = _mm256_add_epi16(
                plain[j],
                _mm256_add_epi16(
                    _mm256_maddubs_epi16(c0, _mm256_loadu_si256((const __m256i *)y)),
                    _mm256_maddubs_epi16(c2, _mm256_loadu_si256((const __m256i *)(y + 64)))));
            quad[j] = _mm256_add_epi16(
                quad[j],
                _mm256_add_epi16(
                    _mm256_maddubs_epi16(c1, _mm256_loadu_si256((const __m256i *)(y + 32))),
                    _mm256_maddubs_epi16(c3, _mm256_loadu_si256((const __m256i *)(y + 96)))));
        }
    }
    for (int j = 0; j < NA; j++)
        out[j] = _mm256_add_epi32(_mm256_madd_epi16(plain[j], _mm256_set1_epi16(4)),
                                  _mm256_madd_epi16(quad[j], _mm256_set1_epi16(1)));
}

/* The 8 vectors' lane sums, vector r in lane r. */
static inline __m256i sums_of_8(const __m256i v[8]) {
    const __m256i h01 = _mm256_hadd_epi32(v[0], v[1]), h23 = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i h45 = _mm256_hadd_epi32(v[4], v[5]), h67 = _mm256_hadd_epi32(v[6], v[7]);
    /* per 128-bit lane: rows 0..3 (4..7), each half of its sum */
    const __m256i q0 = _mm256_hadd_epi32(h01, h23), q1 = _mm256_hadd_epi32(h45, h67);
    return _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20),
                            _mm256_permute2x128_si256(q0, q1, 0x31));
}

/* TQ1_0: trit n of byte b is floor(3 x_n / 256), x_n = b 3^n mod 256 (quant/blocks.h). With
 * the byte in the high half of a 16-bit lane (x << 8, low byte 0), mullo by 3^n leaves x_n << 8
 * (the wrap mod 2^16 is the mod 256) and mulhi_epu16 by 3 is floor(3 x_n 256 / 2^16), the
 * trit, in the low byte: even and odd bytes as two such vectors, the odd trits shifted back
 * up, then maddubs. Per 32 weights 2 mullo, 2 mulhi, a shift, an or, maddubs and an int16
 * add (the row kernel above: 11 for the trits alone, then maddubs, madd and add). */
static inline __m256i tq1_trits(__m256i even, __m256i odd, __m256i mult) {
    const __m256i three = _mm256_set1_epi16(3);
    const __m256i te = _mm256_mulhi_epu16(_mm256_mullo_epi16(even, mult), three);
    const __m256i to = _mm256_mulhi_epu16(_mm256_mullo_epi16(odd, mult), three);
    return _mm256_or_si256(te, _mm256_slli_epi16(to, 8));
}

/* sum t a of one row's TQ1_0 block (t = trit 0..2) in 8 int32 lanes against NA activations'
 * codes a[j]: out[j]. Element order as vec_dot_tq1_0_avx2: 5 x 32 from qs[0..31];
 * qs[32..47] in both 128-bit lanes, trits n and n + 1 side by side; its fifth trit beside qh
 * repeated (byte 4 n + j = qh[j], trit n). Each int16 lane sums 8 maddubs of |2 x 2 x 128|:
 * exact. Each trit vector is made once for the NA activations. */
static inline __attribute__((always_inline)) void
tq1_row(const block_tq1_0 *x, const int8_t *const a[TQ_NA], __m256i out[TQ_NA], const int NA) {
    const __m256i high = _mm256_set1_epi16((short)0xFF00), three = _mm256_set1_epi16(3);
    const __m256i v = _mm256_loadu_si256((const __m256i *)x->qs);
    const __m256i ve = _mm256_slli_epi16(v, 8), vo = _mm256_and_si256(v, high);
    const __m128i v16 = _mm_loadu_si128((const __m128i *)(x->qs + 32));
    uint32_t qh;
    memcpy(&qh, x->qh, 4);
    const __m256i w = _mm256_setr_m128i(v16, v16),
                  tail = _mm256_setr_m128i(v16, _mm_set1_epi32((int)qh));
    const __m256i we = _mm256_slli_epi16(w, 8), wo = _mm256_and_si256(w, high);
    const __m256i te = _mm256_slli_epi16(tail, 8), to = _mm256_and_si256(tail, high);
    static const short pow3[5] = {1, 3, 9, 27, 81};
    __m256i sum[TQ_NA];
    for (int j = 0; j < NA; j++) sum[j] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++) {
        __m256i t;
        if (k == 0) /* trit 0: x_0 = b, no mullo */
            t = _mm256_or_si256(_mm256_mulhi_epu16(ve, three),
                                _mm256_slli_epi16(_mm256_mulhi_epu16(vo, three), 8));
        else if (k < 5)
            t = tq1_trits(ve, vo, _mm256_set1_epi16(pow3[k]));
        else if (k == 5)
            t = tq1_trits(we, wo, _mm256_setr_m128i(_mm_set1_epi16(1), _mm_set1_epi16(3)));
        else if (k == 6)
            t = tq1_trits(we, wo, _mm256_setr_m128i(_mm_set1_epi16(9), _mm_set1_epi16(27)));
        else
            t = tq1_trits(
                te, to,
                _mm256_setr_m128i(_mm_set1_epi16(81), _mm_setr_epi16(1, 1, 3, 3, 9, 9, 27, 27)));
        for (int j = 0; j < NA; j++) {
            const __m256i p =
                _mm256_maddubs_epi16(t, _mm256_loadu_si256((const __m256i *)(a[j] + 32 * k)));
            sum[j] = _mm256_add_epi16(sum[j], p);
        }
    }
    for (int j = 0; j < NA; j++) out[j] = _mm256_madd_epi16(sum[j], _mm256_set1_epi16(1));
}

/* Look-ahead of rows8's prefetches, in groups of 8 rows. TinyLlama-shape tq2_0 tg32, 1
 * thread, SCARCE_ISA=avx2, 2-core Sapphire-Rapids-class Xeon VM at load 7-8 (no lock, two
 * rounds): no prefetch 14.6; 1 group 24.4, 21.9; 2 groups 25.3, 20.6; 4 groups 18.6, 17.4. */
#ifndef TERNARY_AHEAD
#define TERNARY_AHEAD 1
#endif

/* 8 rows (w_stride bytes apart) against NA activation rows y[j]: s[j * s_stride + 0..7].
 * TQ2_0 (tq1 = 0) sums 4 sum q a, TQ1_0 sum t a: both minus A (sum a) make the reference's
 * sumi. */
static inline __attribute__((always_inline)) void rows8(int64_t nb, float *s, size_t s_stride,
                                                        const uint8_t *w, size_t w_stride,
                                                        const block_q8_K *const y[TQ_NA],
                                                        const int NA, const int tq1) {
    __m256 acc[TQ_NA];
    for (int j = 0; j < NA; j++) acc[j] = _mm256_setzero_ps();
    /* The 8 rows are 8 short streams (2048 columns: 9 lines each) that the hardware
     * prefetchers do not follow in time; the group's bytes are contiguous, so each block
     * prefetches its share (8 blocks' bytes) of the group TERNARY_AHEAD groups on. */
    const size_t share = 8 * (tq1 ? sizeof(block_tq1_0) : sizeof(block_tq2_0));
    const char *ahead = (const char *)w + TERNARY_AHEAD * 8 * w_stride;
    for (int64_t i = 0; i < nb; i++) {
        for (size_t l = 0; l < share + 63; l += 64)
            _mm_prefetch(ahead + i * share + l, _MM_HINT_T0);
        const int8_t *aq[TQ_NA];
        for (int j = 0; j < NA; j++) aq[j] = y[j][i].qs;
        __m256i rows[TQ_NA][8], out[TQ_NA];
        uint16_t d[8];
        for (int r = 0; r < 8; r++) {
            if (tq1) {
                const block_tq1_0 *x = (const block_tq1_0 *)(w + r * w_stride) + i;
                tq1_row(x, aq, out, NA);
                d[r] = x->d;
            } else {
                const block_tq2_0 *x = (const block_tq2_0 *)(w + r * w_stride) + i;
                tq2_row_x4(x->qs, aq, out, NA);
                d[r] = x->d;
            }
            for (int j = 0; j < NA; j++) rows[j][r] = out[j];
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)d));
        for (int j = 0; j < NA; j++) {
            int A = 0;
            for (int k = 0; k < QK_K / 16; k++) A += y[j][i].bsums[k];
            const __m256i sum = tq1 ? sums_of_8(rows[j]) : _mm256_srai_epi32(sums_of_8(rows[j]), 2);
            const __m256i sumi = _mm256_sub_epi32(sum, _mm256_set1_epi32(A));
            /* the reference's (float) sumi x (d x d_a), then += */
            const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(y[j][i].d));
            acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), scale));
        }
    }
    for (int j = 0; j < NA; j++) _mm256_storeu_ps(s + j * s_stride, acc[j]);
}

/* The shapes, each its own function (register allocation per shape). */
#define ROWS8_SHAPE(name, NA, tq1)                                                                 \
    static __attribute__((noinline)) void name##_##NA(int64_t nb, float *s, size_t s_stride,       \
                                                      const uint8_t *w, size_t w_stride,           \
                                                      const block_q8_K *const y[TQ_NA]) {          \
        rows8(nb, s, s_stride, w, w_stride, y, NA, tq1);                                           \
    }
ROWS8_SHAPE(tq2_0_rows8, 1, 0)
ROWS8_SHAPE(tq2_0_rows8, 2, 0)
ROWS8_SHAPE(tq2_0_rows8, 3, 0)
ROWS8_SHAPE(tq2_0_rows8, 4, 0)
ROWS8_SHAPE(tq1_0_rows8, 1, 1)
ROWS8_SHAPE(tq1_0_rows8, 2, 1)
ROWS8_SHAPE(tq1_0_rows8, 3, 1)
ROWS8_SHAPE(tq1_0_rows8, 4, 1)
#undef ROWS8_SHAPE

typedef void (*rows8_fn)(int64_t, float *, size_t, const uint8_t *, size_t,
                         const block_q8_K *const[TQ_NA]);
static const rows8_fn rows8_of[2][TQ_NA + 1] = {
    {NULL, tq2_0_rows8_1, tq2_0_rows8_2, tq2_0_rows8_3, tq2_0_rows8_4},
    {NULL, tq1_0_rows8_1, tq1_0_rows8_2, tq1_0_rows8_3, tq1_0_rows8_4}};

/* Activations in groups of up to TQ_NA, each group against the rows 8 at a time (a group's
 * weights are unpacked once for its activations), the last nrows % 8 rows by the row
 * kernel. */
static void ternary_tile(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                         int nrows, const void *a, size_t a_stride, int nact, int tq1) {
    const int64_t nb = n / QK_K;
    const uint8_t *rows = w;
    for (int j0 = 0; j0 < nact; j0 += TQ_NA) {
        const int na = nact - j0 < TQ_NA ? nact - j0 : TQ_NA;
        const block_q8_K *y[TQ_NA];
        for (int j = 0; j < na; j++)
            y[j] = (const block_q8_K *)((const char *)a + (size_t)(j0 + j) * a_stride);
        float *out = s + (size_t)j0 * s_stride;
        int r = 0;
        for (; r + 8 <= nrows; r += 8)
            rows8_of[tq1][na](nb, out + r, s_stride, rows + r * w_stride, w_stride, y);
        for (; r < nrows; r++)
            for (int j = 0; j < na; j++)
                (tq1 ? vec_dot_tq1_0_avx2 : vec_dot_tq2_0_avx2)(n, out + j * s_stride + r,
                                                                rows + r * w_stride, y[j]);
    }
}

void vec_dot_tile_tq2_0_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                             int nrows, const void *a, size_t a_stride, int nact) {
    ternary_tile(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, 0);
}

void vec_dot_tile_tq1_0_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                             int nrows, const void *a, size_t a_stride, int nact) {
    ternary_tile(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, 1);
}
