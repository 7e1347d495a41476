/* test_arch.c - every architecture of engine/arch.c on a synthetic f32 model made by
 * `scarce mkmodel --arch`: the forward pass against the independent double-precision
 * reference (tests/ref_forward.c), batched prefill against one token at a time, the KV
 * cache rollback (sliding-window layers with a context longer than the window), and
 * files missing an architecture's tensor or with a fused tensor of the wrong width. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../kernels/cpu.h"
#include "ref_forward.h"
#include "test.h"

typedef struct {
    const char *name;  /* test label */
    const char *flags; /* mkmodel flags beyond the common shape */
} arch_case;

/* The shape: 64 wide, 4 query heads of 16 over 2 kv heads unless --head-dim says. Norms
 * are random so that a norm applied to the wrong vector shows. */
static const arch_case cases[] = {
    {"llama", "--arch llama"},
    /* Llama 3.1 frequency factors (--ctx 64 makes several of them differ from 1) and
     * rope over 8 of the 16 head dimensions */
    {"llama3_rope", "--arch llama --rope-freqs 1 --n-rot 8 --ctx 64"},
    {"qwen2", "--arch qwen2 --rope-base 1000000"},
    /* heads of 24: n_head * head_dim = 96 != n_embd */
    {"qwen3", "--arch qwen3 --head-dim 24 --rope-base 1000000"},
    /* layers 0-4 local (window 6, rope base 10000), layer 5 global (base 1e6) */
    {"gemma3", "--arch gemma3 --n-layer 6 --swa 6 --head-dim 32 --rope-base 1000000"},
    /* scores and logits capped small enough to change them (random weights give small
     * ones); even layers local with a window of 5 */
    {"gemma2", "--arch gemma2 --n-layer 4 --swa 5 --head-dim 32 --attn-softcap 0.05 "
               "--final-softcap 0.1"},
    {"phi3", "--arch phi3"},
    /* Phi-3 128k: original context 64 < the test's 128 (reference: 256), so the long
     * factors and the attention factor apply */
    {"phi3_longrope", "--arch phi3 --longrope 1 --ctx 2048"},
    /* layer 3 has no rope */
    {"smollm3", "--arch smollm3 --n-layer 4"},
};
enum { N_CASES = sizeof cases / sizeof *cases };

static const arch_case *find_case(const char *name) {
    for (int i = 0; i < N_CASES; i++)
        if (!strcmp(cases[i].name, name)) return &cases[i];
    return NULL;
}

#define VOCAB "models/stories260K.gguf" /* its tokenizer goes into every model */

/* Writes the case's model to tmpdir/<name>.gguf; returns its path, or NULL (the test
 * failed) when mkmodel fails. */
static const char *make_arch_model(const arch_case *c, char *path, size_t size) {
    const char *vocab = shared_path(VOCAB);
    snprintf(path, size, "%s/%s.gguf", test_tmpdir(), c->name);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s mkmodel -o %s --vocab %s --n-embd 64 --n-layer 2 --n-head 4 --n-head-kv 2 "
             "--n-ff 96 --seed 11 --random-norms 1 %s",
             scarce_bin(), path, vocab, c->flags);
    if (run_cmd(cmd, NULL, NULL) == 0) return path;
    test_fail_at(__FILE__, __LINE__, "%s: mkmodel failed: %s", c->name, cmd);
    return NULL;
}

static void some_tokens(int *t, int n, int vocab) {
    uint32_t x = 777;
    t[0] = 1;
    for (int i = 1; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        t[i] = 3 + (int)((x >> 8) % (uint32_t)(vocab - 3));
    }
}

enum { N_TOK = 40 }; /* longer than the sliding window (6) many times over */

/* Largest |logit difference| between the engine (one token at a time) and the double
 * reference over the tokens; every logit of every step. */
static double diff_vs_reference(model *m, const int *t, int n) {
    scarce_error err = {0};
    session s;
    if (session_init(&s, m, 128, &err)) return INFINITY;
    ref_model *r = ref_model_open(m->file);
    double *ref = malloc(sizeof(double) * m->cfg.n_vocab), worst = 0;
    for (int i = 0; i < n && worst < INFINITY; i++) {
        const float *logits = forward(&s, &t[i], 1, 0, &err);
        if (!logits) {
            worst = INFINITY;
            break;
        }
        ref_model_step(r, t[i], ref);
        for (int v = 0; v < m->cfg.n_vocab; v++) {
            double d = fabs(logits[v] - ref[v]);
            worst = isnan(d) ? INFINITY : fmax(worst, d);
        }
    }
    free(ref);
    ref_model_free(r);
    session_free(&s);
    return worst;
}

/* Makes and loads each case's model and runs check on it with N_TOK tokens. */
static void each_case(void (*check)(const arch_case *c, model *m, const int *t)) {
    for (int i = 0; i < N_CASES; i++) {
        char path[512];
        if (!make_arch_model(&cases[i], path, sizeof path)) continue;
        scarce_error err = {0};
        model *m = model_load(path, NULL, &err);
        CHECK_MSG(m != NULL, "%s: %s", cases[i].name, err.msg);
        if (!m) continue;
        int t[N_TOK];
        some_tokens(t, N_TOK, m->cfg.n_vocab);
        check(&cases[i], m, t);
        model_free(m);
    }
}

static void check_vs_reference(const arch_case *c, model *m, const int *t) {
    double d = diff_vs_reference(m, t, N_TOK);
    CHECK_MSG(d < 1e-4, "%s: max |logit diff| %.3g >= 1e-4", c->name, d);
}

TEST(arch_forward_matches_double_reference) {
    NEED_SHARED(VOCAB);
    kernels_init("scalar", NULL);
    each_case(check_vs_reference);
    kernels_init(NULL, NULL);
}

/* All-logits prefill of n tokens against feeding them one by one (this ISA's kernels). */
static double batched_vs_sequential(model *m, const int *t, int n) {
    scarce_error err = {0};
    session a, b;
    if (session_init(&a, m, 128, &err) || session_init(&b, m, 128, &err)) return INFINITY;
    const float *all = forward(&a, t, n, 1, &err);
    double worst = all ? 0 : INFINITY;
    for (int i = 0; all && i < n; i++) {
        const float *one = forward(&b, &t[i], 1, 0, &err);
        if (!one) return INFINITY;
        for (int v = 0; v < m->cfg.n_vocab; v++)
            worst = fmax(worst, fabs(one[v] - all[(size_t)i * m->cfg.n_vocab + v]));
    }
    session_free(&a);
    session_free(&b);
    return worst;
}

/* Run n tokens; roll back to keep, run a rejected draft, roll back again, rerun the rest:
 * the last logits must be the first run's. Returns the largest difference. */
static double rollback_diff(model *m, const int *t, int n, int keep) {
    scarce_error err = {0};
    session s;
    if (session_init(&s, m, 128, &err)) return INFINITY;
    const int V = m->cfg.n_vocab, draft[5] = {5, 9, 7, 3, 4};
    float *first = malloc(sizeof(float) * V);
    const float *l = forward(&s, t, n, 0, &err);
    double worst = l ? 0 : INFINITY;
    if (l) memcpy(first, l, sizeof(float) * V);
    kvcache_truncate(&s.cache, keep);
    if (!forward(&s, draft, 5, 0, &err)) worst = INFINITY;
    kvcache_truncate(&s.cache, keep);
    for (int i = keep; i < n && worst < INFINITY; i++) /* one by one: decode after rollback */
        if (!(l = forward(&s, &t[i], 1, 0, &err))) worst = INFINITY;
    for (int v = 0; worst < INFINITY && v < V; v++) worst = fmax(worst, fabs(l[v] - first[v]));
    free(first);
    session_free(&s);
    return worst;
}

static void check_batched_and_rollback(const arch_case *c, model *m, const int *t) {
    double d = batched_vs_sequential(m, t, N_TOK);
    CHECK_MSG(d < 1e-4, "%s: batched vs sequential max diff %.3g", c->name, d);
    d = rollback_diff(m, t, N_TOK, 17);
    CHECK_MSG(d < 1e-4, "%s: after rollback max diff %.3g", c->name, d);
}

TEST(arch_batched_prefill_and_rollback) {
    NEED_SHARED(VOCAB);
    kernels_init(NULL, NULL);
    each_case(check_batched_and_rollback);
}

/* The sliding window matters: gemma3 with the window as long as the context (every layer
 * sees everything) gives other logits once the context is longer than the real window. */
TEST(arch_gemma3_window_changes_logits) {
    const arch_case narrow = {"gemma3_w6", "--arch gemma3 --n-layer 6 --swa 6 --head-dim 32"};
    const arch_case wide = {"gemma3_w128", "--arch gemma3 --n-layer 6 --swa 128 --head-dim 32"};
    char pn[512], pw[512];
    NEED_SHARED(VOCAB);
    if (!make_arch_model(&narrow, pn, sizeof pn) || !make_arch_model(&wide, pw, sizeof pw)) return;
    kernels_init(NULL, NULL);
    scarce_error err = {0};
    model *mn = model_load(pn, NULL, &err), *mw = model_load(pw, NULL, &err);
    REQUIRE(mn && mw);
    CHECK_EQ_INT(mn->layers[0].window, 6);
    CHECK_EQ_INT(mn->layers[5].window, 0); /* every 6th layer is global */
    session sn, sw;
    REQUIRE(session_init(&sn, mn, 64, &err) == 0 && session_init(&sw, mw, 64, &err) == 0);
    int t[N_TOK];
    some_tokens(t, N_TOK, mn->cfg.n_vocab);
    double d_short = 0, d_long = 0;
    for (int i = 0; i < N_TOK; i++) {
        const float *a = forward(&sn, &t[i], 1, 0, &err), *b = forward(&sw, &t[i], 1, 0, &err);
        REQUIRE(a && b);
        for (int v = 0; v < mn->cfg.n_vocab; v++) {
            double d = fabs(a[v] - b[v]);
            if (i < 6)
                d_short = fmax(d_short, d);
            else
                d_long = fmax(d_long, d);
        }
    }
    CHECK_MSG(d_short < 1e-5, "within the window both must agree: %.3g", d_short);
    CHECK_MSG(d_long > 1e-3, "past the window the logits must differ: %.3g", d_long);
    session_free(&sn), session_free(&sw);
    model_free(mn), model_free(mw);
}

/* Phi-3 picks its long rope factors only for a context past the original (64 here): a
 * session of 64 positions and one of 128 differ from the second token on. */
TEST(arch_phi3_long_factors_follow_the_context) {
    char path[512];
    NEED_SHARED(VOCAB);
    if (!make_arch_model(find_case("phi3_longrope"), path, sizeof path)) return;
    kernels_init(NULL, NULL);
    scarce_error err = {0};
    model *m = model_load(path, NULL, &err);
    REQUIRE(m && m->rope_long && m->rope_short);
    CHECK_EQ_INT(m->cfg.n_ctx_orig, 64);
    session a, b;
    REQUIRE(session_init(&a, m, 64, &err) == 0 && session_init(&b, m, 128, &err) == 0);
    int t[8];
    some_tokens(t, 8, m->cfg.n_vocab);
    const float *la = forward(&a, t, 8, 0, &err), *lb = forward(&b, t, 8, 0, &err);
    REQUIRE(la && lb);
    double d = 0;
    for (int v = 0; v < m->cfg.n_vocab; v++) d = fmax(d, fabs(la[v] - lb[v]));
    CHECK_MSG(d > 1e-4, "long and short factors gave the same logits (%.3g)", d);
    session_free(&a), session_free(&b);
    model_free(m);
}

/* Copies src to dst without tensor `drop`, or with tensor `shrink` one row shorter. */
static int copy_altered(const char *src, const char *dst, const char *drop, const char *shrink) {
    scarce_error err = {0};
    gguf_file *f = gguf_open(src, &err);
    if (!f) return -1;
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_copy_kv(w, &f->kv[i]);
    int rc = 0;
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++) {
        const gguf_tensor *t = &f->tensors[i];
        int64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        if (drop && !strcmp(t->name, drop)) continue;
        if (shrink && !strcmp(t->name, shrink)) ne[1]--;
        rc = gguf_writer_add_tensor(w, t->name, t->type, t->n_dims, ne, &err);
    }
    rc = rc || gguf_writer_open(w, dst, &err);
    for (uint64_t i = 0; i < f->n_tensors && !rc; i++) {
        const gguf_tensor *t = &f->tensors[i];
        if (drop && !strcmp(t->name, drop)) continue;
        size_t bytes =
            shrink && !strcmp(t->name, shrink) ? t->bytes / t->ne[1] * (t->ne[1] - 1) : t->bytes;
        rc = gguf_writer_write(w, t->data, bytes, &err);
    }
    rc = rc || gguf_writer_finish(w, &err);
    gguf_writer_free(w);
    gguf_close(f);
    return rc ? -1 : 0;
}

/* `scarce run` on the altered file: exit 1 and one error line naming the tensor. */
static void check_bad_file(const arch_case *c, const char *drop, const char *shrink) {
    char good[512], bad[600], cmd[1400];
    if (!make_arch_model(c, good, sizeof good)) return;
    snprintf(bad, sizeof bad, "%s/bad-%s.gguf", test_tmpdir(), c->name);
    REQUIRE(copy_altered(good, bad, drop, shrink) == 0);
    snprintf(cmd, sizeof cmd, "%s run -m %s -p hello -n 1", scarce_bin(), bad);
    char *out = NULL, *err = NULL;
    int code = run_cmd(cmd, &out, &err);
    const char *tensor = drop ? drop : shrink;
    CHECK_MSG(code == 1, "%s: exit %d, expected 1", c->name, code);
    CHECK_MSG(err && strstr(err, tensor), "%s: stderr does not name %s: %s", c->name, tensor,
              err ? err : "(none)");
    int lines = 0;
    for (const char *p = err; p && *p; p++) lines += *p == '\n';
    CHECK_MSG(lines == 1, "%s: %d lines of error, expected one: %s", c->name, lines, err);
    free(out), free(err);
}

TEST(arch_bad_files_name_the_tensor) {
    NEED_SHARED(VOCAB);
    check_bad_file(find_case("gemma3"), "blk.1.post_ffw_norm.weight", NULL);
    check_bad_file(find_case("gemma3"), "blk.0.post_attention_norm.weight", NULL);
    check_bad_file(find_case("qwen3"), "blk.0.attn_k_norm.weight", NULL);
    check_bad_file(find_case("qwen2"), "blk.1.attn_v.bias", NULL);
    check_bad_file(find_case("phi3"), NULL, "blk.0.attn_qkv.weight");
    check_bad_file(find_case("phi3"), NULL, "blk.1.ffn_up.weight");
}

TEST(arch_unknown_architecture_lists_supported) {
    char good[512], bad[600], cmd[1400];
    NEED_SHARED(VOCAB);
    if (!make_arch_model(find_case("llama"), good, sizeof good)) return;
    scarce_error e = {0};
    gguf_file *f = gguf_open(good, &e);
    REQUIRE(f);
    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < f->n_kv; i++) gguf_writer_copy_kv(w, &f->kv[i]);
    gguf_writer_set_str(w, "general.architecture", "mamba");
    for (uint64_t i = 0; i < f->n_tensors; i++)
        REQUIRE(gguf_writer_add_tensor(w, f->tensors[i].name, f->tensors[i].type,
                                       f->tensors[i].n_dims, f->tensors[i].ne, &e) == 0);
    snprintf(bad, sizeof bad, "%s/mamba.gguf", test_tmpdir());
    REQUIRE(gguf_writer_open(w, bad, &e) == 0);
    for (uint64_t i = 0; i < f->n_tensors; i++)
        REQUIRE(gguf_writer_write(w, f->tensors[i].data, f->tensors[i].bytes, &e) == 0);
    REQUIRE(gguf_writer_finish(w, &e) == 0);
    gguf_writer_free(w);
    gguf_close(f);
    snprintf(cmd, sizeof cmd, "%s run -m %s -p hello -n 1", scarce_bin(), bad);
    char *err = NULL;
    CHECK_EQ_INT(run_cmd(cmd, NULL, &err), 1);
    CHECK_MSG(err && strstr(err, "'mamba'") && strstr(err, "gemma3") && strstr(err, "qwen3"),
              "message: %s", err ? err : "(none)");
    free(err);
}
