/* gemm_tile_nr.h - the f32 GEMM micro-kernels' dispatch on the tile's row count: each ISA's
 * file defines `tile(kc, xt, w, ldw, c, accumulate, NR)` always inline, and this gives one
 * copy of it per NR = 1..GEMM_NR (constant there, so its row loops unroll fully). */
#ifndef SCARCE_GEMM_TILE_NR_H
#define SCARCE_GEMM_TILE_NR_H

#define GEMM_TILE_BY_NR(kc, xt, w, ldw, c, nr, accumulate)                                         \
    do {                                                                                           \
        _Static_assert(GEMM_NR == 6, "one case per row count");                                    \
        switch (nr) {                                                                              \
        case 6:                                                                                    \
            tile(kc, xt, w, ldw, c, accumulate, 6);                                                \
            break;                                                                                 \
        case 5:                                                                                    \
            tile(kc, xt, w, ldw, c, accumulate, 5);                                                \
            break;                                                                                 \
        case 4:                                                                                    \
            tile(kc, xt, w, ldw, c, accumulate, 4);                                                \
            break;                                                                                 \
        case 3:                                                                                    \
            tile(kc, xt, w, ldw, c, accumulate, 3);                                                \
            break;                                                                                 \
        case 2:                                                                                    \
            tile(kc, xt, w, ldw, c, accumulate, 2);                                                \
            break;                                                                                 \
        case 1:                                                                                    \
            tile(kc, xt, w, ldw, c, accumulate, 1);                                                \
            break;                                                                                 \
        default:                                                                                   \
            break;                                                                                 \
        }                                                                                          \
    } while (0)

#endif
