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

/* IQ2_XXS's row dot (decode: vec_dot_tile with one token comes here too), fused: per
 * sub-block k its aux dword's four 7-bit sign codes index iq2_signs (the 8 +-1 bytes of
 * each code with its parity bit, quant/iq_unpack.h's iq_signs8), the grid entries and those
 * sign patterns are 4 qword loads each, and the one scale of the sub-block (2 s + 1, both
 * halves) a broadcast: the scalar ports build the operands that the vector ports would
 * otherwise spend 5 instructions a sub-block on (sign_bytes, half_scales) plus the parity
 * fold of the whole block (signs7_words). 2-core Sapphire-Rapids-class Xeon VM, AVX2 build,
 * 2048 x 2048 rows against one token (vec_dot_tile, nact 1), TSC ticks per 256 weights, best
 * of 25, 3 runs: 55-59 (iq_sb8 unpack + sb_isum) -> 49-50 (this, vpinsrq / vinserti128
 * building the qwords) -> 45-47 (broadcast + blend); the sign codes and scales first stored
 * as bytes by vector code and read back a group at a time: 50-53. */
static const uint64_t iq2_signs[128] = {
    0x0101010101010101ull, 0xff010101010101ffull, 0xff0101010101ff01ull, 0x010101010101ffffull,
    0xff01010101ff0101ull, 0x0101010101ff01ffull, 0x0101010101ffff01ull, 0xff01010101ffffffull,
    0xff010101ff010101ull, 0x01010101ff0101ffull, 0x01010101ff01ff01ull, 0xff010101ff01ffffull,
    0x01010101ffff0101ull, 0xff010101ffff01ffull, 0xff010101ffffff01ull, 0x01010101ffffffffull,
    0xff0101ff01010101ull, 0x010101ff010101ffull, 0x010101ff0101ff01ull, 0xff0101ff0101ffffull,
    0x010101ff01ff0101ull, 0xff0101ff01ff01ffull, 0xff0101ff01ffff01ull, 0x010101ff01ffffffull,
    0x010101ffff010101ull, 0xff0101ffff0101ffull, 0xff0101ffff01ff01ull, 0x010101ffff01ffffull,
    0xff0101ffffff0101ull, 0x010101ffffff01ffull, 0x010101ffffffff01ull, 0xff0101ffffffffffull,
    0xff01ff0101010101ull, 0x0101ff01010101ffull, 0x0101ff010101ff01ull, 0xff01ff010101ffffull,
    0x0101ff0101ff0101ull, 0xff01ff0101ff01ffull, 0xff01ff0101ffff01ull, 0x0101ff0101ffffffull,
    0x0101ff01ff010101ull, 0xff01ff01ff0101ffull, 0xff01ff01ff01ff01ull, 0x0101ff01ff01ffffull,
    0xff01ff01ffff0101ull, 0x0101ff01ffff01ffull, 0x0101ff01ffffff01ull, 0xff01ff01ffffffffull,
    0x0101ffff01010101ull, 0xff01ffff010101ffull, 0xff01ffff0101ff01ull, 0x0101ffff0101ffffull,
    0xff01ffff01ff0101ull, 0x0101ffff01ff01ffull, 0x0101ffff01ffff01ull, 0xff01ffff01ffffffull,
    0xff01ffffff010101ull, 0x0101ffffff0101ffull, 0x0101ffffff01ff01ull, 0xff01ffffff01ffffull,
    0x0101ffffffff0101ull, 0xff01ffffffff01ffull, 0xff01ffffffffff01ull, 0x0101ffffffffffffull,
    0xffff010101010101ull, 0x01ff0101010101ffull, 0x01ff01010101ff01ull, 0xffff01010101ffffull,
    0x01ff010101ff0101ull, 0xffff010101ff01ffull, 0xffff010101ffff01ull, 0x01ff010101ffffffull,
    0x01ff0101ff010101ull, 0xffff0101ff0101ffull, 0xffff0101ff01ff01ull, 0x01ff0101ff01ffffull,
    0xffff0101ffff0101ull, 0x01ff0101ffff01ffull, 0x01ff0101ffffff01ull, 0xffff0101ffffffffull,
    0x01ff01ff01010101ull, 0xffff01ff010101ffull, 0xffff01ff0101ff01ull, 0x01ff01ff0101ffffull,
    0xffff01ff01ff0101ull, 0x01ff01ff01ff01ffull, 0x01ff01ff01ffff01ull, 0xffff01ff01ffffffull,
    0xffff01ffff010101ull, 0x01ff01ffff0101ffull, 0x01ff01ffff01ff01ull, 0xffff01ffff01ffffull,
    0x01ff01ffffff0101ull, 0xffff01ffffff01ffull, 0xffff01ffffffff01ull, 0x01ff01ffffffffffull,
    0x01ffff0101010101ull, 0xffffff01010101ffull, 0xffffff010101ff01ull, 0x01ffff010101ffffull,
    0xffffff0101ff0101ull, 0x01ffff0101ff01ffull, 0x01ffff0101ffff01ull, 0xffffff0101ffffffull,
    0xffffff01ff010101ull, 0x01ffff01ff0101ffull, 0x01ffff01ff01ff01ull, 0xffffff01ff01ffffull,
    0x01ffff01ffff0101ull, 0xffffff01ffff01ffull, 0xffffff01ffffff01ull, 0x01ffff01ffffffffull,
    0xffffffff01010101ull, 0x01ffffff010101ffull, 0x01ffffff0101ff01ull, 0xffffffff0101ffffull,
    0x01ffffff01ff0101ull, 0xffffffff01ff01ffull, 0xffffffff01ffff01ull, 0x01ffffff01ffffffull,
    0x01ffffffff010101ull, 0xffffffffff0101ffull, 0xffffffffff01ff01ull, 0x01ffffffff01ffffull,
    0xffffffffffff0101ull, 0x01ffffffffff01ffull, 0x01ffffffffffff01ull, 0xffffffffffffffffull,
};

/* t[i0], t[i1], t[i2], t[i3] in the 4 qwords: broadcasts from memory (load ports only) and
 * dword blends (any vector ALU port), where vpinsrq / vinserti128 all queue on port 5. */
static inline __m256i qwords4(const uint64_t *t, uint32_t i0, uint32_t i1, uint32_t i2,
                              uint32_t i3) {
    __m256i v = _mm256_castsi128_si256(_mm_loadl_epi64((const __m128i *)(t + i0)));
    v = _mm256_blend_epi32(v, _mm256_set1_epi64x((long long)t[i1]), 0x0C);
    v = _mm256_blend_epi32(v, _mm256_set1_epi64x((long long)t[i2]), 0x30);
    return _mm256_blend_epi32(v, _mm256_set1_epi64x((long long)t[i3]), 0xC0);
}

/* (2 s + 1) | (2 s + 1) << 16 for the 4-bit scale s: vpmaddwd's operand by one broadcast */
static const uint32_t iq2_ls_pairs[16] = {
    0x00010001u, 0x00030003u, 0x00050005u, 0x00070007u, 0x00090009u, 0x000B000Bu,
    0x000D000Du, 0x000F000Fu, 0x00110011u, 0x00130013u, 0x00150015u, 0x00170017u,
    0x00190019u, 0x001B001Bu, 0x001D001Du, 0x001F001Fu};

static inline int32_t iq2_xxs_isum(const block_iq2_xxs *b, const int8_t *qs) {
    const uint8_t *q = (const uint8_t *)b->qs;
    __m256i acc = _mm256_setzero_si256();
    for (int k = 0; k < 8; k++) {
        const uint32_t idx = iq_le32(q + 8 * k), aux = iq_le32(q + 8 * k + 4);
        const __m256i mag = qwords4(iq2xxs_grid, idx & 255, idx >> 8 & 255, idx >> 16 & 255,
                                    idx >> 24);
        const __m256i sgn = qwords4(iq2_signs, aux & 127, aux >> 7 & 127, aux >> 14 & 127,
                                    aux >> 21 & 127);
        const __m256i y =
            _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(qs + 32 * k)), sgn);
        const __m256i ls = _mm256_set1_epi32((int)iq2_ls_pairs[aux >> 28]);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(mag, y), ls));
    }
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* Bytes ahead of the block being read that the row dot asks the cache for: decode streams
 * 300 MB of weights and waited on them. TinyLlama-shaped IQ2_XXS, `bench -p 0 -n 32 -r 3 -t
 * 1,2`, SCARCE_ISA=avx2, 2-core SPR-class Xeon VM, load 1.4, 2 rounds, tg32 tok/s 1 / 2
 * threads: none 7.11-7.14 / 13.08-13.14, 256 10.53-10.77 / 20.52, 1024 14.14 / 27.07
 * (llama.cpp AVX2 build 5.4 / 11.0 in the same minutes). */
#ifndef IQ2_XXS_PREFETCH
#define IQ2_XXS_PREFETCH 1024
#endif
void vec_dot_iq2_xxs_avx2(int64_t n, float *s, const void *w, const void *act) {
    const block_iq2_xxs *b = w;
    const block_q8_K *a = act;
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        _mm_prefetch((const char *)(b + i) + IQ2_XXS_PREFETCH, _MM_HINT_T0);
        sum += _cvtsh_ss(b[i].d) * a[i].d * (float)iq2_xxs_isum(b + i, a[i].qs);
    }
    *s = 0.125f * sum;
}

/* batches: the unpack once for up to SB_NA tokens (iq_sb_walk.h) */
IQ_SB_TILE(iq2_xxs, 0.125f, iq_sb8, static void tile_iq2_xxs_unpacked)

void vec_dot_tile_iq2_xxs_avx2(int64_t n, float *s, size_t s_stride, const void *w,
                               size_t w_stride, int nrows, const void *act, size_t a_stride,
                               int nact) {
    if (nact > 1) {
        tile_iq2_xxs_unpacked(n, s, s_stride, w, w_stride, nrows, act, a_stride, nact);
        return;
    }
    for (int r = 0; r < nrows; r++)
        vec_dot_iq2_xxs_avx2(n, s + r, (const char *)w + r * w_stride, act);
}

SB_KERNELS(iq2_xs, 0.125f)
SB_KERNELS(iq2_s, 0.125f)
SB_KERNELS(iq3_xxs, 0.25f)
SB_KERNELS(iq3_s, 1.0f)
SB_KERNELS(iq1_s, 0.125f)
SB_KERNELS(iq1_m, 0.125f)
