/* dot_qk.c - reference dot products of the K-quants with Q8_K activations, and the Q8_K
 * activation quantizer. Per sub-block the integer sum of code products times the integer
 * sub-block scale, summed as an integer over the super-block, then times d * d_a; the min
 * terms of Q2_K / Q4_K / Q5_K use the activation's bsums (sum of 16 codes). Layouts and the
 * element -> bit positions are in quant/blocks.h. */
#include <math.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "../../quant/types.h"
#include "ref.h"

/* Activations to Q8_K: the format's own quantizer (amax / 127, no search) is the spec. */
void quantize_row_q8_k_ref(const float *x, void *y, int64_t n) {
    qtype(QT_Q8_K)->quantize(x, y, n, NULL);
}

void vec_dot_q2_k_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q2_K *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sumi = 0, summ = 0;
        for (int k = 0; k < 16; k++) {
            int sub = 0;
            for (int e = 16 * k; e < 16 * k + 16; e++) {
                int h = e / 128, j = (e % 128) / 32, l = e % 32;
                sub += ((x[i].qs[32 * h + l] >> 2 * j) & 3) * a[i].qs[e];
            }
            sumi += (x[i].scales[k] & 0xF) * sub;
            summ += (x[i].scales[k] >> 4) * a[i].bsums[k];
        }
        sum += a[i].d * (fp16_to_f32(x[i].d) * (float)sumi - fp16_to_f32(x[i].dmin) * (float)summ);
    }
    *s = sum;
}

void vec_dot_q3_k_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q3_K *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sumi = 0;
        for (int k = 0; k < 16; k++) {
            int sub = 0;
            for (int e = 16 * k; e < 16 * k + 16; e++) {
                int h = e / 128, j = (e % 128) / 32, l = e % 32;
                int q = ((x[i].qs[32 * h + l] >> 2 * j) & 3) | ((x[i].hmask[l] >> (4 * h + j)) & 1) << 2;
                sub += (q - 4) * a[i].qs[e];
            }
            sumi += (k3_scale(k, x[i].scales) - 32) * sub;
        }
        sum += a[i].d * fp16_to_f32(x[i].d) * (float)sumi;
    }
    *s = sum;
}

/* Q4_K and Q5_K share everything but the fifth bit (qh NULL for Q4_K). */
static float dot_q45_k(const block_q4_K *x4, const uint8_t *qh, const block_q8_K *a) {
    int sumi = 0, summ = 0;
    for (int k = 0; k < 8; k++) {
        uint8_t sc, m;
        k4_scale_min(k, x4->scales, &sc, &m);
        int sub = 0;
        for (int e = 32 * k; e < 32 * k + 32; e++) {
            int p = e / 64, l = e % 32, hi = (e % 64) >= 32;
            int q = hi ? x4->qs[32 * p + l] >> 4 : x4->qs[32 * p + l] & 0xF;
            if (qh) q |= ((qh[l] >> (2 * p + hi)) & 1) << 4;
            sub += q * a->qs[e];
        }
        sumi += sc * sub;
        summ += m * (a->bsums[2 * k] + a->bsums[2 * k + 1]);
    }
    return a->d * (fp16_to_f32(x4->d) * (float)sumi - fp16_to_f32(x4->dmin) * (float)summ);
}

void vec_dot_q4_k_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q4_K *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) sum += dot_q45_k(&x[i], NULL, &a[i]);
    *s = sum;
}

void vec_dot_q5_k_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q5_K *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        block_q4_K low; /* the Q4_K view of the block: same d, dmin, scales and nibbles */
        low.d = x[i].d, low.dmin = x[i].dmin;
        for (int k = 0; k < K_SCALE_SIZE; k++) low.scales[k] = x[i].scales[k];
        for (int k = 0; k < QK_K / 2; k++) low.qs[k] = x[i].qs[k];
        sum += dot_q45_k(&low, x[i].qh, &a[i]);
    }
    *s = sum;
}

void vec_dot_q6_k_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q6_K *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sumi = 0;
        for (int k = 0; k < 16; k++) {
            int sub = 0;
            for (int e = 16 * k; e < 16 * k + 16; e++) {
                int h = e / 128, part = (e % 128) / 32, l = e % 32;
                int lo = (x[i].ql[64 * h + 32 * (part & 1) + l] >> 4 * (part >> 1)) & 0xF;
                int q = lo | ((x[i].qh[32 * h + l] >> 2 * part) & 3) << 4;
                sub += (q - 32) * a[i].qs[e];
            }
            sumi += x[i].scales[k] * sub;
        }
        sum += a[i].d * fp16_to_f32(x[i].d) * (float)sumi;
    }
    *s = sum;
}
