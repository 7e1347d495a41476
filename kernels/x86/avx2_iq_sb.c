/* avx2_iq_sb.c - the codebook formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M)
 * against Q8_K with 256-bit registers, a super-block (256 values) at a time.
 *
 * Why: the former loop (iq_rows.h) unpacked each sub-block of 32 in scalar code (grid lookups
 * into a struct, sign bytes one group at a time, IQ1's 8 g + delta byte by byte) and cost
 * 78-156 TSC ticks per 256 weights for IQ2/IQ3 and 1190-1450 for IQ1 (tests/test_iq.c
 * iq_kbench, Xeon SPR class). Here each sub-block k of 32 values is
 *   magnitudes: one vpgatherqq (IQ2, IQ1: 4 grid entries of 8 bytes) or vpgatherdd (IQ3: 8 of
 *               4) from indices built in vector lanes;
 *   signs:      a vector of 32 bytes +-1 for vpsignb on the activations, from the block's 8 sign
 *               words (one dword per sub-block: 4 sign bytes), spread bit j -> byte j by a
 *               shuffle and a compare; the 7-bit codes of IQ2_XXS / IQ2_XS / IQ3_XXS get their
 *               8th bit (parity, iq_signs8) for all 32 groups at once in vector lanes;
 *   scales:     int16 lanes 0-7 the ls = 2 s + 1 of values 0-15, lanes 8-15 that of 16-31
 *               (one vpshufb of the block's 16 half-scale bytes);
 *   IQ1:        the value 8 g + delta (g in {-1, 0, 1}, delta +-1: never 0) is computed in bytes,
 *               its absolute value is the magnitude and itself the sign operand.
 * and a token's sum is madd(maddubs(magnitude, sign-applied codes), ls) summed over the block:
 * no saturation (magnitudes <= 62: 2 x 62 x 127 < 32767). The integer sum is the reference's
 * exactly (kernels/ref/dot_iq.c), folded as it folds it (sum += d d_a (float) isum, x factor):
 * bit-identical (tests/test_iq.c). The layouts are quant/iq_unpack.h's, read 32 values at once.
 * AVX2 only (no AVX-VNNI, no mask registers): the kernels of a Haswell-class CPU.
 * Measured (Xeon SPR class, loaded 2-core VM): 48-79 ticks per 256 weights for the row dot,
 * 17-26 per token for the 8-token tile; 194-264 instructions per 256 weights (callgrind,
 * x86-64-v3 build) where the sub-block loop took 563-826 (IQ1: 6745-7051). Four scalar grid
 * loads in place of the IQ2_XXS gather measured 47 against 50 ticks, for IQ3_XXS's 8 loads
 * 60 against 53: the gathers stay, one way for every format. Decode of the 110M shape in IQ3_S
 * (llama-quantize's file; scarce bench -p 0 -n 32 -r 3 -t 1, SCARCE_ISA=avx2, median of 3
 * rounds at load 4-8): 15.9 -> 29.1 tok/s, llama-bench (AVX-512 build) 24.4 in the same rounds. */
#include <immintrin.h>
#include <stdint.h>

#include "avx2.h"
#include "avx2_iq_unpack.h"
#include "iq_sb_walk.h"

/* The block's integer sum against one token's 256 codes. */
static inline int32_t sb_isum(const iq_sb8 *u, const int8_t *qs) {
    __m256i acc = _mm256_setzero_si256();
    for (int k = 0; k < 8; k++) {
        const __m256i y =
            _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(qs + 32 * k)), u->sgn[k]);
        acc =
            _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u->mag[k], y), u->ls[k]));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* the row dots and tiles of every format (iq_sb_walk.h) over this file's unpack */
#define SB_KERNELS(fmt, factor) IQ_SB_KERNELS(fmt, factor, avx2, iq_sb8)

SB_KERNELS(iq2_xxs, 0.125f)
SB_KERNELS(iq2_xs, 0.125f)
SB_KERNELS(iq2_s, 0.125f)
SB_KERNELS(iq3_xxs, 0.25f)
SB_KERNELS(iq3_s, 1.0f)
SB_KERNELS(iq1_s, 0.125f)
SB_KERNELS(iq1_m, 0.125f)
