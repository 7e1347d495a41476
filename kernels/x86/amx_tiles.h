/* amx_tiles.h - the palette-1 tile configuration (Intel SDM, LDTILECFG) shared by the AMX
 * kernels (amx_gemm.c, amx_kquant.c): each sets its tiles' shapes once per call. Included
 * only by files compiled with -mamx-tile (Makefile). */
#ifndef SCARCE_AMX_TILES_H
#define SCARCE_AMX_TILES_H

#include <immintrin.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed)) tile_config;

/* Tiles 0 .. 7: rows[t] rows of colsb[t] bytes (0 rows: unused). */
static inline void tiles_load_shapes(const uint8_t rows[8], const uint16_t colsb[8]) {
    alignas(64) tile_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int t = 0; t < 8; t++) c.rows[t] = rows[t], c.colsb[t] = colsb[t];
    _tile_loadconfig(&c);
}

#endif
