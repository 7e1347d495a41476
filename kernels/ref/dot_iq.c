/* dot_iq.c - reference dot products of the 256-element IQ formats with Q8_K activations:
 * per super-block the exact integer sum over sub-blocks of (sub-block scale) x (sum of grid
 * value x activation code), then times d * d_a (ggml scales each sub-block's sum in float;
 * the integer sum is the same value without that rounding). Layouts in quant/blocks.h. */
#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
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
