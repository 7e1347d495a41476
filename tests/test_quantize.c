/* test_quantize.c - scarce quantize / imatrix: per-tensor types and fallbacks read back
 * from the written files, metadata kept, quantized models run, accuracy against F32
 * (teacher-forced top-1 and KL over tinystories), atomic failure, imatrix effect. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../engine/gguf.h"
#include "../engine/quantize_model.h"
#include "../engine/tokenizer.h"
#include "../kernels/cpu.h"
#include "../quant/policy.h"
#include "../quant/types.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"
#define VALID "data/tinystories-valid.txt"

static int quantize_to(const char *in, const char *out, const char *type, const char *imatrix,
                       quantize_report *rep) {
    quantize_opts o = {.n_threads = 2, .imatrix_path = imatrix};
    scarce_error err;
    int rc = quantize_model(in, out, type, &o, rep, &err);
    if (rc) fprintf(stderr, "quantize %s: %s\n", type, err.msg);
    return rc;
}

static int keys_equal(const gguf_kv *a, const gguf_kv *b) {
    if (a->type != b->type || strcmp(a->key, b->key)) return 0;
    if (a->type == GGUF_STRING) return a->str_len == b->str_len && !memcmp(a->str, b->str, a->str_len);
    if (a->type != GGUF_ARRAY) return a->i64 == b->i64 && a->u64 == b->u64 && a->f64 == b->f64;
    if (a->arr_type != b->arr_type || a->arr_n != b->arr_n) return 0;
    for (uint64_t i = 0; i < a->arr_n; i++) {
        if (a->arr_type == GGUF_STRING) {
            if (a->arr_str_len[i] != b->arr_str_len[i] || memcmp(a->arr_str[i], b->arr_str[i], a->arr_str_len[i]))
                return 0;
        } else if (gguf_arr_f64(a, i) != gguf_arr_f64(b, i)) {
            return 0;
        }
    }
    return 1;
}

static int decided_here(const char *key) {
    return !strcmp(key, "general.file_type") || !strcmp(key, "scarce.types") ||
           !strcmp(key, "general.quantization_version");
}

/* Re-reads out and checks it against in: same keys (but the ones quantize sets), same
 * tensor names and shapes, the types the policy announced, scarce.types iff own types. */
static void check_written(const char *in, const char *out, const quant_scheme *s,
                          const quantize_report *rep) {
    scarce_error err;
    gguf_file *a = gguf_open(in, &err), *b = gguf_open(out, &err);
    REQUIRE(a && b);
    uint64_t n_a = 0, n_b = 0;
    for (uint64_t i = 0; i < a->n_kv; i++) n_a += !decided_here(a->kv[i].key);
    for (uint64_t i = 0; i < b->n_kv; i++) n_b += !decided_here(b->kv[i].key);
    CHECK_EQ_INT(n_b, n_a);
    for (uint64_t i = 0; i < a->n_kv; i++) {
        if (decided_here(a->kv[i].key)) continue;
        const gguf_kv *kb = gguf_find(b, a->kv[i].key);
        CHECK_MSG(kb && keys_equal(&a->kv[i], kb), "%s: key %s differs", s->name, a->kv[i].key);
    }
    int64_t ft = -1;
    CHECK(!gguf_get_i64(b, "general.file_type", &ft, &err) && ft == s->file_type);
    REQUIRE(a->n_tensors == b->n_tensors && rep->n_tensors == (int)b->n_tensors);
    int own = 0;
    for (uint64_t i = 0; i < a->n_tensors; i++) {
        const gguf_tensor *ta = &a->tensors[i], *tb = &b->tensors[i];
        CHECK(!strcmp(ta->name, tb->name) && ta->n_dims == tb->n_dims);
        CHECK(!memcmp(ta->ne, tb->ne, sizeof ta->ne));
        CHECK_EQ_INT(tb->type, rep->tensors[i].type);
        own |= qtype(tb->type)->is_scarce;
        if (ta->n_dims == 1) CHECK_EQ_INT(tb->type, QT_F32);
        /* a tensor not in the base type says why */
        if (tb->type != s->base && ta->n_dims > 1)
            CHECK_MSG(rep->tensors[i].reason[0], "%s: %s is %s without a reason", s->name,
                      ta->name, qtype(tb->type)->name);
    }
    CHECK_EQ_INT(gguf_find(b, "scarce.types") != NULL, own);
    gguf_close(a), gguf_close(b);
}

static const char *tmp_file(const char *name) {
    static char buf[4][512];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    return p;
}

/* stories260K: rows of 64 (fit block 32, not 256) and ffn_down rows of 172 (fit nothing). */
TEST(quantize_stories_every_type) {
    const char *in = shared_path(STORIES);
    NEED_FILE(in);
    kernels_init(NULL, NULL);
    static const char *types[] = {"f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1",
                                  "iq4_nl", "q2_0_32", "q2_k", "q3_k", "q4_k",
                                  "q5_k", "q6_k", "q4_k_m", "q2_k_m"};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const quant_scheme *s = quant_scheme_by_name(types[k]);
        const char *out = tmp_file("s.gguf");
        quantize_report rep;
        REQUIRE(s && quantize_to(in, out, types[k], NULL, &rep) == 0);
        check_written(in, out, s, &rep);
        for (int i = 0; i < rep.n_tensors; i++) {
            const quantize_tensor_info *t = &rep.tensors[i];
            if (strstr(t->name, "ffn_down")) { /* 172: no block fits -> f16, and it says so */
                CHECK_EQ_INT(t->type, s->base == QT_BF16 ? QT_BF16 : QT_F16);
                if (qtype(s->base)->block > 1) CHECK(strstr(t->reason, "fallback") != NULL);
            } else if (strstr(t->name, "attn_q")) { /* 64: llama.cpp's fallback table */
                uint32_t want = s->base == QT_Q2_K || s->base == QT_Q3_K ? QT_Q4_0
                              : s->base == QT_Q4_K ? QT_Q5_0 : s->base == QT_Q5_K ? QT_Q5_1
                              : s->base == QT_Q6_K ? QT_Q8_0 : s->base;
                CHECK_MSG(t->type == want, "%s: %s is %s", types[k], t->name, qtype(t->type)->name);
            }
            if (t->type != QT_F32 && t->type != QT_F16 && t->type != QT_BF16)
                CHECK_MSG(t->rmse > 0 && t->rmse < (t->type == QT_Q2_0_32 ? 0.5 : 0.25) * t->rms_source, "%s: %s rmse %g of %g",
                          types[k], t->name, t->rmse, t->rms_source);
        }
        quantize_report_free(&rep);
        scarce_error err;
        model *m = model_load(out, NULL, &err);
        CHECK_MSG(m != NULL, "%s: %s", types[k], err.msg);
        model_free(m);
    }
}

/* A model of 256-multiple rows: every K-quant applies without fallback; generation runs. */
TEST(quantize_synthetic_kquants) {
    const char *vocab = shared_path(STORIES);
    NEED_FILE(vocab);
    kernels_init(NULL, NULL);
    const char *f32 = tmp_file("syn.gguf");
    char cmd[2048], *out = NULL, *errs = NULL;
    snprintf(cmd, sizeof cmd, "%s mkmodel -o %s --vocab %s --n-embd 256 --n-layer 1 --n-head 4 "
             "--n-head-kv 4 --n-ff 512 --seed 3", scarce_bin(), f32, vocab);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    static const char *types[] = {"q2_k", "q3_k", "q4_k", "q5_k", "q6_k", "q4_k_m", "q2_k_m"};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        const quant_scheme *s = quant_scheme_by_name(types[k]);
        const char *q = tmp_file("syn-q.gguf");
        quantize_report rep;
        REQUIRE(quantize_to(f32, q, types[k], NULL, &rep) == 0);
        check_written(f32, q, s, &rep);
        for (int i = 0; i < rep.n_tensors; i++) {
            const quantize_tensor_info *t = &rep.tensors[i];
            CHECK_MSG(!strstr(t->reason, "fallback"), "%s: %s: %s", types[k], t->name, t->reason);
            if (!strcmp(t->name, "output.weight")) CHECK_EQ_INT(t->type, QT_Q6_K);
            else if (strstr(t->name, "attn_q")) CHECK_EQ_INT(t->type, s->base);
        }
        quantize_report_free(&rep);
        snprintf(cmd, sizeof cmd, "%s run -m %s -n 20 --temp 0 -t 1 -p \"Once upon a time\"",
                 scarce_bin(), q);
        CHECK_EQ_INT(run_cmd(cmd, &out, &errs), 0);
        CHECK_MSG(out && strlen(out) > strlen("Once upon a time"), "%s: output '%s'", types[k], out ? out : "");
        free(out), free(errs);
        out = errs = NULL;
    }
}

typedef struct {
    double mean_kl; /* mean over positions of KL(p_f32 || p_quant) */
    double top1;    /* fraction of positions whose argmax agrees */
} agreement;

/* log-softmax of n logits into out */
static void log_softmax(const float *x, int n, double *out) {
    double mx = x[0], sum = 0;
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    for (int i = 0; i < n; i++) sum += exp(x[i] - mx);
    double lse = mx + log(sum);
    for (int i = 0; i < n; i++) out[i] = x[i] - lse;
}

/* Teacher-forced comparison over ids[0..n) in windows of `window` tokens. */
static int compare_models(const char *ref_path, const char *q_path, const int *ids, int n,
                          int window, agreement *a) {
    scarce_error err;
    model *mr = model_load(ref_path, NULL, &err), *mq = model_load(q_path, NULL, &err);
    session sr, sq;
    int rc = -1;
    if (!mr || !mq || session_init(&sr, mr, window, &err)) goto out_models;
    if (session_init(&sq, mq, window, &err)) goto out_sr;
    const int V = mr->cfg.n_vocab;
    double *lp = malloc(sizeof(double) * V), *lq = malloc(sizeof(double) * V), kl_sum = 0;
    long n_pos = 0, same = 0;
    for (int w0 = 0; w0 + window <= n; w0 += window) {
        kvcache_truncate(&sr.cache, 0), kvcache_truncate(&sq.cache, 0);
        const float *r = forward(&sr, ids + w0, window, 1, &err);
        const float *q = r ? forward(&sq, ids + w0, window, 1, &err) : NULL;
        if (!q) goto out;
        for (int t = 0; t < window; t++, n_pos++) {
            log_softmax(r + (size_t)t * V, V, lp);
            log_softmax(q + (size_t)t * V, V, lq);
            int ar = 0, aq = 0;
            double kl = 0;
            for (int i = 0; i < V; i++) {
                kl += exp(lp[i]) * (lp[i] - lq[i]);
                if (lp[i] > lp[ar]) ar = i;
                if (lq[i] > lq[aq]) aq = i;
            }
            kl_sum += kl;
            same += ar == aq;
        }
    }
    a->mean_kl = kl_sum / (double)n_pos;
    a->top1 = (double)same / (double)n_pos;
    rc = 0;
out:
    free(lp), free(lq);
    session_free(&sq);
out_sr:
    session_free(&sr);
out_models:
    if (rc) fprintf(stderr, "compare: %s\n", err.msg);
    model_free(mr), model_free(mq);
    return rc;
}

/* First n_max token ids of tinystories-valid in stories260K's vocabulary. */
static int valid_tokens(const char *model_path, int *ids, int n_max) {
    size_t len = 0;
    char *text = read_file(shared_path(VALID), &len);
    scarce_error err;
    gguf_file *f = gguf_open(model_path, &err);
    tokenizer *tok = f ? tokenizer_load(f, &err) : NULL;
    int n = -1;
    if (text && tok) {
        if (len > (size_t)n_max * 8) text[n_max * 8] = 0; /* ~4 bytes/token: plenty */
        int cap = (int)strlen(text) + 2;
        int *all = malloc(sizeof(int) * cap);
        n = all ? tokenizer_encode(tok, text, 1, all, cap, &err) : -1;
        if (n > n_max) n = n_max;
        if (n > 0) memcpy(ids, all, sizeof(int) * n);
        free(all);
    }
    tokenizer_free(tok), gguf_close(f), free(text);
    return n;
}

/* Accuracy against F32 on stories260K: thresholds for 8-bit, the order of the families. */
TEST(quantize_accuracy_stories) {
    const char *in = shared_path(STORIES);
    NEED_FILE(in);
    NEED_SHARED(VALID);
    kernels_init(NULL, NULL);
    enum { N = 2048, WINDOW = 256 };
    int *ids = malloc(sizeof(int) * N);
    REQUIRE(ids && valid_tokens(in, ids, N) == N);
    static const char *types[] = {"q8_0", "fp8_e4m3", "q4_0", "q2_0_32"};
    agreement a[4];
    for (int k = 0; k < 4; k++) {
        const char *q = tmp_file("acc.gguf");
        quantize_report rep;
        REQUIRE(quantize_to(in, q, types[k], NULL, &rep) == 0);
        quantize_report_free(&rep);
        REQUIRE(compare_models(in, q, ids, N, WINDOW, &a[k]) == 0);
        printf("  %-9s mean KL %.6f  top-1 %.2f%%\n", types[k], a[k].mean_kl, 100 * a[k].top1);
    }
    CHECK_MSG(a[0].top1 >= 0.97, "q8_0 top-1 %.4f", a[0].top1);
    CHECK_MSG(a[1].top1 >= 0.90, "fp8_e4m3 top-1 %.4f", a[1].top1);
    for (int k = 0; k + 1 < 4; k++)
        CHECK_MSG(a[k].mean_kl < a[k + 1].mean_kl, "KL of %s (%g) not below %s (%g)", types[k],
                  a[k].mean_kl, types[k + 1], a[k + 1].mean_kl);
    free(ids);
}

/* Writes a 2-tensor model whose second tensor holds a NaN at element 37. */
static void write_nan_model(const char *path) {
    scarce_error err;
    gguf_writer *w = gguf_writer_new();
    gguf_writer_set_str(w, "general.architecture", "llama");
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = (float)sin(i);
    int64_t ne[2] = {32, 2};
    CHECK(gguf_writer_add_tensor(w, "a.weight", QT_F32, 2, ne, &err) == 0);
    CHECK(gguf_writer_add_tensor(w, "b.weight", QT_F32, 2, ne, &err) == 0);
    CHECK(gguf_writer_open(w, path, &err) == 0);
    CHECK(gguf_writer_write(w, x, sizeof x, &err) == 0);
    x[37] = NAN;
    CHECK(gguf_writer_write(w, x, sizeof x, &err) == 0);
    CHECK(gguf_writer_finish(w, &err) == 0);
    gguf_writer_free(w);
}

/* NaN in the input: an error naming the tensor and the index, and nothing on disk. */
TEST(quantize_nan_leaves_no_file) {
    kernels_init(NULL, NULL);
    const char *in = tmp_file("nan.gguf"), *out = tmp_file("nan-q8.gguf");
    write_nan_model(in);
    scarce_error err;
    quantize_opts o = {.n_threads = 1};
    CHECK(quantize_model(in, out, "q8_0", &o, NULL, &err) == -1);
    CHECK_MSG(strstr(err.msg, "b.weight") && strstr(err.msg, "37"), "message: %s", err.msg);
    CHECK(!file_exists(out));
    DIR *d = opendir(test_tmpdir());
    REQUIRE(d);
    for (struct dirent *e; (e = readdir(d));)
        CHECK_MSG(!strstr(e->d_name, "nan-q8"), "left behind: %s", e->d_name);
    closedir(d);
    CHECK(quantize_model(in, out, "q9_9", &o, NULL, &err) == -1 && strstr(err.msg, "q9_9"));
}

/* llama.cpp's Q4_K_M on 32 layers: attn_v/ffn_down in q6_k for use_more_bits layers. */
TEST(quantize_policy_q4_k_m) {
    const quant_scheme *s = quant_scheme_by_name("Q4_K_M");
    REQUIRE(s && s->file_type == 15);
    policy_model pm = {.n_layer = 32, .n_gqa = 8, .has_output = 1};
    char why[160], name[64];
    int n_q6 = 0;
    for (int l = 0; l < 32; l++) {
        snprintf(name, sizeof name, "blk.%d.attn_v.weight", l);
        uint32_t t = policy_tensor_type(s, &pm, name, 2, 2048, why, sizeof why);
        int more = l < 4 || l >= 28 || (l - 4) % 3 == 2;
        CHECK_EQ_INT(t, more ? QT_Q6_K : QT_Q4_K);
        n_q6 += t == QT_Q6_K;
        snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
        CHECK_EQ_INT(policy_tensor_type(s, &pm, name, 2, 5632, why, sizeof why),
                     more ? QT_Q6_K : QT_Q4_K);
    }
    CHECK_EQ_INT(n_q6, 16);
    CHECK_EQ_INT(policy_tensor_type(s, &pm, "output.weight", 2, 2048, why, sizeof why), QT_Q6_K);
    CHECK_EQ_INT(policy_tensor_type(s, &pm, "token_embd.weight", 2, 2048, why, sizeof why), QT_Q4_K);
    CHECK_EQ_INT(policy_tensor_type(s, &pm, "blk.0.attn_norm.weight", 1, 2048, why, sizeof why), QT_F32);
    /* fallbacks: llama.cpp's table, then f16 */
    CHECK_EQ_INT(policy_fallback(QT_Q2_K, 64), QT_Q4_0);
    CHECK_EQ_INT(policy_fallback(QT_IQ2_XXS, 64), QT_IQ4_NL);
    CHECK_EQ_INT(policy_fallback(QT_TQ1_0, 576), QT_Q4_0);
    CHECK_EQ_INT(policy_fallback(QT_Q6_K, 64), QT_Q8_0);
    /* ours where llama.cpp refuses: Q1_0 -> Q2_0 (block 64) -> Q4_0 (block 32) */
    CHECK_EQ_INT(policy_fallback(QT_Q1_0, 576), QT_Q2_0);
    CHECK_EQ_INT(policy_fallback(QT_Q1_0, 96), QT_Q4_0);
    CHECK_EQ_INT(policy_fallback(QT_Q1_0, 640), QT_Q1_0);
    CHECK_EQ_INT(policy_fallback(QT_Q4_K, 172), QT_F16);
    CHECK_EQ_INT(policy_fallback(QT_Q4_K, 512), QT_Q4_K);
    const quant_scheme *m2 = quant_scheme_by_name("q2_k_m");
    CHECK_EQ_INT(policy_tensor_type(m2, &pm, "blk.3.ffn_down.weight", 2, 5632, why, sizeof why), QT_Q3_K);
    CHECK_EQ_INT(policy_tensor_type(m2, &pm, "blk.3.attn_v.weight", 2, 2048, why, sizeof why), QT_Q4_K);
}

/* llama.cpp's IQ, TQ and MXFP4 mixes (llama_tensor_get_type, llama-quant.cpp) on a 32-layer
 * model, and which tensors it refuses to write without an importance matrix. */
TEST(quantize_policy_iq_mixes) {
    policy_model gqa8 = {.n_layer = 32, .n_gqa = 8, .has_output = 1};
    policy_model mha = {.n_layer = 32, .n_gqa = 1, .has_output = 1};
    char why[160];
#define TYPE_OF(scheme, pm, name, dims)                                                      \
    policy_tensor_type(quant_scheme_by_name(scheme), &(pm), name, dims, 2048, why, sizeof why)
    const quant_scheme *m = quant_scheme_by_name("iq2_m");
    REQUIRE(m && m->base == QT_IQ2_S && m->file_type == 29);
    CHECK_EQ_INT(TYPE_OF("iq2_m", gqa8, "blk.5.attn_v.weight", 2), QT_Q4_K);
    CHECK_EQ_INT(TYPE_OF("iq2_m", mha, "blk.5.attn_v.weight", 2), QT_IQ3_S);
    CHECK_EQ_INT(TYPE_OF("iq2_m", mha, "blk.0.ffn_down.weight", 2), QT_IQ3_S);
    CHECK_EQ_INT(TYPE_OF("iq2_m", mha, "blk.10.ffn_down.weight", 2), QT_IQ2_S);
    CHECK_EQ_INT(TYPE_OF("iq2_m", mha, "blk.10.attn_output.weight", 2), QT_IQ3_S);
    CHECK_EQ_INT(TYPE_OF("iq2_m", mha, "output.weight", 2), QT_Q5_K);
    CHECK_EQ_INT(TYPE_OF("iq2_m", mha, "token_embd.weight", 2), QT_IQ3_S);
    CHECK_EQ_INT(TYPE_OF("iq3_xs", mha, "blk.0.attn_q.weight", 2), QT_IQ3_XXS);
    CHECK_EQ_INT(TYPE_OF("iq3_xs", mha, "blk.0.attn_k.weight", 2), QT_IQ3_XXS);
    CHECK_EQ_INT(TYPE_OF("iq3_xs", mha, "blk.10.ffn_gate.weight", 2), QT_IQ3_XXS);
    CHECK_EQ_INT(TYPE_OF("iq3_xs", mha, "blk.0.ffn_up.weight", 2), QT_IQ3_S);
    CHECK_EQ_INT(TYPE_OF("iq3_xs", gqa8, "blk.3.attn_v.weight", 2), QT_Q4_K);
    CHECK_EQ_INT(TYPE_OF("iq3_m", mha, "blk.3.attn_v.weight", 2), QT_Q4_K);
    CHECK_EQ_INT(TYPE_OF("iq3_m", mha, "blk.3.attn_output.weight", 2), QT_Q4_K);
    CHECK_EQ_INT(TYPE_OF("iq3_m", mha, "blk.0.ffn_down.weight", 2), QT_Q4_K);
    CHECK_EQ_INT(TYPE_OF("iq3_m", mha, "blk.10.ffn_down.weight", 2), QT_IQ3_S);
    /* the plain IQ/TQ schemes follow llama.cpp's file type of the same name */
    CHECK_EQ_INT(TYPE_OF("iq2_xxs", mha, "token_embd.weight", 2), QT_Q2_K);
    CHECK_EQ_INT(TYPE_OF("iq2_xxs", mha, "output.weight", 2), QT_Q5_K);
    CHECK_EQ_INT(TYPE_OF("iq2_xxs", mha, "blk.7.attn_v.weight", 2), QT_Q2_K);
    CHECK_EQ_INT(TYPE_OF("iq2_xxs", mha, "blk.7.ffn_down.weight", 2), QT_IQ2_XXS);
    CHECK_EQ_INT(TYPE_OF("iq1_s", mha, "blk.7.attn_output.weight", 2), QT_IQ2_XXS);
    CHECK_EQ_INT(TYPE_OF("iq3_xxs", mha, "blk.7.attn_q.weight", 2), QT_IQ2_S);
    CHECK_EQ_INT(TYPE_OF("tq1_0", mha, "token_embd.weight", 2), QT_Q4_K);
    CHECK_EQ_INT(TYPE_OF("tq2_0", mha, "output.weight", 2), QT_Q6_K);
    /* mxfp4 stays whole; mxfp4_moe: experts (3-D) MXFP4, everything else Q8_0 */
    CHECK_EQ_INT(TYPE_OF("mxfp4", mha, "blk.0.attn_q.weight", 2), QT_MXFP4);
    CHECK_EQ_INT(TYPE_OF("mxfp4_moe", mha, "blk.0.ffn_up_exps.weight", 3), QT_MXFP4);
    CHECK_EQ_INT(TYPE_OF("mxfp4_moe", mha, "blk.0.attn_q.weight", 2), QT_Q8_0);
    CHECK_EQ_INT(TYPE_OF("mxfp4_moe", mha, "output.weight", 2), QT_Q8_0);
    /* 8 experts: attn_v in Q8_0, attn_k in Q4_K for the 2-bit IQ types */
    policy_model moe8 = {.n_layer = 32, .n_gqa = 4, .n_expert = 8, .has_output = 1};
    CHECK_EQ_INT(TYPE_OF("q4_k_m", moe8, "blk.1.attn_v.weight", 2), QT_Q8_0);
    CHECK_EQ_INT(TYPE_OF("iq2_xs", moe8, "blk.1.attn_k.weight", 2), QT_Q4_K);
#undef TYPE_OF
    const quant_scheme *x = quant_scheme_by_name("iq2_xxs"), *k2s = quant_scheme_by_name("q2_k_s"),
                       *k2m = quant_scheme_by_name("q2_k_m");
    CHECK(policy_needs_imatrix(x, "blk.0.attn_q.weight", QT_IQ2_XXS));
    CHECK(!policy_needs_imatrix(x, "token_embd.weight", QT_IQ2_XXS));
    CHECK(!policy_needs_imatrix(x, "blk.0.attn_v.weight", QT_Q2_K));
    CHECK(policy_needs_imatrix(k2s, "blk.0.attn_q.weight", QT_Q2_K));
    CHECK(!policy_needs_imatrix(k2m, "blk.0.attn_q.weight", QT_Q2_K));
    CHECK(!policy_needs_imatrix(x, "blk.0.attn_q.weight", QT_IQ3_S));
}

/* sum_j imp_j * (w_ij - q_ij)^2 over a tensor of a quantized file, imp from an imatrix
 * (its "<name>.in_sum2": E[x_j^2] times the rows seen, the same for every j) */
static double weighted_error(const char *ref, const char *q, const char *imatrix, const char *name) {
    scarce_error err;
    gguf_file *a = gguf_open(ref, &err), *b = gguf_open(q, &err), *im = gguf_open(imatrix, &err);
    double e = -1;
    const gguf_tensor *ta = a ? gguf_find_tensor(a, name) : NULL;
    const gguf_tensor *tb = b ? gguf_find_tensor(b, name) : NULL;
    char sum_name[256];
    snprintf(sum_name, sizeof sum_name, "%s.in_sum2", name);
    const gguf_tensor *ti = im ? gguf_find_tensor(im, sum_name) : NULL;
    if (ta && tb && ti && ta->type == QT_F32) {
        const int64_t ne0 = ta->ne[0], rows = ta->ne[1];
        float *row = malloc(sizeof(float) * ne0);
        const size_t rb = qtype_row_bytes(tb->type, ne0);
        e = 0;
        for (int64_t r = 0; r < rows; r++) {
            qtype(tb->type)->dequantize((const uint8_t *)tb->data + r * rb, row, ne0);
            for (int64_t j = 0; j < ne0; j++) {
                double d = row[j] - ((const float *)ta->data)[r * ne0 + j];
                e += ((const float *)ti->data)[j] * d * d;
            }
        }
        free(row);
    }
    gguf_close(a), gguf_close(b), gguf_close(im);
    return e;
}

/* scarce imatrix writes E[x^2] per column; quantize --imatrix lowers the weighted error. */
TEST(quantize_imatrix) {
    const char *in = shared_path(STORIES);
    NEED_FILE(in);
    NEED_SHARED(VALID);
    kernels_init(NULL, NULL);
    const char *imf = tmp_file("im.gguf"), *q_plain = tmp_file("plain.gguf"), *q_im = tmp_file("imq.gguf");
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s imatrix -m %s -f %s -c 128 --chunks 4 -o %s -t 1", scarce_bin(),
             in, shared_path(VALID), imf);
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    free(out);
    scarce_error err;
    gguf_file *im = gguf_open(imf, &err);
    REQUIRE(im);
    int64_t chunks = 0;
    CHECK(!gguf_get_i64(im, "imatrix.chunk_count", &chunks, &err) && chunks == 4);
    /* in_sum2 and counts of q k v o gate up down per layer + output (llama.cpp's layout) */
    CHECK_EQ_INT(im->n_tensors, 2 * (5 * 7 + 1));
    const gguf_tensor *t = gguf_find_tensor(im, "blk.0.ffn_down.weight.in_sum2");
    REQUIRE(t && t->type == QT_F32 && t->ne[0] == 172);
    const float *v = gguf_find_tensor(im, "blk.2.attn_q.weight.in_sum2")->data;
    double lo = 1e30, hi = 0;
    for (int j = 0; j < 64; j++) lo = fmin(lo, v[j]), hi = fmax(hi, v[j]);
    CHECK(lo > 0 && hi > lo); /* rmsnorm outputs: positive, uneven across columns */
    gguf_close(im);
    quantize_report rep;
    REQUIRE(quantize_to(in, q_plain, "q2_0_32", NULL, &rep) == 0);
    quantize_report_free(&rep);
    REQUIRE(quantize_to(in, q_im, "q2_0_32", imf, &rep) == 0);
    CHECK_EQ_INT(rep.n_imatrix_used, 5 * 7 + 1);
    CHECK_EQ_INT(rep.imatrix_chunks, 4);
    quantize_report_free(&rep);
    static const char *names[] = {"blk.0.attn_q.weight", "blk.3.ffn_gate.weight", "output.weight"};
    for (int k = 0; k < 3; k++) {
        double e_plain = weighted_error(in, q_plain, imf, names[k]);
        double e_im = weighted_error(in, q_im, imf, names[k]);
        CHECK_MSG(e_im >= 0 && e_im < e_plain, "%s: weighted error %g with imatrix, %g without",
                  names[k], e_im, e_plain);
    }
}
