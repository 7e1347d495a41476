/* test_iq.c - the IQ formats of 256-element super-blocks (table `cases`): dequantize equals
 * ggml's on pseudo-random blocks, and every SIMD dot equals the scalar reference bit for bit
 * (same exact integer sum per super-block, same float order) on random, extreme and tail
 * (1..9 super-blocks, and 40) inputs.
 *
 * How the expected hashes were recorded: a throwaway C program (not in the repository)
 * linked against the llama.cpp build's ggml (/work/cache/llama/build/bin/libggml-base.so,
 * llama-cpp-python 0.3.36's vendor tree) filled N_BLOCKS blocks exactly as
 * quant_data.h's ggml_probe_blocks does,
 * called ggml_get_type_traits(type)->to_float on them and printed the FNV-1a 64 hash of the
 * float bits (hash_floats) and the first values; both are checked here. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../kernels/cpu.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "isa_util.h"
#include "quant_data.h"
#include "quantize_run.h"
#include "shared_data.h"
#include "test.h"

enum { N_BLOCKS = 8 };

typedef struct {
    uint32_t id;
    int d_offset;       /* byte offset of the fp16 d in a block; -1: IQ1_M's scale nibbles */
    uint64_t ggml_hash; /* of ggml's to_float on ggml_probe_blocks() */
    float first[4];     /* ggml's first four values */
    double gauss_bound; /* ggml's relative RMSE on Gaussian data: ours must be below */
} iq_case;

static const iq_case cases[] = {
    {QT_IQ4_XS, 0, 0x159c1122215599e9ull, {0x1.5ep+9, 0x1.6cp+8, -0x1.57p+10, 0x1.6cp+8}, 0.0752},
    {QT_IQ2_XXS, 0, 0x73e24ae7000429a0ull, {-0x1.cp+2, 0x1.5ep+4, -0x1.5ep+4, 0x1.cp+2}, 0.3424},
    {QT_IQ2_XS, 0, 0x7298de965daceb75ull, {-0x1.6p+3, 0x1.6p+3, -0x1.6p+3, 0x1.6p+3}, 0.2983},
    {QT_IQ2_S, 0, 0x9a5d2d63c2aade88ull, {-0x1.bp+4, 0x1.bp+4, -0x1.518p+6, 0x1.224p+7}, 0.2466},
    {QT_IQ3_XXS, 0, 0x52ad634383052e91ull, {-0x1.08p+5, -0x1.34p+6, -0x1.b8p+5, 0x1.6p+3}, 0.1811},
    {QT_IQ3_S, 0, 0xe112ad2662862961ull, {0x1.7p+4, -0x1.7p+4, 0x1.7p+4, -0x1.59p+8}, 0.1361},
    {QT_IQ1_S, 0, 0x31b7b030e56d9b18ull, {-0x1.ap+0, 0x1.6cp+3, -0x1.ap+0, 0x1.6cp+3}, 0.4850},
    {QT_IQ1_M, -1, 0x42a684a226f5e0d3ull, {0x1.34p+3, -0x1.8cp+3, 0x1.34p+3, 0x1.34p+3}, 0.4525},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

/* Writes the fp16 d of a block: at d_offset, or (IQ1_M) into the top nibbles of its 4
 * little-endian scale words at byte 48. */
static void put_d(const iq_case *c, uint8_t *block, uint16_t d) {
    if (c->d_offset >= 0) {
        memcpy(block + c->d_offset, &d, 2);
        return;
    }
    for (int k = 0; k < 4; k++) {
        uint16_t sc;
        memcpy(&sc, block + 48 + 2 * k, 2);
        sc = (uint16_t)((sc & 0x0fff) | ((d >> 4 * k) & 15) << 12);
        memcpy(block + 48 + 2 * k, &sc, 2);
    }
}

static uint64_t rng;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

TEST(iq_dequantize_equals_ggml) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    static uint8_t blocks[N_BLOCKS * 256];
    static float y[N_BLOCKS * QK_K];
    for (int c = 0; c < N_CASES; c++) {
        const quant_type *t = qtype(cases[c].id);
        REQUIRE(t && t->block == QK_K && !t->is_scarce && t->block_bytes <= 256);
        CHECK(qtype_by_name(t->name) == t);
        ggml_probe_blocks(blocks, t->block_bytes, N_BLOCKS, t->id, cases[c].d_offset);
        if (cases[c].d_offset < 0) /* the probe's d values (quant_data.h), as IQ1_M keeps d */
            for (int i = 0; i < N_BLOCKS; i++)
                put_d(&cases[c], blocks + i * t->block_bytes,
                      (const uint16_t[4]){0x3C00, 0xB555, 0x1400, 0x5BFF}[i % 4]);
        for (int isa = 0; isa < ISA_COUNT; isa++) {
            if (!kernels_isa_supported(isa)) continue;
            memset(y, 0, sizeof y);
            kernels_for(isa, t->id)->dequantize(blocks, y, N_BLOCKS * QK_K);
            CHECK_MSG(hash_floats(y, N_BLOCKS * QK_K) == cases[c].ggml_hash,
                      "%s %s: hash %#llx, ggml %#llx", t->name, kernels_isa_name(isa),
                      (unsigned long long)hash_floats(y, N_BLOCKS * QK_K),
                      (unsigned long long)cases[c].ggml_hash);
            for (int k = 0; k < 4; k++)
                CHECK_MSG(y[k] == cases[c].first[k], "%s %s: y[%d] %a, ggml %a", t->name,
                          kernels_isa_name(isa), k, y[k], cases[c].first[k]);
        }
    }
}

/* nb super-blocks: random bytes (fill < 0) or all `fill`, d random in (-0.5, 0.5) or
 * 65504; Q8_K activations random in [-127, 127] or +-127, bsums consistent. */
static void random_operands(const iq_case *c, uint8_t *w, block_q8_K *a, int nb, int fill) {
    size_t bb = qtype(c->id)->block_bytes;
    for (int i = 0; i < nb; i++) {
        uint8_t *b = w + i * bb;
        for (size_t j = 0; j < bb; j++) b[j] = (uint8_t)(fill < 0 ? next_u32() : (uint32_t)fill);
        uint16_t d = f32_to_fp16(fill >= 0 ? 65504.0f : (float)(next_u32() % 1000) / 997 - 0.5f);
        put_d(c, b, d);
        a[i].d = fill >= 0 ? 1e-3f : (float)(next_u32() % 1000) / 1e5f;
        for (int j = 0; j < QK_K; j++)
            a[i].qs[j] = (int8_t)(fill >= 0 ? (j % 3 ? 127 : -127) : (int)(next_u32() % 255) - 127);
        for (int s = 0; s < 16; s++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += a[i].qs[16 * s + j];
            a[i].bsums[s] = (int16_t)sum;
        }
    }
}

static void check_dots(isa_level isa) {
    enum { NB_MAX = 40 };
    static uint8_t w[NB_MAX * 256];
    static block_q8_K a[NB_MAX];
    const int fills[3] = {-1, 0x00, 0xFF};
    rng = 0x0123456789abcdefull;
    for (int c = 0; c < N_CASES; c++) {
        const quant_type *t = qtype(cases[c].id);
        vec_dot_fn ref = kernels_for(ISA_SCALAR, t->id)->vec_dot;
        vec_dot_fn simd = kernels_for(isa, t->id)->vec_dot;
        REQUIRE(ref && simd);
        CHECK_MSG(simd != ref, "%s has no %s dot", t->name, kernels_isa_name(isa));
        for (int nb = 1; nb <= NB_MAX; nb += nb < 9 ? 1 : 31)
            for (int f = 0; f < 3; f++) {
                random_operands(&cases[c], w, a, nb, fills[f]);
                float s_ref = NAN, s_simd = NAN;
                ref(nb * QK_K, &s_ref, w, a);
                simd(nb * QK_K, &s_simd, w, a);
                CHECK_MSG(!memcmp(&s_ref, &s_simd, sizeof s_ref),
                          "%s %s nb=%d fill=%d: %.9g ref %.9g", t->name, kernels_isa_name(isa), nb,
                          fills[f], s_simd, s_ref);
            }
    }
}

TEST(iq_avx2_dot_equals_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    check_dots(ISA_AVX2);
}

TEST(iq_avx512_dot_equals_reference) {
    SKIP_WITHOUT_AVX512();
    REQUIRE(kernels_init(NULL, NULL) == 0);
    for (int c = 0; c < N_CASES; c++) /* its own kernel, not AVX2's carried over */
        CHECK_MSG(kernels_for(ISA_AVX512, cases[c].id)->vec_dot !=
                      kernels_for(ISA_AVX2, cases[c].id)->vec_dot,
                  "%s has no avx512 dot", qtype(cases[c].id)->name);
    check_dots(ISA_AVX512);
}

/* Edge codes: for v = 0 .. 255, super-block 0 all bytes v (every 8-bit index, explicit sign
 * byte and scale nibble), 1 the ramp v + j (each byte position through every value, with its
 * index's high bits and 7-bit sign codes), 2 v ^ 0x5a j; d at 65504 or random; activations
 * +-127 (block 0) or random. Each SIMD dot and 3 x 3 tile equals the reference bit for bit. */
static void check_edges(isa_level isa) {
    enum { NB = 3, NACT = 3 };
    static uint8_t w[NACT * NB * 256];
    static block_q8_K a[NACT * NB];
    rng = 0xed6eed6eed6eed6eull;
    for (int c = 1; c < N_CASES; c++) {
        const quant_type *t = qtype(cases[c].id);
        const type_kernels *k = kernels_for(isa, t->id);
        const size_t bb = t->block_bytes, row_bytes = NB * bb;
        int bad = 0;
        for (int v = 0; v < 256 && !bad; v++) {
            for (int r = 0; r < NACT; r++) {
                random_operands(&cases[c], w + r * row_bytes, a + r * NB, NB, -1);
                uint8_t *b = w + r * row_bytes;
                for (size_t j = 0; j < bb; j++)
                    b[j] = (uint8_t)v, b[bb + j] = (uint8_t)(v + j + r),
                    b[2 * bb + j] = (uint8_t)(v ^ (0x5a * j));
                put_d(&cases[c], b, f32_to_fp16(r ? 65504.0f : 0.37f));
                put_d(&cases[c], b + bb, f32_to_fp16(-1.5f));
                for (int j = 0; j < QK_K; j++) a[r * NB].qs[j] = (int8_t)((j + v) % 3 ? 127 : -127);
            }
            float tile[NACT * NACT];
            k->vec_dot_tile(NB * QK_K, tile, NACT, w, row_bytes, NACT, a, NB * sizeof(block_q8_K),
                            NACT);
            for (int r = 0; r < NACT; r++)
                for (int j = 0; j < NACT; j++) {
                    float ref = NAN, simd = NAN;
                    kernels_for(ISA_SCALAR, t->id)
                        ->vec_dot(NB * QK_K, &ref, w + r * row_bytes, a + j * NB);
                    k->vec_dot(NB * QK_K, &simd, w + r * row_bytes, a + j * NB);
                    bad += memcmp(&ref, &simd, sizeof ref) ||
                           memcmp(&ref, &tile[j * NACT + r], sizeof ref);
                    CHECK_MSG(!bad, "%s %s v=%d (%d,%d): dot %.9g tile %.9g ref %.9g", t->name,
                              kernels_isa_name(isa), v, r, j, simd, tile[j * NACT + r], ref);
                }
        }
    }
}

TEST(iq_avx2_edge_codes_equal_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    check_edges(ISA_AVX2);
}

TEST(iq_avx512_edge_codes_equal_reference) {
    SKIP_WITHOUT_AVX512();
    REQUIRE(kernels_init(NULL, NULL) == 0);
    check_edges(ISA_AVX512);
}

/* The tiles (each sub-block unpacked once for several tokens) equal the scalar reference
 * bit for bit for every (row, token): 3 rows x 1..9 tokens (tails of the 4-token groups). */
static void check_tiles(isa_level isa) {
    enum { NB = 3, ROWS = 3, NACT = 9 };
    static uint8_t w[ROWS * NB * 256];
    static block_q8_K a[NACT * NB];
    rng = 0x5eed5eed5eed5eedull;
    for (int c = 0; c < N_CASES; c++) {
        const quant_type *t = qtype(cases[c].id);
        vec_dot_tile_fn tile = kernels_for(isa, t->id)->vec_dot_tile;
        if (t->id == QT_IQ4_XS) continue; /* its own kernels (test_iq4_xs.c) */
        CHECK_MSG(tile, "%s has no %s tile", t->name, kernels_isa_name(isa));
        if (!tile) continue;
        const size_t row_bytes = NB * t->block_bytes;
        for (int r = 0; r < ROWS; r++) random_operands(&cases[c], w + r * row_bytes, a, NB, -1);
        for (int j = 0; j < NACT; j++)
            random_operands(&cases[c], w + 2 * row_bytes, a + j * NB, NB, -1);
        for (int nact = 1; nact <= NACT; nact++) {
            float s[NACT * ROWS];
            tile(NB * QK_K, s, ROWS, w, row_bytes, ROWS, a, NB * sizeof(block_q8_K), nact);
            for (int j = 0; j < nact; j++)
                for (int r = 0; r < ROWS; r++) {
                    float ref = NAN;
                    kernels_for(ISA_SCALAR, t->id)
                        ->vec_dot(NB * QK_K, &ref, w + r * row_bytes, a + j * NB);
                    CHECK_MSG(!memcmp(&ref, &s[j * ROWS + r], sizeof ref),
                              "%s %s nact=%d (%d,%d): %.9g ref %.9g", t->name,
                              kernels_isa_name(isa), nact, r, j, s[j * ROWS + r], ref);
                }
        }
    }
}

TEST(iq_avx2_tile_equals_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    check_tiles(ISA_AVX2);
}

TEST(iq_avx512_tile_equals_reference) {
    SKIP_WITHOUT_AVX512();
    REQUIRE(kernels_init(NULL, NULL) == 0);
    check_tiles(ISA_AVX512);
}

/* Our quantizers are at most as far off as ggml's: relative RMSE on 16 x 256 Gaussian
 * values below ggml's on the same kind of data (64 x 256 standard normal values through
 * ggml_quantize_chunk with unit importance, in the throwaway program above): iq4_xs 0.0752,
 * iq2_xxs 0.3424, iq2_xs 0.2983, iq2_s 0.2466, iq3_xxs 0.1811, iq3_s 0.1361, iq1_s 0.4850,
 * iq1_m 0.4525. Ours measured (2026): 0.0727, 0.3263, 0.2844, 0.2365, 0.1768, 0.1296, and
 * IQ1 (weights sqrt(sigma2 + x^2) as llama.cpp's, importance 1) below. */
TEST(iq_quantize_at_most_ggml_error) {
    enum { N = 16 * QK_K };
    static float x[N], y[N];
    static uint8_t q[N];
    fill_data(DATA_GAUSS, x, N, 123);
    for (int c = 0; c < N_CASES; c++) {
        const quant_type *t = qtype(cases[c].id);
        REQUIRE(t->quantize);
        t->quantize(x, q, N, NULL);
        t->dequantize(q, y, N);
        double rel = rmse_of(x, y, N) / rms_of(x, N);
        printf("    %-8s gauss rel rmse %.4f\n", t->name, rel);
        CHECK_MSG(rel < cases[c].gauss_bound, "%s: rel rmse %g, bound %g", t->name, rel,
                  cases[c].gauss_bound);
    }
}

/* The codebook types (IQ4_XS: test_iq4_xs.c) written by `scarce quantize` load and run. */
TEST(iq_quantized_models_run) {
    static const char *const types[] = {"iq2_xxs", "iq2_xs", "iq2_s", "iq3_xxs", "iq3_s"};
    int ran = synthetic_model_runs(types, 5, 256, 11);
    if (ran < 0) SKIP("models/stories260K.gguf not found");
    CHECK(ran == 5);
}

/* Without an importance matrix the sub-3-bit IQ types are refused as llama.cpp refuses them:
 * one line naming the scheme, the tensor and the option, exit 1, no output file. */
TEST(iq_quantize_refuses_without_imatrix) {
    const char *vocab = shared_path("models/stories260K.gguf");
    if (!file_exists(vocab)) SKIP("models/stories260K.gguf not found");
    char f32[512], out[512], cmd[2048], *errs = NULL;
    snprintf(f32, sizeof f32, "%s/noimx.gguf", test_tmpdir());
    snprintf(out, sizeof out, "%s/noimx-iq2.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "%s mkmodel -o %s --vocab %s --n-embd 256 --n-layer 1 --n-head 4 --n-head-kv 4 "
             "--n-ff 256 --seed 3",
             scarce_bin(), f32, vocab);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    snprintf(cmd, sizeof cmd, "%s quantize %s %s iq2_xxs", scarce_bin(), f32, out);
    CHECK(run_cmd(cmd, NULL, &errs) == 1);
    CHECK_MSG(errs && strstr(errs, "iq2_xxs needs an importance matrix (--imatrix FILE") &&
                  strstr(errs, "blk.0."),
              "printed: %s", errs ? errs : "");
    CHECK(!file_exists(out));
    free(errs);
}

/* llama-quantize's IQ1 files of SmolLM2-135M load and run, and predict llama.cpp's greedy
 * next token after "The capital of France is" (token ids from llama-tokenize; most of
 * SmolLM2's matrices have rows of 576, no multiple of 256, so llama-quantize keeps those in
 * IQ4_NL and only the rest are IQ1). Made with llama.cpp 0c1e570 (not in the repository):
 *   scarce imatrix -m smollm2-f16.gguf -f wikitext-2-test.raw (first 60000 bytes) -c 256
 *       --chunks 20 -o smol.imatrix, rewritten as llama.cpp's imatrix GGUF (X.in_sum2 and
 *       X.counts tensors, imatrix.datasets), then
 *   llama-quantize --allow-requantize --imatrix smol2.imatrix smollm2-f16.gguf
 *       models/smollm2-iq1_s.gguf IQ1_S   (and IQ1_M)
 *   llama-completion -m FILE -p "The capital of France is" -n 32 --temp 0 -fa off
 *       -ctk f32 -ctv f32 -no-cnv --no-warmup   (first token: IQ1_S " Paris" 7042, IQ1_M
 *       " Latin" 5671; scarce's IQ1_M greedy text equals llama.cpp's for 12 tokens there) */
TEST(iq1_llama_quantize_files_run) {
    static const struct {
        const char *file;
        uint32_t type;
        int next;
    } files[] = {{"smollm2-iq1_s.gguf", QT_IQ1_S, 7042}, {"smollm2-iq1_m.gguf", QT_IQ1_M, 5671}};
    const int prompt[] = {504, 3575, 282, 4649, 314};
    int ran = 0;
    REQUIRE(kernels_init(NULL, NULL) == 0);
    for (int f = 0; f < 2; f++) {
        const char *path = real_model_path(files[f].file);
        if (!path) continue;
        scarce_error err = {0};
        model *m = model_load(path, NULL, &err);
        CHECK_MSG(m, "%s: %s", files[f].file, err.msg);
        if (!m) continue;
        int n_type = 0;
        for (uint64_t i = 0; i < m->file->n_tensors; i++)
            n_type += m->file->tensors[i].type == files[f].type;
        CHECK_MSG(n_type > 0, "%s has no %s matrix", files[f].file, qtype(files[f].type)->name);
        session s;
        const float *logits = NULL;
        if (session_init(&s, m, 64, &err) == 0) {
            logits = forward(&s, prompt, 5, 0, &err);
            CHECK_MSG(logits, "%s: %s", files[f].file, err.msg);
            int best = 0;
            for (int v = 0; logits && v < m->cfg.n_vocab; v++) {
                CHECK(isfinite(logits[v]));
                if (logits[v] > logits[best]) best = v;
            }
            CHECK_MSG(!logits || best == files[f].next, "%s: greedy token %d, llama.cpp's %d",
                      files[f].file, best, files[f].next);
            session_free(&s);
            ran++;
        }
        model_free(m);
    }
    if (!ran) SKIP("models/smollm2-iq1_s.gguf / smollm2-iq1_m.gguf not found (made as above)");
}

/* SCARCE_KBENCH=1: TSC ticks per 256 weights of each codebook format's dot, per ISA, the
 * least of 300 calls over 64 rows x 4096 (one Q8_K row: decode) and of 100 tile calls with 8
 * tokens (per token: prefill). Figures, not checks; run under the bench lock (BRIEF). */
static uint64_t tsc_now(void) {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#else
    return 0; /* the test skips: TSC ticks are an x86 figure */
#endif
}

TEST(iq_kbench) {
    const char *on = getenv("SCARCE_KBENCH");
    if (!on || strcmp(on, "1") != 0) SKIP("set SCARCE_KBENCH=1 for the kernel figures");
#if !defined(__x86_64__)
    SKIP("TSC ticks: x86 only");
#endif
    REQUIRE(kernels_init(NULL, NULL) == 0);
    enum { ROWS = 64, NB = 16, NTOK = 8 };
    static uint8_t w[ROWS * NB * 256];
    static block_q8_K a[NTOK * NB];
    rng = 0xbe7cbe7cbe7cbe7cull;
    fprintf(stderr, "%-8s %-7s %10s %10s\n", "type", "isa", "dot t/256", "tile t/256");
    for (int c = 1; c < N_CASES; c++) {
        const quant_type *t = qtype(cases[c].id);
        const size_t row_bytes = NB * t->block_bytes;
        for (int j = 0; j < NTOK; j++) random_operands(&cases[c], w, a + j * NB, NB, -1);
        for (int r = 0; r < ROWS; r++) random_operands(&cases[c], w + r * row_bytes, a, NB, -1);
        for (int isa = ISA_AVX2; isa < ISA_COUNT; isa++) {
            if (!kernels_isa_supported(isa)) continue;
            const type_kernels *k = kernels_for(isa, t->id);
            uint64_t best = UINT64_MAX, best_tile = UINT64_MAX;
            static float s[NTOK * ROWS];
            for (int rep = 0; rep < 300; rep++) {
                uint64_t t0 = tsc_now();
                for (int r = 0; r < ROWS; r++) k->vec_dot(NB * QK_K, s + r, w + r * row_bytes, a);
                uint64_t dt = tsc_now() - t0;
                if (dt < best) best = dt;
            }
            for (int rep = 0; k->vec_dot_tile && rep < 100; rep++) {
                uint64_t t0 = tsc_now();
                k->vec_dot_tile(NB * QK_K, s, ROWS, w, row_bytes, ROWS, a, NB * sizeof(block_q8_K),
                                NTOK);
                uint64_t dt = tsc_now() - t0;
                if (dt < best_tile) best_tile = dt;
            }
            fprintf(stderr, "%-8s %-7s %10.1f %10.1f\n", t->name, kernels_isa_name(isa),
                    (double)best / (ROWS * NB), (double)best_tile / (ROWS * NB * NTOK));
        }
    }
    CHECK(1);
}
