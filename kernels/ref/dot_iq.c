/* dot_iq.c - reference dot products of the 256-element IQ formats with Q8_K activations:
 * per super-block the exact integer sum over sub-blocks of (sub-block scale) x (sum of grid
 * value x activation code), then times d * d_a (ggml scales each sub-block's sum in float;
 * the integer sum is the same value without that rounding). Layouts in quant/blocks.h. */
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "../../quant/iq_unpack.h"
#include "ref.h"

void vec_dot_iq4_xs_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_iq4_xs *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sumi = 0;
        for (int ib = 0; ib < QK_K / 32; ib++) {
            int l = iq4xs_scale(&x[i], ib);
            const uint8_t *qs = x[i].qs + 16 * ib;
            const int8_t *aq = a[i].qs + 32 * ib;
            int sub = 0;
            for (int j = 0; j < 16; j++)
                sub += kvalues_iq4nl[qs[j] & 0xF] * aq[j] + kvalues_iq4nl[qs[j] >> 4] * aq[j + 16];
            sumi += (l - 32) * sub;
        }
        sum += (float)sumi * (fp16_to_f32(x[i].d) * a[i].d);
    }
    *s = sum;
}

/* The codebook formats (quant/iq_unpack.h): ggml's sum over sub-blocks of ls x (magnitude x
 * sign x a) per super-block, times d d_a, and the format's power-of-two factor once at the
 * end (ggml's vec_dot_iq2_xxs_q8_K ... iq3_s). */
static inline float dot_codebook(int64_t n, const void *w, const block_q8_K *a, size_t bytes,
                                 iq_unpack_fn unpack, float factor) {
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *block = (const uint8_t *)w + i * bytes;
        int bsum = 0;
        iq_sub u;
        for (int ib = 0; ib < 8; ib++) {
            unpack(block, ib, &u);
            for (int h = 0; h < 2; h++) {
                int sumi = 0;
                for (int j = 16 * h; j < 16 * h + 16; j++) {
                    int v = (int)((u.mag[j / 8] >> 8 * (j % 8)) & 255) * a[i].qs[32 * ib + j];
                    sumi += u.signs >> j & 1 ? -v : v;
                }
                bsum += u.ls[h] * sumi;
            }
        }
        sum += fp16_to_f32(u.d) * a[i].d * (float)bsum;
    }
    return factor * sum;
}

void vec_dot_iq2_xxs_ref(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq2_xxs), iq2_xxs_sub, 0.125f);
}
void vec_dot_iq2_xs_ref(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq2_xs), iq2_xs_sub, 0.125f);
}
void vec_dot_iq2_s_ref(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq2_s), iq2_s_sub, 0.125f);
}
void vec_dot_iq3_xxs_ref(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq3_xxs), iq3_xxs_sub, 0.25f);
}
void vec_dot_iq3_s_ref(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq3_s), iq3_s_sub, 1.0f);
}
/* IQ1_S / IQ1_M: the delta is folded into the magnitudes (8 g +- 1, iq1_group), so the
 * integer sum is ggml's 8 sumi + sumi1 (its sumi + sumi1 / 8 scaled by 8, both exact below
 * 2^24) and the result its float value: d d_a (sumi + sumi1 / 8) rounds the same number. */
void vec_dot_iq1_s_ref(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq1_s), iq1_s_sub, 0.125f);
}
void vec_dot_iq1_m_ref(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_codebook(n, w, a, sizeof(block_iq1_m), iq1_m_sub, 0.125f);
}
