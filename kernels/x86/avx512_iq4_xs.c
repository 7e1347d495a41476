/* avx512_iq4_xs.c - IQ4_XS weights against Q8_K activations with AVX-512 VNNI.
 *
 * As avx2_iq4_xs.c, but the product is vpdpbusd (u8 x s8 into int32): the grid is stored
 * shifted by 128 (g ^ 0x80 = g + 128, unsigned), so per sub-block
 *   sum g a = sum (g + 128) a - 128 sum a,
 * the first from vpdpbusd, times the sub-block scale l - 32 in int32; the second from the
 * activation's bsums (two per sub-block of 32). Exact integers, scaled and added in the
 * reference's order: equal to vec_dot_iq4_xs_ref bit for bit. */
#include <immintrin.h>

#include "../../quant/blocks.h"
#include "avx512.h"
#include "avx512_util.h"

void vec_dot_iq4_xs_avx512(int64_t n, float *s, const void *w, const void *act) {
    const block_iq4_xs *x = w;
    const block_q8_K *a = act;
    const __m256i grid = _mm256_xor_si256(
        _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_iq4nl)),
        _mm256_set1_epi8((char)0x80));
    float sum = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i acc = _mm256_setzero_si256();
        int offset = 0; /* 128 sum_ib (l - 32) sum a over sub-block ib */
        for (int ib = 0; ib < QK_K / 32; ib++) {
            int l = iq4xs_scale(&x[i], ib) - 32;
            __m256i u = _mm256_shuffle_epi8(grid, unpack_nibbles(x[i].qs + 16 * ib));
            __m256i y = _mm256_loadu_si256((const __m256i *)(a[i].qs + 32 * ib));
            __m256i ua = dpbusd(_mm256_setzero_si256(), u, y);
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(ua, _mm256_set1_epi32(l)));
            offset += 128 * l * (a[i].bsums[2 * ib] + a[i].bsums[2 * ib + 1]);
        }
        sum += (float)(isum_i32x8(acc) - offset) * (half_f16c(x[i].d) * a[i].d);
    }
    *s = sum;
}
