/* iq_grids.h - the codebooks of ggml's IQ1 / IQ2 / IQ3 formats (iq_grids.c, iq1_grid.c) and the sign rule
 * they share. Each grid entry packs 8 (uint64) or 4 (uint32) magnitudes, one per byte,
 * element 0 in the low byte (signs are stored apart). */
#ifndef SCARCE_IQ_GRIDS_H
#define SCARCE_IQ_GRIDS_H

#include <stdint.h>

extern const uint64_t iq2xxs_grid[256];
extern const uint64_t iq2xs_grid[512];
extern const uint64_t iq2s_grid[1024];
extern const uint32_t iq3xxs_grid[256];
extern const uint32_t iq3s_grid[512];
/* IQ1_S / IQ1_M: 8 values in {-1, 0, 1} as int8 bytes (iq1_grid.c) */
extern const uint64_t iq1s_grid[2048];

/* IQ2_XXS / IQ2_XS / IQ3_XXS store 7 sign bits per group of 8; the 8th makes the number of
 * negative values even (ggml's ksigns_iq2xs table holds exactly this). Bit j set: element
 * j negative. */
static inline uint8_t iq_signs8(unsigned s7) {
    return (uint8_t)((s7 & 127) | (unsigned)(__builtin_popcount(s7 & 127) & 1) << 7);
}

#endif
