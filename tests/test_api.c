/* test_api.c - include/scarce.h as a program outside the project sees it: the text it
 * generates is `scarce run`'s, two models run at once in two threads, every function
 * answers bad input with a status (never an exit), and the examples/ programs run. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../include/scarce.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"
#define PROMPT "Once upon a time"

/* ---- helpers --------------------------------------------------------------------------- */

typedef struct {
    char text[8192];
    size_t len;
    int stop_after; /* > 0: the callback asks to stop after this many tokens */
    int calls;
} text_buf;

static int collect(void *user, int32_t token, const char *piece, size_t len) {
    text_buf *t = user;
    (void)token;
    if (t->len + len < sizeof t->text) memcpy(t->text + t->len, piece, len), t->len += len;
    t->text[t->len] = 0;
    return t->stop_after && ++t->calls >= t->stop_after;
}

static scarce_model *open_model(const char *path, int n_threads) {
    char err[512];
    scarce_model *m = NULL;
    scarce_model_params mp = scarce_model_default_params();
    mp.n_threads = n_threads;
    int rc = scarce_model_open(path, &mp, &m, err, sizeof err);
    CHECK_MSG(rc == SCARCE_OK && m, "%s: %s", path, err);
    return m;
}

/* A greedy context on m; NULL (the failure checked) when it cannot be made. */
static scarce_context *greedy_context(scarce_model *m) {
    scarce_context_params cp = scarce_context_default_params();
    cp.temp = 0;
    scarce_context *ctx = NULL;
    const int rc = scarce_context_new(m, &cp, &ctx);
    CHECK_MSG(rc == SCARCE_OK && ctx, "context: %s", scarce_model_error(m));
    return ctx;
}

/* The prompt as `scarce run` echoes it (its tokens' pieces), then the generated text. */
static int generate_text(scarce_model *m, const scarce_context_params *cp, const char *prompt,
                         int n, text_buf *out) {
    memset(out, 0, sizeof *out);
    int32_t ids[256];
    int n_ids = scarce_tokenize(m, prompt, SCARCE_ADD_BOS, ids, 256);
    if (n_ids < 0) return n_ids;
    for (int i = 0; i < n_ids; i++) {
        char piece[256];
        int len = scarce_token_piece(m, i ? ids[i - 1] : -1, ids[i], piece, sizeof piece);
        if (len < 0) return len;
        collect(out, ids[i], piece, (size_t)len);
    }
    scarce_context *ctx;
    int rc = scarce_context_new(m, cp, &ctx);
    if (rc) return rc;
    rc = scarce_generate(ctx, prompt, n, collect, out, NULL);
    collect(out, 0, "\n", 1);
    scarce_context_free(ctx);
    return rc;
}

/* stdout of `scarce run` with these flags (malloc'd) */
static char *scarce_run(const char *model, const char *flags) {
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s run -m %s -p '%s' -t 1 %s 2>/dev/null", scarce_bin(), model,
             PROMPT, flags);
    int rc = run_cmd(cmd, &out, NULL);
    CHECK_MSG(rc == 0, "%s: exit %d", cmd, rc);
    return out;
}

/* ---- the same text as scarce run -------------------------------------------------------- */

TEST(api_generate_matches_scarce_run) {
    NEED_SHARED(STORIES);
    const char *path = shared_path(STORIES);
    scarce_model *m = open_model(path, 1);
    REQUIRE(m);
    /* greedy, then llama.cpp's sampling chain with a seed */
    scarce_context_params greedy = scarce_context_default_params(), sampled = greedy;
    greedy.temp = 0, sampled.seed = 42;
    const scarce_context_params *params[] = {&greedy, &sampled};
    const char *flags[] = {"-n 60 --temp 0", "-n 60 --seed 42"};
    for (int i = 0; i < 2; i++) {
        text_buf got;
        CHECK_EQ_INT(generate_text(m, params[i], PROMPT, 60, &got), SCARCE_OK);
        char *want = scarce_run(path, flags[i]);
        REQUIRE(want);
        CHECK_MSG(!strcmp(got.text, want), "%s:\napi:  %s\nrun:  %s", flags[i], got.text, want);
        CHECK(got.len > strlen(PROMPT) + 20); /* it did generate */
        free(want);
    }
    scarce_model_close(m);
}

/* ---- two models in two threads ---------------------------------------------------------- */

typedef struct {
    const char *path, *prompt;
    char want[8192];
    int ok, rounds;
    char why[640];
} thread_job;

static void *run_job(void *arg) {
    thread_job *j = arg;
    char err[512];
    scarce_model *m = NULL;
    scarce_model_params mp = scarce_model_default_params();
    mp.n_threads = 1;
    j->ok = 0;
    if (scarce_model_open(j->path, &mp, &m, err, sizeof err)) {
        snprintf(j->why, sizeof j->why, "open: %s", err);
        return NULL;
    }
    scarce_context_params cp = scarce_context_default_params();
    cp.temp = 0;
    int same = 1;
    for (int r = 0; r < j->rounds && same; r++) {
        text_buf got;
        int rc = generate_text(m, &cp, j->prompt, 80, &got);
        same = rc == SCARCE_OK && !strcmp(got.text, j->want);
        if (!same)
            snprintf(j->why, sizeof j->why, "round %d (%s): %.200s", r, scarce_status_name(rc),
                     got.text);
    }
    j->ok = same;
    scarce_model_close(m);
    return NULL;
}

TEST(api_two_models_in_two_threads) {
    NEED_SHARED(STORIES);
    char q4[512], cmd[1400];
    snprintf(q4, sizeof q4, "%s/stories_q4_0.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd, "%s quantize %s %s q4_0 -t 1 >/dev/null 2>&1", scarce_bin(),
             shared_path(STORIES), q4);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    thread_job jobs[2] = {{.path = shared_path(STORIES), .prompt = PROMPT, .rounds = 6},
                          {.path = q4, .prompt = "Lily and Ben went to the park", .rounds = 6}};
    /* each model's text alone first: what the threads must reproduce */
    for (int i = 0; i < 2; i++) {
        scarce_model *m = open_model(jobs[i].path, 1);
        REQUIRE(m);
        scarce_context_params cp = scarce_context_default_params();
        cp.temp = 0;
        text_buf t;
        CHECK_EQ_INT(generate_text(m, &cp, jobs[i].prompt, 80, &t), SCARCE_OK);
        memcpy(jobs[i].want, t.text, t.len + 1);
        scarce_model_close(m);
    }
    CHECK(strcmp(jobs[0].want, jobs[1].want) != 0); /* two different texts to tell apart */
    pthread_t th[2];
    for (int i = 0; i < 2; i++) REQUIRE(pthread_create(&th[i], NULL, run_job, &jobs[i]) == 0);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) CHECK_MSG(jobs[i].ok, "%s: %s", jobs[i].path, jobs[i].why);
}

/* ---- speculative: greedy gives the plain text ------------------------------------------- */

TEST(api_speculative_greedy_same_text) {
    NEED_SHARED(STORIES);
    scarce_model *m = open_model(shared_path(STORIES), 1),
                 *draft = open_model(shared_path(STORIES), 1);
    REQUIRE(m && draft);
    scarce_context_params cp = scarce_context_default_params();
    cp.temp = 0;
    text_buf plain;
    CHECK_EQ_INT(generate_text(m, &cp, PROMPT, 50, &plain), SCARCE_OK);
    const scarce_spec_params specs[] = {
        {.source = SCARCE_DRAFT_MODEL, .draft_model = draft, .n_draft = 4},
        {.source = SCARCE_DRAFT_LAYERS, .draft_layers = 2, .n_draft = 3},
        {.source = SCARCE_DRAFT_LOOKUP, .lookup_n = 2},
    };
    scarce_context *ctx;
    REQUIRE(scarce_context_new(m, &cp, &ctx) == SCARCE_OK);
    for (int i = 0; i < 3; i++) {
        text_buf got = {0};
        int n_gen = 0;
        int rc = scarce_generate_spec(ctx, PROMPT, 50, &specs[i], collect, &got, &n_gen);
        CHECK_MSG(rc == SCARCE_OK, "source %d: %s", i, scarce_context_error(ctx));
        /* plain: the prompt, the generated text, a newline */
        CHECK_MSG(got.len > 20 && plain.len == strlen(PROMPT) + got.len + 1 &&
                      !strncmp(plain.text + strlen(PROMPT), got.text, got.len),
                  "source %d: %s\nplain: %s", i, got.text, plain.text);
        scarce_stats st;
        CHECK_EQ_INT(scarce_context_stats(ctx, &st), SCARCE_OK);
        CHECK(st.spec_passes > 0 && st.spec_accepted <= st.spec_drafted);
        CHECK_EQ_INT(st.decode_tokens, n_gen);
        /* the same model as its own draft agrees with itself on every token */
        if (i == 0) CHECK_EQ_INT(st.spec_accepted, st.spec_drafted);
    }
    scarce_context_free(ctx);
    scarce_model_close(draft);
    scarce_model_close(m);
}

/* ---- eval, sample, statistics ------------------------------------------------------------ */

TEST(api_eval_sample_and_stats) {
    NEED_SHARED(STORIES);
    scarce_model *m = open_model(shared_path(STORIES), 1);
    REQUIRE(m);
    scarce_context_params cp = scarce_context_default_params();
    cp.temp = 0;
    scarce_context *ctx;
    REQUIRE(scarce_context_new(m, &cp, &ctx) == SCARCE_OK);
    int32_t ids[64];
    int n = scarce_tokenize(m, PROMPT, SCARCE_ADD_BOS, ids, 64);
    REQUIRE(n > 2);
    CHECK_EQ_INT(ids[0], scarce_token_bos(m));
    char text[256];
    CHECK(scarce_detokenize(m, ids, n, text, sizeof text) > 0 && !strcmp(text, PROMPT));
    /* the greedy token after the prompt from eval + sample is generate's first token */
    const float *logits;
    CHECK_EQ_INT(scarce_eval(ctx, ids, n, 1, &logits), SCARCE_OK);
    CHECK_EQ_INT(scarce_context_n_pos(ctx), n);
    int32_t next;
    CHECK_EQ_INT(scarce_sample(ctx, logits + (size_t)(n - 1) * scarce_model_n_vocab(m), &next),
                 SCARCE_OK);
    text_buf got = {.stop_after = 1};
    int32_t first = -1;
    CHECK_EQ_INT(scarce_generate(ctx, PROMPT, 10, collect, &got, NULL), SCARCE_OK);
    CHECK_EQ_INT(got.calls, 1); /* the callback's stop was obeyed */
    char piece[64];
    first = next;
    CHECK(scarce_token_piece(m, ids[n - 1], first, piece, sizeof piece) >= 0 &&
          !strcmp(piece, got.text));
    CHECK_EQ_INT(scarce_generate(ctx, PROMPT, 30, NULL, NULL, NULL), SCARCE_OK);
    scarce_stats st;
    CHECK_EQ_INT(scarce_context_stats(ctx, &st), SCARCE_OK);
    CHECK_EQ_INT(st.prompt_tokens, n);
    CHECK(st.decode_tokens >= 1 && st.decode_tok_s > 0 && st.achieved_gb_s > 0);
    CHECK(st.weight_bytes_per_token > 0.5 * (double)scarce_model_weight_bytes(m));
    CHECK_NEAR(st.threads_decode, 1.0, 1e-9); /* opened with one thread */
    CHECK_EQ_INT(st.n_expert, 0);
    CHECK_EQ_INT(st.spec_passes, 0);
    /* each phase's time splits into forward (matmul + attention + other) and the rest */
    CHECK(st.t_forward_decode_s > 0 && st.t_forward_decode_s <= st.t_decode_s);
    CHECK(st.t_forward_prompt_s > 0 && st.t_forward_prompt_s <= st.t_prompt_s + 1e-9);
    CHECK(st.t_matmul_decode_s > 0 &&
          st.t_matmul_decode_s + st.t_attention_decode_s <= st.t_forward_decode_s);
    CHECK(st.t_matmul_prompt_s > 0 &&
          st.t_matmul_prompt_s + st.t_attention_prompt_s <= st.t_forward_prompt_s);
    CHECK_EQ_INT(st.model_bytes, scarce_model_weight_bytes(m));
    CHECK_EQ_INT(st.fits_in_cache, st.llc_bytes && st.model_bytes < st.llc_bytes);
    scarce_context_free(ctx);
    scarce_model_close(m);
}

/* ---- errors: a status and a message, never an exit --------------------------------------- */

static void check_status(int got, int want, const char *what, const char *msg) {
    CHECK_MSG(got == want, "%s: %s, expected %s (%s)", what, scarce_status_name(got),
              scarce_status_name(want), msg ? msg : "");
    CHECK_MSG(!msg || msg[0], "%s: no message", what);
}

TEST(api_kernels_run_names_each_format_and_checks_its_size) {
    NEED_SHARED(STORIES);
    scarce_model *m = open_model(shared_path(STORIES), 1);
    REQUIRE(m);
    scarce_kernels_run kr = {.size = sizeof kr};
    CHECK_EQ_INT(scarce_model_kernels_run(m, &kr), SCARCE_OK);
    CHECK(!strcmp(kr.set, scarce_model_isa(m)) && kr.attention && *kr.attention);
    CHECK_EQ_INT(kr.n_vocab, scarce_model_n_vocab(m));
    CHECK(kr.output_bytes > 0 && kr.output_bytes <= scarce_model_weight_bytes(m));
    /* formats largest first, each once, their bytes at most the model's */
    REQUIRE(kr.n_formats >= 1 && kr.n_formats <= SCARCE_MAX_FORMATS);
    uint64_t sum = 0;
    for (int i = 0; i < kr.n_formats; i++) {
        CHECK(kr.matmul[i].bytes > 0 && kr.matmul[i].isa && *kr.matmul[i].isa);
        CHECK(kr.matmul[i].batch_isa && *kr.matmul[i].batch_isa);
        if (i) CHECK(kr.matmul[i].bytes <= kr.matmul[i - 1].bytes);
        for (int j = 0; j < i; j++) CHECK(strcmp(kr.matmul[i].type, kr.matmul[j].type));
        sum += kr.matmul[i].bytes;
    }
    CHECK(sum <= scarce_model_weight_bytes(m));
    /* a scalar model runs scalar code everywhere */
    scarce_model_params mp = scarce_model_default_params();
    mp.isa = "scalar";
    scarce_model *s;
    char err[256];
    REQUIRE(scarce_model_open(shared_path(STORIES), &mp, &s, err, sizeof err) == SCARCE_OK);
    scarce_kernels_run ks = {.size = sizeof ks};
    CHECK_EQ_INT(scarce_model_kernels_run(s, &ks), SCARCE_OK);
    CHECK(!strcmp(ks.set, "scalar") && !strcmp(ks.attention, "scalar"));
    for (int i = 0; i < ks.n_formats; i++)
        CHECK(!strcmp(ks.matmul[i].isa, "scalar") && !strcmp(ks.matmul[i].batch_isa, "scalar"));
    scarce_model_close(s);
    /* errors */
    check_status(scarce_model_kernels_run(NULL, &kr), SCARCE_ERR_ARGUMENT, "kernels_run(NULL)",
                 NULL);
    check_status(scarce_model_kernels_run(m, NULL), SCARCE_ERR_ARGUMENT, "kernels_run out NULL",
                 scarce_model_error(m));
    scarce_kernels_run bad = {.size = sizeof bad - 8};
    check_status(scarce_model_kernels_run(m, &bad), SCARCE_ERR_ARGUMENT, "kernels_run size",
                 scarce_model_error(m));
    CHECK(strstr(scarce_model_error(m), "size") != NULL);
    scarce_model_close(m);
}

TEST(api_errors_are_statuses) {
    char err[512], path[600];
    scarce_model *bad = (scarce_model *)1;
    check_status(scarce_model_open("/nonexistent/model.gguf", NULL, &bad, err, sizeof err),
                 SCARCE_ERR_IO, "missing file", err);
    CHECK(bad == NULL && strstr(err, "/nonexistent/model.gguf"));
    snprintf(path, sizeof path, "%s/not_a_model.gguf", test_tmpdir());
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("this is not a GGUF file\n", f);
    fclose(f);
    check_status(scarce_model_open(path, NULL, &bad, err, sizeof err), SCARCE_ERR_FORMAT,
                 "not a model", err);
    check_status(scarce_model_open(NULL, NULL, &bad, err, sizeof err), SCARCE_ERR_ARGUMENT,
                 "NULL path", err);
    /* NULL handles */
    int32_t id = 1, ids[4] = {1, 2, 3, 4};
    const float *logits;
    char buf[16];
    scarce_stats st;
    check_status(scarce_model_n_vocab(NULL), SCARCE_ERR_ARGUMENT, "n_vocab(NULL)", NULL);
    check_status(scarce_token_bos(NULL), SCARCE_ERR_ARGUMENT, "bos(NULL)", NULL);
    check_status(scarce_token_is_eog(NULL, 1), SCARCE_ERR_ARGUMENT, "is_eog(NULL)", NULL);
    check_status(scarce_tokenize(NULL, "a", 1, ids, 4), SCARCE_ERR_ARGUMENT, "tokenize(NULL)",
                 NULL);
    check_status(scarce_token_piece(NULL, -1, 1, buf, 16), SCARCE_ERR_ARGUMENT, "piece(NULL)",
                 NULL);
    check_status(scarce_detokenize(NULL, ids, 1, buf, 16), SCARCE_ERR_ARGUMENT, "detok(NULL)",
                 NULL);
    check_status(scarce_context_new(NULL, NULL, (scarce_context **)&bad), SCARCE_ERR_ARGUMENT,
                 "context_new(NULL)", NULL);
    check_status(scarce_eval(NULL, ids, 1, 0, &logits), SCARCE_ERR_ARGUMENT, "eval(NULL)", NULL);
    check_status(scarce_sample(NULL, NULL, &id), SCARCE_ERR_ARGUMENT, "sample(NULL)", NULL);
    check_status(scarce_generate(NULL, "a", 1, NULL, NULL, NULL), SCARCE_ERR_ARGUMENT,
                 "generate(NULL)", NULL);
    check_status(scarce_generate_spec(NULL, "a", 1, NULL, NULL, NULL, NULL), SCARCE_ERR_ARGUMENT,
                 "generate_spec(NULL)", NULL);
    check_status(scarce_context_stats(NULL, &st), SCARCE_ERR_ARGUMENT, "stats(NULL)", NULL);
    check_status(scarce_context_reset(NULL), SCARCE_ERR_ARGUMENT, "reset(NULL)", NULL);
    scarce_model_close(NULL), scarce_context_free(NULL);
    CHECK(scarce_model_error(NULL)[0] && scarce_context_error(NULL)[0]);
    CHECK(!strcmp(scarce_status_name(SCARCE_ERR_TOKEN), "SCARCE_ERR_TOKEN"));
}

TEST(api_errors_on_a_model) {
    NEED_SHARED(STORIES);
    const char *path = shared_path(STORIES);
    char err[512];
    scarce_model *m = NULL;
    scarce_model_params mp = scarce_model_default_params();
    mp.isa = "sse9";
    check_status(scarce_model_open(path, &mp, &m, err, sizeof err), SCARCE_ERR_ARGUMENT, "isa",
                 err);
    mp.isa = NULL, mp.n_threads = 100000;
    check_status(scarce_model_open(path, &mp, &m, err, sizeof err), SCARCE_ERR_ARGUMENT, "threads",
                 err);
    REQUIRE((m = open_model(path, 1)));
    const int n_vocab = scarce_model_n_vocab(m);
    int32_t ids[8] = {1, 2, n_vocab, 3}, one = -5;
    char buf[4];
    check_status(scarce_token_piece(m, -1, n_vocab, buf, 4), SCARCE_ERR_TOKEN, "piece id",
                 scarce_model_error(m));
    check_status(scarce_detokenize(m, ids, 4, buf, 4), SCARCE_ERR_TOKEN, "detokenize id",
                 scarce_model_error(m));
    int32_t story[16];
    REQUIRE(scarce_tokenize(m, PROMPT, 0, story, 16) > 1);
    check_status(scarce_detokenize(m, story, 2, buf, 4), SCARCE_ERR_ARGUMENT, "small cap",
                 scarce_model_error(m));
    check_status(scarce_token_is_eog(m, -1), SCARCE_ERR_TOKEN, "is_eog id", NULL);
    check_status(scarce_tokenize(m, "Once upon a time there was", SCARCE_ADD_BOS, ids, 2),
                 SCARCE_ERR_ARGUMENT, "tokenize into too few ids", scarce_model_error(m));
    scarce_context_params cp = scarce_context_default_params();
    scarce_context *ctx = NULL;
    cp.top_p = 2;
    check_status(scarce_context_new(m, &cp, &ctx), SCARCE_ERR_ARGUMENT, "top_p",
                 scarce_model_error(m));
    cp = scarce_context_default_params(), cp.n_ctx = 8;
    REQUIRE(scarce_context_new(m, &cp, &ctx) == SCARCE_OK);
    const float *logits;
    check_status(scarce_eval(ctx, ids, 4, 0, &logits), SCARCE_ERR_TOKEN, "eval id",
                 scarce_context_error(ctx));
    check_status(scarce_eval(ctx, &one, 1, 0, &logits), SCARCE_ERR_TOKEN, "eval negative id",
                 scarce_context_error(ctx));
    CHECK_EQ_INT(scarce_context_n_pos(ctx), 0); /* nothing was run */
    int32_t many[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    check_status(scarce_eval(ctx, many, 9, 0, &logits), SCARCE_ERR_CONTEXT, "eval too long",
                 scarce_context_error(ctx));
    const char *long_prompt = "Once upon a time there was a little girl named Lily who loved";
    check_status(scarce_generate(ctx, long_prompt, 4, NULL, NULL, NULL), SCARCE_ERR_CONTEXT,
                 "prompt too long", scarce_context_error(ctx));
    check_status(scarce_generate(ctx, "Once", -1, NULL, NULL, NULL), SCARCE_ERR_ARGUMENT,
                 "n_predict < 0", scarce_context_error(ctx));
    const scarce_spec_params no_draft = {.source = SCARCE_DRAFT_MODEL};
    check_status(scarce_generate_spec(ctx, "Once", 4, &no_draft, NULL, NULL, NULL),
                 SCARCE_ERR_ARGUMENT, "no draft model", scarce_context_error(ctx));
    const scarce_spec_params too_many = {
        .source = SCARCE_DRAFT_LOOKUP, .lookup_n = 2, .n_draft = 99};
    check_status(scarce_generate_spec(ctx, "Once", 4, &too_many, NULL, NULL, NULL),
                 SCARCE_ERR_ARGUMENT, "n_draft", scarce_context_error(ctx));
    /* after all that the context still works */
    CHECK_EQ_INT(scarce_generate(ctx, "Once", 3, NULL, NULL, NULL), SCARCE_OK);
    scarce_context_free(ctx);
    scarce_model_close(m);
}

/* ---- examples/ -------------------------------------------------------------------------- */

TEST(api_example_generate_c) {
    NEED_SHARED(STORIES);
    const char *dir = getenv("SCARCE_EXAMPLES");
    if (!dir) SKIP("SCARCE_EXAMPLES is not set: run through make test, which builds examples/");
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s/generate %s '%s' 40 2>&1", dir, shared_path(STORIES), PROMPT);
    CHECK_EQ_INT(run_cmd(cmd, &out, NULL), 0);
    char *want = scarce_run(shared_path(STORIES), "-n 40 --temp 0");
    REQUIRE(out && want);
    CHECK_MSG(!strcmp(out, want), "example: %s\nrun: %s", out, want);
    free(out), free(want);
}

TEST(api_example_python_ctypes) {
    NEED_SHARED(STORIES);
    const char *san = getenv("SCARCE_SANITIZED");
    if (san && !strcmp(san, "1"))
        SKIP("sanitized build: python3 cannot load an AddressSanitizer libscarce.so");
    if (run_cmd("python3 -c 'import ctypes'", NULL, NULL))
        SKIP("no python3 with ctypes on this machine");
    REQUIRE(file_exists("libscarce.so"));
    char cmd[1400], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd, "python3 examples/speed.py %s '%s' 24 ./libscarce.so",
             shared_path(STORIES), PROMPT);
    CHECK_EQ_INT(run_cmd(cmd, &out, &err), 0);
    REQUIRE(out);
    CHECK_MSG(!strncmp(out, PROMPT, strlen(PROMPT)) && strstr(out, "tok/s") && strstr(out, "GB/s"),
              "%s%s", out, err ? err : "");
    free(out), free(err);
}

/* ---- vocabulary alone ------------------------------------------------------------------- */

TEST(api_vocab_only_tokenizes_and_has_no_contexts) {
    NEED_SHARED("models/vocab/ggml-vocab-llama-spm.gguf");
    char err[512];
    scarce_model *v = NULL;
    scarce_model_params mp = scarce_model_default_params();
    mp.vocab_only = 1;
    REQUIRE(scarce_model_open(shared_path("models/vocab/ggml-vocab-llama-spm.gguf"), &mp, &v, err,
                              sizeof err) == SCARCE_OK);
    CHECK_EQ_INT(scarce_model_n_vocab(v), 32000);
    CHECK_EQ_INT(scarce_model_n_ctx_train(v), 0);
    CHECK_EQ_INT(scarce_token_add_flags(v) & SCARCE_ADD_BOS, SCARCE_ADD_BOS);
    int32_t ids[16];
    int n = scarce_tokenize(v, "Hello world", scarce_token_add_flags(v), ids, 16);
    REQUIRE(n >= 3);
    CHECK_EQ_INT(ids[0], scarce_token_bos(v));
    CHECK(scarce_token_text(v, ids[1]) &&
          !strcmp(scarce_token_text(v, ids[1]), "\xe2\x96\x81Hello"));
    CHECK(scarce_token_text(v, 32000) == NULL && scarce_token_text(v, -1) == NULL);
    char text[64];
    CHECK(scarce_detokenize(v, ids, n, text, sizeof text) > 0 && !strcmp(text, "Hello world"));
    scarce_context *ctx = (scarce_context *)1;
    check_status(scarce_context_new(v, NULL, &ctx), SCARCE_ERR_ARGUMENT, "vocab_only context",
                 scarce_model_error(v));
    CHECK(ctx == NULL);
    check_status(scarce_tokenize(v, "a", 8, ids, 16), SCARCE_ERR_ARGUMENT, "unknown flag",
                 scarce_model_error(v));
    scarce_kernels_run kr = {.size = sizeof kr};
    check_status(scarce_model_kernels_run(v, &kr), SCARCE_ERR_ARGUMENT, "vocab_only kernels_run",
                 scarce_model_error(v));
    scarce_model_close(v);
}

/* ---- the ISA override -------------------------------------------------------------------- */

TEST(api_isa_override) {
    NEED_SHARED(STORIES);
    char err[512];
    scarce_model *m = NULL;
    scarce_model_params mp = scarce_model_default_params();
    mp.isa = "scalar", mp.n_threads = 1;
    REQUIRE(scarce_model_open(shared_path(STORIES), &mp, &m, err, sizeof err) == SCARCE_OK);
    CHECK(!strcmp(scarce_model_isa(m), "scalar"));
    scarce_context *ctx;
    REQUIRE(scarce_context_new(m, NULL, &ctx) == SCARCE_OK);
    int n_gen = 0;
    CHECK_EQ_INT(scarce_generate(ctx, PROMPT, 8, NULL, NULL, &n_gen), SCARCE_OK);
    CHECK(n_gen > 0);
    scarce_context_free(ctx);
    scarce_model_close(m);
    /* avx512 on a CPU without it: refused, naming what is missing */
    mp.isa = "avx512";
    int rc = scarce_model_open(shared_path(STORIES), &mp, &m, err, sizeof err);
    if (rc == SCARCE_OK) {
        CHECK(!strcmp(scarce_model_isa(m), "avx512"));
        scarce_model_close(m);
    } else {
        check_status(rc, SCARCE_ERR_ISA, "avx512", err);
        CHECK_MSG(strstr(err, "avx512"), "%s", err);
    }
}

/* ---- mixture of experts ------------------------------------------------------------------ */

typedef struct {
    scarce_context *ctx;
    int calls, bad; /* tokens seen, tokens whose layer-0 routing was not k experts in range */
} moe_trace;

static int trace_routing(void *user, int32_t token, const char *piece, size_t len) {
    moe_trace *t = user;
    scarce_moe_layer ml = {.size = sizeof ml};
    t->calls++;
    if (scarce_context_moe_layer(t->ctx, 0, &ml) != SCARCE_OK || ml.n_last != ml.k)
        t->bad++;
    else
        for (int i = 0; i < ml.n_last; i++)
            if (ml.last_experts[i] < 0 || ml.last_experts[i] >= ml.n_expert) t->bad++;
    return 0;
}

TEST(api_moe_router_counts_and_trace) {
    NEED_SHARED(STORIES);
    char path[512], cmd[1024], err[256];
    snprintf(path, sizeof path, "%s/api-moe.gguf", test_tmpdir());
    snprintf(cmd, sizeof cmd,
             "%s mkmodel -o %s --vocab %s --n-embd 64 --n-layer 2 --n-head 8 --n-head-kv 4 "
             "--n-ff 96 --n-expert 4 --n-expert-used 2 --seed 3 --type f16",
             scarce_bin(), path, shared_path(STORIES));
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    scarce_model *m;
    REQUIRE(scarce_model_open(path, NULL, &m, err, sizeof err) == SCARCE_OK);
    scarce_context *ctx = greedy_context(m);
    REQUIRE(ctx);
    scarce_moe_layer ml = {.size = sizeof ml};
    check_status(scarce_context_moe_layer(ctx, 0, &ml), SCARCE_ERR_ARGUMENT, "not tracking",
                 scarce_context_error(ctx));
    CHECK_EQ_INT(scarce_context_moe_track(ctx, 1), SCARCE_OK);
    moe_trace tr = {.ctx = ctx};
    int n_gen = 0;
    CHECK_EQ_INT(scarce_generate(ctx, PROMPT, 12, trace_routing, &tr, &n_gen), SCARCE_OK);
    CHECK(n_gen > 0 && tr.calls == n_gen && tr.bad == 0);
    scarce_stats st;
    CHECK_EQ_INT(scarce_context_stats(ctx, &st), SCARCE_OK);
    for (int l = 0; l < 2; l++) {
        CHECK_EQ_INT(scarce_context_moe_layer(ctx, l, &ml), SCARCE_OK);
        CHECK_EQ_INT(ml.n_expert, 4);
        CHECK_EQ_INT(ml.k, 2);
        /* every token the model ran was routed once per layer, to k experts */
        CHECK(ml.tokens >= st.prompt_tokens && ml.tokens <= st.prompt_tokens + st.decode_tokens);
        uint64_t sum = 0;
        for (int e = 0; e < ml.n_expert; e++) sum += ml.counts[e];
        CHECK_EQ_INT(sum, ml.tokens * 2);
        CHECK(ml.cv >= 0 && ml.entropy >= 0 && ml.entropy <= 1.3863 + 1e-6);
        CHECK(ml.reuse >= 0 && ml.reuse <= 1);
    }
    /* a new generation counts anew */
    CHECK_EQ_INT(scarce_generate(ctx, PROMPT, 1, NULL, NULL, NULL), SCARCE_OK);
    CHECK_EQ_INT(scarce_context_moe_layer(ctx, 0, &ml), SCARCE_OK);
    CHECK_EQ_INT(ml.tokens, st.prompt_tokens);
    check_status(scarce_context_moe_layer(ctx, 2, &ml), SCARCE_ERR_ARGUMENT, "layer 2",
                 scarce_context_error(ctx));
    check_status(scarce_context_moe_layer(ctx, -1, &ml), SCARCE_ERR_ARGUMENT, "layer -1",
                 scarce_context_error(ctx));
    scarce_moe_layer bad = {.size = 1};
    check_status(scarce_context_moe_layer(ctx, 0, &bad), SCARCE_ERR_ARGUMENT, "size",
                 scarce_context_error(ctx));
    check_status(scarce_context_moe_layer(ctx, 0, NULL), SCARCE_ERR_ARGUMENT, "NULL out",
                 scarce_context_error(ctx));
    check_status(scarce_context_moe_layer(NULL, 0, &ml), SCARCE_ERR_ARGUMENT, "NULL ctx", NULL);
    CHECK_EQ_INT(scarce_context_moe_track(ctx, 0), SCARCE_OK);
    check_status(scarce_context_moe_layer(ctx, 0, &ml), SCARCE_ERR_ARGUMENT, "stopped",
                 scarce_context_error(ctx));
    scarce_context_free(ctx);
    scarce_model_close(m);
    /* a dense model has no router */
    scarce_model *d = open_model(shared_path(STORIES), 1);
    REQUIRE(d);
    REQUIRE((ctx = greedy_context(d)));
    check_status(scarce_context_moe_track(ctx, 1), SCARCE_ERR_ARGUMENT, "dense model",
                 scarce_context_error(ctx));
    check_status(scarce_context_moe_track(NULL, 1), SCARCE_ERR_ARGUMENT, "track NULL", NULL);
    scarce_context_free(ctx);
    scarce_model_close(d);
}

/* ---- speculative passes ------------------------------------------------------------------ */

typedef struct {
    int passes, drafted, accepted, emitted_tokens, bad, stop_at;
} pass_log;

static int log_pass(void *user, const scarce_spec_pass *p) {
    pass_log *l = user;
    l->passes++;
    l->drafted += p->n_drafted, l->accepted += p->n_accepted;
    if (p->n_accepted < 0 || p->n_accepted > p->n_drafted || p->n_drafted > SCARCE_MAX_DRAFT ||
        p->next < 0 || p->sampling)
        l->bad++;
    /* greedy: the kept tokens have ratio 1, the first rejected 0 */
    for (int i = 0; i < p->n_accepted; i++)
        if (p->ratio[i] != 1) l->bad++;
    if (p->n_accepted < p->n_drafted && p->ratio[p->n_accepted] != 0) l->bad++;
    return l->stop_at && l->passes == l->stop_at;
}

static int count_tokens(void *user, int32_t token, const char *piece, size_t len) {
    ((pass_log *)user)->emitted_tokens++;
    return 0;
}

TEST(api_spec_pass_callback_sees_each_pass) {
    NEED_SHARED(STORIES);
    scarce_model *m = open_model(shared_path(STORIES), 1);
    REQUIRE(m);
    scarce_context *ctx = greedy_context(m);
    REQUIRE(ctx);
    pass_log log = {0};
    scarce_spec_params sp = {.source = SCARCE_DRAFT_LAYERS,
                             .draft_layers = 2,
                             .n_draft = 3,
                             .adapt = 1,
                             .on_pass = log_pass,
                             .pass_user = &log};
    int n_gen = 0;
    CHECK_MSG(scarce_generate_spec(ctx, PROMPT, 40, &sp, count_tokens, &log, &n_gen) == SCARCE_OK,
              "%s", scarce_context_error(ctx));
    scarce_stats st;
    CHECK_EQ_INT(scarce_context_stats(ctx, &st), SCARCE_OK);
    /* the callback's passes and counts are the run's */
    CHECK(log.passes > 0 && log.bad == 0);
    CHECK_EQ_INT(log.passes, st.spec_passes);
    CHECK_EQ_INT(log.drafted, st.spec_drafted);
    CHECK_EQ_INT(log.accepted, st.spec_accepted);
    CHECK_EQ_INT(log.emitted_tokens, n_gen);
    /* a non-zero return stops before that pass's tokens */
    pass_log first = {.stop_at = 1};
    sp.pass_user = &first;
    CHECK_EQ_INT(scarce_generate_spec(ctx, PROMPT, 40, &sp, count_tokens, &first, &n_gen),
                 SCARCE_OK);
    CHECK_EQ_INT(first.passes, 1);
    CHECK_EQ_INT(n_gen, 0);
    CHECK_EQ_INT(first.emitted_tokens, 0);
    scarce_context_free(ctx);
    scarce_model_close(m);
}
