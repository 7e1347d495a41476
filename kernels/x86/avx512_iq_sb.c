/* avx512_iq_sb.c - IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M against Q8_K with 512-bit
 * registers, a super-block (256 values) at a time.
 *
 * Why: the shared loop of iq_rows.h unpacks each sub-block of 32 in scalar code (grid
 * lookups into a struct, sign bits spread to bytes by a shuffle and a compare) and spent
 * 87% of a decode in it (perf, IQ3_S, Xeon SPR class), 0.6x llama.cpp's speed there. Here
 * each 64 values of a super-block are
 *   magnitudes: one vpgatherdd (IQ3: 16 grid entries of 4 bytes) or vpgatherqq (IQ2: 8 of 8)
 *               from the indices, computed in vector lanes;
 *   signs:      a 64-bit mask (IQ2_S / IQ3_S store the bits; IQ2_XXS / IQ2_XS / IQ3_XXS store
 *               7 of 8, the 8th by parity, iq_signs8), applied to the activations by one
 *               masked subtract;
 *   scales:     16 int32 lanes, each the ls = 2 s + 1 of the 16 values its 4 lanes cover
 *               (IQ2_XXS / IQ2_XS / IQ2_S / IQ3_XXS: signs and scales of the whole block at
 *               once, then a permute a chunk);
 * and each token's sum is vpdpbusd(magnitudes, signed activations) x scales, summed over the
 * block. The integer sum of a block is the reference's exactly (iq_rows.h, kernels/ref/
 * dot_iq.c), folded as it folds it (sum += d_w d_a (float)isum, then x factor): bit-identical
 * (tests/test_iq.c). The layouts are those of quant/iq_unpack.h, read here 64 values at once. */
#include <immintrin.h>
#include <stdint.h>

#include "avx512.h"
#include "avx512_iq_unpack.h"
#include "iq_sb_walk.h"

/* The block's integer sum against one token's 256 codes: sum over chunks of
 * ls x vpdpbusd(magnitudes, signed codes). A vpdpbusd lane (4 products of magnitudes <= 62
 * and codes of magnitude <= 128) stays within int16, and ls (1..31) is an int32 lane with a
 * zero high word, so one vpdpwssd multiplies and accumulates exactly where vpmulld (2 uops,
 * 10 cycles) and an add did. iq_kbench (tests/test_iq.c), 2-core SPR-class Xeon, load 7-8,
 * TSC ticks per 256 weights, row dot / 8-token tile, before -> after (best of 3 runs):
 * iq2_xxs 65.0 / 20.2 -> 62.2 / 17.5, iq2_xs 64.2 / 19.4 -> 60.0 / 16.4, iq2_s 51.6 / 19.1 ->
 * 50.0 / 16.0, iq3_xxs 55.2 / 19.8 -> 51.9 / 16.8, iq3_s 40.8 / 18.0 -> 37.6 / 14.3, iq1_s
 * 49.3 / 19.7 -> 46.4 / 17.2, iq1_m 52.6 / 20.1 -> 48.1 / 17.8. */
static inline int32_t sb_isum(const iq_sb *u, const int8_t *qs) {
    __m512i acc = _mm512_setzero_si512();
    for (int k = 0; k < 4; k++) {
        const __m512i y = _mm512_loadu_si512(qs + 64 * k);
        const __m512i ys = _mm512_mask_sub_epi8(y, u->neg[k], _mm512_setzero_si512(), y);
        const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(), u->mag[k], ys);
        acc = _mm512_dpwssd_epi32(acc, p, u->ls[k]);
    }
    return _mm512_reduce_add_epi32(acc);
}

/* the row dots and tiles of every format (iq_sb_walk.h) over this file's unpack */
#define SB_KERNELS(fmt, factor) IQ_SB_KERNELS(fmt, factor, avx512, iq_sb)

SB_KERNELS(iq2_xxs, 0.125f)
SB_KERNELS(iq2_xs, 0.125f)
SB_KERNELS(iq2_s, 0.125f)
SB_KERNELS(iq3_xxs, 0.25f)
SB_KERNELS(iq3_s, 1.0f)
SB_KERNELS(iq1_s, 0.125f)
SB_KERNELS(iq1_m, 0.125f)
