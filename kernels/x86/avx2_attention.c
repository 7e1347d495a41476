/* avx2_attention.c - attention of one query over the cache, swiglu, and the 8-lane exp
 * they share.
 *
 * exp: e^x = 2^n e^r with n = round(x log2 e), r = x - n ln2 (ln2 split in a hi part
 * exact in float and a lo part, Cody-Waite), |r| <= ln2/2; e^r = 1 + r + r^2 P(r) with
 * Cephes' degree-5 minimax P. 2^n is built in the exponent bits, in two factors 2^n1 2^n2
 * so that results near overflow and in the denormal range come out of the multiply
 * rounded rather than clamped. Measured against double exp (tests/test_attention.c):
 * max relative error 1.2e-7 (about 1 ulp; 2^24 points) for x in [-87.3, 88.72]; below
 * that the result is denormal (absolute error <= 1.07e-45, one denormal step) and 0 from
 * -104; +inf above 88.73; NaN stays NaN.
 *
 * attention: the online softmax of attention_heads_ref, by blocks of ATT_BLOCK positions:
 * scores of the block (8 positions at once, one 8x8 transpose-add), block max, exp of the
 * whole block, then the weighted V sum with the running sums rescaled once per block. */
#include <immintrin.h>
#include <math.h>

#include "../ops.h"
#include "avx2.h"
#include "avx2_util.h"

#define ATT_BLOCK 128 /* positions per block: the scores stay in L1 (512 bytes) */

static inline __m256 exp_f32x8(__m256 x) {
    const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
    const __m256 ln2_hi = _mm256_set1_ps(0.693359375f), ln2_lo = _mm256_set1_ps(-2.12194440e-4f);
    /* min/max return their second operand when one is NaN: NaN goes through */
    x = _mm256_max_ps(_mm256_set1_ps(-104.0f), _mm256_min_ps(_mm256_set1_ps(89.0f), x));
    __m256 n =
        _mm256_round_ps(_mm256_mul_ps(x, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, ln2_hi, x);
    r = _mm256_fnmadd_ps(n, ln2_lo, r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    /* n in [-150, 129]: n1 = floor(n/2), n2 = n - n1, both give normal powers of two */
    __m256i ni = _mm256_cvtps_epi32(n), n1 = _mm256_srai_epi32(ni, 1);
    __m256i n2 = _mm256_sub_epi32(ni, n1), bias = _mm256_set1_epi32(127);
    __m256 pow1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    __m256 pow2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, pow1), pow2);
}

void exp_f32_avx2(float *y, const float *x, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp_f32x8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        float in[8] = {0}, out[8];
        for (int j = 0; j < n - i; j++) in[j] = x[i + j];
        _mm256_storeu_ps(out, exp_f32x8(_mm256_loadu_ps(in)));
        for (int j = 0; j < n - i; j++) y[i + j] = out[j];
    }
}

/* gate = gate * up / (1 + exp(-gate)) */
void swiglu_avx2(float *gate, const float *up, int n) {
    const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        __m256 e = exp_f32x8(_mm256_xor_ps(g, sign));
        __m256 gu = _mm256_mul_ps(g, _mm256_loadu_ps(up + i));
        _mm256_storeu_ps(gate + i, _mm256_div_ps(gu, _mm256_add_ps(one, e)));
    }
    for (; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* gate = gelu(gate) * up, GELU's tanh form: 0.5 x (1 + tanh(u)) = x / (1 + exp(-2u)),
 * u = sqrt(2/pi) (x + 0.044715 x^3). The scalar tanhf was 10% of Gemma 3 270M's prefill
 * instructions (callgrind, pp128). For x -> -inf, exp overflows to inf and the result is
 * -0, as 0.5 x (1 + tanh(u)) tends to. */
void geglu_avx2(float *gate, const float *up, int n) {
    const __m256 one = _mm256_set1_ps(1.0f), c = _mm256_set1_ps(0.044715f);
    const __m256 minus_two_k = _mm256_set1_ps(-2.0f * 0.79788456080286535588f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(gate + i);
        __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(c, x), _mm256_mul_ps(x, x), x);
        __m256 e = exp_f32x8(_mm256_mul_ps(minus_two_k, inner));
        __m256 xu = _mm256_mul_ps(x, _mm256_loadu_ps(up + i));
        _mm256_storeu_ps(gate + i, _mm256_div_ps(xu, _mm256_add_ps(one, e)));
    }
    if (i < n) geglu_tanh(gate + i, up + i, n - i);
}

static inline float hmax_f32x8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* Lane j of the result = sum of the 8 lanes of d[j] (transpose by horizontal adds). */
static inline __m256 sum_lanes_8x8(const __m256 d[8]) {
    __m256 t0 = _mm256_hadd_ps(d[0], d[1]), t1 = _mm256_hadd_ps(d[2], d[3]);
    __m256 t2 = _mm256_hadd_ps(d[4], d[5]), t3 = _mm256_hadd_ps(d[6], d[7]);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20),
                         _mm256_permute2f128_ps(u0, u1, 0x31));
}

/* Lane j = q.k for the key rows k + j kv_stride, j < n_rows <= 8 (0 for j >= n_rows);
 * head_dim a multiple of 8. Columns outer so the 8 sums stay in registers. */
static inline __m256 dot_rows(const float *q, const float *k, int kv_stride, int head_dim,
                              int n_rows) {
    __m256 d[8];
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) d[j] = _mm256_setzero_ps();
    for (int c = 0; c < head_dim; c += 8) {
        const __m256 qc = _mm256_loadu_ps(q + c);
#pragma GCC unroll 8
        for (int j = 0; j < 8; j++)
            if (j < n_rows)
                d[j] = _mm256_fmadd_ps(qc, _mm256_loadu_ps(k + (size_t)j * kv_stride + c), d[j]);
    }
    return sum_lanes_8x8(d);
}

/* s[0..nb) = scale q.k[t], padded with -inf to a multiple of 8. Returns the max. */
static float block_scores(float *s, const float *q, const float *k, int nb, int head_dim,
                          int kv_stride, float scale) {
    const __m256 scale8 = _mm256_set1_ps(scale);
    __m256 max8 = _mm256_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 8 <= nb; j += 8) {
        __m256 s8 =
            _mm256_mul_ps(dot_rows(q, k + (size_t)j * kv_stride, kv_stride, head_dim, 8), scale8);
        _mm256_store_ps(s + j, s8);
        max8 = _mm256_max_ps(max8, s8);
    }
    if (j < nb) {
        const int n_rows = nb - j;
        __m256 s8 = _mm256_mul_ps(
            dot_rows(q, k + (size_t)j * kv_stride, kv_stride, head_dim, n_rows), scale8);
        _mm256_store_ps(s + j, s8);
        for (int r = n_rows; r < 8; r++) s[j + r] = -INFINITY;
        max8 = _mm256_max_ps(max8, _mm256_load_ps(s + j));
    }
    return hmax_f32x8(max8);
}

/* s[j] = exp(s[j] - max) over the padded block; returns their sum (padding adds 0). */
static float block_exp(float *s, int nb, float max) {
    const __m256 max8 = _mm256_set1_ps(max);
    __m256 sum8 = _mm256_setzero_ps();
    for (int j = 0; j < nb; j += 8) {
        __m256 p = exp_f32x8(_mm256_sub_ps(_mm256_load_ps(s + j), max8));
        _mm256_store_ps(s + j, p);
        sum8 = _mm256_add_ps(sum8, p);
    }
    return hsum_f32x8(sum8);
}

/* out = out * rescale + sum_j p[j] v[j], 8 columns at a time, 4 FMA chains per column. */
static void block_weighted_sum(float *out, const float *p, const float *v, int nb, int head_dim,
                               int kv_stride, float rescale) {
    for (int c = 0; c < head_dim; c += 8) {
        const float *vc = v + c;
        __m256 a0 = _mm256_mul_ps(_mm256_loadu_ps(out + c), _mm256_set1_ps(rescale));
        __m256 a1 = _mm256_setzero_ps(), a2 = a1, a3 = a1;
        int j = 0;
        for (; j + 4 <= nb; j += 4) {
            const float *vj = vc + (size_t)j * kv_stride;
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), _mm256_loadu_ps(vj), a0);
            a1 = _mm256_fmadd_ps(_mm256_set1_ps(p[j + 1]), _mm256_loadu_ps(vj + kv_stride), a1);
            a2 = _mm256_fmadd_ps(_mm256_set1_ps(p[j + 2]), _mm256_loadu_ps(vj + 2 * kv_stride), a2);
            a3 = _mm256_fmadd_ps(_mm256_set1_ps(p[j + 3]), _mm256_loadu_ps(vj + 3 * kv_stride), a3);
        }
        for (; j < nb; j++)
            a0 = _mm256_fmadd_ps(_mm256_set1_ps(p[j]), _mm256_loadu_ps(vc + (size_t)j * kv_stride),
                                 a0);
        _mm256_storeu_ps(out + c, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    }
}

static void attention_head(float *out, const float *q, const float *k, const float *v, int n_pos,
                           int head_dim, int kv_stride, float scale) {
    float s[ATT_BLOCK] __attribute__((aligned(32)));
    float max = -INFINITY, sum = 0.0f;
    for (int c = 0; c < head_dim; c++) out[c] = 0.0f;
    for (int t0 = 0; t0 < n_pos; t0 += ATT_BLOCK) {
        const int nb = n_pos - t0 < ATT_BLOCK ? n_pos - t0 : ATT_BLOCK;
        const size_t row0 = (size_t)t0 * kv_stride;
        float block_max = block_scores(s, q, k + row0, nb, head_dim, kv_stride, scale);
        float new_max = block_max > max ? block_max : max;
        float rescale = expf(max - new_max); /* 0 on the first block (max = -inf) */
        sum = sum * rescale + block_exp(s, nb, new_max);
        block_weighted_sum(out, s, v + row0, nb, head_dim, kv_stride, rescale);
        max = new_max;
    }
    const __m256 inv = _mm256_set1_ps(1.0f / sum);
    for (int c = 0; c < head_dim; c += 8)
        _mm256_storeu_ps(out + c, _mm256_mul_ps(_mm256_loadu_ps(out + c), inv));
}

void attention_heads_avx2(float *out, const float *q, const float *k, const float *v, int n_pos,
                          int n_group, int head_dim, int kv_stride, float scale) {
    if (head_dim % 8) {
        attention_heads_ref(out, q, k, v, n_pos, n_group, head_dim, kv_stride, scale);
        return;
    }
    /* the group's heads read the same K/V rows: the second one finds them in L1/L2 */
    for (int h = 0; h < n_group; h++)
        attention_head(out + (size_t)h * head_dim, q + (size_t)h * head_dim, k, v, n_pos, head_dim,
                       kv_stride, scale);
}
