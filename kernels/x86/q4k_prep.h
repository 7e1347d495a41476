/* q4k_prep.h - prep_blocks of the Q4_K 8-row tiles (repack_kx8_walk.h), shared by the AVX2
 * (avx2_repack_q4k.c) and AVX-512 (avx512_repack_q4k.c) sets: an activation block's 4 bsum
 * pairs, the sums its sub-blocks' mins multiply. SSSE3 only, so both sets compile it. Include
 * after repack_kx8_walk.h. */
#ifndef SCARCE_Q4K_PREP_H
#define SCARCE_Q4K_PREP_H

#include <immintrin.h>
#include <stdint.h>

#include "../../quant/blocks.h"

/* Blocks [i0, i1) of an activation: dword 4 (i - i0) + t = B_2t | B_2t+1 << 16. */
static void prep_blocks(const block_q8_K *a, int64_t i0, int64_t i1, int32_t *out) {
    for (int64_t i = i0; i < i1; i++) {
        const __m128i lo = _mm_loadu_si128((const __m128i *)a[i].bsums);
        const __m128i hi = _mm_loadu_si128((const __m128i *)(a[i].bsums + 8));
        /* B_k = bsums[2k] + bsums[2k + 1], |B_k| <= 32 x 128: exact in int16 */
        _mm_storeu_si128((__m128i *)(out + 4 * (i - i0)), _mm_hadd_epi16(lo, hi));
    }
}

#endif
