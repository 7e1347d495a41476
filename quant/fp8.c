/* fp8.c - FP8 weights (scarce types 200, 201): blocks of 32 FP8 codes after one fp16 scale,
 * 34 bytes (8.5 bits/weight, the same as Q8_0 so the two compare at equal size).
 * x = d * fp8(code). OCP FP8 (OFP8 spec v1.0):
 *   E4M3: 1 sign, 4 exponent (bias 7), 3 mantissa; no infinities, S.1111.111 is NaN, max 448,
 *         subnormals m * 2^-9.
 *   E5M2: 1 sign, 5 exponent (bias 15), 2 mantissa; IEEE-like: exponent 31 is inf (m = 0) or
 *         NaN, max 57344, subnormals m * 2^-16.
 * Encoding rounds to nearest, ties to even, and saturates finite overflow to +-max (OCP's
 * saturating mode); NaN encodes as NaN, and for E5M2 an infinity as infinity.
 * The block scale starts at amax / max and is refined (see search_scale). */
#include <math.h>
#include <string.h>

#include "formats.h"
#include "fp16.h"

#define E4M3_MAX_CODE 0x7E /* 448 */
#define E5M2_MAX_CODE 0x7B /* 57344 */

/* A format's constants: mantissa bits, exponent bias, largest finite code and value, and the
 * step of its subnormals, 2^(1 - bias - mbits). The quantizer calls the helpers below with
 * them directly: through per-format function pointers (no inlining) its search had cost
 * 500 ns a weight (SmolLM2 f16 -> fp8_e4m3, 2-core Xeon, loaded). */
typedef struct {
    int mbits, bias, max_code;
    float max, sub_step;
} fp8_format;

static const fp8_format E4M3 = {3, 7, E4M3_MAX_CODE, 448.0f, 0x1p-9f};
static const fp8_format E5M2 = {2, 15, E5M2_MAX_CODE, 57344.0f, 0x1p-16f};

static float float_from_bits(uint32_t b) {
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* The value of a finite code: an exponent field e > 0 is 2^(e - bias) with the code's mantissa
 * as the top bits of the float's; e = 0 is m subnormal steps, exact in float. */
static float decode_finite(const fp8_format *f, uint8_t c) {
    uint32_t e = (uint32_t)(c & 0x7F) >> f->mbits, m = c & ((1u << f->mbits) - 1);
    float v = e == 0 ? (float)m * f->sub_step
                     : float_from_bits((e - (uint32_t)f->bias + 127) << 23 | m << (23 - f->mbits));
    return c & 0x80 ? -v : v;
}

float fp8_e4m3_to_f32(uint8_t c) {
    return (c & 0x7F) == 0x7F ? NAN : decode_finite(&E4M3, c); /* S.1111.111 */
}

float fp8_e5m2_to_f32(uint8_t c) {
    if ((c & 0x7C) == 0x7C) return (c & 3) ? NAN : (c & 0x80) ? -INFINITY : INFINITY;
    return decode_finite(&E5M2, c);
}

/* The nearest code to a >= 0 (not NaN), ties to the even code, saturating at max_code.
 * Within a binade the codes are evenly spaced, so a's float mantissa rounded to mbits
 * (ties to even) is the code's mantissa, and a carry out of it rolls into the exponent
 * field just as the code's value does. Below the smallest normal (2^mbits subnormal steps)
 * the codes are the multiples of the step, and a / step is exact.
 * This replaced a binary search over decoded codes (ldexpf per probe) that made FP8 the
 * slowest type to quantize: the Gemma 3 270M --pure sweep spent > 20 min of a 2-core
 * Xeon (loaded) on it. tests/test_quant_layout.c holds it to a brute-force nearest code. */
static uint8_t encode_magnitude(const fp8_format *f, float a) {
    if (!(a < f->max)) return (uint8_t)f->max_code;
    uint32_t q, rest, half;
    if (a < f->sub_step * (float)(1 << f->mbits)) {
        float t = a / f->sub_step; /* in [0, 2^mbits) */
        q = (uint32_t)t;
        float frac = t - (float)q;
        return (uint8_t)(q + (frac > 0.5f || (frac == 0.5f && (q & 1))));
    }
    uint32_t bits;
    memcpy(&bits, &a, sizeof bits);
    int shift = 23 - f->mbits;
    q = (((bits >> 23) - 127 + (uint32_t)f->bias) << f->mbits) | ((bits & 0x7FFFFF) >> shift);
    rest = bits & ((1u << shift) - 1), half = 1u << (shift - 1);
    return (uint8_t)(q + (rest > half || (rest == half && (q & 1))));
}

static uint8_t encode_finite(const fp8_format *f, float x) {
    return (uint8_t)((signbit(x) ? 0x80 : 0) | encode_magnitude(f, fabsf(x)));
}

uint8_t f32_to_fp8_e4m3(float x) {
    return isnan(x) ? (uint8_t)((signbit(x) ? 0x80 : 0) | 0x7F) : encode_finite(&E4M3, x);
}

uint8_t f32_to_fp8_e5m2(float x) {
    uint8_t sign = signbit(x) ? 0x80 : 0;
    if (isnan(x)) return sign | 0x7F;
    if (isinf(x)) return sign | 0x7C;
    return encode_finite(&E5M2, x);
}

/* Encodes the block with scale d (as stored in fp16) and returns the weighted error. The
 * inputs are finite (quant_check_finite) and so is x / d: no NaN or inf code is made here. */
static double encode_block(const fp8_format *f, const float *x, const float *w, uint16_t d16,
                           uint8_t *qs) {
    float d = fp16_to_f32(d16), inv_d = d != 0 ? 1.0f / d : 0.0f;
    double err = 0;
    for (int j = 0; j < QK32; j++) {
        qs[j] = encode_finite(f, x[j] * inv_d);
        float e = d * decode_finite(f, qs[j]) - x[j];
        err += (double)w[j] * e * e;
    }
    return err;
}

/* amax / max puts the block's extreme on the format's largest value. FP8's grid is
 * logarithmic, so shifting the scale within one octave (16 steps of 2^(-1/16)) moves the
 * grid against the data; for each start the least-squares scale of the codes found is also
 * tried (it may clip the extreme). The lowest real error wins. */
static void quantize_block(const fp8_format *f, const float *x, const float *w, block_fp8 *b) {
    float amax = 0;
    for (int j = 0; j < QK32; j++) amax = fmaxf(amax, fabsf(x[j]));
    uint8_t qs[QK32];
    b->d = f32_to_fp16(amax / f->max);
    double best = encode_block(f, x, w, b->d, b->qs);
    for (int k = 0; k < 16 && amax > 0; k++) {
        uint16_t d16 = f32_to_fp16(amax / (f->max * exp2f(-k / 16.0f)));
        for (int r = 0; r < 2; r++) {
            double err = encode_block(f, x, w, d16, qs);
            if (err < best) {
                best = err, b->d = d16;
                for (int j = 0; j < QK32; j++) b->qs[j] = qs[j];
            }
            double svx = 0, sv2 = 0;
            for (int j = 0; j < QK32; j++) {
                float v = decode_finite(f, qs[j]);
                svx += (double)w[j] * v * x[j], sv2 += (double)w[j] * v * v;
            }
            if (!(sv2 > 0)) break;
            d16 = f32_to_fp16((float)(svx / sv2));
        }
    }
}

/* Any byte may be in a file, NaN and inf codes too: the full decoders. */
static void dequantize_fp8(float (*decode)(uint8_t), const void *src, float *dst, int64_t n) {
    const block_fp8 *b = src;
    for (int64_t i = 0; i < n / QK32; i++) {
        float d = fp16_to_f32(b[i].d);
        for (int j = 0; j < QK32; j++) dst[i * QK32 + j] = d * decode(b[i].qs[j]);
    }
}

static void quantize_fp8(const fp8_format *f, const float *src, void *dst, int64_t n,
                         const float *importance) {
    block_fp8 *b = dst;
    float ones[QK32];
    for (int64_t i = 0; i < n / QK32; i++)
        quantize_block(f, src + i * QK32, q_weights(importance, i * QK32, QK32, ones), &b[i]);
}

void dequantize_fp8_e4m3(const void *src, float *dst, int64_t n) { dequantize_fp8(fp8_e4m3_to_f32, src, dst, n); }
void dequantize_fp8_e5m2(const void *src, float *dst, int64_t n) { dequantize_fp8(fp8_e5m2_to_f32, src, dst, n); }
void quantize_fp8_e4m3(const float *src, void *dst, int64_t n, const float *importance) {
    quantize_fp8(&E4M3, src, dst, n, importance);
}
void quantize_fp8_e5m2(const float *src, void *dst, int64_t n, const float *importance) {
    quantize_fp8(&E5M2, src, dst, n, importance);
}
