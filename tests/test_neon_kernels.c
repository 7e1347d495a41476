/* test_neon_kernels.c - the NEON dots of the IQ, ternary, 1-bit and NVFP4 formats against
 * their scalar references (kernels/ref/), on raw random blocks (every grid index, sign
 * pattern and scale the bytes can hold), on all-0x00 and all-0xFF blocks with the largest
 * fp16 d (extreme codes and scales) against +-127 activations, with a NaN or infinite d, and
 * on 1..9 and 40 blocks (tails of any unrolling).
 *   Q8_K formats: equal bit for bit (same exact integer sum per super-block, same float
 *   expression and order as the reference).
 *   Q8_0 formats (Q1_0, NVFP4): exact integer sums per block, float sums in another order:
 *   |neon - ref| <= (n / 16 + 16) FLT_EPSILON sum |w_i a_i| (w, a dequantized), as
 *   test_kernels.c's bound with NVFP4's sub-blocks of 16 as the unit.
 * Both builds of the int8 kernels are checked (plain NEON, and sdot where the CPU has it). They
 * run on an aarch64 build (`make test-arm`: cross-compiled, under qemu-user); on other CPUs
 * they skip. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "test.h"
#if defined(__aarch64__)
#include "../kernels/arm/neon.h"
#endif

enum { D_NONE = -2, D_IQ1_M = -1, D_LAST = -3 };

typedef struct {
    uint32_t id;
    int d_offset; /* byte offset of the fp16 d; D_LAST: the block's last 2 bytes; D_IQ1_M: the
                     top nibbles of IQ1_M's scale words; D_NONE: no fp16 d (NVFP4) */
} neon_case;

static const neon_case cases[] = {
    {QT_IQ4_XS, 0},     {QT_IQ2_XXS, 0},    {QT_IQ2_XS, 0}, {QT_IQ2_S, 0},
    {QT_IQ3_XXS, 0},    {QT_IQ3_S, 0},      {QT_IQ1_S, 0},  {QT_IQ1_M, D_IQ1_M},
    {QT_TQ2_0, D_LAST}, {QT_TQ1_0, D_LAST}, {QT_Q1_0, 0},   {QT_NVFP4, D_NONE},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

static uint64_t rng;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

static void put_d(const neon_case *c, const quant_type *t, uint8_t *block, uint16_t d) {
    if (c->d_offset >= 0 || c->d_offset == D_LAST) {
        memcpy(block + (c->d_offset >= 0 ? (size_t)c->d_offset : t->block_bytes - 2), &d, 2);
    } else if (c->d_offset == D_IQ1_M) {
        for (int k = 0; k < 4; k++) {
            uint16_t sc;
            memcpy(&sc, block + 48 + 2 * k, 2);
            sc = (uint16_t)((sc & 0x0fff) | ((d >> 4 * k) & 15) << 12);
            memcpy(block + 48 + 2 * k, &sc, 2);
        }
    }
}

/* Operand kinds: random bytes and d; all 0x00 or all 0xFF with d = 65504 and +-127
 * activations; random bytes with d NaN or +Inf. */
enum { K_RANDOM, K_ZEROS, K_ONES, K_NAN, K_INF, K_COUNT };
static const char *const kind_names[K_COUNT] = {"random", "0x00", "0xff", "d=nan", "d=inf"};

static int8_t act_code(int kind, int j) {
    if (kind == K_ZEROS || kind == K_ONES) return (int8_t)(j % 3 ? 127 : -127);
    return (int8_t)((int)(next_u32() % 255) - 127);
}

/* nb blocks of weights of c and their activations (Q8_K or Q8_0, covering the same n). */
static void make_operands(const neon_case *c, uint8_t *w, void *act, int nb, int kind) {
    const quant_type *t = qtype(c->id);
    for (int i = 0; i < nb; i++) {
        uint8_t *b = w + i * t->block_bytes;
        for (size_t j = 0; j < t->block_bytes; j++)
            b[j] = (uint8_t)(kind == K_ZEROS ? 0 : kind == K_ONES ? 0xFF : next_u32());
        float d = kind == K_ZEROS || kind == K_ONES ? 65504.0f
                  : kind == K_NAN                   ? NAN
                  : kind == K_INF                   ? INFINITY
                                                    : (float)(next_u32() % 1000) / 997 - 0.5f;
        put_d(c, t, b, f32_to_fp16(d));
    }
    const int64_t n = (int64_t)nb * t->block;
    if (t->dot_type == QT_Q8_K) {
        block_q8_K *a = act;
        for (int64_t i = 0; i < n / QK_K; i++) {
            a[i].d = kind == K_RANDOM ? (float)(next_u32() % 1000) / 1e5f : 1e-3f;
            for (int j = 0; j < QK_K; j++) a[i].qs[j] = act_code(kind, j);
            for (int s = 0; s < 16; s++) {
                int sum = 0;
                for (int j = 0; j < 16; j++) sum += a[i].qs[16 * s + j];
                a[i].bsums[s] = (int16_t)sum;
            }
        }
    } else {
        block_q8_0 *a = act;
        for (int64_t i = 0; i < n / QK32; i++) {
            a[i].d = f32_to_fp16(kind == K_RANDOM ? (float)(next_u32() % 1000) / 1e5f : 1e-3f);
            for (int j = 0; j < QK32; j++) a[i].qs[j] = act_code(kind, j);
        }
    }
}

/* sum |w_i a_i| of the dequantized operands (the scale of the float reordering error). */
static double magnitude(const quant_type *t, const void *w, const void *act, int64_t n) {
    float *wd = malloc(n * sizeof(float)), *ad = malloc(n * sizeof(float));
    t->dequantize(w, wd, n);
    qtype(t->dot_type)->dequantize(act, ad, n);
    double mag = 0;
    for (int64_t i = 0; i < n; i++) mag += fabs((double)wd[i] * ad[i]);
    free(wd), free(ad);
    return mag;
}

static int same_result(const quant_type *t, const void *w, const void *act, int64_t n, float got,
                       float want) {
    if (isnan(want) || isnan(got)) return isnan(want) && isnan(got);
    if (t->dot_type == QT_Q8_K || isinf(want) || isinf(got)) return !memcmp(&got, &want, 4);
    return fabs((double)got - want) <=
           ((double)n / 16 + 16) * FLT_EPSILON * magnitude(t, w, act, n);
}

/* Each case's dot of one kernel table against the reference. */
static void check_dots(const isa_kernels *k, const char *which) {
    enum { NB_MAX = 40 };
    static uint8_t w[NB_MAX * 256];
    static block_q8_K act[NB_MAX * 2]; /* room for NB_MAX blocks of 128 in Q8_0 too */
    rng = 0x0123456789abcdefull;
    for (int c = 0; c < N_CASES; c++) {
        const quant_type *t = qtype(cases[c].id);
        vec_dot_fn ref = kernels_for(ISA_SCALAR, t->id)->vec_dot;
        vec_dot_fn neon = k->type[qtype_index(t->id)].vec_dot;
        REQUIRE(ref && neon);
        CHECK_MSG(neon != ref, "%s has no %s dot", t->name, which);
        for (int nb = 1; nb <= NB_MAX; nb += nb < 9 ? 1 : 31)
            for (int kind = 0; kind < K_COUNT; kind++) {
                if (cases[c].d_offset == D_NONE && (kind == K_NAN || kind == K_INF)) continue;
                make_operands(&cases[c], w, act, nb, kind);
                const int64_t n = (int64_t)nb * t->block;
                float s_ref = NAN, s_neon = NAN;
                ref(n, &s_ref, w, act);
                neon(n, &s_neon, w, act);
                CHECK_MSG(same_result(t, w, act, n, s_neon, s_ref), "%s %s nb=%d %s: %.9g ref %.9g",
                          t->name, which, nb, kind_names[kind], s_neon, s_ref);
            }
    }
}

/* The installed set, and both builds of the int8 kernels: plain NEON always, the sdot one
 * where the CPU runs it (qemu -cpu max in make test-arm). */
TEST(neon_lowbit_and_iq_dots_equal_reference) {
    if (!kernels_isa_supported(ISA_NEON))
        SKIP("the CPU has no NEON (not an aarch64 build): make test-arm runs this");
    REQUIRE(kernels_init("neon", NULL) == 0);
    check_dots(kernels_of(ISA_NEON), "neon");
#if defined(__aarch64__)
    static isa_kernels k;
    memset(&k, 0, sizeof k);
    neon_install_int8(&k, 0);
    check_dots(&k, "plain neon");
    if (neon_cpu_has_dotprod()) {
        memset(&k, 0, sizeof k);
        neon_install_int8(&k, 1);
        check_dots(&k, "neon sdot");
    }
#endif
}

/* The tiles (vec_dot_tile) are bit-identical to their row kernels for every (row, token): 1..9
 * rows x 1..5 tokens (tails of the 4-row, 2-token and 4-token groups), in both builds. (Only
 * an aarch64 build calls it.) */
__attribute__((unused)) static void check_tiles(const isa_kernels *k, const char *which) {
    enum { ROWS = 9, NACT = 5, S_STRIDE = 11, N = 2 * QK_K };
    static const uint32_t types[] = {
        QT_Q8_0, QT_Q4_0,    QT_Q5_0,   QT_IQ4_NL, QT_Q2_K,    QT_Q3_K,  QT_Q4_K,  QT_Q5_K,
        QT_Q6_K, QT_IQ2_XXS, QT_IQ2_XS, QT_IQ2_S,  QT_IQ3_XXS, QT_IQ3_S, QT_IQ1_S, QT_IQ1_M};
    static float x[ROWS * N];
    static uint8_t w[ROWS * N * 2], act[ROWS * N * 2]; /* act: room for ROWS raw Q8_K rows */
    rng = 0x5eed5eed5eed5eedull;
    for (size_t c = 0; c < sizeof types / sizeof *types; c++) {
        const quant_type *t = qtype(types[c]), *dt = qtype(t->dot_type);
        const type_kernels *tk = &k->type[qtype_index(t->id)];
        CHECK_MSG(tk->vec_dot_tile, "%s has no %s tile", t->name, which);
        if (!tk->vec_dot_tile) continue;
        const size_t row_bytes = qtype_row_bytes(t->id, N), act_bytes = qtype_row_bytes(dt->id, N);
        for (int64_t i = 0; i < ROWS * N; i++) x[i] = (float)(next_u32() % 2001) / 1000 - 1;
        const neon_case *raw = NULL; /* the IQ formats: raw blocks (their quantizers are slow) */
        for (int k = 0; k < N_CASES; k++)
            if (cases[k].id == t->id) raw = &cases[k];
        if (raw)
            make_operands(raw, w, act, ROWS * (N / QK_K), K_RANDOM);
        else
            for (int r = 0; r < ROWS; r++) t->quantize(x + r * N, w + r * row_bytes, N, NULL);
        from_float_fn from_float = kernels_for(ISA_SCALAR, dt->id)->from_float;
        for (int j = 0; j < NACT; j++) {
            if (from_float)
                from_float(x + j * N, act + j * act_bytes, N);
            else
                dt->quantize(x + j * N, act + j * act_bytes, N, NULL);
        }
        for (int nrows = 1; nrows <= ROWS; nrows++)
            for (int nact = 1; nact <= NACT; nact++) {
                float s[NACT * S_STRIDE];
                tk->vec_dot_tile(N, s, S_STRIDE, w, row_bytes, nrows, act, act_bytes, nact);
                for (int j = 0; j < nact; j++)
                    for (int r = 0; r < nrows; r++) {
                        float want = NAN;
                        tk->vec_dot(N, &want, w + r * row_bytes, act + j * act_bytes);
                        CHECK_MSG(!memcmp(&want, &s[j * S_STRIDE + r], sizeof want),
                                  "%s %s %dx%d (%d,%d): %.9g row %.9g", t->name, which, nrows, nact,
                                  r, j, s[j * S_STRIDE + r], want);
                    }
            }
    }
}

TEST(neon_tiles_equal_row_kernels) {
    if (!kernels_isa_supported(ISA_NEON))
        SKIP("the CPU has no NEON (not an aarch64 build): make test-arm runs this");
    REQUIRE(kernels_init("neon", NULL) == 0);
#if defined(__aarch64__)
    static isa_kernels k;
    for (int dotprod = 0; dotprod <= neon_cpu_has_dotprod(); dotprod++) {
        memset(&k, 0, sizeof k);
        neon_install_int8(&k, dotprod);
        check_tiles(&k, dotprod ? "neon sdot" : "plain neon");
    }
#endif
}

/* The Q8_0 activation quantizer gives the reference's bytes: random rows at three scales, an
 * all-zero block, exact halves (ties round to even in both) and +-amax. */
TEST(neon_q8_0_activations_equal_reference_bytes) {
    if (!kernels_isa_supported(ISA_NEON))
        SKIP("the CPU has no NEON (not an aarch64 build): make test-arm runs this");
    REQUIRE(kernels_init("neon", NULL) == 0);
    from_float_fn neon = kernels_for(ISA_NEON, QT_Q8_0)->from_float;
    from_float_fn ref = kernels_for(ISA_SCALAR, QT_Q8_0)->from_float;
    REQUIRE(neon && ref);
    CHECK(neon != ref);
    enum { N = 64 * QK32 };
    static float x[N];
    static block_q8_0 qn[N / QK32], qr[N / QK32];
    rng = 0x9e3779b97f4a7c15ull;
    const float scales[3] = {1.0f, 3e4f, 1e-3f};
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++)
            x[i] = ((float)(next_u32() % 20001) / 10000 - 1) * scales[round];
        memset(x + QK32, 0, QK32 * sizeof(float)); /* all-zero block */
        for (int j = 0; j < QK32; j++) x[2 * QK32 + j] = (float)(j - 16) + 0.5f; /* ties */
        x[2 * QK32] = -127.0f, x[3 * QK32 + 7] = 1e6f, x[3 * QK32 + 9] = -1e6f;
        neon(x, qn, N);
        ref(x, qr, N);
        CHECK_MSG(!memcmp(qn, qr, sizeof qn), "round %d: NEON bytes differ from the reference",
                  round);
    }
}
