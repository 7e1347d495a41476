/* test_ppl.c - perplexity and KL against direct computations. */
#include <stdlib.h>
#include <string.h>

#include "../engine/kl_base.h"
#include "../engine/ppl.h"
#include "shared_data.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"

TEST(ppl_window_equals_direct_nll) {
    model *m = shared_model(STORIES);
    if (!m) return;
    scarce_error e;
    enum { C = 24 };
    int ids[C];
    for (int i = 0; i < C; i++) ids[i] = 3 + (i * 37) % (m->cfg.n_vocab - 3);
    session s, t;
    REQUIRE(session_init(&s, m, C, &e) == 0 && session_init(&t, m, C, &e) == 0);
    ppl_acc acc = {0};
    REQUIRE(ppl_window(&s, NULL, ids, C, 5, 1, &acc, &e) == 0); /* batches of 5 */
    CHECK_EQ_INT(acc.n, C - 1 - C / 2);
    /* direct: token by token, BOS first, -log softmax in double at the scored positions */
    double nll = 0;
    int n = 0;
    for (int i = 0; i < C - 1; i++) {
        int tok = i ? ids[i] : 1;
        const float *lg = forward(&t, &tok, 1, 0, &e);
        REQUIRE(lg);
        if (i < C / 2) continue;
        double max = lg[0], sum = 0;
        for (int v = 0; v < m->cfg.n_vocab; v++) max = lg[v] > max ? lg[v] : max;
        for (int v = 0; v < m->cfg.n_vocab; v++) sum += exp(lg[v] - max);
        nll += max + log(sum) - lg[ids[i + 1]], n++;
    }
    CHECK_NEAR(ppl_estimate(&acc, NULL), exp(nll / n), 1e-4 * exp(nll / n));
    ppl_acc_free(&acc);
    session_free(&s), session_free(&t);
    model_free(m);
}

TEST(ppl_kl_of_model_against_itself_is_zero) {
    model *m = shared_model(STORIES);
    if (!m) return;
    scarce_error e;
    enum { C = 16 };
    int ids[C];
    for (int i = 0; i < C; i++) ids[i] = 7 + (i * 11) % 400;
    session s, b;
    REQUIRE(session_init(&s, m, C, &e) == 0 && session_init(&b, m, C, &e) == 0);
    ppl_acc acc = {0};
    REQUIRE(ppl_window(&s, &b, ids, C, 0, 1, &acc, &e) == 0);
    kl_summary k;
    REQUIRE(ppl_kl_summary(&acc, &k) == 0);
    CHECK_NEAR(k.max, 0, 1e-12);
    CHECK_NEAR(k.top1_agree_pct, 100, 1e-12);
    CHECK_NEAR(k.ppl_ratio, 1, 1e-12);
    ppl_acc_free(&acc);
    session_free(&s), session_free(&b);
    model_free(m);
}

TEST(ppl_kl_row_matches_hand_computation) {
    const float p[3] = {0, 1, 2}, q[3] = {2, 1, 0};
    double zp = exp(0) + exp(1) + exp(2), want = 0;
    for (int v = 0; v < 3; v++) want += exp(p[v]) / zp * ((p[v] - log(zp)) - (q[v] - log(zp)));
    CHECK_NEAR(kl_row(p, q, 3), want, 1e-12);
    CHECK_NEAR(nll_row(p, 3, 2), log(zp) - 2, 1e-12);
    CHECK(kl_row(p, q, 3) > 0);
}

/* kl_base.h: log p = scale * u + min_log_prob reproduces log-softmax to half a step above
 * max - 16, and clamps below. */
TEST(ppl_kl_base_encoding) {
    enum { V = 1001 };
    float lg[V];
    for (int v = 0; v < V; v++) lg[v] = (float)(8 * sin(v * 0.37) + 0.01 * v);
    uint16_t row[2 * ((V + 1) / 2) + 4];
    CHECK_EQ_INT(kl_base_row_len(V), (int)(sizeof row / sizeof row[0]));
    kl_base_encode(lg, V, row);
    float head[2];
    memcpy(head, row, sizeof head);
    double max = lg[0], sum = 0;
    for (int v = 0; v < V; v++) max = lg[v] > max ? lg[v] : max;
    for (int v = 0; v < V; v++) sum += exp(lg[v] - max);
    CHECK(head[0] > 0 && head[0] <= 16.0 / 65535 * 1.0001);
    for (int v = 0; v < V; v++) {
        const double want = lg[v] - max - log(sum), got = head[0] * row[4 + v] + head[1];
        if (lg[v] > max - 16)
            CHECK_NEAR(got, want, head[0] * 0.51 + 1e-5);
        else
            CHECK_NEAR(got, head[1], 1e-6);
    }
}

/* A base written by --kl-base-out and read back scores a quantized model as the base model
 * itself does (up to the 16-bit log-probabilities); a truncated file is refused. */
TEST(ppl_kl_base_file_round_trip) {
    model *m = shared_model(STORIES);
    if (!m) return;
    model_free(m);
    char q[512], kl[512], cmd[2048];
    snprintf(q, sizeof q, "%s/q.gguf", test_tmpdir());
    snprintf(kl, sizeof kl, "%s/base.kl", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s quantize %s %s q4_0", scarce_bin(), shared_path(STORIES), q);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    scarce_error e;
    model *base = shared_model(STORIES);
    model *mq = model_load(q, NULL, &e);
    REQUIRE(base && mq);
    enum { C = 32, N = 3 };
    int ids[C * N];
    gguf_file *tf = NULL;
    tokenizer *tok = shared_tokenizer(STORIES, &tf);
    REQUIRE(tok);
    char *text = read_file(shared_path("data/tinystories-valid.txt"), NULL);
    REQUIRE(text);
    text[2000] = 0;
    int all[2048];
    REQUIRE(tokenizer_encode(tok, text, 0, all, 2048, &e) >= C * N);
    memcpy(ids, all, sizeof ids);
    free(text), tokenizer_free(tok), gguf_close(tf);
    session sb, sq;
    REQUIRE(session_init(&sb, base, C, &e) == 0 && session_init(&sq, mq, C, &e) == 0);
    kl_base_file *out = kl_base_create(kl, C, base->cfg.n_vocab, N, ids, &e);
    REQUIRE(out);
    ppl_acc write_acc = {0}, direct = {0}, via_file = {0};
    const ppl_base to_file = {.out = out}, pair = {.s = &sb};
    for (int c = 0; c < N; c++) {
        REQUIRE(ppl_window_base(&sb, &to_file, ids + c * C, C, 7, 1, &write_acc, &e) == 0);
        REQUIRE(ppl_window_base(&sq, &pair, ids + c * C, C, 0, 1, &direct, &e) == 0);
    }
    REQUIRE(kl_base_commit(out, &e) == 0);
    kl_base_close(out);
    size_t len = 0;
    char *bytes = read_file(kl, &len);
    REQUIRE(bytes);
    CHECK(!memcmp(bytes, "_logits_", 8));
    CHECK_EQ_INT(len, 20 + 4 * C * N +
                          2 * (size_t)kl_base_row_len(base->cfg.n_vocab) * (C - 1 - C / 2) * N);
    kl_base_file *in = kl_base_open(kl, &e);
    REQUIRE(in);
    CHECK_EQ_INT(kl_base_get_info(in).n_ctx, C);
    CHECK(!memcmp(kl_base_get_info(in).tokens, ids, sizeof ids));
    const ppl_base from_file = {.in = in};
    for (int c = 0; c < N; c++)
        REQUIRE(ppl_window_base(&sq, &from_file, ids + c * C, C, 5, 1, &via_file, &e) == 0);
    kl_base_close(in);
    kl_summary a, b;
    REQUIRE(ppl_kl_summary(&direct, &a) == 0 && ppl_kl_summary(&via_file, &b) == 0);
    CHECK(a.mean > 0);
    CHECK_NEAR(b.mean, a.mean, 0.01 * a.mean + 1e-4);
    CHECK_NEAR(b.max, a.max, 0.01 * a.max + 1e-4);
    CHECK_NEAR(b.top1_agree_pct, a.top1_agree_pct, 1e-9);
    CHECK_NEAR(ppl_base_estimate(&via_file, NULL), ppl_estimate(&write_acc, NULL), 1e-3);
    CHECK(a.ppl_ratio_err > 0 && a.ppl_ratio_err < a.ppl_ratio);
    /* truncated: refused with the file's name */
    FILE *f = fopen(kl, "wb");
    REQUIRE(f);
    fwrite(bytes, 1, len - 10, f);
    fclose(f);
    CHECK(kl_base_open(kl, &e) == NULL && strstr(e.msg, "base.kl"));
    free(bytes);
    ppl_acc_free(&write_acc), ppl_acc_free(&direct), ppl_acc_free(&via_file);
    session_free(&sb), session_free(&sq);
    model_free(base), model_free(mq);
}
