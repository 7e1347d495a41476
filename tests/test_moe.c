/* test_moe.c - mixture of experts: routing rule, upcycling (noise 0 = the dense function),
 * routing against a reference computed from the tensors, counters, weight bytes per token,
 * batched against one-token forward. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../engine/moe.h"
#include "../engine/tokenizer.h"
#include "../kernels/cpu.h"
#include "../quant/types.h"
#include "test.h"

static const char *stories(void) { return shared_path("models/stories260K.gguf"); }

/* scarce upcycle stories260K -> tmpdir/name; 0 on success. */
static int upcycle(const char *name, double noise, int seed, char *out, size_t cap) {
    char cmd[1024];
    snprintf(out, cap, "%s/%s", test_tmpdir(), name);
    snprintf(cmd, sizeof cmd, "%s upcycle %s %s --experts 4 --used 2 --noise %g --seed %d",
             scarce_bin(), stories(), out, noise, seed);
    return run_cmd(cmd, NULL, NULL);
}

static void some_tokens(int *t, int n, int vocab, uint32_t x) {
    t[0] = 1;
    for (int i = 1; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        t[i] = 3 + (int)((x >> 8) % (uint32_t)(vocab - 3));
    }
}

/* Greedy continuation of prompt: n_gen ids into out; returns how many were made. */
static int greedy(const model *m, const int *prompt, int n_prompt, int n_gen, int *out) {
    scarce_error err;
    session s;
    if (session_init(&s, m, 256, &err)) return -1;
    const float *logits = forward(&s, prompt, n_prompt, 0, &err);
    int n = 0;
    while (logits && n < n_gen) {
        int best = 0;
        for (int v = 1; v < m->cfg.n_vocab; v++)
            if (logits[v] > logits[best]) best = v;
        out[n++] = best;
        logits = forward(&s, &best, 1, 0, &err);
    }
    session_free(&s);
    return n;
}

TEST(moe_route_rules) {
    float logits[8] = {0.1f, 2.0f, -1.0f, 1.5f, 0.3f, 2.0f, -3.0f, 0.0f};
    int chosen[3];
    float w[3];
    double p[8], z = 0;
    for (int e = 0; e < 8; e++) z += exp(logits[e]);
    for (int e = 0; e < 8; e++) p[e] = exp(logits[e]) / z;
    const moe_rule renorm = {.gating = MOE_GATING_SOFTMAX, .norm = 1, .scale = 1.0f};
    moe_route(&renorm, logits, NULL, 8, 3, chosen, w);
    CHECK_EQ_INT(chosen[0], 1); /* tie 1 vs 5: the lower index first */
    CHECK_EQ_INT(chosen[1], 5);
    CHECK_EQ_INT(chosen[2], 3);
    double sum = p[1] + p[5] + p[3];
    CHECK_NEAR(w[0], p[1] / sum, 1e-6);
    CHECK_NEAR(w[2], p[3] / sum, 1e-6);
    CHECK_NEAR(w[0] + w[1] + w[2], 1.0, 1e-6);
    const moe_rule plain = {.gating = MOE_GATING_SOFTMAX, .scale = 1.0f};
    moe_route(&plain, logits, NULL, 8, 2, chosen, w);
    CHECK_NEAR(w[0], p[1], 1e-6);
    CHECK_NEAR(w[1], p[5], 1e-6);
    const moe_rule sigmoid = {.gating = MOE_GATING_SIGMOID, .scale = 2.5f};
    moe_route(&sigmoid, logits, NULL, 8, 1, chosen, w);
    CHECK_EQ_INT(chosen[0], 1);
    CHECK_NEAR(w[0], 2.5 / (1 + exp(-2.0)), 1e-6);
    /* the selection bias moves the choice, not the weight: expert 7 (logit 0) wins */
    float bias[8] = {0, 0, 0, 0, 0, 0, 0, 1.0f};
    moe_route(&sigmoid, logits, bias, 8, 1, chosen, w);
    CHECK_EQ_INT(chosen[0], 7);
    CHECK_NEAR(w[0], 2.5 * 0.5, 1e-6);
    /* groups {0,1} {2,3} {4,5} {6,7}, top-2 sums 2.1, 0.5, 2.3, 0: with one group only
     * experts 4 and 5 compete; with two, 1 and 5 (and 0 before 4) */
    const moe_rule grouped = {.gating = MOE_GATING_SOFTMAX, .scale = 1.0f, .n_group = 4,
                              .n_group_used = 1};
    moe_route(&grouped, logits, NULL, 8, 2, chosen, w);
    CHECK_EQ_INT(chosen[0], 5);
    CHECK_EQ_INT(chosen[1], 4);
    CHECK_NEAR(w[1], p[4], 1e-6);
    const moe_rule two = {.gating = MOE_GATING_SOFTMAX, .scale = 1.0f, .n_group = 4,
                          .n_group_used = 2};
    moe_route(&two, logits, NULL, 8, 3, chosen, w);
    CHECK_EQ_INT(chosen[2], 4);
    /* gpt-oss: top-k of the logits, softmax over the k */
    const moe_rule oai = {.gating = MOE_GATING_SOFTMAX_WEIGHT, .scale = 1.0f};
    moe_route(&oai, logits, NULL, 8, 3, chosen, w);
    const double zk = exp(2.0) * 2 + exp(1.5);
    CHECK_NEAR(w[0], exp(2.0) / zk, 1e-6);
    CHECK_NEAR(w[2], exp(1.5) / zk, 1e-6);
}

/* gpt-oss's activation: the clamps bite above 7 (gate) and outside [-7, 7] (up). */
TEST(moe_swiglu_oai_clamps) {
    float gate[5] = {0.5f, 9.0f, -3.0f, 7.0f, 2.0f}, up[5] = {1.0f, 2.0f, 0.5f, 20.0f, -30.0f};
    const double g[5] = {0.5, 7.0, -3.0, 7.0, 2.0}, u[5] = {1.0, 2.0, 0.5, 7.0, -7.0};
    moe_swiglu_oai(gate, up, 5);
    for (int i = 0; i < 5; i++)
        CHECK_NEAR(gate[i], g[i] / (1 + exp(-1.702 * g[i])) * (u[i] + 1), 1e-5 * (1 + fabs(gate[i])));
}

/* Identical experts and weights summing to 1: the dense model's greedy text, any router. */
TEST(moe_upcycled_noise0_greedy_equals_dense) {
    NEED_FILE(stories());
    kernels_init(NULL, NULL);
    scarce_error err;
    model *dense = model_load(stories(), NULL, &err);
    REQUIRE(dense);
    tokenizer *tok = tokenizer_load(dense->file, &err);
    REQUIRE(tok);
    const char *prompts[] = {"Once upon a time", "The little dog"};
    for (int seed = 1; seed <= 2; seed++) {
        char path[512];
        REQUIRE(upcycle(seed == 1 ? "up1.gguf" : "up2.gguf", 0, seed * 77, path, sizeof path) == 0);
        model *moe = model_load(path, NULL, &err);
        REQUIRE(moe);
        CHECK_EQ_INT(moe->cfg.n_expert, 4);
        CHECK_EQ_INT(moe->cfg.n_expert_used, 2);
        for (int p = 0; p < 2; p++) {
            int ids[64], a[40], b[40];
            int n = tokenizer_encode(tok, prompts[p], 1, ids, 64, &err);
            REQUIRE(n > 0);
            int na = greedy(dense, ids, n, 40, a), nb = greedy(moe, ids, n, 40, b);
            CHECK_EQ_INT(na, 40);
            CHECK_EQ_INT(nb, 40);
            char ta[4096], tb[4096];
            tokenizer_decode(tok, a, na, ta, sizeof ta);
            tokenizer_decode(tok, b, nb, tb, sizeof tb);
            CHECK_MSG(!strcmp(ta, tb), "seed %d prompt '%s': dense '%s' vs moe '%s'", seed,
                      prompts[p], ta, tb);
        }
        model_free(moe);
    }
    tokenizer_free(tok);
    model_free(dense);
}

/* A tensor's row r (or all of it when rows < 0) in double. */
static void tensor_rows(const gguf_file *f, const char *name, int64_t r0, int64_t n_rows, double *out) {
    const gguf_tensor *t = gguf_find_tensor(f, name);
    size_t rb = qtype_row_bytes(t->type, t->ne[0]);
    float *row = malloc(t->ne[0] * sizeof(float));
    for (int64_t r = 0; r < n_rows; r++) {
        qtype(t->type)->dequantize((const char *)t->data + (r0 + r) * rb, row, t->ne[0]);
        for (int64_t j = 0; j < t->ne[0]; j++) out[r * t->ne[0] + j] = row[j];
    }
    free(row);
}

static void rms_d(double *out, const double *x, const double *w, int n, double eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    double s = 1 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++) out[i] = x[i] * s * w[i];
}

static void mv_d(double *y, const double *W, const double *x, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        y[r] = 0;
        for (int c = 0; c < cols; c++) y[r] += W[(size_t)r * cols + c] * x[c];
    }
}

/* Router probabilities of layer 0 for a token alone at position 0, where attention over one
 * position returns that position's v: x = e + Wo v(per head), p = softmax(Wgi rmsnorm(x)). */
static void layer0_router_probs(const model *m, int token, double *p) {
    const model_config *c = &m->cfg;
    const gguf_file *f = m->file;
    const int n = c->n_embd, kv_dim = c->n_head_kv * c->head_dim, group = c->n_head / c->n_head_kv;
    double *e = malloc(n * sizeof(double)), *h = malloc(n * sizeof(double)),
           *wn = malloc(n * sizeof(double)), *v = malloc(kv_dim * sizeof(double)),
           *att = malloc(n * sizeof(double)), *o = malloc(n * sizeof(double)),
           *wv = malloc((size_t)kv_dim * n * sizeof(double)), *wo = malloc((size_t)n * n * sizeof(double)),
           *gi = malloc((size_t)c->n_expert * n * sizeof(double));
    tensor_rows(f, "token_embd.weight", token, 1, e);
    tensor_rows(f, "blk.0.attn_norm.weight", 0, 1, wn);
    tensor_rows(f, "blk.0.attn_v.weight", 0, kv_dim, wv);
    tensor_rows(f, "blk.0.attn_output.weight", 0, n, wo);
    tensor_rows(f, "blk.0.ffn_gate_inp.weight", 0, c->n_expert, gi);
    rms_d(h, e, wn, n, c->rms_eps);
    mv_d(v, wv, h, kv_dim, n);
    for (int hd = 0; hd < c->n_head; hd++)
        memcpy(att + hd * c->head_dim, v + (hd / group) * c->head_dim, c->head_dim * sizeof(double));
    mv_d(o, wo, att, n, n);
    for (int i = 0; i < n; i++) e[i] += o[i];
    tensor_rows(f, "blk.0.ffn_norm.weight", 0, 1, wn);
    rms_d(h, e, wn, n, c->rms_eps);
    mv_d(p, gi, h, c->n_expert, n);
    double mx = p[0], z = 0;
    for (int i = 1; i < c->n_expert; i++) mx = fmax(mx, p[i]);
    for (int i = 0; i < c->n_expert; i++) z += p[i] = exp(p[i] - mx);
    for (int i = 0; i < c->n_expert; i++) p[i] /= z;
    free(e), free(h), free(wn), free(v), free(att), free(o), free(wv), free(wo), free(gi);
}

TEST(moe_routing_matches_reference_and_counts_add_up) {
    NEED_FILE(stories());
    kernels_init(NULL, NULL);
    char path[512];
    REQUIRE(upcycle("noisy.gguf", 0.2, 5, path, sizeof path) == 0);
    scarce_error err;
    model *m = model_load(path, NULL, &err);
    REQUIRE(m);
    const int k = m->cfg.n_expert_used, N = m->cfg.n_expert;
    session s;
    REQUIRE(session_init(&s, m, 128, &err) == 0);
    s.moe = moe_stats_new(m);
    REQUIRE(s.moe);
    int tokens[6] = {1, 50, 123, 300, 411, 7};
    for (int i = 0; i < 6; i++) { /* each token alone at position 0 */
        kvcache_truncate(&s.cache, 0);
        REQUIRE(forward(&s, &tokens[i], 1, 0, &err));
        double p[MOE_MAX_EXPERT];
        layer0_router_probs(m, tokens[i], p);
        int best[2] = {0, -1};
        for (int e = 1; e < N; e++) best[0] = p[e] > p[best[0]] ? e : best[0];
        for (int e = 0; e < N; e++)
            if (e != best[0] && (best[1] < 0 || p[e] > p[best[1]])) best[1] = e;
        double sum = p[best[0]] + p[best[1]];
        for (int j = 0; j < k; j++) {
            CHECK_EQ_INT(s.moe->last_chosen[j], best[j]);
            CHECK_NEAR(s.moe->last_weight[j], p[best[j]] / sum, 1e-4);
        }
    }
    /* counters: every token chooses k experts in every layer */
    moe_stats_reset(s.moe);
    kvcache_truncate(&s.cache, 0);
    int t[30];
    some_tokens(t, 30, m->cfg.n_vocab, 99);
    REQUIRE(forward(&s, t, 20, 0, &err));
    for (int i = 20; i < 30; i++) REQUIRE(forward(&s, &t[i], 1, 0, &err));
    for (int l = 0; l < m->cfg.n_layer; l++) {
        uint64_t total = 0;
        for (int e = 0; e < N; e++) total += s.moe->chosen[(size_t)l * N + e];
        CHECK_EQ_INT(total, 30 * k);
        CHECK_EQ_INT(s.moe->tokens[l], 30);
        CHECK_EQ_INT(s.moe->pairs[l], 29);
        CHECK(s.moe->reused[l] <= 29ull * k);
        CHECK(moe_stats_entropy(s.moe, l) <= log(N) + 1e-9);
        CHECK(moe_stats_cv(s.moe, l) >= 0);
    }
    moe_stats_free(s.moe);
    session_free(&s);
    model_free(m);
}

/* Weight bytes of a pass, from the file's tensor table: everything but the embedding matrix
 * and the experts, one embedding row per token, and n_distinct experts of each layer. */
static uint64_t expected_bytes(const model *m, int n_tokens, const moe_stats *st) {
    const gguf_file *f = m->file;
    uint64_t bytes = 0;
    int layer = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (!strcmp(t->name, "token_embd.weight")) {
            bytes += (uint64_t)n_tokens * (t->bytes / t->ne[1]);
        } else if (strstr(t->name, "_exps.weight")) {
            sscanf(t->name, "blk.%d.", &layer);
            int distinct = 0;
            for (int e = 0; e < st->n_expert; e++) distinct += st->chosen[(size_t)layer * st->n_expert + e] > 0;
            bytes += t->bytes / t->ne[2] * distinct;
        } else {
            bytes += t->bytes;
        }
    }
    return bytes;
}

TEST(moe_weight_bytes_per_token) {
    NEED_FILE(stories());
    kernels_init(NULL, NULL);
    char path[512], cmd[1024];
    snprintf(path, sizeof path, "%s/syn-moe.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "%s mkmodel -o %s --vocab %s --n-embd 64 --n-layer 2 --n-head 8 --n-head-kv 4 "
             "--n-ff 96 --n-expert 4 --n-expert-used 2 --seed 3 --type f16",
             scarce_bin(), path, stories());
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    scarce_error err;
    model *m = model_load(path, NULL, &err);
    REQUIRE(m);
    session s;
    REQUIRE(session_init(&s, m, 128, &err) == 0);
    s.moe = moe_stats_new(m);
    int t[16];
    some_tokens(t, 16, m->cfg.n_vocab, 5);
    /* one token: k of N experts of every layer */
    REQUIRE(forward(&s, t, 1, 0, &err));
    uint64_t one = expected_bytes(m, 1, s.moe);
    CHECK_EQ_INT(s.stats.weight_bytes, one);
    CHECK_EQ_INT(s.stats.weight_bytes, moe_active_bytes(m));
    uint64_t exps = 0;
    for (int l = 0; l < m->cfg.n_layer; l++) exps += 4 * moe_expert_bytes(m, l);
    CHECK_EQ_INT(model_weight_bytes(m) - one,
                 exps / 2 + (m->cfg.n_vocab - 1) * (uint64_t)m->token_embd.row_bytes);
    /* a batch: each distinct chosen expert once */
    moe_stats_reset(s.moe);
    s.stats.weight_bytes = 0;
    REQUIRE(forward(&s, t + 1, 15, 0, &err));
    CHECK_EQ_INT(s.stats.weight_bytes, expected_bytes(m, 15, s.moe));
    moe_stats_free(s.moe);
    session_free(&s);
    model_free(m);
}

TEST(moe_batched_equals_one_token) {
    NEED_FILE(stories());
    kernels_init(NULL, NULL);
    char path[512];
    REQUIRE(upcycle("noisy-b.gguf", 0.2, 9, path, sizeof path) == 0);
    scarce_error err;
    model *m = model_load(path, NULL, &err);
    REQUIRE(m);
    enum { N = 70 }; /* more than one internal batch */
    int t[N];
    some_tokens(t, N, m->cfg.n_vocab, 4242);
    session a, b;
    REQUIRE(session_init(&a, m, 256, &err) == 0 && session_init(&b, m, 256, &err) == 0);
    const float *all = forward(&a, t, N, 1, &err);
    REQUIRE(all);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        const float *one = forward(&b, &t[i], 1, 0, &err);
        REQUIRE(one);
        for (int v = 0; v < m->cfg.n_vocab; v++)
            worst = fmax(worst, fabs(one[v] - all[(size_t)i * m->cfg.n_vocab + v]));
    }
    CHECK_MSG(worst < 1e-4, "batched vs one token: max diff %.3g", worst);
    session_free(&a);
    session_free(&b);
    model_free(m);
}

/* The older per-expert layout (blk.L.ffn_gate.E.weight, 2-D) loads and computes the same
 * logits as the 3-D _exps layout it was split from. */
static int write_split(const gguf_file *f, const char *out, scarce_error *err) {
    gguf_writer *w = gguf_writer_new();
    int rc = -1;
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_copy_kv(w, &f->kv[i]);
    for (int pass = 0; pass < 2; pass++) /* declare, then write in the same order */
        for (uint64_t i = 0; i < f->n_tensors; i++) {
            const gguf_tensor *t = &f->tensors[i];
            int layer;
            char what[16], name[96];
            int split = sscanf(t->name, "blk.%d.%15[a-z_]", &layer, what) == 2 && strstr(t->name, "_exps.");
            if (split) *strstr(what, "_exps") = 0;
            for (int e = 0; e < (split ? t->ne[2] : 1); e++) {
                size_t bytes = split ? t->bytes / t->ne[2] : t->bytes;
                if (pass == 0) {
                    if (split) snprintf(name, sizeof name, "blk.%d.%s.%d.weight", layer, what, e);
                    if (gguf_writer_add_tensor(w, split ? name : t->name, t->type, split ? 2 : t->n_dims,
                                               t->ne, err))
                        goto done;
                } else if (gguf_writer_write(w, (const char *)t->data + e * bytes, bytes, err)) {
                    goto done;
                }
            }
            if (pass == 0 && i + 1 == f->n_tensors && gguf_writer_open(w, out, err)) goto done;
        }
    rc = gguf_writer_finish(w, err);
done:
    gguf_writer_free(w);
    return rc;
}

TEST(moe_split_expert_layout_loads) {
    NEED_FILE(stories());
    kernels_init(NULL, NULL);
    char path[512], split[512];
    REQUIRE(upcycle("noisy-s.gguf", 0.2, 11, path, sizeof path) == 0);
    snprintf(split, sizeof split, "%s/split.gguf", test_tmpdir());
    scarce_error err;
    model *a = model_load(path, NULL, &err);
    REQUIRE(a);
    REQUIRE(write_split(a->file, split, &err) == 0);
    model *b = model_load(split, NULL, &err);
    REQUIRE(b);
    CHECK(gguf_find_tensor(b->file, "blk.0.ffn_down.3.weight") != NULL);
    CHECK(gguf_find_tensor(b->file, "blk.0.ffn_down_exps.weight") == NULL);
    int t[12];
    some_tokens(t, 12, a->cfg.n_vocab, 17);
    session sa, sb;
    REQUIRE(session_init(&sa, a, 64, &err) == 0 && session_init(&sb, b, 64, &err) == 0);
    const float *la = forward(&sa, t, 12, 1, &err), *lb = forward(&sb, t, 12, 1, &err);
    REQUIRE(la && lb);
    CHECK(!memcmp(la, lb, 12 * sizeof(float) * a->cfg.n_vocab));
    session_free(&sa);
    session_free(&sb);
    model_free(a);
    model_free(b);
}
