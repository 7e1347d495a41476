/* dot_lowbit.c - reference dot products of NVFP4 and Q1_0 with Q8_0 activations: the
 * exact integer sum of each activation block's (or NVFP4 sub-block's) products, times the
 * float scales, added in block order as ggml does (vec_dot_nvfp4_q8_0, vec_dot_q1_0_q8_0). */
#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "ref.h"

/* NVFP4 block i spans Q8_0 blocks 2i and 2i+1; sub-block s is half s % 2 of block 2i + s/2. */
void vec_dot_nvfp4_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_nvfp4 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / 64; i++)
        for (int sb = 0; sb < 4; sb++) {
            const block_q8_0 *y = &a[2 * i + sb / 2];
            const int8_t *aq = y->qs + 16 * (sb % 2);
            int sumi = 0;
            for (int j = 0; j < 8; j++)
                sumi += kvalues_mxfp4[x[i].qs[8 * sb + j] & 0xF] * aq[j] +
                        kvalues_mxfp4[x[i].qs[8 * sb + j] >> 4] * aq[j + 8];
            sum += (float)sumi * (ue4m3_half(x[i].d[sb]) * fp16_to_f32(y->d));
        }
    *s = sum;
}

/* Q1_0 block i spans Q8_0 blocks 4i .. 4i+3: sum (+-a) per block, times d_a, then d. */
void vec_dot_q1_0_ref(int64_t n, float *s, const void *w, const void *act) {
    const block_q1_0 *x = w;
    const block_q8_0 *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / 128; i++) {
        float block_sum = 0;
        for (int k = 0; k < 4; k++) {
            const block_q8_0 *y = &a[4 * i + k];
            int sumi = 0;
            for (int j = 0; j < 32; j++)
                sumi += (x[i].qs[4 * k + j / 8] >> (j % 8)) & 1 ? y->qs[j] : -y->qs[j];
            block_sum += (float)sumi * fp16_to_f32(y->d);
        }
        sum += block_sum * fp16_to_f32(x[i].d);
    }
    *s = sum;
}
