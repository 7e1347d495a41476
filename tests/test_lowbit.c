/* test_lowbit.c - NVFP4 (ggml type 40) and Q1_0 (41): dequantize equals ggml's on
 * pseudo-random blocks, the quantizers are never worse than ggml's rule, the AVX2 dots
 * agree with the reference on random, extreme and tail inputs, and files written by
 * `scarce quantize` in each type run.
 *
 * How the expected hashes were recorded: a throwaway C program (not in the repository)
 * linked against the llama.cpp build's ggml (/work/cache/llama/build/bin/libggml-base.so,
 * llama-cpp-python 0.3.36's vendor tree) filled 8 blocks as quant_data.h's
 * ggml_probe_blocks does (Q1_0's fp16 d at offset 0, NVFP4 all random bytes), called
 * ggml_get_type_traits(type)->to_float and printed the FNV-1a 64 hash of the float bits and the
 * first values. NVFP4's random scale bytes cover normal, denormal, 0 and the NaN code 0x7F (which
 * ggml reads as 0). */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../kernels/cpu.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "quant_data.h"
#include "quantize_run.h"
#include "shared_data.h"
#include "test.h"

enum { N_BLOCKS = 8 };

typedef struct {
    uint32_t id;
    int d_offset; /* fp16 d, or -1 */
    uint64_t ggml_hash;
    float first[4];
} lowbit_case;

static const lowbit_case cases[] = {
    {QT_NVFP4, -1, 0xc50df49e470afc63ull, {0x1.2p-1, -0x1.2p-1, -0x1.8p-3, 0x1.8p-1}},
    {QT_Q1_0, 0, 0x61b18679f300ed03ull, {-0x1p+0, -0x1p+0, -0x1p+0, 0x1p+0}},
};
enum { N_CASES = sizeof cases / sizeof cases[0] };

static uint64_t rng;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

TEST(lowbit_dequantize_equals_ggml) {
    static uint8_t blocks[N_BLOCKS * 64];
    static float y[N_BLOCKS * 128];
    for (int c = 0; c < N_CASES; c++) {
        const quant_type *t = qtype(cases[c].id);
        REQUIRE(t && !t->is_scarce && t->block_bytes <= 64 && t->block <= 128);
        CHECK(qtype_by_name(t->name) == t);
        ggml_probe_blocks(blocks, t->block_bytes, N_BLOCKS, t->id, cases[c].d_offset);
        int64_t n = N_BLOCKS * t->block;
        t->dequantize(blocks, y, n);
        CHECK_MSG(hash_floats(y, n) == cases[c].ggml_hash, "%s: hash %#llx, ggml %#llx", t->name,
                  (unsigned long long)hash_floats(y, n), (unsigned long long)cases[c].ggml_hash);
        for (int k = 0; k < 4; k++)
            CHECK_MSG(y[k] == cases[c].first[k], "%s: y[%d] %a, ggml %a", t->name, k, y[k],
                      cases[c].first[k]);
    }
    /* the UE4M3 scale's ends: denormal 1 = 2^-9, 0x7E = 448, NaN code 0x7F reads 0 (halved) */
    CHECK(ue4m3_half(1) == 0x1p-10f && ue4m3_half(0x7E) == 224.0f && ue4m3_half(0x7F) == 0);
    CHECK(ue4m3_half(0x38) == 0.5f && ue4m3_half(0x08) == 0x1p-7f);
}

/* ggml's rules as yardsticks, returning the dequantized values: NVFP4 takes the scale
 * nearest amax / 6 per sub-block of 16 and the nearest codes; Q1_0 the signs times
 * mean |x|. */
static void ggml_rule_roundtrip(uint32_t id, const float *x, float *y, int64_t n) {
    if (id == QT_Q1_0) {
        for (int64_t b = 0; b < n / 128; b++) {
            float sum = 0;
            for (int j = 0; j < 128; j++) sum += fabsf(x[128 * b + j]);
            float d = fp16_to_f32(f32_to_fp16(sum / 128));
            for (int j = 0; j < 128; j++) y[128 * b + j] = x[128 * b + j] >= 0 ? d : -d;
        }
        return;
    }
    for (int64_t b = 0; b < n / 16; b++) {
        const float *xb = x + 16 * b;
        float amax = 0;
        for (int j = 0; j < 16; j++) amax = fmaxf(amax, fabsf(xb[j]));
        int best = 0;
        for (int c = 1; c < 0x7F; c++)
            if (fabsf(2 * ue4m3_half(c) - amax / 6) < fabsf(2 * ue4m3_half(best) - amax / 6))
                best = c;
        float d = ue4m3_half(best);
        for (int j = 0; j < 16; j++) {
            int k = 0;
            for (int q = 1; q < 16; q++)
                if (fabsf(kvalues_mxfp4[q] * d - xb[j]) < fabsf(kvalues_mxfp4[k] * d - xb[j]))
                    k = q;
            y[16 * b + j] = kvalues_mxfp4[k] * d;
        }
    }
}

/* Relative RMSE measured (2026; ggml's rule in brackets), uniform / gauss / outliers:
 * nvfp4 0.0785 / 0.0810 / 0.0397 [0.1018 / 0.0945 / 0.0418]; q1_0 0.5004 / 0.6014 / 0.9837
 * [the same: its d is already the least-squares one for the sign codes]. Bounds ~20% over,
 * and at most 1 (q1_0's outliers: one value in 64 at 100x leaves the rest near zero). */
TEST(lowbit_quantize_at_most_ggml_error) {
    enum { N = 8192 };
    static const double bound[N_CASES][3] = {{0.095, 0.1, 0.05}, {0.6, 0.72, 1.0}};
    static float x[N], y[N], g[N];
    static uint8_t q[N];
    for (int c = 0; c < N_CASES; c++) {
        const quant_type *t = qtype(cases[c].id);
        REQUIRE(t->quantize);
        for (int kind = 0; kind < 3; kind++) {
            fill_data(kind, x, N, 90 + kind);
            t->quantize(x, q, N, NULL);
            t->dequantize(q, y, N);
            ggml_rule_roundtrip(t->id, x, g, N);
            const int worse = blocks_worse(x, y, g, N, t->block);
            double ours = rmse_of(x, y, N) / rms_of(x, N), theirs = rmse_of(x, g, N) / rms_of(x, N);
            printf("    %-6s %-8s rel rmse %.4f, ggml's rule %.4f\n", t->name, data_names[kind],
                   ours, theirs);
            CHECK_MSG(worse == 0, "%s %s: %d blocks worse than ggml's rule", t->name,
                      data_names[kind], worse);
            CHECK_MSG(ours < bound[c][kind], "%s %s: rel rmse %g, bound %g", t->name,
                      data_names[kind], ours, bound[c][kind]);
        }
    }
}

/* nb weight blocks (random bytes, or all `fill`) with sane scales, and Q8_0 activations
 * (random in [-127, 127], or +-127 when fill >= 0). */
static void random_operands(const lowbit_case *c, uint8_t *w, block_q8_0 *a, int nb, int fill) {
    const quant_type *t = qtype(c->id);
    for (int i = 0; i < nb; i++) {
        uint8_t *b = w + i * t->block_bytes;
        for (size_t j = 0; j < t->block_bytes; j++)
            b[j] = (uint8_t)(fill < 0 ? next_u32() : (uint32_t)fill);
        if (c->d_offset >= 0) {
            uint16_t d = f32_to_fp16(fill >= 0 ? 65504.0f : (float)(next_u32() % 1000) / 997);
            memcpy(b + c->d_offset, &d, 2);
        } else if (fill >= 0) {
            memset(b, 0x7E, 4); /* the largest NVFP4 scales */
        }
    }
    for (int i = 0; i < nb * t->block / 32; i++) {
        a[i].d = f32_to_fp16(fill >= 0 ? 1e-3f : (float)(next_u32() % 1000) / 1e5f);
        for (int j = 0; j < 32; j++)
            a[i].qs[j] = (int8_t)(fill >= 0 ? (j % 3 ? 127 : -127) : (int)(next_u32() % 255) - 127);
    }
}

/* The integer sums are exact in both; the float sums differ only in order:
 * |simd - ref| <= (n / 32 + 16) FLT_EPSILON sum |w_i a_i| (as test_kernels.c). */
TEST(lowbit_avx2_dot_equals_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    enum { NB_MAX = 64 };
    static uint8_t w[NB_MAX * 36];
    static block_q8_0 a[NB_MAX * 4];
    static float wf[NB_MAX * 128], af[NB_MAX * 128];
    const int fills[3] = {-1, 0x00, 0xFF};
    rng = 0x0123456789abcdefull;
    for (int c = 0; c < N_CASES; c++) {
        const quant_type *t = qtype(cases[c].id);
        vec_dot_fn ref = kernels_for(ISA_SCALAR, t->id)->vec_dot;
        vec_dot_fn simd = kernels_for(ISA_AVX2, t->id)->vec_dot;
        REQUIRE(ref && simd && simd != ref);
        for (int nb = 1; nb <= NB_MAX; nb += nb < 9 ? 1 : 27)
            for (int f = 0; f < 3; f++) {
                random_operands(&cases[c], w, a, nb, fills[f]);
                int64_t n = nb * t->block;
                float s_ref = NAN, s_simd = NAN;
                ref(n, &s_ref, w, a);
                simd(n, &s_simd, w, a);
                t->dequantize(w, wf, n);
                qtype(QT_Q8_0)->dequantize(a, af, n);
                double mag = 0;
                for (int64_t k = 0; k < n; k++) mag += fabs((double)wf[k] * af[k]);
                double tol = ((double)n / 32 + 16) * FLT_EPSILON * mag;
                CHECK_MSG(fabs((double)s_simd - s_ref) <= tol, "%s nb=%d fill=%d: %.9g ref %.9g",
                          t->name, nb, fills[f], s_simd, s_ref);
            }
    }
}

TEST(lowbit_quantized_models_run) {
    static const char *const types[] = {"nvfp4", "q1_0"};
    int ran = synthetic_model_runs(types, 2, 512, 9);
    if (ran < 0) SKIP("models/stories260K.gguf not found");
    CHECK(ran == 2);
}

/* A copy of f at path: every tensor, blk.0.ffn_down.weight times `times` (f32), plus the
 * tensor blk.0.ffn_down.scale = scale when scale != 0. */
static int write_scaled_copy(const gguf_file *f, const char *path, float times, float scale,
                             scarce_error *err) {
    gguf_writer *w = gguf_writer_new();
    int rc = 0;
    const int64_t one = 1;
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_copy_kv(w, &f->kv[i]);
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++)
        rc = gguf_writer_add_tensor(w, f->tensors[i].name, f->tensors[i].type, f->tensors[i].n_dims,
                                    f->tensors[i].ne, err);
    const int has_scale = scale != 0 || signbit(scale); /* +0: no scale tensor; -0: store it */
    if (!rc && has_scale)
        rc = gguf_writer_add_tensor(w, "blk.0.ffn_down.scale", QT_F32, 1, &one, err);
    if (!rc) rc = gguf_writer_open(w, path, err);
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (strcmp(t->name, "blk.0.ffn_down.weight")) {
            rc = gguf_writer_write(w, t->data, t->bytes, err);
            continue;
        }
        float *x = malloc(t->bytes);
        memcpy(x, t->data, t->bytes);
        for (size_t k = 0; k < t->bytes / 4; k++) x[k] *= times;
        rc = gguf_writer_write(w, x, t->bytes, err);
        free(x);
    }
    if (!rc && has_scale) rc = gguf_writer_write(w, &scale, 4, err);
    if (!rc) rc = gguf_writer_finish(w, err);
    gguf_writer_free(w);
    return rc;
}

/* Greedy logits of 6 tokens fed one by one (the last step's), into out[n_vocab]. */
static int last_logits(const char *path, float *out, int n_vocab, scarce_error *err) {
    model *m = model_load(path, NULL, err);
    if (!m) return -1;
    session s;
    int rc = session_init(&s, m, 32, err);
    const float *logits = NULL;
    for (int i = 0; i < 6 && !rc; i++) {
        const int token = 1 + 37 * i;
        if (!(logits = forward(&s, &token, 1, 0, err))) rc = -1;
    }
    if (!rc) memcpy(out, logits, (size_t)n_vocab * sizeof(float));
    if (m && !rc) session_free(&s);
    model_free(m);
    return rc;
}

/* NVFP4's per-tensor scale as llama.cpp stores it: an f32 tensor "X.scale" of one element
 * beside "X.weight" multiplies X's product. On stories260K (f32), a scale of 2 on
 * blk.0.ffn_down gives the logits of that matrix doubled in place, bit for bit (a power of
 * two commutes with every rounding), and differs from the unscaled model. */
TEST(nvfp4_per_tensor_scale_multiplies_the_product) {
    model *m = shared_model("models/stories260K.gguf");
    if (!m) return;
    char scaled[512], doubled[512];
    snprintf(scaled, sizeof scaled, "%s/scale_tensor.gguf", test_tmpdir());
    snprintf(doubled, sizeof doubled, "%s/doubled.gguf", test_tmpdir());
    scarce_error err = {0};
    const int n_vocab = m->cfg.n_vocab;
    float *a = malloc(3 * (size_t)n_vocab * sizeof(float)), *b = a + n_vocab, *plain = b + n_vocab;
    int rc = write_scaled_copy(m->file, scaled, 1.0f, 2.0f, &err) ||
             write_scaled_copy(m->file, doubled, 2.0f, 0.0f, &err) ||
             last_logits(scaled, a, n_vocab, &err) || last_logits(doubled, b, n_vocab, &err) ||
             last_logits(m->file->path, plain, n_vocab, &err);
    CHECK_MSG(!rc, "%s", err.msg);
    CHECK(!rc && memcmp(a, b, (size_t)n_vocab * sizeof(float)) == 0);
    CHECK(!rc && memcmp(a, plain, (size_t)n_vocab * sizeof(float)) != 0);
    free(a);
    model_free(m);
}

TEST(nvfp4_per_tensor_scale_must_be_finite_and_nonzero) {
    model *m = shared_model("models/stories260K.gguf");
    if (!m) return;
    const float bad[] = {NAN, INFINITY, -0.0f};
    for (int i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/bad_scale%d.gguf", test_tmpdir(), i);
        scarce_error err = {0};
        int rc = write_scaled_copy(m->file, path, 1.0f, bad[i], &err);
        CHECK_MSG(!rc, "%s", err.msg);
        if (rc) continue;
        model *bad_model = model_load(path, NULL, &err);
        CHECK_MSG(bad_model == NULL, "scale %g was accepted", bad[i]);
        CHECK_MSG(strstr(err.msg, "blk.0.ffn_down.scale") != NULL, "%s", err.msg);
        if (bad_model) model_free(bad_model);
    }
    model_free(m);
}
