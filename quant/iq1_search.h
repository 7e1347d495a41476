/* iq1_search.h - the quantizer search IQ1_S and IQ1_M share (iq1_search.c): groups of 8
 * values dl (g + delta), g an entry of iq1s_grid, delta = +-1/8, dl = d (2 s + 1), s 0..7. */
#ifndef SCARCE_IQ1_SEARCH_H
#define SCARCE_IQ1_SEARCH_H

#include <stddef.h>
#include <stdint.h>

/* The grid by code vector: index_of[base-3 number of the 8 codes + 1, element 0 the lowest
 * digit] (-1: not in the grid), and each entry's two halves as base-3 numbers (0..80).
 * Built per quantize call (2048 entries), so there is no global mutable table. */
typedef struct {
    int16_t index_of[6561];
    uint8_t lo[2048], hi[2048];
} iq1_lookup;

void iq1_lookup_init(iq1_lookup *lk);
/* Entries and delta signs (neg: 1 for -1/8) of ngroups groups of 8 at scale dl; one delta
 * for all when shared_delta (IQ1_S), else one per group (IQ1_M). Returns the weighted error. */
double iq1_fit(const iq1_lookup *lk, int ngroups, int shared_delta, const float *x, const float *w,
               float dl, int *entry, int *neg);
/* The float scale of least error for ngroups groups (trial heights, least-squares refits). */
float iq1_search_scale(const iq1_lookup *lk, int ngroups, int shared_delta, const float *x,
                       const float *w);
/* One super-block of 256 in scale units of sub_groups groups (4: IQ1_S, 2: IQ1_M): returns
 * d (fp16 bits), fills each unit's s (0..7), and each group's entry and delta sign. */
uint16_t iq1_fit_super(const iq1_lookup *lk, int sub_groups, int shared_delta, const float *x,
                       const float *w, int *s, int *entry, int *neg);

/* The whole quantizer: each super-block of src fitted (weights importance x sqrt(sigma2 +
 * x^2), as llama.cpp's IQ1 quantizers) and written by pack(block, d, s, entry, neg). */
typedef void (*iq1_pack_fn)(void *block, uint16_t d, const int *s, const int *entry,
                            const int *neg);
void iq1_quantize(const float *src, void *dst, int64_t n, const float *importance, int sub_groups,
                  int shared_delta, size_t bytes, iq1_pack_fn pack);

#endif
