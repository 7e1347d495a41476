/* iq4_xs_values.h - IQ4_XS's 256 indices of a super-block as bytes of a 16-entry grid, in the
 * order of the 16-token-lane batch kernels (dword c = values 4c .. 4c + 3, sub-block 2p in the
 * low 16 dwords of pass p, 2p + 1 in the high). One byte shuffle a nibble: the AVX2 kernel
 * passes kvalues_iq4nl as it is (signed values), the AVX-512/AMX row prep the grid xor 0x80
 * (unsigned codes). AVX2 instructions only, so both sets include it. */
#ifndef SCARCE_IQ4_XS_VALUES_H
#define SCARCE_IQ4_XS_VALUES_H

#include <immintrin.h>
#include <stdint.h>

#include "../../quant/blocks.h"

/* grid: the 16 grid bytes in both 128-bit lanes; dst: 64 dwords, 32-byte aligned. */
static inline void iq4_xs_values(const block_iq4_xs *b, __m256i grid, uint32_t *dst) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    for (int p = 0; p < 4; p++) { /* sub-blocks 2p (lanes 0-15) and 2p + 1 (16-31) */
        const __m256i raw = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * p));
        const __m256i lo = _mm256_shuffle_epi8(grid, _mm256_and_si256(raw, m4));
        const __m256i hi =
            _mm256_shuffle_epi8(grid, _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4));
        _mm256_store_si256((__m256i *)(dst + 16 * p), _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_store_si256((__m256i *)(dst + 16 * p + 8), _mm256_permute2x128_si256(lo, hi, 0x31));
    }
}

#endif
