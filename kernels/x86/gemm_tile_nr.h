/* gemm_tile_nr.h - the f32 GEMM micro-kernels' dispatch on the tile's row count: an ISA's
 * file defines `TILE(kc, xt, ldx, w, ldw, c, ldc, accumulate, NR)` always inline, and
 * GEMM_TILE_BY_NR gives one copy of it per NR = 1..8 (constant there, so its row loops
 * unroll fully). */
#ifndef SCARCE_GEMM_TILE_NR_H
#define SCARCE_GEMM_TILE_NR_H

#define GEMM_TILE_BY_NR(TILE, kc, xt, ldx, w, ldw, c, ldc, nr, accumulate)                         \
    do {                                                                                           \
        switch (nr) {                                                                              \
        case 8: TILE(kc, xt, ldx, w, ldw, c, ldc, accumulate, 8); break;                           \
        case 7: TILE(kc, xt, ldx, w, ldw, c, ldc, accumulate, 7); break;                           \
        case 6: TILE(kc, xt, ldx, w, ldw, c, ldc, accumulate, 6); break;                           \
        case 5: TILE(kc, xt, ldx, w, ldw, c, ldc, accumulate, 5); break;                           \
        case 4: TILE(kc, xt, ldx, w, ldw, c, ldc, accumulate, 4); break;                           \
        case 3: TILE(kc, xt, ldx, w, ldw, c, ldc, accumulate, 3); break;                           \
        case 2: TILE(kc, xt, ldx, w, ldw, c, ldc, accumulate, 2); break;                           \
        case 1: TILE(kc, xt, ldx, w, ldw, c, ldc, accumulate, 1); break;                           \
        default: break;                                                                            \
        }                                                                                          \
    } while (0)

#endif
