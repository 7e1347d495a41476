/* avx2_repack_q2k.c - gemv over the 8-row interleaved Q2_K layout (kernels/repack.h) against
 * Q8_K activations, for decode (16 rows per activation broadcast) and batches (8 rows x up
 * to 4 activations per weight load).
 *
 *   sum x a = da (d sumi - dmin summ),  sumi = sum_k sc_k sum_{e in k} q_e a_e,
 *                                       summ = sum_k m_k bsums_k     (k = 16 sub-blocks)
 *
 * Lane = row. A 32-byte chunk c = 8h + p holds, per row, the qs bytes 32h + {2p, 2p+1,
 * 16+2p, 17+2p}; shifted by 2j and masked, they are the codes of elements 128h + 32j +
 * {2p, 2p+1, 16+2p, 17+2p}, whose first pair lies in sub-block 2m, second in 2m + 1
 * (m = 4h + j). The activation is copied once per call into the same order (each 4-byte
 * quad (h, j, p) = a[128h + 32j + {2p, 2p+1, 16+2p, 17+2p}]: one unpack of 16-bit words
 * per 16 bytes), so one dword broadcast serves all rows and maddubs gives per row the
 * int16 pair (partial sum of sub-block 2m, partial sum of 2m + 1). The 8 chunks p of one m
 * add up in int16 and one madd with the row's scale pair (sc_2m, sc_2m+1) makes the
 * int32 sc-weighted sum: 8 maddubs + 1 madd per 256 codes. The mins take one madd per m
 * with the pair (m_2m, m_2m+1) and the broadcast (bsums_2m, bsums_2m+1).
 *
 * Codes for odd j are masked in place (q & 12 = 4 q, no shift) and their madd result is
 * divided by 4 exactly (srai of a multiple of 4).
 * Overflow bounds (codes q <= 3, masked odd-j codes <= 12, activations in [-128, 127],
 * scales and mins <= 15, bsums = a sum of 16 codes, |bsums| <= 2048):
 *   maddubs pair   |2 x 12 x 128| = 3072 (no saturation)
 *   8 chunks (p)   8 x 3072 = 24576 < 32767 in int16
 *   madd (scales)  2 x 24576 x 15 = 737280;  sumi <= 256 x 3 x 15 x 128 = 1474560
 *   madd (mins)    2 x 15 x 2048 = 61440;    summ <= 16 x 15 x 2048 = 491520
 * so sumi and summ are the reference's exact integers, below 2^24 (exact in float), and the
 * fold da (d sumi - dmin summ) is done with the reference's float operations (mul, mul,
 * sub, mul, add; no fma): results are bit-identical to tile_q2_kx8_ref and to
 * vec_dot_q2_k_ref.
 *
 * Zen1 runs maddubs and madd on one pipe only; per 8 rows x 256 weights (672 bytes) this
 * kernel issues 64 maddubs + 16 madd, where the row kernel (avx2_kquant_q2k.c) issues
 * 8 x (8 maddubs + 5 madd) and a horizontal sum per row. Measured (Zen1, 1 thread, thread
 * CPU time, 256 x 2048 in L2): 4.6 GB/s rows -> 7.0 GB/s packed; TinyLlama q2_k decode
 * 11.8 -> 15.5 tok/s, prefill of 128 16.4 -> 22.1 tok/s. Tried and dropped: one group
 * with each chunk loaded once for its 4 shifts (5.4-6.3 GB/s, fewer broadcasts shared),
 * 3 groups per broadcast (+1.5%, within noise), no sched-pressure (2x1: 114 stack
 * accesses vs 21, 6.6 vs 7.05 GB/s). */
#pragma GCC optimize("schedule-insns", "sched-pressure")

#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx2_util.h"

/* int32 pair sums times the scale pairs: madd, then add (AVX2 has no vpdpwssd) */
static inline __m256i q2k_scaled_add(__m256i isum, __m256i s16, __m256i scales, int quad_codes) {
    __m256i prod = _mm256_madd_epi16(s16, scales);
    if (quad_codes) prod = _mm256_srai_epi32(prod, 2); /* codes were 4 q */
    return _mm256_add_epi32(isum, prod);
}

#include "repack_q2k_walk.h"

void tile_q2_kx8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    q2k_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}
