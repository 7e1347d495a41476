/* act_x16.c - Q8_0 activation rows into the x16 token-lane layout (act_x16.h). Once per
 * matmul, O(B x cols): next to the O(B x cols x rows) products it is noise. */
#include "act_x16.h"

#include <string.h>

#include "../quant/blocks.h"
#include "../quant/fp16.h"

size_t act_x16_bytes(int64_t B, int64_t cols) {
    const int64_t groups = (B + X16_TOKENS - 1) / X16_TOKENS;
    return (size_t)groups * (size_t)(cols / QK32) * X16_BLOCK_BYTES;
}

void act_x16_pack(const void *rows, size_t row_bytes, int64_t B, int64_t cols, void *dst) {
    const int64_t nb = cols / QK32, groups = (B + X16_TOKENS - 1) / X16_TOKENS;
    memset(dst, 0, act_x16_bytes(B, cols));
    for (int64_t g = 0; g < groups; g++)
        for (int t = 0; t < X16_TOKENS && g * X16_TOKENS + t < B; t++) {
            const block_q8_0 *a =
                (const block_q8_0 *)((const char *)rows + (g * X16_TOKENS + t) * row_bytes);
            for (int64_t i = 0; i < nb; i++) {
                uint8_t *blk = (uint8_t *)dst + (g * nb + i) * X16_BLOCK_BYTES;
                int32_t sum = 0;
                for (int k = 0; k < QK32; k++) sum += a[i].qs[k];
                for (int c = 0; c < 8; c++) memcpy(blk + 64 * c + 4 * t, a[i].qs + 4 * c, 4);
                const float d = fp16_to_f32(a[i].d);
                memcpy(blk + X16_D_AT + 4 * t, &d, 4);
                memcpy(blk + X16_SUM_AT + 4 * t, &sum, 4);
            }
        }
}

size_t act_x16k_bytes(int64_t B, int64_t cols) {
    const int64_t groups = (B + X16_TOKENS - 1) / X16_TOKENS;
    return (size_t)groups * (size_t)(cols / QK_K) * X16K_BLOCK_BYTES;
}

void act_x16k_pack(const void *rows, size_t row_bytes, int64_t B, int64_t cols, void *dst) {
    const int64_t nsb = cols / QK_K, groups = (B + X16_TOKENS - 1) / X16_TOKENS;
    memset(dst, 0, act_x16k_bytes(B, cols));
    for (int64_t g = 0; g < groups; g++)
        for (int t = 0; t < X16_TOKENS && g * X16_TOKENS + t < B; t++) {
            const block_q8_K *a =
                (const block_q8_K *)((const char *)rows + (g * X16_TOKENS + t) * row_bytes);
            for (int64_t i = 0; i < nsb; i++) {
                uint8_t *blk = (uint8_t *)dst + (g * nsb + i) * X16K_BLOCK_BYTES;
                for (int c = 0; c < QK_K / 4; c++) memcpy(blk + 64 * c + 4 * t, a[i].qs + 4 * c, 4);
                memcpy(blk + X16K_D_AT + 4 * t, &a[i].d, 4);
                for (int j = 0; j < 8; j++)
                    memcpy(blk + X16K_BSUMS_AT + 64 * j + 4 * t, &a[i].bsums[2 * j], 4);
            }
        }
}
