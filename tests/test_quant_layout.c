/* test_quant_layout.c - hand-built blocks of every format whose dequantized values are
 * stated here (bytes spelled out: fp16 as hex, nibbles and bits by position), so that any
 * layout mistake fails; and the FP8 codes against the OCP definition. */
#include <string.h>

#include "../quant/blocks.h"
#include "../quant/formats.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "test.h"

/* Dequantizes one block of type id and checks the listed (index, value) pairs; every
 * element not listed must equal rest. */
static void check_block(uint32_t id, const void *block, const int *idx, const float *val,
                        int n_listed, float rest) {
    const quant_type *t = qtype(id);
    float y[256];
    t->dequantize(block, y, t->block);
    for (int e = 0; e < t->block; e++) {
        float want = rest;
        for (int k = 0; k < n_listed; k++)
            if (idx[k] == e) want = val[k];
        CHECK_MSG(y[e] == want, "%s element %d: %g, expected %g", t->name, e, y[e], want);
    }
}

TEST(layout_q8_0) {
    block_q8_0 b = {.d = 0x3800}; /* 0.5 */
    b.qs[0] = 1, b.qs[1] = -2, b.qs[31] = 127;
    check_block(QT_Q8_0, &b, (int[]){0, 1, 31}, (float[]){0.5f, -1, 63.5f}, 3, 0);
}

TEST(layout_q4_0) {
    block_q4_0 b = {.d = 0x4000}; /* 2.0 */
    memset(b.qs, 0x88, 16);       /* code 8 = 0 */
    b.qs[0] = 0x3A;               /* element 0: (10-8)*2, element 16: (3-8)*2 */
    b.qs[15] = 0x80;              /* element 15: (0-8)*2, element 31: 0 */
    check_block(QT_Q4_0, &b, (int[]){0, 16, 15}, (float[]){4, -10, -16}, 3, 0);
}

TEST(layout_q4_1) {
    block_q4_1 b = {.d = 0x3C00, .m = 0xBC00}; /* d = 1, m = -1 */
    b.qs[0] = 0x3A;
    check_block(QT_Q4_1, &b, (int[]){0, 16}, (float[]){9, 2}, 2, -1);
}

TEST(layout_q5_0) {
    block_q5_0 b = {.d = 0x3C00, .qh = {0x01, 0, 0, 0x80}}; /* bit 0 and bit 31 */
    b.qs[0] = 0x3A;  /* element 0: (10|16)-16, element 16: 3-16 */
    b.qs[15] = 0xF0; /* element 15: 0-16, element 31: (15|16)-16 */
    check_block(QT_Q5_0, &b, (int[]){0, 16, 15, 31}, (float[]){10, -13, -16, 15}, 4, -16);
}

TEST(layout_q5_1) {
    block_q5_1 b = {.d = 0x3800, .m = 0x3C00, .qh = {0, 0, 0x01, 0}}; /* 0.5, 1.0, bit 16 */
    b.qs[0] = 0x21; /* element 0: 1*0.5+1, element 16: (2|16)*0.5+1 */
    check_block(QT_Q5_1, &b, (int[]){0, 16}, (float[]){1.5f, 10}, 2, 1);
}

TEST(layout_iq4_nl) {
    block_iq4_nl b = {.d = 0x3C00};
    b.qs[0] = 0xF0; /* element 0: kvalues[0], element 16: kvalues[15] */
    b.qs[1] = 0x78; /* element 1: kvalues[8], element 17: kvalues[7] */
    check_block(QT_IQ4_NL, &b, (int[]){0, 16, 1, 17}, (float[]){-127, 113, 1, -10}, 4, -127);
}

TEST(layout_q2_k) {
    block_q2_K b = {.d = 0x3C00, .dmin = 0x3800}; /* 1.0, 0.5 */
    b.scales[0] = 0x21;  /* sub-block 0 (elements 0..15): scale 1, min 2 */
    b.scales[3] = 0x03;  /* sub-block 3 (48..63): scale 3, min 0 */
    b.scales[9] = 0x12;  /* sub-block 9 (144..159): scale 2, min 1 */
    b.qs[0] = 0x03;      /* element 0 (bits 0-1): q 3 */
    b.qs[16] = 0x04;     /* element 48 = 32*1 + 16 (bits 2-3 of byte 16): q 1 */
    b.qs[48] = 0x02;     /* element 144 = 128 + 16 (bits 0-1 of byte 32+16): q 2 */
    int idx[33];
    float val[33];
    for (int e = 0; e < 16; e++) {
        idx[e] = e, val[e] = -1;                 /* 0 - 0.5*2 */
        idx[16 + e] = 144 + e, val[16 + e] = -0.5f; /* 0 - 0.5*1 */
    }
    val[0] = 2;                   /* 1*1*3 - 0.5*2 */
    val[16] = 3.5f;               /* element 144: 1*2*2 - 0.5*1 */
    idx[32] = 48, val[32] = 3;    /* 1*3*1 */
    check_block(QT_Q2_K, &b, idx, val, 33, 0);
}

TEST(layout_q3_k) {
    /* scale codes: sub-block 0 = 33 (+1), sub-block 5 = 30 (-2), sub-block 10 = 37 (+5),
     * every other 32 (0). Low nibbles: byte 0 low = 1, byte 5 low = 0xE, byte 2 high = 5;
     * high 2-bit fields all 2 (0xAA) except sub-block 5's (byte 9 bits 2-3) = 1. */
    block_q3_K b = {.d = 0x3C00, .scales = {0x01, 0, 0x50, 0, 0, 0x0E, 0, 0, 0xAA, 0xA6, 0xAA, 0xAA}};
    memset(b.hmask, 0xFF, sizeof b.hmask); /* high bit set: q = low bits */
    b.qs[0] = 0x03;      /* element 0: low 3 -> 1*3 */
    b.qs[16] = 0x20;     /* element 80 = 64 + 16 (bits 4-5 of byte 16): low 2 */
    b.hmask[16] = 0xFB;  /* ... and its high bit (bit 2) clear: q = 2 - 4 -> -2*-2 */
    b.qs[32] = 0x04;     /* element 160 = 128 + 32 (bits 2-3 of byte 32): low 1 -> 5*1 */
    check_block(QT_Q3_K, &b, (int[]){0, 80, 160}, (float[]){3, 4, 5}, 3, 0);
}

/* Q4_K / Q5_K scales: sub-block 0: scale 2, min 4; sub-block 5: scale 19 (0x13), min 33
 * (0x21): low nibbles in byte 9 (0x13), top bits in byte 1 (1 << 6) and byte 5 (2 << 6). */
static const uint8_t k4_scales[12] = {0x02, 0x40, 0, 0, 0x04, 0x80, 0, 0, 0, 0x13, 0, 0};

TEST(layout_q4_k) {
    block_q4_K b = {.d = 0x3C00, .dmin = 0x3800};
    memcpy(b.scales, k4_scales, 12);
    b.qs[0] = 0x07;  /* element 0: 1*2*7 - 0.5*4 */
    b.qs[65] = 0xA0; /* element 161 = 128 + 32 + 1 (high nibble of byte 64+1): 19*10 - 0.5*33 */
    int idx[64];
    float val[64];
    for (int e = 0; e < 32; e++) idx[e] = e, val[e] = -2;
    for (int e = 0; e < 32; e++) idx[32 + e] = 160 + e, val[32 + e] = -16.5f;
    val[0] = 12, val[33] = 173.5f;
    check_block(QT_Q4_K, &b, idx, val, 64, 0);
}

TEST(layout_q5_k) {
    block_q5_K b = {.d = 0x3C00, .dmin = 0x3800};
    memcpy(b.scales, k4_scales, 12);
    b.qs[0] = 0x07, b.qs[65] = 0xA0;
    b.qh[0] = 0x01; /* element 0: bit 0 (p 0, low half) -> q 23: 2*23 - 2 */
    b.qh[1] = 0x20; /* element 161: bit 5 = 2p+1, p 2 -> q 26: 19*26 - 16.5 */
    int idx[64];
    float val[64];
    for (int e = 0; e < 32; e++) idx[e] = e, val[e] = -2;
    for (int e = 0; e < 32; e++) idx[32 + e] = 160 + e, val[32 + e] = -16.5f;
    val[0] = 44, val[33] = 477.5f;
    check_block(QT_Q5_K, &b, idx, val, 64, 0);
}

TEST(layout_q6_k) {
    block_q6_K b = {.d = 0x3800}; /* 0.5 */
    b.scales[0] = 1, b.scales[6] = -3, b.scales[9] = 2;
    b.ql[0] = 0x05, b.qh[0] = 0x02 | 0x40; /* element 0: q 0x25 = 37; element 96: q 16 */
    b.ql[80] = 0x0F, b.qh[48] = 0x03;      /* element 144 = 128 + 16: q 63 */
    int idx[48];
    float val[48];
    for (int e = 0; e < 16; e++) {
        idx[e] = e, val[e] = -16;             /* 0.5*1*(0-32) */
        idx[16 + e] = 96 + e, val[16 + e] = 48; /* 0.5*-3*(0-32) */
        idx[32 + e] = 144 + e, val[32 + e] = -32; /* 0.5*2*(0-32) */
    }
    val[0] = 2.5f, val[16] = 24, val[32] = 31;
    check_block(QT_Q6_K, &b, idx, val, 48, 0);
}

TEST(layout_q8_k) {
    block_q8_K b = {.d = 0.25f};
    b.qs[3] = -4, b.qs[255] = 127;
    check_block(QT_Q8_K, &b, (int[]){3, 255}, (float[]){-1, 31.75f}, 2, 0);
}

TEST(layout_q2_0_32) {
    block_q2_0_32 b = {.d = 0x3C00, .m = 0xBE00}; /* 1.0, -1.5 */
    b.qs[0] = 0x1B; /* 0b00011011: element 0 = 3, 8 = 2, 16 = 1, 24 = 0 */
    b.qs[7] = 0xC0; /* element 31 = 3, elements 7, 15, 23 = 0 */
    check_block(QT_Q2_0_32, &b, (int[]){0, 8, 16, 31}, (float[]){1.5f, 0.5f, -0.5f, 1.5f}, 4, -1.5f);
}

TEST(layout_fp8) {
    block_fp8 b = {.d = 0x4000}; /* 2.0 */
    b.qs[0] = 0x38, b.qs[1] = 0x7E, b.qs[2] = 0x01, b.qs[3] = 0xC4;
    /* E4M3: 1.0, 448, 2^-9, -(1.5 * 2) */
    check_block(QT_FP8_E4M3, &b, (int[]){0, 1, 2, 3}, (float[]){2, 896, 1.0f / 256, -6}, 4, 0);
    block_fp8 c = {.d = 0x3C00};
    c.qs[0] = 0x3C, c.qs[1] = 0x7B, c.qs[2] = 0x01, c.qs[3] = 0xC2;
    /* E5M2: 1.0, 57344, 2^-16, -(1.5 * 2) */
    check_block(QT_FP8_E5M2, &c, (int[]){0, 1, 2, 3}, (float[]){1, 57344, 1.0f / 65536, -3}, 4, 0);
}

/* The OCP definition, computed independently of quant/fp8.c: value of code c with ebits
 * exponent bits, mbits mantissa bits and the given bias (NaN / inf handled by the caller). */
static double ocp_value(int c, int ebits, int mbits, int bias) {
    int e = (c >> mbits) & ((1 << ebits) - 1), m = c & ((1 << mbits) - 1);
    double frac = (double)m / (1 << mbits);
    double v = e == 0 ? ldexp(frac, 1 - bias) : ldexp(1 + frac, e - bias);
    return (c & 0x80) ? -v : v;
}

TEST(fp8_e4m3_all_codes) {
    for (int c = 0; c < 256; c++) {
        float v = fp8_e4m3_to_f32((uint8_t)c);
        if ((c & 0x7F) == 0x7F) { /* S.1111.111 */
            CHECK_MSG(isnan(v), "e4m3 code %#x should be NaN", c);
            continue;
        }
        CHECK_MSG(v == ocp_value(c, 4, 3, 7), "e4m3 code %#x: %g", c, v);
        CHECK_EQ_INT(f32_to_fp8_e4m3(v), c == 0x80 ? 0x80 : c); /* -0 keeps its sign */
    }
    CHECK(fp8_e4m3_to_f32(0x7E) == 448.0f);
    CHECK_EQ_INT(f32_to_fp8_e4m3(1e6f), 0x7E);   /* saturates */
    CHECK_EQ_INT(f32_to_fp8_e4m3(-464.0f), 0xFE); /* above max + half ulp: saturates too */
    CHECK_EQ_INT(f32_to_fp8_e4m3(INFINITY), 0x7E);
    CHECK_EQ_INT(f32_to_fp8_e4m3(NAN) & 0x7F, 0x7F);
    /* ties to even: 1 + 1/16 lies between 1.0 (0x38) and 1.125 (0x39) */
    CHECK_EQ_INT(f32_to_fp8_e4m3(1.0625f), 0x38);
    CHECK_EQ_INT(f32_to_fp8_e4m3(1.1875f), 0x3A); /* between 0x39 and 0x3A */
    CHECK_EQ_INT(f32_to_fp8_e4m3(ldexpf(1, -10)), 0x00); /* half the smallest subnormal */
    CHECK_EQ_INT(f32_to_fp8_e4m3(ldexpf(1.5f, -10)), 0x01);
}

/* The nearest finite code to x >= 0 by trying all of them, ties to the even code, saturating at
 * max_code: the plain statement f32_to_fp8_* must equal on every float. */
static int fp8_nearest_brute(double x, int ebits, int mbits, int bias, int max_code) {
    int best = 0;
    double best_d = INFINITY;
    for (int c = 0; c <= max_code; c++) {
        double d = fabs(ocp_value(c, ebits, mbits, bias) - x);
        if (d < best_d || (d == best_d && (c & 1) == 0)) best = c, best_d = d;
    }
    return best;
}

/* Every code, every midpoint between neighbours and the floats either side of it, and
 * random magnitudes from far below the smallest subnormal to beyond the maximum. */
TEST(fp8_encode_nearest_brute_force) {
    struct { int ebits, mbits, bias, max_code; uint8_t (*enc)(float); } f[2] = {
        {4, 3, 7, 0x7E, f32_to_fp8_e4m3}, {5, 2, 15, 0x7B, f32_to_fp8_e5m2}};
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (int k = 0; k < 2; k++) {
        float probes[4 * 128 + 4000];
        int n = 0;
        for (int c = 0; c < f[k].max_code; c++) {
            float lo = (float)ocp_value(c, f[k].ebits, f[k].mbits, f[k].bias);
            float mid = (float)((lo + ocp_value(c + 1, f[k].ebits, f[k].mbits, f[k].bias)) / 2);
            probes[n++] = lo, probes[n++] = mid;
            probes[n++] = nextafterf(mid, 0), probes[n++] = nextafterf(mid, INFINITY);
        }
        while (n < (int)(sizeof probes / sizeof probes[0])) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            float u = (float)(rng >> 40) / (float)(1 << 24); /* [0, 1) */
            probes[n++] = ldexpf(1.0f + u, (int)(rng >> 33 & 63) - 30);
        }
        for (int i = 0; i < n; i++) {
            int want = fp8_nearest_brute(probes[i], f[k].ebits, f[k].mbits, f[k].bias, f[k].max_code);
            CHECK_MSG(f[k].enc(probes[i]) == want, "fp8 %s of %a: %#x, nearest %#x",
                      k ? "e5m2" : "e4m3", probes[i], f[k].enc(probes[i]), want);
            CHECK_MSG(f[k].enc(-probes[i]) == (want | 0x80), "fp8 of -%a", probes[i]);
        }
    }
}

TEST(fp8_e5m2_all_codes) {
    for (int c = 0; c < 256; c++) {
        float v = fp8_e5m2_to_f32((uint8_t)c);
        int e = (c >> 2) & 31, m = c & 3;
        if (e == 31) {
            if (m == 0) CHECK_MSG(isinf(v) && (v < 0) == (c >= 128), "e5m2 %#x should be inf", c);
            else CHECK_MSG(isnan(v), "e5m2 code %#x should be NaN", c);
            continue;
        }
        CHECK_MSG(v == ocp_value(c, 5, 2, 15), "e5m2 code %#x: %g", c, v);
        CHECK_EQ_INT(f32_to_fp8_e5m2(v), c);
    }
    CHECK(fp8_e5m2_to_f32(0x7B) == 57344.0f);
    CHECK_EQ_INT(f32_to_fp8_e5m2(1e9f), 0x7B);   /* finite overflow saturates */
    CHECK_EQ_INT(f32_to_fp8_e5m2(-INFINITY), 0xFC);
    CHECK(isnan(fp8_e5m2_to_f32(f32_to_fp8_e5m2(NAN))));
    CHECK_EQ_INT(f32_to_fp8_e5m2(1.125f), 0x3C); /* tie between 1.0 and 1.25: even */
    CHECK_EQ_INT(f32_to_fp8_e5m2(1.375f), 0x3E); /* tie between 1.25 and 1.5: even */
}
