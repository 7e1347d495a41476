/* avx512_fp8.c - FP8 weights (E4M3, E5M2; quant/fp8.c) against Q8_0 activations: vec_dot
 * and NR x NA tiles (vec_dot_tile: what decode runs for these types), with AVX512_VBMI and
 * AVX512_BF16 (avx512_install.c installs them only where CPUID has both; else the AVX2
 * kernels run).
 *
 * Every FP8 value and every int8 activation code is exactly a bf16 (E4M3: 4 significant
 * bits, E5M2: 3, codes: 7; exponents well inside bf16's), and the product of two bf16 is
 * exact in float. So vdpbf16ps, which adds two such products into each float lane (round
 * to nearest, denormals flushed: none occur, every nonzero product is at least 2^-16 in
 * magnitude), computes the reference's float sum of the exact products fp8(code) * a_code
 * in another order: the same sum up to float rounding order, as the AVX2 kernel.
 *
 * Decode, per pair of blocks (64 codes in one register): the bf16 of a code is a lookup of
 * its 7 magnitude bits in a 128-entry table, one vpermt2b for the high bytes and one for
 * the low bytes (the index's bit 7 is ignored), then the sign bit ORed into the high byte
 * (vpternlogd) and the two byte planes interleaved into words (vpunpck{l,h}bw). The table
 * holds the exact values, the NaN codes included (E4M3 S.1111.111, E5M2 exponent 31 with a
 * mantissa) and E5M2's infinities: NaN and inf propagate through the products as in the
 * reference, with no separate test. The activations get the same byte-plane interleave
 * once per call (a chunk of columns in a stack buffer), so word k of both operands holds
 * the same element. Each pair's 16 lane sums (lanes 0-7 the first block, 8-15 the second)
 * are multiplied by d_w * d_a of their block and added into the row's accumulator.
 *
 * Instructions per 32 weights at decode (64 rows x 2048 columns, one activation; counted by
 * single-stepping on a Sapphire-Rapids-class Xeon): 9.5 for both formats, against 22.2
 * (E4M3) and 16.1 (E5M2) for the earlier decode of this file (shift into an IEEE half,
 * vcvtph2ps, two f32 FMAs per 16 codes, a NaN compare). */
#pragma GCC target("avx512vbmi,avx512bf16")

#include <immintrin.h>
#include <stdalign.h>

#include "../../quant/blocks.h"
#include "avx512.h"
#include "avx512_util.h"

#define MAX_NR 4
#define MAX_NA 2
/* Blocks of converted activations per chunk, for all activations of a call together (8192
 * columns: 24 KiB of pairs); even, so chunks split no pair. Longer rows go in chunks, each
 * adding into s. */
#define CHUNK_BLOCKS 256

/* The bf16 of FP8 magnitude m (0..127): high bytes in hi (hi[0] m < 64, hi[1] m >= 64, as
 * vpermt2b indexes two registers), low bytes in lo. */
typedef struct {
    __m512i hi[2], lo[2];
} fp8_table;

/* One pair of activation blocks in the weights' word order, and d_a of each block in the
 * lanes that hold its sums. */
typedef struct {
    __m512i lo_words, hi_words; /* the words that vpunpcklbw / vpunpckhbw make */
    __m512 scale;               /* lanes 0-7: d_a of the first block, 8-15 of the second */
} act_pair;

/* 32 words -> their 32 high bytes and 32 low bytes. */
static inline __m256i high_bytes(__m512i words) {
    return _mm512_cvtepi16_epi8(_mm512_srli_epi16(words, 8));
}
static inline __m256i low_bytes(__m512i words) {
    return _mm512_cvtepi16_epi8(words);
}

/* The table of E4M3 (e4m3 = 1) or E5M2 codes. E5M2 shifted into the high byte of a half is
 * the half; E4M3 shifted 7 up is its value times 2^-8 (bias 7 -> 15, subnormals onto half
 * subnormals): both widen exactly to float, whose top 16 bits are then the bf16. */
static void fp8_table_build(int e4m3, fp8_table *t) {
    __m512i words[4];
    for (int g = 0; g < 4; g++) {
        __m512i m = _mm512_add_epi16(
            _mm512_set1_epi16((short)(32 * g)),
            _mm512_set_epi16(31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15,
                             14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
        __m512i half = e4m3 ? _mm512_slli_epi16(m, 7) : _mm512_slli_epi16(m, 8);
        __m512i bf[2];
        for (int k = 0; k < 2; k++) {
            __m256i h = k ? _mm512_extracti64x4_epi64(half, 1) : _mm512_castsi512_si256(half);
            __m512 f = _mm512_cvtph_ps(h);
            if (e4m3) f = _mm512_mul_ps(f, _mm512_set1_ps(256.0f));
            bf[k] = _mm512_srli_epi32(_mm512_castps_si512(f), 16);
        }
        words[g] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi32_epi16(bf[0])),
                                      _mm512_cvtepi32_epi16(bf[1]), 1);
    }
    /* E4M3 S.1111.111 is NaN (the shift above made it 480): a quiet bf16 NaN */
    if (e4m3) words[3] = _mm512_mask_set1_epi16(words[3], (__mmask32)1 << 31, 0x7FC0);
    for (int k = 0; k < 2; k++) {
        t->hi[k] = _mm512_inserti64x4(_mm512_castsi256_si512(high_bytes(words[2 * k])),
                                      high_bytes(words[2 * k + 1]), 1);
        t->lo[k] = _mm512_inserti64x4(_mm512_castsi256_si512(low_bytes(words[2 * k])),
                                      low_bytes(words[2 * k + 1]), 1);
    }
}

/* The 32 codes of an activation block as bf16 words, in element order (exact: |code| <= 128). */
static inline __m512i codes_bf16(const int8_t *qs) {
    __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)qs)));
    __m512 hi =
        _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(qs + 16))));
    return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* Blocks [b0, b0 + nb) of activation a (nb even, or the row's odd last chunk: then the last
 * pair's second block is zeros with d_a 0) into out[0 .. (nb + 1) / 2). */
static void convert_activation(const block_q8_0 *a, int64_t b0, int64_t nb, act_pair *out) {
    for (int64_t i = 0; i < nb; i += 2) {
        const block_q8_0 *y = a + b0 + i;
        const int second = i + 1 < nb;
        __m512i w0 = codes_bf16(y[0].qs), w1 = second ? codes_bf16(y[1].qs) : _mm512_setzero_si512();
        __m512i lo = _mm512_inserti64x4(_mm512_castsi256_si512(low_bytes(w0)), low_bytes(w1), 1);
        __m512i hi = _mm512_inserti64x4(_mm512_castsi256_si512(high_bytes(w0)), high_bytes(w1), 1);
        act_pair *p = &out[i / 2];
        p->lo_words = _mm512_unpacklo_epi8(lo, hi);
        p->hi_words = _mm512_unpackhi_epi8(lo, hi);
        __m256 d0 = _mm256_set1_ps(half_f16c(y[0].d));
        __m256 d1 = _mm256_set1_ps(second ? half_f16c(y[1].d) : 0.0f);
        p->scale = _mm512_insertf32x8(_mm512_castps256_ps512(d0), d1, 1);
    }
}

/* Word k of the 64 bytes from a pair's first block: its d (word 0), the second's (17). */
static const uint16_t d_words[32] = {0,  0,  0,  0,  0,  0,  0,  0,  17, 17, 17,
                                     17, 17, 17, 17, 17, 0,  0,  0,  0,  0,  0,
                                     0,  0,  0,  0,  0,  0,  0,  0,  0,  0};

/* Weight blocks x[0], x[1] (single: x[0] alone, the second read as zeros) as the two word
 * registers of the unpack and d_w in the lanes of each block's sums. */
static inline __attribute__((always_inline)) void
fp8_pair(const block_fp8 *x, const fp8_table *t, const int single, __m512i *lo_words,
         __m512i *hi_words, __m512 *dw) {
    const __m512i sign = _mm512_set1_epi8((char)0x80);
    __m512i codes, raw;
    if (single) {
        codes = _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)x[0].qs));
        codes = _mm512_inserti64x4(codes, _mm256_setzero_si256(), 1);
        raw = _mm512_maskz_loadu_epi16(1, x);
    } else {
        codes = _mm512_inserti64x4(
            _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)x[0].qs)),
            _mm256_loadu_si256((const __m256i *)x[1].qs), 1);
        raw = _mm512_loadu_si512(x);
    }
    __m512i hi = _mm512_permutex2var_epi8(t->hi[0], codes, t->hi[1]);
    __m512i lo = _mm512_permutex2var_epi8(t->lo[0], codes, t->lo[1]);
    hi = _mm512_ternarylogic_epi32(hi, codes, sign, 0xF8); /* hi | (codes & sign) */
    *lo_words = _mm512_unpacklo_epi8(lo, hi);
    *hi_words = _mm512_unpackhi_epi8(lo, hi);
    __m512i d = _mm512_permutexvar_epi16(_mm512_loadu_si512(d_words), raw);
    *dw = _mm512_cvtph_ps(_mm512_castsi512_si256(d));
}

/* NR rows x NA activations over the pairs [0, np) of a chunk (the last one single when
 * `single`): acc[r][j] += the pairs' scaled lane sums. */
static inline __attribute__((always_inline)) void
pairs_fp8(int64_t np, const int single, const char *w, size_t w_stride, const act_pair *act,
          int64_t act_pairs, const fp8_table *t, __m512 acc[MAX_NR][MAX_NA], const int NR,
          const int NA) {
    for (int64_t p = 0; p < np; p++)
        for (int r = 0; r < NR; r++) {
            __m512i lo_words, hi_words;
            __m512 dw;
            fp8_pair((const block_fp8 *)(w + r * w_stride) + 2 * p, t, single, &lo_words, &hi_words,
                     &dw);
            for (int j = 0; j < NA; j++) {
                const act_pair *a = act + j * act_pairs + p;
                __m512 sum = _mm512_dpbf16_ps(_mm512_setzero_ps(), (__m512bh)lo_words,
                                              (__m512bh)a->lo_words);
                sum = _mm512_dpbf16_ps(sum, (__m512bh)hi_words, (__m512bh)a->hi_words);
                acc[r][j] = _mm512_fmadd_ps(sum, _mm512_mul_ps(dw, a->scale), acc[r][j]);
            }
        }
}

/* NR rows x NA activations over nb blocks of a chunk (w: the rows' first block of it, act:
 * its pairs, activation j at j * act_pairs). s[j * s_stride + r] is set (add = 0) or added
 * to. NR and NA are constants at each call site: the accumulators live in registers. */
static inline __attribute__((always_inline)) void
tile_fp8(int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride,
         const act_pair *act, int64_t act_pairs, const fp8_table *t, int add, const int NR,
         const int NA) {
    __m512 acc[MAX_NR][MAX_NA];
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) acc[r][j] = _mm512_setzero_ps();
    pairs_fp8(nb / 2, 0, w, w_stride, act, act_pairs, t, acc, NR, NA);
    if (nb % 2)
        pairs_fp8(1, 1, w + (nb - 1) * sizeof(block_fp8), w_stride, act + nb / 2, act_pairs, t,
                  acc, NR, NA);
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) {
            float v = _mm512_reduce_add_ps(acc[r][j]);
            s[j * s_stride + r] = add ? s[j * s_stride + r] + v : v;
        }
}

/* Rows in groups of MAX_NR (then singles) against the converted chunk of NA activations. */
static inline __attribute__((always_inline)) void
rows_fp8(int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride, int nrows,
         const act_pair *act, const fp8_table *t, int add, const int NA) {
    const int64_t act_pairs = (nb + 1) / 2;
    int r = 0;
    for (; r + MAX_NR <= nrows; r += MAX_NR)
        tile_fp8(nb, s + r, s_stride, w + r * w_stride, w_stride, act, act_pairs, t, add, MAX_NR,
                 NA);
    for (; r < nrows; r++)
        tile_fp8(nb, s + r, s_stride, w + r * w_stride, w_stride, act, act_pairs, t, add, 1, NA);
}

/* Activations in pairs (then a single); per group, the columns in chunks that fit the
 * buffer. */
static void tile_fp8_all(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                         int nrows, const void *a, size_t a_stride, int nact, int e4m3) {
    alignas(64) act_pair buf[CHUNK_BLOCKS / 2];
    fp8_table t;
    fp8_table_build(e4m3, &t);
    const int64_t nb_all = n / QK32;
    const char *wb = w, *ab = a;
    for (int j = 0; j < nact;) {
        const int na = nact - j >= MAX_NA ? MAX_NA : 1;
        const int64_t chunk = CHUNK_BLOCKS / na;
        for (int64_t b0 = 0; b0 < nb_all; b0 += chunk) {
            int64_t nb = nb_all - b0 < chunk ? nb_all - b0 : chunk;
            for (int k = 0; k < na; k++)
                convert_activation((const block_q8_0 *)(ab + (j + k) * a_stride), b0, nb,
                                   buf + k * ((nb + 1) / 2));
            const char *wc = wb + b0 * sizeof(block_fp8);
            if (na == MAX_NA)
                rows_fp8(nb, s + j * s_stride, s_stride, wc, w_stride, nrows, buf, &t, b0 > 0,
                         MAX_NA);
            else
                rows_fp8(nb, s + j * s_stride, s_stride, wc, w_stride, nrows, buf, &t, b0 > 0, 1);
        }
        j += na;
    }
}

void vec_dot_tile_fp8_e4m3_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                  size_t w_stride, int nrows, const void *a, size_t a_stride,
                                  int nact) {
    tile_fp8_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, 1);
}
void vec_dot_tile_fp8_e5m2_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                  size_t w_stride, int nrows, const void *a, size_t a_stride,
                                  int nact) {
    tile_fp8_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, 0);
}

void vec_dot_fp8_e4m3_avx512(int64_t n, float *s, const void *w, const void *a) {
    tile_fp8_all(n, s, 0, w, 0, 1, a, 0, 1, 1);
}
void vec_dot_fp8_e5m2_avx512(int64_t n, float *s, const void *w, const void *a) {
    tile_fp8_all(n, s, 0, w, 0, 1, a, 0, 1, 0);
}
