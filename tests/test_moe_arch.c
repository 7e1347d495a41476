/* test_moe_arch.c - every MoE architecture on a synthetic f32 model made by
 * `scarce mkmodel --arch`: the forward pass and the chosen experts against the
 * double-precision reference (tests/ref_forward.c + ref_moe.c), batched prefill against one
 * token at a time, routing counts, rollback, bad files, and the weight bytes a token reads
 * (dense + router + chosen experts, from the tensor table). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../engine/moe.h"
#include "../kernels/cpu.h"
#include "ref_forward.h"
#include "test.h"

typedef struct {
    const char *name, *flags;
} moe_case;

/* 64 wide, 4 heads, 8 experts of 32 (qwen*moe) or 96 (olmoe), random norms */
static const moe_case cases[] = {
    {"qwen3moe", "--arch qwen3moe --head-dim 24 --n-expert-used 3 --n-ff-exp 32"},
    {"olmoe", "--arch olmoe --n-head-kv 4"},
    {"qwen2moe", "--arch qwen2moe --n-ff-exp 32 --n-ff-shexp 48"},
    /* DeepSeek-V2-Lite style: q without bottleneck, softmax, one leading dense layer */
    {"deepseek2", "--arch deepseek2 --n-layer 3 --leading-dense 1 --n-ff-exp 32 "
                  "--kv-lora-rank 32 --head-dim 24 --n-rot 8 --v-head-dim 16"},
    /* V3 style: q bottleneck, sigmoid, renormalised and scaled, 2 shared experts, 2 of 4
     * groups, selection bias */
    {"deepseek3", "--arch deepseek2 --n-layer 3 --leading-dense 1 --n-ff-exp 32 "
                  "--kv-lora-rank 32 --q-lora-rank 24 --head-dim 24 --n-rot 8 --v-head-dim 16 "
                  "--n-expert-shared 2 --gating 2 --expert-weights-norm 1 "
                  "--expert-weights-scale 2.5 --expert-groups 4 --expert-groups-used 2 "
                  "--probs-bias 1"},
    /* YaRN (original context 256 / 8 = 32: one pair extrapolated, three interpolated),
     * with DeepSeek's yarn_log_multiplier on the scores, and on an ordinary attention */
    {"deepseek2_yarn", "--arch deepseek2 --n-layer 3 --leading-dense 1 --n-ff-exp 32 "
                       "--kv-lora-rank 32 --head-dim 24 --n-rot 8 --v-head-dim 16 --yarn 8 "
                       "--yarn-log-mul 0.707 --ctx 256"},
    {"qwen3moe_yarn", "--arch qwen3moe --head-dim 24 --n-expert-used 3 --n-ff-exp 32 "
                      "--yarn 4 --ctx 256"},
    /* gpt-oss: layers 0 and 2 local (window 5), sinks, biases, clamped SwiGLU, YaRN */
    {"gpt-oss", "--arch gpt-oss --n-layer 4 --n-ff-exp 32 --swa 5 --yarn 8 --ctx 256"},
};
enum { N_CASES = sizeof cases / sizeof *cases, N_TOK = 40 };

#define VOCAB "models/stories260K.gguf"

static model *make_model(const moe_case *c) {
    char path[512], cmd[1200];
    snprintf(path, sizeof path, "%s/moe-%s.gguf", test_tmpdir(), c->name);
    snprintf(cmd, sizeof cmd,
             "%s mkmodel -o %s --vocab %s --n-embd 64 --n-layer 2 --n-head 4 --n-head-kv 2 "
             "--n-ff 96 --n-expert 8 --n-expert-used 2 --seed 21 --random-norms 1 %s",
             scarce_bin(), path, shared_path(VOCAB), c->flags);
    if (run_cmd(cmd, NULL, NULL)) {
        test_fail_at(__FILE__, __LINE__, "%s: mkmodel failed: %s", c->name, cmd);
        return NULL;
    }
    scarce_error err = {0};
    model *m = model_load(path, NULL, &err);
    CHECK_MSG(m != NULL, "%s: %s", c->name, err.msg);
    return m;
}

static void some_tokens(int *t, int n, int vocab) {
    uint32_t x = 4242;
    t[0] = 1;
    for (int i = 1; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        t[i] = 3 + (int)((x >> 8) % (uint32_t)(vocab - 3));
    }
}

/* One token at a time against the reference: logits and, in every MoE layer, the chosen
 * experts in order. */
static void check_reference(const moe_case *c, model *m, const int *t) {
    scarce_error err = {0};
    session s;
    REQUIRE(session_init(&s, m, 128, &err) == 0);
    s.moe = moe_stats_new(m);
    ref_model *r = ref_model_open(m->file);
    const int V = m->cfg.n_vocab, k = m->cfg.n_expert_used;
    double *ref = malloc(sizeof(double) * V), worst = 0;
    int routed = 0, differ = 0;
    for (int i = 0; i < N_TOK; i++) {
        const float *logits = forward(&s, &t[i], 1, 0, &err);
        REQUIRE(logits);
        ref_model_step(r, t[i], ref);
        for (int v = 0; v < V; v++) worst = fmax(worst, fabs(logits[v] - ref[v]));
        for (int l = 0; l < m->cfg.n_layer; l++) {
            int want[16];
            const int n = ref_model_chosen(r, l, want);
            if (!n) continue;
            CHECK_EQ_INT(n, k);
            routed++;
            for (int j = 0; j < k; j++) differ += s.moe->last_chosen[(size_t)l * k + j] != want[j];
        }
    }
    CHECK_MSG(worst < 1e-4, "%s: max |logit diff| vs reference %.3g", c->name, worst);
    CHECK_MSG(routed > 0 && differ == 0, "%s: %d of %d routings differ from the reference", c->name,
              differ, routed);
    free(ref);
    ref_model_free(r);
    moe_stats_free(s.moe);
    session_free(&s);
}

/* Prefill of all N_TOK (with all logits) against one at a time, on this ISA's kernels; the
 * counts of the batched run sum to n_tokens x k in every MoE layer. */
static void check_batched(const moe_case *c, model *m, const int *t) {
    scarce_error err = {0};
    session a, b;
    REQUIRE(session_init(&a, m, 128, &err) == 0 && session_init(&b, m, 128, &err) == 0);
    a.moe = moe_stats_new(m);
    const float *all = forward(&a, t, N_TOK, 1, &err);
    REQUIRE(all);
    double worst = 0;
    for (int i = 0; i < N_TOK; i++) {
        const float *one = forward(&b, &t[i], 1, 0, &err);
        REQUIRE(one);
        for (int v = 0; v < m->cfg.n_vocab; v++)
            worst = fmax(worst, fabs(one[v] - all[(size_t)i * m->cfg.n_vocab + v]));
    }
    CHECK_MSG(worst < 1e-4, "%s: batched vs one token max diff %.3g", c->name, worst);
    const int N = m->cfg.n_expert, k = m->cfg.n_expert_used;
    for (int l = 0; l < m->cfg.n_layer; l++) {
        uint64_t total = 0;
        for (int e = 0; e < N; e++) total += a.moe->chosen[(size_t)l * N + e];
        const uint64_t want = m->layers[l].gate_exps ? (uint64_t)N_TOK * k : 0;
        CHECK_MSG(total == want, "%s layer %d: %llu choices, expected %llu", c->name, l,
                  (unsigned long long)total, (unsigned long long)want);
    }
    moe_stats_free(a.moe);
    session_free(&a), session_free(&b);
}

/* What a token alone must read, from the tensor table: every tensor but token_embd and the
 * routed experts' (_exps), one embedding row (the whole matrix again when the output is
 * tied), and k / n_expert of each _exps tensor (weights, and gpt-oss's biases). */
static uint64_t table_active_bytes(const model *m) {
    const gguf_file *f = m->file;
    const gguf_tensor *embd = gguf_find_tensor(f, "token_embd.weight");
    uint64_t bytes = embd->bytes / (uint64_t)embd->ne[1];
    if (!gguf_find_tensor(f, "output.weight")) bytes += embd->bytes;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (t == embd) continue;
        bytes += strstr(t->name, "_exps.")
                     ? t->bytes / (uint64_t)m->cfg.n_expert * (uint64_t)m->cfg.n_expert_used
                     : t->bytes;
    }
    return bytes;
}

static void check_bytes(const moe_case *c, model *m, const int *t) {
    scarce_error err = {0};
    session s;
    REQUIRE(session_init(&s, m, 16, &err) == 0);
    REQUIRE(forward(&s, t, 1, 0, &err));
    const uint64_t want = table_active_bytes(m);
    CHECK_MSG(s.stats.weight_bytes == want, "%s: %llu bytes read, the table says %llu", c->name,
              (unsigned long long)s.stats.weight_bytes, (unsigned long long)want);
    CHECK_EQ_INT(moe_active_bytes(m), want);
    session_free(&s);
}

static void each_case(void (*check)(const moe_case *, model *, const int *)) {
    for (int i = 0; i < N_CASES; i++) {
        model *m = make_model(&cases[i]);
        if (!m) continue;
        int t[N_TOK];
        some_tokens(t, N_TOK, m->cfg.n_vocab);
        check(&cases[i], m, t);
        model_free(m);
    }
}

TEST(moe_arch_forward_and_routing_match_reference) {
    NEED_SHARED(VOCAB);
    kernels_init("scalar", NULL);
    each_case(check_reference);
    kernels_init(NULL, NULL);
}

TEST(moe_arch_batched_equals_one_token_and_counts) {
    NEED_SHARED(VOCAB);
    kernels_init(NULL, NULL);
    each_case(check_batched);
}

TEST(moe_arch_bytes_per_token_are_active_bytes) {
    NEED_SHARED(VOCAB);
    kernels_init(NULL, NULL);
    each_case(check_bytes);
}

/* deepseek2: the cache holds the latent (kv_lora_rank + n_rot floats per layer and
 * position, no values), and a prompt past 2 x the batch in one call (three internal
 * passes) gives the reference's logits for its last token. */
TEST(moe_arch_deepseek2_latent_cache_and_long_context) {
    NEED_SHARED(VOCAB);
    kernels_init("scalar", NULL);
    model *m = make_model(&cases[4]);
    if (!m) return;
    scarce_error err = {0};
    session s;
    enum { N = 2 * FORWARD_BATCH_CAP + 12 };
    REQUIRE(session_init(&s, m, N + 4, &err) == 0);
    const model_config *c = &m->cfg;
    CHECK_EQ_INT(s.cache.kv_dim, c->n_lora_kv + c->n_rot);
    CHECK_EQ_INT(s.cache.kv_dim, 40);
    CHECK_EQ_INT(s.cache.v_dim, 0);
    CHECK(s.cache.v == NULL);
    CHECK_EQ_INT(kvcache_bytes_per_pos(&s.cache), (size_t)c->n_layer * 40 * sizeof(float));
    int t[N];
    some_tokens(t, N, c->n_vocab);
    const float *logits = forward(&s, t, N, 0, &err);
    REQUIRE(logits);
    ref_model *r = ref_model_open(m->file);
    double *ref = malloc(sizeof(double) * c->n_vocab), worst = 0;
    for (int i = 0; i < N; i++) ref_model_step(r, t[i], ref);
    for (int v = 0; v < c->n_vocab; v++) worst = fmax(worst, fabs(logits[v] - ref[v]));
    CHECK_MSG(worst < 1e-4, "deepseek2 after %d tokens: max |logit diff| %.3g", N, worst);
    free(ref);
    ref_model_free(r);
    session_free(&s);
    model_free(m);
    kernels_init(NULL, NULL);
}

/* ---- bad files: one error line, exit 1 ---------------------------------------------------- */

/* src with key (u32) set to value (key NULL: none) and without tensor drop (NULL: none). */
static int rewrite(const char *src, const char *dst, const char *key, uint32_t value,
                   const char *drop) {
    scarce_error err = {0};
    gguf_file *f = gguf_open(src, &err);
    if (!f) return -1;
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++)
        if (!key || strcmp(f->kv[i].key, key)) gguf_writer_copy_kv(w, &f->kv[i]);
    if (key && value) gguf_writer_set_u32(w, key, value); /* 0: the key removed */
    int rc = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        for (uint64_t i = 0; i < f->n_tensors && !rc; i++) {
            const gguf_tensor *t = &f->tensors[i];
            if (drop && !strcmp(t->name, drop)) continue;
            rc = pass == 0 ? gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, t->ne, &err)
                           : gguf_writer_write(w, t->data, t->bytes, &err);
        }
        if (pass == 0 && !rc) rc = gguf_writer_open(w, dst, &err);
    }
    rc = rc || gguf_writer_finish(w, &err);
    gguf_writer_free(w);
    gguf_close(f);
    return rc ? -1 : 0;
}

/* `scarce run` on a bad variant of case c's file: exit 1, one stderr line naming `names`. */
static void check_bad(const moe_case *c, const char *key, uint32_t value, const char *drop,
                      const char *names) {
    char good[512], bad[600], cmd[1400];
    model *m = make_model(c); /* writes tmpdir/moe-<name>.gguf */
    if (!m) return;
    model_free(m);
    snprintf(good, sizeof good, "%s/moe-%s.gguf", test_tmpdir(), c->name);
    snprintf(bad, sizeof bad, "%s/bad-moe.gguf", test_tmpdir());
    REQUIRE(rewrite(good, bad, key, value, drop) == 0);
    snprintf(cmd, sizeof cmd, "%s run -m %s -p hello -n 1", scarce_bin(), bad);
    char *err = NULL;
    const int code = run_cmd(cmd, NULL, &err);
    int lines = 0;
    for (const char *p = err; p && *p; p++) lines += *p == '\n';
    CHECK_MSG(code == 1 && lines == 1 && err && strstr(err, names),
              "%s (%s %u, drop %s): exit %d, %d lines, want '%s': %s", c->name, key ? key : "-",
              value, drop ? drop : "-", code, lines, names, err ? err : "");
    free(err);
}

TEST(moe_arch_bad_files_one_line) {
    NEED_SHARED(VOCAB);
    kernels_init(NULL, NULL);
    /* metadata says 6 experts, the tensors hold 8 */
    check_bad(&cases[2], "qwen2moe.expert_count", 6, NULL, "blk.0.ffn_gate_inp.weight");
    /* top-k beyond the experts */
    check_bad(&cases[0], "qwen3moe.expert_used_count", 9, NULL, "expert_used_count 9");
    /* an MoE architecture without experts */
    check_bad(&cases[1], "olmoe.expert_count", 0, NULL, "olmoe.expert_count is missing");
    /* missing shared expert, missing shared expert gate */
    check_bad(&cases[2], NULL, 0, "blk.1.ffn_gate_shexp.weight", "blk.1.ffn_gate_shexp.weight");
    check_bad(&cases[2], NULL, 0, "blk.0.ffn_gate_inp_shexp.weight",
              "blk.0.ffn_gate_inp_shexp.weight");
    check_bad(&cases[3], NULL, 0, "blk.2.ffn_down_shexp.weight", "blk.2.ffn_down_shexp.weight");
    /* latent attention: a missing per-head matrix; groups that do not divide the experts */
    check_bad(&cases[3], NULL, 0, "blk.0.attn_k_b.weight", "blk.0.attn_k_b.weight");
    check_bad(&cases[4], "deepseek2.expert_group_count", 3, NULL, "expert_group_count 3");
}

/* Speculative decoding's rollback on every case (the latent cache of deepseek2, the
 * windowed layers of gpt-oss): run the tokens, roll back to 17, run a rejected draft, roll
 * back again and rerun the rest one by one: the last logits are the first run's. */
static void check_rollback(const moe_case *c, model *m, const int *t) {
    scarce_error err = {0};
    session s;
    REQUIRE(session_init(&s, m, 128, &err) == 0);
    const int V = m->cfg.n_vocab, keep = 17, draft[5] = {5, 9, 7, 3, 4};
    float *first = malloc(sizeof(float) * V);
    const float *l = forward(&s, t, N_TOK, 0, &err);
    REQUIRE(l);
    memcpy(first, l, sizeof(float) * V);
    kvcache_truncate(&s.cache, keep);
    REQUIRE(forward(&s, draft, 5, 0, &err));
    kvcache_truncate(&s.cache, keep);
    for (int i = keep; i < N_TOK; i++) REQUIRE((l = forward(&s, &t[i], 1, 0, &err)));
    double worst = 0;
    for (int v = 0; v < V; v++) worst = fmax(worst, fabs(l[v] - first[v]));
    CHECK_MSG(worst < 1e-4, "%s: after rollback max diff %.3g", c->name, worst);
    free(first);
    session_free(&s);
}

TEST(moe_arch_rollback) {
    NEED_SHARED(VOCAB);
    kernels_init(NULL, NULL);
    each_case(check_rollback);
}
