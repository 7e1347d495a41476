/* x16_tile.h - the write-out shared by the token-lane kernels (avx512_x16_gemm.c,
 * avx512_x16_kquant.c): a finished tile holds, per row r, the 16 tokens' results in lanes
 * (acc[16 r + t]); Y wants them token-major (Y[b * ldy + row]). */
#ifndef SCARCE_X16_TILE_H
#define SCARCE_X16_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "../act_x16.h"

/* Rows [r0, r0 + nr) of tokens [b0, b0 + nt) (nt <= 16: the last group may be short) from
 * the tile acc into Y. */
static inline void x16_tile_store(float *Y, size_t ldy, int64_t b0, int64_t nt, int r0, int nr,
                                  const float *acc) {
    for (int64_t t = 0; t < nt; t++)
        for (int r = 0; r < nr; r++) Y[(b0 + t) * ldy + r0 + r] = acc[X16_TOKENS * r + t];
}

#endif
