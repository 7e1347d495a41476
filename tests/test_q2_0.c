/* test_q2_0.c - llama.cpp's Q2_0 (ggml type 42, blocks of 64): dequantize equals ggml on
 * hand-made blocks, the quantizer's error is below ggml's rule, the AVX2 dot equals the
 * reference bit for bit, and a file written by `scarce quantize ... q2_0` runs.
 *
 * The expected values were computed with the llama.cpp build's ggml (llama-cpp-python
 * 0.3.36's vendor tree, /work/cache/llama/build/bin/libggml-base.so): a C program filled two
 * blocks as make_blocks() does and printed
 *     ggml_get_type_traits(GGML_TYPE_Q2_0)->to_float(blocks, y, 128)
 * as y / d, checked to be an integer t with t * d == y exactly, one character per element
 * ("-0+2" for -1, 0, 1, 2). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/gguf.h"
#include "../kernels/cpu.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "quant_data.h"
#include "quantize_run.h"
#include "test.h"

static const uint16_t block_d[2] = {0x3C00, 0xB555}; /* 1.0, -0.333 */
static const char *ggml_symbols[2] = {
    "2+----2-0000++20220+-0-20++2+2--2-2--+000220+-++20-2-2+20-0-+02-",
    "--20000+++2+2202-0--0++-+2-02-20-+0+022++-+220---2+-0-00+0202+0+"};

static void make_blocks(block_q2_0 *b) {
    for (int k = 0; k < 2; k++) {
        b[k].d = block_d[k];
        for (int j = 0; j < 16; j++) b[k].qs[j] = (uint8_t)((j * 37 + 101 * k + 11) & 255);
    }
}

TEST(q2_0_dequantize_equals_ggml) {
    const quant_type *t = qtype(QT_Q2_0);
    REQUIRE(t && t->id == 42 && t->block == 64 && t->block_bytes == 18 && !t->is_scarce);
    REQUIRE(kernels_init(NULL, NULL) == 0);
    block_q2_0 b[2];
    make_blocks(b);
    for (int isa = 0; isa < ISA_COUNT; isa++) {
        if (!kernels_isa_supported(isa)) continue;
        float y[128];
        kernels_for(isa, QT_Q2_0)->dequantize(b, y, 128);
        int bad = 0;
        for (int k = 0; k < 2; k++)
            for (int j = 0; j < 64; j++) {
                float want = (float)(strchr("-0+2", ggml_symbols[k][j]) - "-0+2" - 1) *
                             fp16_to_f32(block_d[k]);
                if (memcmp(&y[64 * k + j], &want, sizeof want) && !bad++)
                    test_fail_at(__FILE__, __LINE__, "%s: block %d element %d: %g, ggml %g",
                                 kernels_isa_name(isa), k, j, y[64 * k + j], want);
            }
    }
}

/* ggml's rule (quantize_row_q2_0_ref): d = amax, q = round(x / d) + 1 clamped to 0..3 (so it
 * never uses the code for +2d). */
static void ggml_rule_roundtrip(const float *x, float *y) {
    float amax = 0;
    for (int j = 0; j < 64; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = fp16_to_f32(f32_to_fp16(amax)), id = amax > 0 ? 1.0f / amax : 0.0f;
    for (int j = 0; j < 64; j++) {
        int q = (int)roundf(x[j] * id) + 1;
        y[j] = (float)((q < 0 ? 0 : q > 3 ? 3 : q) - 1) * d;
    }
}

/* Relative RMSE measured (2026, this quantizer; ggml's rule in brackets): uniform 0.308
 * [0.490], gauss 0.350 [0.706], outliers 0.129 [0.202]; the bounds are ~25% above ours. */
TEST(q2_0_quantize_below_ggml_error) {
    enum { N = 64 * 128 };
    static const double bound[3] = {0.385, 0.44, 0.165};
    const quant_type *t = qtype(QT_Q2_0);
    static float x[N], y[N], g[N];
    static block_q2_0 q[N / 64];
    for (int kind = 0; kind < 3; kind++) {
        fill_data(kind, x, N, 60 + kind);
        t->quantize(x, q, N, NULL);
        t->dequantize(q, y, N);
        for (int b = 0; b < N / 64; b++) ggml_rule_roundtrip(x + 64 * b, g + 64 * b);
        double ours = rmse_of(x, y, N) / rms_of(x, N), theirs = rmse_of(x, g, N) / rms_of(x, N);
        printf("    q2_0 %-8s rel rmse %.4f, ggml's rule %.4f\n", data_names[kind], ours, theirs);
        CHECK_MSG(ours < theirs && ours < bound[kind], "%s: rel rmse %g (ggml %g, bound %g)",
                  data_names[kind], ours, theirs, bound[kind]);
    }
}

static uint64_t rng = 0xfeedfacecafebeefull;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

/* Random, extreme (every code 3 against +-127) and tail (1..9 and 33 blocks) inputs. */
TEST(q2_0_avx2_dot_equals_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    vec_dot_fn ref = kernels_for(ISA_SCALAR, QT_Q2_0)->vec_dot;
    vec_dot_fn simd = kernels_for(ISA_AVX2, QT_Q2_0)->vec_dot;
    REQUIRE(ref && simd && simd != ref);
    enum { NB_MAX = 33 };
    static block_q2_0 w[NB_MAX];
    static block_q8_0 a[2 * NB_MAX];
    for (int nb = 1; nb <= NB_MAX; nb += nb < 9 ? 1 : 24)
        for (int extreme = 0; extreme < 2; extreme++) {
            for (int i = 0; i < nb; i++) {
                w[i].d = f32_to_fp16(extreme ? 65504.0f : (float)(next_u32() % 2001) / 1000 - 1);
                for (int j = 0; j < 16; j++) w[i].qs[j] = (uint8_t)(extreme ? 0xFF : next_u32());
            }
            for (int i = 0; i < 2 * nb; i++) {
                a[i].d = f32_to_fp16(extreme ? 1e-3f : (float)(next_u32() % 1000) / 1e4f);
                for (int j = 0; j < 32; j++)
                    a[i].qs[j] =
                        (int8_t)(extreme ? (j % 2 ? -127 : 127) : (int)(next_u32() % 255) - 127);
            }
            float s_ref = NAN, s_simd = NAN;
            ref(nb * 64, &s_ref, w, a);
            simd(nb * 64, &s_simd, w, a);
            CHECK_MSG(!memcmp(&s_ref, &s_simd, sizeof s_ref), "nb=%d extreme=%d: %.9g ref %.9g", nb,
                      extreme, s_simd, s_ref);
        }
}

TEST(q2_0_quantized_model_runs) {
    const char *in = shared_path("models/stories260K.gguf");
    NEED_FILE(in);
    char out_path[512];
    snprintf(out_path, sizeof out_path, "%s/q2_0.gguf", test_tmpdir());
    char *text = quantize_and_run(in, out_path, "q2_0", 16);
    CHECK(text != NULL);
    free(text);
    scarce_error err;
    gguf_file *f = gguf_open(out_path, &err);
    REQUIRE(f);
    int64_t ft = -1;
    CHECK(!gguf_get_i64(f, "general.file_type", &ft, &err) && ft == 41); /* llama.cpp's Q2_0 */
    int n_q2_0 = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) n_q2_0 += f->tensors[i].type == QT_Q2_0;
    CHECK(n_q2_0 > 0 && !gguf_find(f, "scarce.types"));
    gguf_close(f);
}
