/* avx512_q8.c - block-32 weight types (Q8_0, Q4_0, Q4_1, Q2_0_32) against Q8_0 activations,
 * and the Q8_0 activation quantizer, with AVX-512 VNNI (Q5_0, Q5_1, IQ4_NL: the 1 x 1 tile
 * of avx512_tile.c).
 *
 * The structure of avx2_q8.c: per block the 32 weight codes expanded to 32 bytes, the
 * integer products summed exactly into 8 int32 lanes, one FMA with d_w * d_a into a float
 * accumulator. What changes is the integer product: vpdpbusd takes the codes unsigned
 * (u8 x s8 into int32, no int16 step), so
 *   signed codes c = u - k:   sum c a = sum u a - k sum a   (Q4_0 k = 8, Q5_0 16, Q8_0 and
 *                             IQ4_NL 128: the code xor 0x80, the grid shifted by 128),
 * one vpdpbusd for sum u a and one for sum a (against bytes of 1), where AVX2 needs sign
 * (x2), maddubs and madd. Every code is exact, -128 included (the AVX2 sign trick is not).
 * The float operations per block are those of the AVX2 kernels: results agree with them
 * and with the reference up to the float summation order. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "avx512.h"
#include "avx512_util.h"

static inline __m256i load32(const int8_t *p) {
    return _mm256_loadu_si256((const __m256i *)p);
}

/* acc + isum x (d_w d_a), as avx2_q8.c folds a block */
static inline __m256 fold(__m256 acc, __m256i isum, uint16_t dw, uint16_t da) {
    __m256 d = _mm256_set1_ps(half_f16c(dw) * half_f16c(da));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), d, acc);
}

/* sum (u - k) a for unsigned codes u and the activation codes a */
static inline __m256i dot_offset(__m256i u, __m256i a, int k) {
    __m256i ua = dpbusd(_mm256_setzero_si256(), u, a);
    __m256i ka = dpbusd(_mm256_setzero_si256(), _mm256_set1_epi8((char)k), a);
    return _mm256_sub_epi32(ua, ka);
}

void vec_dot_q8_0_avx512(int64_t n, float *s, const void *w, const void *a) {
    const block_q8_0 *x = w, *y = a;
    const __m256i bias = _mm256_set1_epi8((char)0x80); /* x ^ 0x80 = x + 128 read unsigned */
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK32; i++)
        acc = fold(acc, dot_offset(_mm256_xor_si256(load32(x[i].qs), bias), load32(y[i].qs), 128),
                   x[i].d, y[i].d);
    *s = hsum_f32x8(acc);
}

void vec_dot_q4_0_avx512(int64_t n, float *s, const void *w, const void *a) {
    const block_q4_0 *x = w;
    const block_q8_0 *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK32; i++)
        acc = fold(acc, dot_offset(unpack_nibbles(x[i].qs), load32(y[i].qs), 8), x[i].d, y[i].d);
    *s = hsum_f32x8(acc);
}

/* x = d q + m: dot = d d_a sum(q a) + m d_a sum(a), both terms in one accumulator block
 * by block, with the float operations of vec_dot_q4_1_avx2 (see there why). */
static inline __m256 fold_affine(__m256 acc, __m256i qa, __m256i a, uint16_t d, uint16_t m,
                                 uint16_t da) {
    float fda = half_f16c(da);
    __m256 mt = _mm256_mul_ps(_mm256_cvtepi32_ps(sum_s8(a)), _mm256_set1_ps(half_f16c(m) * fda));
    return _mm256_add_ps(
        acc, _mm256_fmadd_ps(_mm256_cvtepi32_ps(qa), _mm256_set1_ps(half_f16c(d) * fda), mt));
}

void vec_dot_q4_1_avx512(int64_t n, float *s, const void *w, const void *a) {
    const block_q4_1 *x = w;
    const block_q8_0 *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK32; i++) {
        __m256i qy = load32(y[i].qs);
        __m256i qa = dpbusd(_mm256_setzero_si256(), unpack_nibbles(x[i].qs), qy);
        acc = fold_affine(acc, qa, qy, x[i].d, x[i].m, y[i].d);
    }
    *s = hsum_f32x8(acc);
}

/* Q2_0_32: code j = (qs[j % 8] >> 2 (j / 8)) & 3: the four 8-lane groups are the 8 bytes
 * shifted by 0, 2, 4, 6. x = d q + m. */
void vec_dot_q2_0_32_avx512(int64_t n, float *s, const void *w, const void *a) {
    const block_q2_0_32 *x = w;
    const block_q8_0 *y = a;
    const uint64_t low2 = 0x0303030303030303ull;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK32; i++) {
        uint64_t v;
        memcpy(&v, x[i].qs, 8);
        __m256i q = _mm256_set_epi64x((long long)((v >> 6) & low2), (long long)((v >> 4) & low2),
                                      (long long)((v >> 2) & low2), (long long)(v & low2));
        __m256i qy = load32(y[i].qs);
        acc = fold_affine(acc, dpbusd(_mm256_setzero_si256(), q, qy), qy, x[i].d, x[i].m, y[i].d);
    }
    *s = hsum_f32x8(acc);
}

/* Q8_0 activations: d = amax / 127, q = round-to-nearest-even(x / d), the operations of
 * quantize_row_q8_0_avx2 (so the same bytes), on one 512-bit register per 16 floats.
 * vpmovsdb saturates to int8 as the AVX2 packs do. */
void quantize_row_q8_0_avx512(const float *src, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32;
        __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
        float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        __m512 scale = _mm512_set1_ps(id);
        __m128i q0 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, scale)));
        __m128i q1 = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, scale)));
        /* never -128, as quantize_row_q8_0_avx2 (the AVX2 kernels' sign trick) */
        q0 = _mm_max_epi8(q0, _mm_set1_epi8(-127)), q1 = _mm_max_epi8(q1, _mm_set1_epi8(-127));
        _mm_storeu_si128((__m128i *)y[i].qs, q0);
        _mm_storeu_si128((__m128i *)(y[i].qs + 16), q1);
    }
}
