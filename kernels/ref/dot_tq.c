/* dot_tq.c - reference dot products of the ternary formats (TQ2_0, TQ1_0) with Q8_K
 * activations, as ggml computes them: per super-block the integer sum of t * a_q
 * (t = code - 1), then times d * d_a. Element -> code positions are in quant/blocks.h. */
#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "ref.h"

void vec_dot_tq2_0_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_tq2_0 *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sumi = 0;
        for (int k = 0; k < QK_K; k++) {
            int code = (x[i].qs[k / 128 * 32 + k % 32] >> 2 * (k % 128 / 32)) & 3;
            sumi += (code - 1) * a[i].qs[k];
        }
        sum += (float)sumi * (fp16_to_f32(x[i].d) * a[i].d);
    }
    *s = sum;
}

void vec_dot_tq1_0_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_tq1_0 *x = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int sumi = 0;
        for (int k = 0; k < QK_K; k++) {
            int trit, pos = tq1_pos(k, &trit);
            sumi += (tq1_trit(tq1_byte(&x[i], pos), trit) - 1) * a[i].qs[k];
        }
        sum += (float)sumi * (fp16_to_f32(x[i].d) * a[i].d);
    }
    *s = sum;
}
