/* iq_grids.h - the codebooks of ggml's IQ formats (iq_grids1.c, iq_grids2.c) and the sign
 * rule they share. Each grid entry packs 8 (uint64) or 4 (uint32) values, one per byte,
 * element 0 in the low byte: magnitudes for IQ2 / IQ3 (signs stored apart), int8 values
 * -1, 0, 1 for IQ1. */
#ifndef SCARCE_IQ_GRIDS_H
#define SCARCE_IQ_GRIDS_H

#include <stdint.h>

extern const uint64_t iq2xxs_grid[256];
extern const uint64_t iq2xs_grid[512];
extern const uint64_t iq2s_grid[1024];
extern const uint32_t iq3xxs_grid[256];
extern const uint32_t iq3s_grid[512];
extern const uint64_t iq1s_grid[2048];

/* IQ1_S / IQ1_M: every value is grid value + or - this delta (ggml's IQ1S_DELTA) */
#define IQ1_DELTA 0.125f

/* IQ2_XXS / IQ2_XS / IQ3_XXS store 7 sign bits per group of 8; the 8th makes the number of
 * negative values even (ggml's ksigns_iq2xs table holds exactly this). Bit j set: element
 * j negative. */
static inline uint8_t iq_signs8(unsigned s7) {
    return (uint8_t)((s7 & 127) | (unsigned)(__builtin_popcount(s7 & 127) & 1) << 7);
}

/* Byte j of grid entry e (j < 8 or < 4). */
static inline uint8_t iq_grid_byte64(const uint64_t *grid, int e, int j) {
    return (uint8_t)(grid[e] >> 8 * j);
}
static inline uint8_t iq_grid_byte32(const uint32_t *grid, int e, int j) {
    return (uint8_t)(grid[e] >> 8 * j);
}

#endif
