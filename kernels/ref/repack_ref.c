/* repack_ref.c - scalar gemv over the 8-row interleaved layouts (kernels/repack.h): the spec
 * of the packed kernels.
 *
 * Each row's sum is formed exactly as vec_dot_q4_0_ref / vec_dot_q8_0_ref form it: per
 * block the exact integer sum, times (weight scale x activation scale), added in block
 * order. Q4_1 (x = d q + m) forms it as vec_dot_q4_1_ref does: per block
 *   sum += (float)sum(q y) x (d dy) + (float)sum(y) x (m dy),
 * the two products added first, then to the sum. So packed and unpacked references agree
 * bit for bit, and so must the SIMD kernels (they do the same float operations, one lane
 * per row). */
#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "../repack.h"

#include <string.h>

/* Weight code of row r, element k of a packed block's qs (m chunks of 32 bytes). */
static int q4_code(const uint8_t *qs, int r, int k) {
    int j = k % 16; /* qs byte j holds elements j (low nibble) and j + 16 (high) */
    uint8_t byte = qs[32 * (j / 4) + 4 * r + j % 4];
    return (k < 16 ? byte & 0xF : byte >> 4) - 8;
}

static int q8_code(const uint8_t *qs, int r, int k) {
    return (int8_t)qs[32 * (k / 4) + 4 * r + k % 4];
}

static void gemv_x8_ref(int64_t cols, float *y, const uint8_t *w, int64_t rows, const block_q8_0 *a,
                        size_t block_bytes, int (*code)(const uint8_t *, int, int)) {
    const int64_t nb = cols / QK32;
    for (int64_t g = 0; g < rows / REPACK_ROWS; g++) {
        float sum[REPACK_ROWS] = {0};
        for (int64_t i = 0; i < nb; i++) {
            const uint8_t *blk = w + (g * nb + i) * block_bytes;
            const uint16_t *d = (const uint16_t *)blk;
            const uint8_t *qs = blk + 2 * REPACK_ROWS;
            for (int r = 0; r < REPACK_ROWS; r++) {
                int sumi = 0;
                for (int k = 0; k < QK32; k++) sumi += code(qs, r, k) * a[i].qs[k];
                sum[r] += (float)sumi * (fp16_to_f32(d[r]) * fp16_to_f32(a[i].d));
            }
        }
        for (int r = 0; r < REPACK_ROWS; r++) y[g * REPACK_ROWS + r] = sum[r];
    }
}

static void tile_x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact,
                        int (*code)(const uint8_t *, int, int)) {
    const size_t block_bytes = REPACK_ROWS * (w_stride / (size_t)(n / QK32));
    for (int j = 0; j < nact; j++)
        gemv_x8_ref(n, s + j * s_stride, w, nrows,
                    (const block_q8_0 *)((const char *)a + j * a_stride), block_bytes, code);
}

void tile_q4_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact) {
    tile_x8_ref(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, q4_code);
}

void tile_q8_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact) {
    tile_x8_ref(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, q8_code);
}

/* Q4_1: codes 0..15 and the m term (packed block: d[8], m[8], then 4 qs chunks). */
static void gemv_q4_1x8_ref(int64_t cols, float *y, const uint8_t *w, int64_t rows,
                            const block_q8_0 *a) {
    const int64_t nb = cols / QK32;
    for (int64_t g = 0; g < rows / REPACK_ROWS; g++) {
        float sum[REPACK_ROWS] = {0};
        for (int64_t i = 0; i < nb; i++) {
            const uint8_t *blk = w + (g * nb + i) * REPACK_ROWS * sizeof(block_q4_1);
            const uint16_t *d = (const uint16_t *)blk, *m = d + REPACK_ROWS;
            const uint8_t *qs = blk + 4 * REPACK_ROWS;
            const float da = fp16_to_f32(a[i].d);
            int sumy = 0;
            for (int k = 0; k < QK32; k++) sumy += a[i].qs[k];
            for (int r = 0; r < REPACK_ROWS; r++) {
                int sumi = 0;
                for (int k = 0; k < QK32; k++) sumi += (q4_code(qs, r, k) + 8) * a[i].qs[k];
                sum[r] += (float)sumi * (fp16_to_f32(d[r]) * da) +
                          (float)sumy * (fp16_to_f32(m[r]) * da);
            }
        }
        for (int r = 0; r < REPACK_ROWS; r++) y[g * REPACK_ROWS + r] = sum[r];
    }
}

void tile_q4_1x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact) {
    (void)w_stride; /* packed blocks are 8 x sizeof(block_q4_1) */
    for (int j = 0; j < nact; j++)
        gemv_q4_1x8_ref(n, s + j * s_stride, w, nrows,
                        (const block_q8_0 *)((const char *)a + j * a_stride));
}

/* Q2_K (packed block: d[8], dmin[8], scales[128], qs[512]; repack.h). Code of row r,
 * element e = 128h + 32j + l: bits 2j of qs byte 32h + l, which sits in chunk 8h + p,
 * p = (l % 16) / 2, at byte 2 (l / 16) + l % 2 of the row's dword. */
static int q2k_code(const uint8_t *qs, int r, int e) {
    int h = e / 128, j = (e % 128) / 32, l = e % 32;
    uint8_t byte = qs[32 * (8 * h + (l % 16) / 2) + 4 * r + 2 * (l / 16) + l % 2];
    return (byte >> 2 * j) & 3;
}

/* Scale byte of row r, sub-block k (scale | min << 4). */
static int q2k_scale(const uint8_t *scales, int r, int k) {
    return scales[16 * (k / 2) + 2 * r + k % 2];
}

/* One group of 8 rows, as vec_dot_q2_k_ref sums one row: per block the exact integers
 * sumi = sum_k sc_k sum q a and summ = sum_k m_k bsums_k, then
 *   sum += da (d sumi - dmin summ). */
static void gemv_q2_kx8_ref(int64_t cols, float *y, const uint8_t *w, const block_q8_K *a) {
    const int64_t nb = cols / QK_K;
    float sum[REPACK_ROWS] = {0};
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *blk = w + i * REPACK_ROWS * sizeof(block_q2_K);
        const uint16_t *d = (const uint16_t *)blk, *dmin = d + REPACK_ROWS;
        const uint8_t *scales = blk + 32, *qs = blk + 160;
        for (int r = 0; r < REPACK_ROWS; r++) {
            int sumi = 0, summ = 0;
            for (int k = 0; k < 16; k++) {
                int sub = 0;
                for (int e = 16 * k; e < 16 * k + 16; e++) sub += q2k_code(qs, r, e) * a[i].qs[e];
                sumi += (q2k_scale(scales, r, k) & 0xF) * sub;
                summ += (q2k_scale(scales, r, k) >> 4) * a[i].bsums[k];
            }
            sum[r] +=
                a[i].d * (fp16_to_f32(d[r]) * (float)sumi - fp16_to_f32(dmin[r]) * (float)summ);
        }
    }
    for (int r = 0; r < REPACK_ROWS; r++) y[r] = sum[r];
}

/* nact activations x the groups of 8 rows, each group by gemv (the Q2_K layouts) */
typedef void (*gemv_k_fn)(int64_t cols, float *y, const uint8_t *w, const block_q8_K *a);
static void tile_groups_ref(gemv_k_fn gemv, int64_t n, float *s, size_t s_stride, const void *w,
                            size_t w_stride, int nrows, const void *a, size_t a_stride, int nact) {
    const size_t group_bytes = REPACK_ROWS * w_stride;
    for (int j = 0; j < nact; j++)
        for (int g = 0; g < nrows / REPACK_ROWS; g++)
            gemv(n, s + j * s_stride + g * REPACK_ROWS, (const uint8_t *)w + g * group_bytes,
                 (const block_q8_K *)((const char *)a + j * a_stride));
}

void tile_q2_kx8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact) {
    tile_groups_ref(gemv_q2_kx8_ref, n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}

/* Q2_K in sub-block dwords (repack.h "q2_kx8d"; packed block: d[8], dmin[8], scale groups
 * at 32, qs chunks at 160). Code of row r, element e = 128 h + 32 j + l: bits 2j of qs
 * byte 32 h + l, in chunk 8 h + l / 4 at byte l % 4 of the row's dword; scale byte of
 * sub-block k in group k / 4 at byte k % 4 of the row's dword. */
static int q2kd_code(const uint8_t *qs, int r, int e) {
    int h = e / 128, j = (e % 128) / 32, l = e % 32;
    return (qs[32 * (8 * h + l / 4) + 4 * r + l % 4] >> 2 * j) & 3;
}

/* One group of 8 rows, as vec_dot_q2_k_ref sums one row (the same integers and float
 * steps as gemv_q2_kx8_ref). */
static void gemv_q2_kx8d_ref(int64_t cols, float *y, const uint8_t *w, const block_q8_K *a) {
    const int64_t nb = cols / QK_K;
    float sum[REPACK_ROWS] = {0};
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *blk = w + i * REPACK_ROWS * sizeof(block_q2_K);
        const uint16_t *d = (const uint16_t *)blk, *dmin = d + REPACK_ROWS;
        const uint8_t *scales = blk + 32, *qs = blk + 160;
        for (int r = 0; r < REPACK_ROWS; r++) {
            int sumi = 0, summ = 0;
            for (int k = 0; k < 16; k++) {
                const int scale = scales[32 * (k / 4) + 4 * r + k % 4];
                int sub = 0;
                for (int e = 16 * k; e < 16 * k + 16; e++) sub += q2kd_code(qs, r, e) * a[i].qs[e];
                sumi += (scale & 0xF) * sub;
                summ += (scale >> 4) * a[i].bsums[k];
            }
            sum[r] +=
                a[i].d * (fp16_to_f32(d[r]) * (float)sumi - fp16_to_f32(dmin[r]) * (float)summ);
        }
    }
    for (int r = 0; r < REPACK_ROWS; r++) y[r] = sum[r];
}

void tile_q2_kx8d_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    tile_groups_ref(gemv_q2_kx8d_ref, n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}

/* ---- Q4_K (repack.h "q4_kx8"): its converters and the reference ---- */

enum { Q4KX8_BYTES = REPACK_ROWS * sizeof(block_q4_K), Q4KX8_UNITS = 32, Q4KX8_QS = 128 };

/* The 48-bit word of unit u, row pair r / 2, in a packed block, and where row r's field
 * 4 u + j sits in it. */
static uint64_t q4kx8_unit_word(const uint8_t *blk, int u, int r) {
    uint64_t word = 0;
    for (int b = 0; b < 6; b++)
        word |= (uint64_t)blk[Q4KX8_UNITS + 24 * u + 6 * (r / 2) + b] << 8 * b;
    return word;
}
static int q4kx8_field_bit(int r, int j) {
    return 24 * (r % 2) + 6 * j;
}

/* Field f (f < 8: scale of sub-block f, else min of sub-block f - 8) of row r. */
static int q4kx8_field(const uint8_t *blk, int r, int f) {
    return (int)(q4kx8_unit_word(blk, f / 4, r) >> q4kx8_field_bit(r, f % 4)) & 63;
}

/* Code of row r, element e = 64 p + 32 hi + l: nibble hi of qs byte 32 p + l, which sits in
 * chunk 8 p + l / 4 at byte l % 4 of the row's dword. */
static int q4kx8_code(const uint8_t *blk, int r, int e) {
    int p = e / 64, hi = (e % 64) >= 32, l = e % 32;
    uint8_t byte = blk[Q4KX8_QS + 32 * (8 * p + l / 4) + 4 * r + l % 4];
    return hi ? byte >> 4 : byte & 0xF;
}

/* One block of 8 rows, as dot_q45_k (dot_qk.c) sums one row: the exact integers
 * sumi = sum_k sc_k sum q a and summ = sum_k m_k (bsums[2k] + bsums[2k + 1]), then
 *   sum += da (d sumi - dmin summ). */
static void q4_kx8_block_ref(const uint8_t *blk, const block_q8_K *a, float sum[REPACK_ROWS]) {
    const uint16_t *d = (const uint16_t *)blk, *dmin = d + REPACK_ROWS;
    for (int r = 0; r < REPACK_ROWS; r++) {
        int sumi = 0, summ = 0;
        for (int k = 0; k < 8; k++) {
            int sub = 0;
            for (int e = 32 * k; e < 32 * k + 32; e++) sub += q4kx8_code(blk, r, e) * a->qs[e];
            sumi += q4kx8_field(blk, r, k) * sub;
            summ += q4kx8_field(blk, r, 8 + k) * (a->bsums[2 * k] + a->bsums[2 * k + 1]);
        }
        sum[r] += a->d * (fp16_to_f32(d[r]) * (float)sumi - fp16_to_f32(dmin[r]) * (float)summ);
    }
}

void tile_q4_kx8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact) {
    const int64_t nb = n / QK_K;
    for (int j = 0; j < nact; j++) {
        const block_q8_K *act = (const block_q8_K *)((const char *)a + j * a_stride);
        for (int g = 0; g < nrows / REPACK_ROWS; g++) {
            const uint8_t *group = (const uint8_t *)w + g * REPACK_ROWS * w_stride;
            float sum[REPACK_ROWS] = {0};
            for (int64_t i = 0; i < nb; i++)
                q4_kx8_block_ref(group + i * Q4KX8_BYTES, &act[i], sum);
            for (int r = 0; r < REPACK_ROWS; r++) s[j * s_stride + g * REPACK_ROWS + r] = sum[r];
        }
    }
}

/* The 12 scale bytes of a Q4_K block from its 16 fields (fields[f]: f < 8 scale f, else min
 * f - 8): the inverse of k4_scale_min (blocks.h), so a byte goes there and back unchanged. */
static void k4_scale_bytes(const int fields[16], uint8_t bytes[K_SCALE_SIZE]) {
    const int *sc = fields, *m = fields + 8;
    for (int j = 0; j < 4; j++) {
        bytes[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        bytes[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
        bytes[j + 8] = (uint8_t)((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
    }
}

/* Packed block x8 <-> the 8 rows' blocks one[r] (pack = 1: one -> x8). */
static void q4_kx8_move(uint8_t *x8, block_q4_K *const one[REPACK_ROWS], int pack) {
    int fields[REPACK_ROWS][16];
    for (int r = 0; r < REPACK_ROWS; r++) {
        block_q4_K *b = one[r];
        for (int c = 0; c < 32; c++) {
            uint8_t *chunk = x8 + Q4KX8_QS + 32 * c + 4 * r, *qs = b->qs + 4 * c;
            memcpy(pack ? chunk : qs, pack ? qs : chunk, 4);
        }
        uint8_t *d = x8 + 2 * r, *dmin = x8 + 2 * REPACK_ROWS + 2 * r;
        memcpy(pack ? d : (uint8_t *)&b->d, pack ? (uint8_t *)&b->d : d, 2);
        memcpy(pack ? dmin : (uint8_t *)&b->dmin, pack ? (uint8_t *)&b->dmin : dmin, 2);
        for (int f = 0; f < 16 && pack; f++) {
            uint8_t sc, m;
            k4_scale_min(f % 8, b->scales, &sc, &m);
            fields[r][f] = f < 8 ? sc : m;
        }
    }
    for (int u = 0; u < 4; u++)
        for (int q = 0; q < REPACK_ROWS / 2; q++) {
            uint8_t *at = x8 + Q4KX8_UNITS + 24 * u + 6 * q;
            if (pack) {
                uint64_t word = 0;
                for (int r = 2 * q; r < 2 * q + 2; r++)
                    for (int j = 0; j < 4; j++)
                        word |= (uint64_t)fields[r][4 * u + j] << q4kx8_field_bit(r, j);
                for (int b = 0; b < 6; b++) at[b] = (uint8_t)(word >> 8 * b);
            } else {
                for (int r = 2 * q; r < 2 * q + 2; r++)
                    for (int j = 0; j < 4; j++)
                        fields[r][4 * u + j] = q4kx8_field(x8, r, 4 * u + j);
            }
        }
    for (int r = 0; r < REPACK_ROWS && !pack; r++) k4_scale_bytes(fields[r], one[r]->scales);
}

static void q4_kx8_convert(int64_t rows, int64_t cols, const uint8_t *src, uint8_t *dst, int pack) {
    const int64_t nb = cols / QK_K;
    const size_t row_bytes = (size_t)nb * sizeof(block_q4_K);
    const uint8_t *packed = pack ? dst : src, *plain = pack ? src : dst;
    for (int64_t g = 0; g < rows / REPACK_ROWS; g++)
        for (int64_t i = 0; i < nb; i++) {
            block_q4_K *one[REPACK_ROWS];
            for (int r = 0; r < REPACK_ROWS; r++)
                one[r] = (block_q4_K *)(plain + (g * REPACK_ROWS + r) * row_bytes) + i;
            q4_kx8_move((uint8_t *)packed + (g * nb + i) * Q4KX8_BYTES, one, pack);
        }
}

static void pack_q4_kx8(int64_t rows, int64_t cols, const void *src, void *dst) {
    q4_kx8_convert(rows, cols, src, dst, 1);
}
static void unpack_q4_kx8(int64_t rows, int64_t cols, const void *src, void *dst) {
    q4_kx8_convert(rows, cols, src, dst, 0);
}

const x8_layout x8_q4_k = {
    .type = QT_Q4_K, .ref_tile = tile_q4_kx8_ref, .pack = pack_q4_kx8, .unpack = unpack_q4_kx8};

/* ---- the layouts of repack.h as data: {from, len, count, at, at_step, row_step} ---- */

/* d[8] at 0; chunk c of 4 qs bytes of row r at 16 + 32 c + 4 r */
const x8_layout x8_q4_0 = {QT_Q4_0, 2, {{0, 2, 1, 0, 0, 2}, {2, 4, 4, 16, 32, 4}}, tile_q4_0x8_ref, NULL, NULL, 0};
const x8_layout x8_q8_0 = {QT_Q8_0, 2, {{0, 2, 1, 0, 0, 2}, {2, 4, 8, 16, 32, 4}}, tile_q8_0x8_ref, NULL, NULL, 0};
/* d[8] at 0, m[8] at 16, qs chunks from 32 */
const x8_layout x8_q4_1 = {
    QT_Q4_1, 3, {{0, 2, 1, 0, 0, 2}, {2, 2, 1, 16, 0, 2}, {4, 4, 4, 32, 32, 4}}, tile_q4_1x8_ref, NULL, NULL, 0};
/* Q2_K in 2-byte pieces: scale pair m of row r at 32 + 16 m + 2 r; qs bytes 32h + 16 half
 * + 2p (and the next) at 160 + 256 h + 2 half + 32 p + 4 r; d at 0, dmin at 16. */
const x8_layout x8_q2_k = {QT_Q2_K,
                           7,
                           {{0, 2, 8, 32, 16, 2},
                            {16, 2, 8, 160, 32, 4},
                            {32, 2, 8, 162, 32, 4},
                            {48, 2, 8, 416, 32, 4},
                            {64, 2, 8, 418, 32, 4},
                            {80, 2, 1, 0, 0, 2},
                            {82, 2, 1, 16, 0, 2}},
                           tile_q2_kx8_ref,
                           NULL,
                           NULL,
                           0};
/* Q2_K in sub-block dwords: the 4 scale bytes 4t .. 4t + 3 of row r at 32 + 32 t + 4 r; qs
 * bytes 32 h + 4 c .. + 3 at 160 + 32 (8 h + c) + 4 r; d at 0, dmin at 16. */
const x8_layout x8_q2_k_d = {
    QT_Q2_K,
    4,
    {{0, 4, 4, 32, 32, 4}, {16, 4, 16, 160, 32, 4}, {80, 2, 1, 0, 0, 2}, {82, 2, 1, 16, 0, 2}},
    tile_q2_kx8d_ref,
    NULL,
    NULL,
    0};
