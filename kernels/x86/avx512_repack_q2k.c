/* avx512_repack_q2k.c - gemv over the 8-row interleaved Q2_K layout (kernels/repack.h)
 * against Q8_K activations with AVX-512 VNNI: the walk of avx2_repack_q2k.c
 * (repack_q2k_walk.h), whose int16 pair sums of a sub-block pair (sub-block 2m in the low
 * word of a row's lane, 2m + 1 in the high one) go through vpdpwssd with the scale pair:
 * madd and add in one instruction. vpdpbusd does not fit this layout: it would add the
 * two sub-blocks of a lane, which have different scales. Codes masked in place as 4 q
 * (odd j) keep madd, the exact division by 4, and add. The integer sums are those of the
 * AVX2 kernel, the float fold the reference's: bit-identical to tile_q2_kx8_ref. */
#pragma GCC optimize("schedule-insns", "sched-pressure")

#include "avx512.h"
#include "avx512_util.h"

static inline __m256i q2k_scaled_add(__m256i isum, __m256i s16, __m256i scales, int quad_codes) {
    if (!quad_codes) return dpwssd(isum, s16, scales);
    return _mm256_add_epi32(isum, _mm256_srai_epi32(_mm256_madd_epi16(s16, scales), 2));
}

#include "repack_q2k_walk.h"

void tile_q2_kx8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    q2k_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}
