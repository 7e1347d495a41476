/* test_ppl.c - perplexity and KL against direct computations. */
#include <stdlib.h>
#include <string.h>

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
