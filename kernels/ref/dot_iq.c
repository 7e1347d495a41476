/* dot_iq.c - reference dot products of the 256-element IQ formats with Q8_K activations:
 * per super-block the exact integer sum over sub-blocks of (sub-block scale) x (sum of grid
 * value x activation code), then times d * d_a (ggml scales each sub-block's sum in float;
 * the integer sum is the same value without that rounding). Layouts in quant/blocks.h. */
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "../../quant/iq_grids.h"
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

/* IQ2_XXS: ggml's sum of (2 s + 1) x (grid value x sign x a) per super-block, scaled by
 * d d_a, and the common factor 1/8 of (0.5 + s) / 4 applied once at the end. */
void vec_dot_iq2_xxs_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_iq2_xxs *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int bsum = 0;
        for (int ib = 0; ib < 8; ib++) {
            const uint8_t *q = (const uint8_t *)(x[i].qs + 4 * ib);
            uint32_t aux;
            memcpy(&aux, q + 4, 4);
            int sumi = 0;
            for (int l = 0; l < 4; l++) {
                uint8_t signs = iq_signs8(aux >> 7 * l);
                for (int j = 0; j < 8; j++) {
                    int v = iq_grid_byte64(iq2xxs_grid, q[l], j) * a[i].qs[32 * ib + 8 * l + j];
                    sumi += signs >> j & 1 ? -v : v;
                }
            }
            bsum += sumi * (int)(2 * (aux >> 28) + 1);
        }
        sum += fp16_to_f32(x[i].d) * a[i].d * (float)bsum;
    }
    *s = 0.125f * sum;
}
