/* test_api_ppl.c - include/scarce.h's perplexity API (scarce_ppl_*): the figures of
 * `scarce ppl` and `scarce imatrix` (which use it), KL against the model itself and through a
 * KL base file, and a status with a message for every bad input. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/scarce.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"
#define TEXT "data/tinystories-valid.txt"

static scarce_model *open_model(const char *path) {
    char err[512];
    scarce_model *m = NULL;
    scarce_model_params mp = scarce_model_default_params();
    mp.n_threads = 1;
    int rc = scarce_model_open(path, &mp, &m, err, sizeof err);
    CHECK_MSG(rc == SCARCE_OK, "%s: %s", path, err);
    return m;
}

/* The first `bytes` of the shared text into the test's tmpdir (its path), and its ids as
 * scarce ppl reads them (BOS first when the vocabulary adds one) into ids (cap). */
static const char *text_file(scarce_model *m, size_t bytes, int32_t *ids, int cap, int *n) {
    static char path[600];
    char *text = read_file(shared_path(TEXT), NULL);
    if (!text) return NULL;
    if (strlen(text) > bytes) text[bytes] = 0;
    snprintf(path, sizeof path, "%s/text.txt", test_tmpdir());
    FILE *f = fopen(path, "w");
    const int ok = f && fputs(text, f) >= 0;
    if (f) fclose(f);
    *n = scarce_tokenize(m, text, scarce_token_add_flags(m) & SCARCE_ADD_BOS, ids, cap);
    free(text);
    return ok && *n > 0 ? path : NULL;
}

/* Scores every window; the tool's stdout lines into out ("[1]x,[2]y\nFinal ...\n"). */
static int score_all(scarce_ppl *ppl, scarce_ppl_result *res, char *out, size_t cap) {
    scarce_ppl_info in;
    int rc = scarce_ppl_get_info(ppl, &in);
    size_t len = 0;
    double nll_sum = 0;
    out[0] = 0;
    for (int c = 0; !rc && c < in.n_windows; c++) {
        scarce_ppl_window w;
        if ((rc = scarce_ppl_next(ppl, &w))) break;
        CHECK_EQ_INT(w.window, c);
        CHECK_EQ_INT(w.n_scored, in.scored_per_window);
        nll_sum += w.nll * w.n_scored;
        len += snprintf(out + len, cap - len, "[%d]%.4f%s", c + 1, w.ppl,
                        c + 1 < in.n_windows ? "," : "\n");
    }
    if (rc) return rc;
    scarce_ppl_get_result(ppl, res);
    snprintf(out + len, cap - len, "Final estimate: PPL = %.4f +/- %.5f\n", res->ppl, res->ppl_err);
    /* the windows' mean NLLs make up the whole */
    CHECK_NEAR(log(res->ppl), nll_sum / (double)res->n_scored, 1e-9);
    CHECK_EQ_INT((int)res->n_scored, in.n_windows * in.scored_per_window);
    return SCARCE_OK;
}

TEST(api_ppl_equals_scarce_ppl) {
    NEED_SHARED(STORIES);
    NEED_SHARED(TEXT);
    scarce_model *m = open_model(shared_path(STORIES));
    REQUIRE(m);
    static int32_t ids[20000];
    int n = 0;
    const char *path = text_file(m, 8000, ids, 20000, &n);
    REQUIRE(path);
    const int n_batch[] = {0, 7};
    char got[2][8192];
    scarce_ppl_result res[2];
    for (int b = 0; b < 2; b++) {
        scarce_ppl_params pp = {.n_ctx = 64, .n_batch = n_batch[b]};
        scarce_ppl *ppl = NULL;
        REQUIRE(scarce_ppl_begin(m, ids, n, &pp, &ppl) == SCARCE_OK);
        scarce_ppl_info in;
        REQUIRE(scarce_ppl_get_info(ppl, &in) == SCARCE_OK);
        CHECK_EQ_INT(in.n_windows, n / 64);
        CHECK_EQ_INT(in.scored_per_window, 64 - 1 - 32);
        CHECK_EQ_INT(score_all(ppl, &res[b], got[b], sizeof got[b]), SCARCE_OK);
        CHECK(!res[b].has_kl && res[b].n_imatrix == 0);
        scarce_ppl_free(ppl);
    }
    /* n_batch changes how the windows run, not what they score */
    CHECK_NEAR(res[1].ppl, res[0].ppl, 1e-6 * res[0].ppl);
    CHECK_MSG(!strcmp(got[0], got[1]), "%s\nvs\n%s", got[0], got[1]);
    char cmd[1600], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s ppl -m %s -f %s -c 64 -t 1 2>/dev/null", scarce_bin(),
             shared_path(STORIES), path);
    REQUIRE(run_cmd(cmd, &out, NULL) == 0 && out);
    CHECK_MSG(!strcmp(out, got[0]), "scarce ppl:\n%s\napi:\n%s", out, got[0]);
    free(out);
    scarce_model_close(m);
}

/* The model against itself: KL 0, full agreement, ratio 1. Its rows saved as a KL base
 * file and read back score it as the model itself does, up to the file's 16 bits. */
TEST(api_ppl_kl_against_itself_and_its_base_file) {
    NEED_SHARED(STORIES);
    NEED_SHARED(TEXT);
    scarce_model *m = open_model(shared_path(STORIES));
    REQUIRE(m);
    static int32_t ids[20000];
    int n = 0;
    REQUIRE(text_file(m, 6000, ids, 20000, &n));
    char kl_path[600], lines[2][8192];
    snprintf(kl_path, sizeof kl_path, "%s/base.kl", test_tmpdir());
    scarce_ppl_params pp = {.n_ctx = 48, .n_windows = 5, .base_model = m, .base_out = kl_path};
    scarce_ppl *ppl = NULL;
    scarce_ppl_result self, file;
    REQUIRE(scarce_ppl_begin(m, ids, n, &pp, &ppl) == SCARCE_OK);
    /* the file is written only once every window is scored */
    CHECK_EQ_INT(scarce_ppl_save_base(ppl), SCARCE_ERR_ARGUMENT);
    CHECK(strstr(scarce_ppl_error(ppl), "0 of 5 windows"));
    CHECK_EQ_INT(score_all(ppl, &self, lines[0], sizeof lines[0]), SCARCE_OK);
    CHECK_EQ_INT(scarce_ppl_next(ppl, NULL), SCARCE_ERR_ARGUMENT);
    CHECK(!file_exists(kl_path));
    CHECK_EQ_INT(scarce_ppl_save_base(ppl), SCARCE_OK);
    CHECK(file_exists(kl_path) && scarce_ppl_is_base_file(kl_path));
    scarce_ppl_free(ppl);
    CHECK(self.has_kl && self.n_windows == 5);
    CHECK_NEAR(self.kl_max, 0, 1e-12);
    CHECK_NEAR(self.top1_agree_pct, 100, 1e-12);
    CHECK_NEAR(self.ppl_ratio, 1, 1e-12);
    CHECK_NEAR(self.base_ppl, self.ppl, 1e-12 * self.ppl);

    scarce_ppl_params from_file = {.base_file = kl_path};
    REQUIRE(scarce_ppl_begin(m, NULL, 0, &from_file, &ppl) == SCARCE_OK);
    scarce_ppl_info in;
    scarce_ppl_get_info(ppl, &in);
    CHECK(in.n_ctx == 48 && in.n_windows == 5 && in.n_tokens == 5 * 48);
    CHECK_EQ_INT(score_all(ppl, &file, lines[1], sizeof lines[1]), SCARCE_OK);
    scarce_ppl_free(ppl);
    CHECK_MSG(!strcmp(lines[0], lines[1]), "%s\nvs\n%s", lines[0], lines[1]);
    CHECK(file.has_kl && file.kl_max < 1e-3 && file.top1_agree_pct == 100);
    CHECK_NEAR(file.base_ppl, self.ppl, 1e-3 * self.ppl);
    scarce_model_close(m);
}

/* SCARCE_PPL_ALL with the importance matrix: the perplexity scarce imatrix prints, and the
 * very file it writes. */
TEST(api_ppl_imatrix_equals_scarce_imatrix) {
    NEED_SHARED(STORIES);
    NEED_SHARED(TEXT);
    scarce_model *m = open_model(shared_path(STORIES));
    REQUIRE(m);
    static int32_t ids[20000];
    int n = 0;
    const char *text = text_file(m, 5000, ids, 20000, &n);
    REQUIRE(text);
    char api_out[600], tool_out[600], cmd[2400], want[900], *out = NULL;
    snprintf(api_out, sizeof api_out, "%s/api.imatrix", test_tmpdir());
    snprintf(tool_out, sizeof tool_out, "%s/tool.imatrix", test_tmpdir());
    scarce_ppl_params pp = {.n_ctx = 40, .n_windows = 6, .scoring = SCARCE_PPL_ALL, .imatrix = 1};
    scarce_ppl *ppl = NULL;
    scarce_ppl_result res;
    REQUIRE(scarce_ppl_begin(m, ids, n, &pp, &ppl) == SCARCE_OK);
    scarce_ppl_info in;
    scarce_ppl_get_info(ppl, &in);
    CHECK_EQ_INT(in.scored_per_window, 39);
    while (scarce_ppl_next(ppl, NULL) == SCARCE_OK) continue;
    REQUIRE(scarce_ppl_save_imatrix(ppl, api_out, text) == SCARCE_OK);
    scarce_ppl_get_result(ppl, &res);
    scarce_ppl_free(ppl);
    CHECK(res.n_windows == 6 && res.n_scored == 6 * 39 && res.n_imatrix > 0);
    snprintf(cmd, sizeof cmd, "%s imatrix -m %s -f %s -c 40 --chunks 6 -t 1 -o %s", scarce_bin(),
             shared_path(STORIES), text, tool_out);
    REQUIRE(run_cmd(cmd, &out, NULL) == 0 && out);
    snprintf(want, sizeof want, "6 chunks of 40 tokens, %d weight matrices, perplexity %.4f; wrote",
             res.n_imatrix, res.ppl);
    CHECK_MSG(strstr(out, want), "scarce imatrix: %s\napi: %s", out, want);
    free(out);
    size_t len_a = 0, len_t = 0;
    char *a = read_file(api_out, &len_a), *t = read_file(tool_out, &len_t);
    CHECK_MSG(a && t && len_a == len_t && !memcmp(a, t, len_a), "%zu vs %zu bytes", len_a, len_t);
    free(a), free(t);
    scarce_model_close(m);
}

static void status_is(int got, int want, const char *what, const char *msg) {
    CHECK_MSG(got == want, "%s: %s, expected %s", what, scarce_status_name(got),
              scarce_status_name(want));
    CHECK_MSG(!msg || msg[0], "%s: no message", what);
}

/* Every bad input gives a status and a message, never an exit. */
TEST(api_ppl_errors_are_statuses) {
    NEED_SHARED(STORIES);
    scarce_model *m = open_model(shared_path(STORIES));
    REQUIRE(m);
    int32_t ids[200];
    for (int i = 0; i < 200; i++) ids[i] = 1 + (i * 7) % 500;
    scarce_ppl *ppl = NULL;
    const scarce_ppl_params ok = {.n_ctx = 32};
    status_is(scarce_ppl_begin(NULL, ids, 200, &ok, &ppl), SCARCE_ERR_ARGUMENT, "NULL model", NULL);
    status_is(scarce_ppl_begin(m, ids, 200, &ok, NULL), SCARCE_ERR_ARGUMENT, "NULL out",
              scarce_model_error(m));
    status_is(scarce_ppl_begin(m, NULL, 200, &ok, &ppl), SCARCE_ERR_ARGUMENT, "NULL ids",
              scarce_model_error(m));
    status_is(scarce_ppl_begin(m, ids, 20, &ok, &ppl), SCARCE_ERR_ARGUMENT, "short",
              scarce_model_error(m));
    CHECK_MSG(strstr(scarce_model_error(m), "fewer than one window"), "%s", scarce_model_error(m));
    const scarce_ppl_params bad[] = {
        {.n_ctx = 3},
        {.n_ctx = 1 << 21},
        {.n_ctx = 32, .n_batch = -1},
        {.n_ctx = 32, .n_windows = -2},
        {.n_ctx = 32, .scoring = 7},
        {.n_ctx = 32, .scoring = SCARCE_PPL_ALL, .base_model = m},
        {.n_ctx = 32, .base_model = m, .base_file = "x.kl"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        status_is(scarce_ppl_begin(m, ids, 200, &bad[i], &ppl), SCARCE_ERR_ARGUMENT, "params",
                  scarce_model_error(m));
        CHECK(!ppl);
    }
    ids[150] = 100000;
    status_is(scarce_ppl_begin(m, ids, 200, &ok, &ppl), SCARCE_ERR_TOKEN, "token",
              scarce_model_error(m));
    CHECK_MSG(strstr(scarce_model_error(m), "100000"), "%s", scarce_model_error(m));
    ids[150] = 5;
    /* base files: missing, not one, tokens given besides */
    scarce_ppl_params pf = {.base_file = "/nonexistent/base.kl"};
    status_is(scarce_ppl_begin(m, NULL, 0, &pf, &ppl), SCARCE_ERR_IO, "missing",
              scarce_model_error(m));
    CHECK(!scarce_ppl_is_base_file(pf.base_file) && !scarce_ppl_is_base_file(NULL));
    pf.base_file = shared_path(STORIES);
    CHECK(!scarce_ppl_is_base_file(pf.base_file));
    status_is(scarce_ppl_begin(m, NULL, 0, &pf, &ppl), SCARCE_ERR_FORMAT, "a model",
              scarce_model_error(m));
    status_is(scarce_ppl_begin(m, ids, 200, &pf, &ppl), SCARCE_ERR_ARGUMENT, "ids and file",
              scarce_model_error(m));
    /* base_out where it cannot be written */
    scarce_ppl_params po = {.n_ctx = 32, .base_out = "/nonexistent/dir/out.kl"};
    status_is(scarce_ppl_begin(m, ids, 200, &po, &ppl), SCARCE_ERR_IO, "base_out",
              scarce_model_error(m));
    /* a vocab_only model has no contexts */
    char err[512];
    scarce_model *vocab = NULL;
    scarce_model_params vp = scarce_model_default_params();
    vp.vocab_only = 1;
    REQUIRE(scarce_model_open(shared_path(STORIES), &vp, &vocab, err, sizeof err) == SCARCE_OK);
    status_is(scarce_ppl_begin(vocab, ids, 200, &ok, &ppl), SCARCE_ERR_ARGUMENT, "vocab_only",
              scarce_model_error(vocab));
    scarce_ppl_params pv = {.n_ctx = 32, .base_model = vocab};
    status_is(scarce_ppl_begin(m, ids, 200, &pv, &ppl), SCARCE_ERR_ARGUMENT, "vocab_only base",
              scarce_model_error(m));
    scarce_model_close(vocab);
    /* calls on a handle that does not do what is asked */
    REQUIRE(scarce_ppl_begin(m, ids, 200, &ok, &ppl) == SCARCE_OK);
    status_is(scarce_ppl_save_base(ppl), SCARCE_ERR_ARGUMENT, "no base_out", scarce_ppl_error(ppl));
    status_is(scarce_ppl_save_imatrix(ppl, "x.gguf", NULL), SCARCE_ERR_ARGUMENT, "no imatrix",
              scarce_ppl_error(ppl));
    scarce_ppl_result res;
    CHECK_EQ_INT(scarce_ppl_get_result(ppl, &res), SCARCE_OK);
    CHECK(res.n_windows == 0 && res.n_scored == 0 && isnan(res.ppl));
    scarce_ppl_free(ppl);
    status_is(scarce_ppl_next(NULL, NULL), SCARCE_ERR_ARGUMENT, "NULL next", NULL);
    status_is(scarce_ppl_get_info(NULL, NULL), SCARCE_ERR_ARGUMENT, "NULL info", NULL);
    status_is(scarce_ppl_get_result(NULL, &res), SCARCE_ERR_ARGUMENT, "NULL result", NULL);
    status_is(scarce_ppl_save_base(NULL), SCARCE_ERR_ARGUMENT, "NULL save", NULL);
    CHECK(scarce_ppl_error(NULL)[0]);
    scarce_ppl_free(NULL);
    scarce_model_close(m);
}
