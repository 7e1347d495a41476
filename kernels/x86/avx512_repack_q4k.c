/* avx512_repack_q4k.c - gemv over the 8-row interleaved Q4_K layout (kernels/repack.h,
 * "q4_kx8") against Q8_K activations: decode and batches of up to 15 tokens.
 *
 * Lane = row, in 256-bit registers for one group of 8 rows (kx8_group); the walk takes the
 * groups two at a time (kx8_pair: the same steps in 512-bit registers, lanes 8-15 the second
 * group's rows, as Q2_K's tile), so every unpack, scale and fold instruction serves 16 rows
 * (a probe of 12 independent vpdpbusd chains on the Sapphire-Rapids-class Xeon VM: 4.25 G/s
 * at 512 bits, 4.73 G/s at 256: twice the products per instruction). Per chunk (4 codes of 8 rows, 32 bytes) the
 * low nibbles are the codes q of sub-block 2p and the high nibbles, masked in place, 16 q of
 * sub-block 2p + 1; each goes into vpdpbusd against its activation dword broadcast from
 * memory (no shuffle), 8 chunks giving the rows' sums S of a sub-block pair. The scales
 * apply once per sub-block and row, by vpmulld of the sums with the scales in the rows'
 * lanes: sc (high sums, already x16) and 16 sc (low sums), so the block's integer is
 *   16 sumi = sum_p 16 sc_2p S_2p + sc_2p+1 (16 S_2p+1),   |16 sumi| < 2^29,
 * exact, then >> 4. The scales come out of the layout's units by one vpermb (a row pair's
 * 48 bits to each qword) and per sub-block one vpmultishiftqb (each row's 6 bits to its
 * lane: at bit 0, or at bit 4 for 16 sc) and an and. The min term summ = sum_k m_k (bsums
 * pair k) is vpdpwssd of the min pairs (m_2t | m_2t+1 << 16, the same extraction) against
 * the activation's bsum pairs (B_2t | B_2t+1 << 16, B_k = bsums[2k] + bsums[2k + 1], formed
 * once per activation block). Then the reference's float steps per row and block
 * (dot_q45_k in kernels/ref/dot_qk.c): acc + da (d sumi - dmin summ). The integers are the
 * reference's and so are the float operations in their order: results are bit-identical to
 * tile_q4_kx8_ref and vec_dot_q4_k_ref (tests/test_repack.c).
 *
 * Instructions per 32 weights at decode (64 rows x 2048 columns, one activation, ptrace
 * single-step on the Sapphire-Rapids-class Xeon): the 512-bit row kernel (kquant512_rows.h)
 * 6.43, this tile 3.50 (3.79 with the prefetches, PREFETCH_AHEAD); 4 activations 3.56 ->
 * 2.39 per weight x activation. In group pairs, 1 thread, a packed 256 x 2048 matrix in L2,
 * best of 300 calls, load 6-7: 1 activation 26.1 -> 35.0-45.5 GB/s of weights, 4
 * activations 13.2 -> 17.3; 65536 x 4096 (151 MB) 8.7-9.7 -> 10.1-10.5 GB/s.
 *
 * VBMI (vpermb, vpmultishiftqb) is enabled for this file alone; avx512_install.c installs
 * the kernel only where CPUID has it. */
#pragma GCC target("avx512vbmi,no-avxvnni")

#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx512.h"
#include "avx512_util.h"

enum { X8_BYTES = REPACK_ROWS * sizeof(block_q4_K), UNITS_AT = 32, QS_AT = 128 };
/* an activation block's 4 bsum pairs (prep_blocks) */
#define PREP_BYTES 16
#define KX8_PAIRS
#include "repack_kx8_walk.h"
#include "q4k_prep.h"

/* vpermb index: qword q gets the 6 bytes of row pair q (bytes 6q .. 6q + 5 of a unit) */
static const int8_t unit_idx[32] = {0,  1,  2,  3,  4,  5,  5,  5,  6,  7,  8,  9,  10, 11, 11, 11,
                                    12, 13, 14, 15, 16, 17, 17, 17, 18, 19, 20, 21, 22, 23, 23, 23};

/* vpmultishiftqb control of one qword (the same for the 4): byte b takes the 8 bits from bit
 * at[b] of the row pair's 48-bit word (mod 64); odd row pair members at + 24. */
static inline __m256i ms_ctrl(int b0, int b1, int b2, int b3) {
    const long long lo = (long long)((uint64_t)(b0 & 63) | (uint64_t)(b1 & 63) << 8 |
                                     (uint64_t)(b2 & 63) << 16 | (uint64_t)(b3 & 63) << 24);
    const long long q = lo | (long long)((uint64_t)lo + 0x18181818ull) << 32;
    return _mm256_set1_epi64x(q);
}

/* Sub-block j % 4 of a unit as dword lanes: sc (bits 0-5) or 16 sc (bits 4-9: the byte
 * from 4 bits below the field, and the byte from 4 bits above it for bits 8-9). */
static inline __m256i scale_lanes(__m256i unit, int j) {
    const __m256i ctrl = ms_ctrl(6 * j, 0, 0, 0);
    return _mm256_and_si256(_mm256_multishift_epi64_epi8(ctrl, unit), _mm256_set1_epi32(0x3F));
}
static inline __m256i scale16_lanes(__m256i unit, int j) {
    const __m256i ctrl = ms_ctrl(6 * j - 4, 6 * j + 4, 0, 0);
    return _mm256_and_si256(_mm256_multishift_epi64_epi8(ctrl, unit), _mm256_set1_epi32(0x3F0));
}
/* Mins 2t, 2t + 1 of a unit (t = 0, 1) as int16 pairs in dword lanes. */
static inline __m256i min_pair_lanes(__m256i unit, int t) {
    const __m256i ctrl = ms_ctrl(12 * t, 0, 12 * t + 6, 0);
    return _mm256_and_si256(_mm256_multishift_epi64_epi8(ctrl, unit),
                            _mm256_set1_epi32(0x003F003F));
}

/* kx8_group of repack_kx8_walk.h: one group (blocks w, 8 rows) x NA activations over
 * blocks [i0, i1); y += (accumulate) or y = sums. */
static inline __attribute__((always_inline)) void kx8_group(const tile_args *t, const uint8_t *w,
                                                            int64_t i0, int64_t i1, int accumulate,
                                                            const int NA) {
    const __m256i idx = _mm256_loadu_si256((const __m256i *)unit_idx);
    const __m256i low4 = _mm256_set1_epi8(0x0F), high4 = _mm256_set1_epi8((char)0xF0);
    __m256 acc[MAX_NA];
    for (int j = 0; j < NA; j++)
        acc[j] = accumulate ? _mm256_loadu_ps(t->y + j * t->y_stride) : _mm256_setzero_ps();
    for (int64_t i = i0; i < i1; i++) {
        const uint8_t *blk = w + i * X8_BYTES;
        prefetch_block(blk);
        __m256i unit[4];
        for (int u = 0; u < 4; u++)
            unit[u] = _mm256_permutexvar_epi8(
                idx, _mm256_loadu_si256((const __m256i *)(blk + UNITS_AT + 24 * u)));
        __m256i sum16[MAX_NA];
        for (int j = 0; j < NA; j++) sum16[j] = _mm256_setzero_si256();
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++) {
            __m256i low[MAX_NA], high[MAX_NA];
            for (int j = 0; j < NA; j++) low[j] = high[j] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) {
                const __m256i raw =
                    _mm256_loadu_si256((const __m256i *)(blk + QS_AT + 32 * (8 * p + k)));
                const __m256i ql = _mm256_and_si256(raw, low4), qh = _mm256_and_si256(raw, high4);
                for (int j = 0; j < NA; j++) {
                    const int8_t *a = act_row(t, j)[i].qs + 64 * p + 4 * k;
                    low[j] = dpbusd_bcast(low[j], ql, a);
                    high[j] = dpbusd_bcast(high[j], qh, a + 32);
                }
            }
            /* sub-blocks 2p (low nibbles) and 2p + 1: unit p / 2, fields 2 (p % 2) and + 1 */
            const __m256i sc_low = scale16_lanes(unit[p / 2], 2 * (p % 2));
            const __m256i sc_high = scale_lanes(unit[p / 2], 2 * (p % 2) + 1);
            for (int j = 0; j < NA; j++)
                sum16[j] = _mm256_add_epi32(sum16[j],
                                            _mm256_add_epi32(_mm256_mullo_epi32(low[j], sc_low),
                                                             _mm256_mullo_epi32(high[j], sc_high)));
        }
        const __m256i mins[4] = {min_pair_lanes(unit[2], 0), min_pair_lanes(unit[2], 1),
                                 min_pair_lanes(unit[3], 0), min_pair_lanes(unit[3], 1)};
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16)));
        for (int j = 0; j < NA; j++) {
            const int32_t *bp = act_prep(t, j, i - i0);
            __m256i summ = _mm256_setzero_si256();
            for (int q = 0; q < 4; q++)
                summ = _mm256_dpwssd_epi32(summ, mins[q], _mm256_set1_epi32(bp[q]));
            const __m256i sumi = _mm256_srai_epi32(sum16[j], 4);
            /* the reference's da * (d * sumi - dmin * summ), then += */
            const __m256 v = _mm256_sub_ps(_mm256_mul_ps(d, _mm256_cvtepi32_ps(sumi)),
                                           _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(summ)));
            acc[j] = _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_set1_ps(act_row(t, j)[i].d), v));
        }
    }
    for (int j = 0; j < NA; j++) _mm256_storeu_ps(t->y + j * t->y_stride, acc[j]);
}

/* ---- two groups at a time (kx8_pair): 16 rows in 512-bit registers ---- */

/* load_pair, dpbusd16_bcast: avx512_util.h */

/* ms_ctrl, scale_lanes, scale16_lanes and min_pair_lanes in 512-bit registers (the
 * control is the same for every qword) */
static inline __m512i ms_ctrl512(int b0, int b1, int b2, int b3) {
    return _mm512_broadcast_i64x4(ms_ctrl(b0, b1, b2, b3));
}
static inline __m512i scale_lanes512(__m512i unit, int j) {
    return _mm512_and_si512(_mm512_multishift_epi64_epi8(ms_ctrl512(6 * j, 0, 0, 0), unit),
                            _mm512_set1_epi32(0x3F));
}
static inline __m512i scale16_lanes512(__m512i unit, int j) {
    return _mm512_and_si512(
        _mm512_multishift_epi64_epi8(ms_ctrl512(6 * j - 4, 6 * j + 4, 0, 0), unit),
        _mm512_set1_epi32(0x3F0));
}
static inline __m512i min_pair_lanes512(__m512i unit, int t) {
    return _mm512_and_si512(
        _mm512_multishift_epi64_epi8(ms_ctrl512(12 * t, 0, 12 * t + 6, 0), unit),
        _mm512_set1_epi32(0x003F003F));
}

/* kx8_pair of repack_kx8_walk.h: two groups (blocks w and w + gb, 16 rows) x NA activations
 * over blocks [from, to) of the span that starts at i0, kx8_group's steps in 512-bit
 * registers, lanes 0-7 the first group's rows and 8-15 the second's: both halves take the
 * same activation dword, so vpdpbusd keeps its {1to16} memory broadcast, and every scale
 * extraction and fold instruction serves 16 rows (the same integers and float operations
 * per row as kx8_group: the same bits). y[j * y_stride + 0..15] += (accumulate) or = sums. */
static inline __attribute__((always_inline)) void kx8_pair(const tile_args *t, const uint8_t *w,
                                                           size_t gb, size_t ahead0, int64_t i0,
                                                           int64_t from, int64_t to, int accumulate,
                                                           const int NA) {
    /* vpermb index: the first group's unit bytes as unit_idx, the second's (bytes 32-63) + 32 */
    const __m256i idx_lo = _mm256_loadu_si256((const __m256i *)unit_idx);
    const __m512i idx = _mm512_inserti64x4(_mm512_castsi256_si512(idx_lo),
                                           _mm256_add_epi8(idx_lo, _mm256_set1_epi8(32)), 1);
    const __m512i low4 = _mm512_set1_epi8(0x0F), high4 = _mm512_set1_epi8((char)0xF0);
    __m512 acc[MAX_NA];
    for (int j = 0; j < NA; j++)
        acc[j] = accumulate ? _mm512_loadu_ps(t->y + j * t->y_stride) : _mm512_setzero_ps();
    for (int64_t i = from; i < to; i++) {
        const uint8_t *b0 = w + i * X8_BYTES, *b1 = b0 + gb;
        prefetch_pair(b0, b1, ahead0);
        __m512i unit[4];
        for (int u = 0; u < 4; u++)
            unit[u] = _mm512_permutexvar_epi8(
                idx, load_pair(b0 + UNITS_AT + 24 * u, b1 + UNITS_AT + 24 * u));
        __m512i sum16[MAX_NA];
        for (int j = 0; j < NA; j++) sum16[j] = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int p = 0; p < 4; p++) {
            __m512i low[MAX_NA], high[MAX_NA];
            for (int j = 0; j < NA; j++) low[j] = high[j] = _mm512_setzero_si512();
#pragma GCC unroll 8
            for (int k = 0; k < 8; k++) {
                const int at = QS_AT + 32 * (8 * p + k);
                const __m512i raw = load_pair(b0 + at, b1 + at);
                const __m512i ql = _mm512_and_si512(raw, low4), qh = _mm512_and_si512(raw, high4);
                for (int j = 0; j < NA; j++) {
                    const int8_t *a = act_row(t, j)[i].qs + 64 * p + 4 * k;
                    low[j] = dpbusd16_bcast(low[j], ql, a);
                    high[j] = dpbusd16_bcast(high[j], qh, a + 32);
                }
            }
            const __m512i sc_low = scale16_lanes512(unit[p / 2], 2 * (p % 2));
            const __m512i sc_high = scale_lanes512(unit[p / 2], 2 * (p % 2) + 1);
            for (int j = 0; j < NA; j++)
                sum16[j] = _mm512_add_epi32(sum16[j],
                                            _mm512_add_epi32(_mm512_mullo_epi32(low[j], sc_low),
                                                             _mm512_mullo_epi32(high[j], sc_high)));
        }
        const __m512i mins[4] = {min_pair_lanes512(unit[2], 0), min_pair_lanes512(unit[2], 1),
                                 min_pair_lanes512(unit[3], 0), min_pair_lanes512(unit[3], 1)};
        const __m512 d = _mm512_cvtph_ps(
            _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)b0)),
                                    _mm_loadu_si128((const __m128i *)b1), 1));
        const __m512 dmin = _mm512_cvtph_ps(_mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(b0 + 16))),
            _mm_loadu_si128((const __m128i *)(b1 + 16)), 1));
        for (int j = 0; j < NA; j++) {
            const int32_t *bp = act_prep(t, j, i - i0);
            __m512i summ = _mm512_setzero_si512();
            for (int q = 0; q < 4; q++)
                summ = _mm512_dpwssd_epi32(summ, mins[q], _mm512_set1_epi32(bp[q]));
            const __m512i sumi = _mm512_srai_epi32(sum16[j], 4);
            /* the reference's da * (d * sumi - dmin * summ), then += */
            const __m512 v = _mm512_sub_ps(_mm512_mul_ps(d, _mm512_cvtepi32_ps(sumi)),
                                           _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(summ)));
            acc[j] = _mm512_add_ps(acc[j], _mm512_mul_ps(_mm512_set1_ps(act_row(t, j)[i].d), v));
        }
    }
    for (int j = 0; j < NA; j++) _mm512_storeu_ps(t->y + j * t->y_stride, acc[j]);
}

void tile_q4_kx8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact) {
    kx8_gemv(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}
