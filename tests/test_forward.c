/* test_forward.c - the forward pass against an independent double-precision forward,
 * batched against one-token-at-a-time, and the KV cache rollback. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../kernels/cpu.h"
#include "ref_forward.h"
#include "test.h"

/* Feeds tokens one by one to both engines; returns the largest |logit difference|. */
static double max_diff_vs_reference(const char *path, const int *tokens, int n) {
    scarce_error err = {0};
    kernels_init("scalar", NULL);
    model *m = model_load(path, NULL, &err);
    if (!m) {
        test_fail_at(__FILE__, __LINE__, "%s", err.msg);
        return INFINITY;
    }
    session s;
    if (session_init(&s, m, 128, &err)) return INFINITY;
    ref_model *r = ref_model_open(m->file);
    double *ref = malloc(sizeof(double) * m->cfg.n_vocab), worst = 0;
    for (int i = 0; i < n; i++) {
        const float *logits = forward(&s, &tokens[i], 1, 0, &err);
        if (!logits) {
            test_fail_at(__FILE__, __LINE__, "%s", err.msg);
            worst = INFINITY;
            break;
        }
        ref_model_step(r, tokens[i], ref);
        for (int v = 0; v < m->cfg.n_vocab; v++) {
            double d = fabs(logits[v] - ref[v]);
            if (d > worst || isnan(d)) worst = isnan(d) ? INFINITY : d;
        }
    }
    free(ref);
    ref_model_free(r);
    session_free(&s);
    model_free(m);
    return worst;
}

static void some_tokens(int *t, int n, int vocab) {
    uint32_t x = 12345;
    t[0] = 1;
    for (int i = 1; i < n; i++) {
        x = x * 1664525u + 1013904223u;
        t[i] = 3 + (int)((x >> 8) % (uint32_t)(vocab - 3));
    }
}

TEST(forward_stories260K_matches_double_reference) {
    const char *path = shared_path("models/stories260K.gguf");
    NEED_FILE(path);
    int t[40];
    some_tokens(t, 40, 512);
    double d = max_diff_vs_reference(path, t, 40);
    CHECK_MSG(d < 1e-4, "max |logit diff| %.3g >= 1e-4", d);
}

static int make_synthetic(const char *out, const char *type, int n_head_kv) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "%s mkmodel -o %s --vocab %s --n-embd 64 --n-layer 2 --n-head 8 --n-head-kv %d "
             "--n-ff 96 --seed 7 --type %s",
             scarce_bin(), out, shared_path("models/stories260K.gguf"), n_head_kv, type);
    return run_cmd(cmd, NULL, NULL);
}

TEST(forward_synthetic_gqa_matches_double_reference) {
    NEED_SHARED("models/stories260K.gguf");
    const char *types[] = {"f32", "f16", "bf16"};
    for (int i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/gqa-%s.gguf", test_tmpdir(), types[i]);
        REQUIRE(make_synthetic(path, types[i], 2) == 0);
        int t[24];
        some_tokens(t, 24, 512);
        double d = max_diff_vs_reference(path, t, 24);
        /* f16/bf16 weights are exact in both; only f32 summation order differs */
        CHECK_MSG(d < 1e-4, "%s: max |logit diff| %.3g >= 1e-4", types[i], d);
    }
}

/* Logits of a batched prefill equal those of feeding the same tokens one at a time. */
TEST(forward_batched_equals_sequential) {
    const char *path = shared_path("models/stories260K.gguf");
    NEED_FILE(path);
    kernels_init(NULL, NULL);
    scarce_error err;
    model *m = model_load(path, NULL, &err);
    REQUIRE(m);
    enum { N = 75 }; /* more than one internal batch */
    int t[N];
    some_tokens(t, N, m->cfg.n_vocab);
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
    CHECK_MSG(worst < 1e-4, "batched vs sequential: max diff %.3g", worst);
    CHECK_EQ_INT(a.cache.n_pos, N);
    session_free(&a);
    session_free(&b);
    model_free(m);
}

/* Truncating the cache and re-running gives the logits of the first run. */
TEST(forward_kvcache_rollback) {
    const char *path = shared_path("models/stories260K.gguf");
    NEED_FILE(path);
    kernels_init(NULL, NULL);
    scarce_error err;
    model *m = model_load(path, NULL, &err);
    REQUIRE(m);
    session s;
    REQUIRE(session_init(&s, m, 64, &err) == 0);
    int t[12], other[4] = {5, 6, 7, 8};
    some_tokens(t, 12, m->cfg.n_vocab);
    const float *l = forward(&s, t, 12, 0, &err);
    REQUIRE(l);
    float *first = malloc(sizeof(float) * m->cfg.n_vocab);
    memcpy(first, l, sizeof(float) * m->cfg.n_vocab);
    kvcache_truncate(&s.cache, 6);
    REQUIRE(forward(&s, other, 4, 0, &err)); /* a rejected draft */
    kvcache_truncate(&s.cache, 6);
    l = forward(&s, t + 6, 6, 0, &err);
    REQUIRE(l);
    for (int v = 0; v < m->cfg.n_vocab; v++) CHECK_NEAR(l[v], first[v], 1e-5);
    /* context overflow is an error and leaves the cache as it was */
    CHECK(forward(&s, t, 64, 0, &err) == NULL);
    CHECK(strstr(err.msg, "context") != NULL);
    CHECK_EQ_INT(s.cache.n_pos, 12);
    int bad = m->cfg.n_vocab;
    CHECK(forward(&s, &bad, 1, 0, &err) == NULL);
    free(first);
    session_free(&s);
    model_free(m);
}
