/* test_api_spec.c - scarce_context_spec_report: the speculative counters of the last
 * scarce_generate_spec add up, equal those of `scarce run`'s summary for the same run, and
 * describe the in-memory draft; a status when there is nothing to report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/scarce.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"
#define PROMPT "Once upon a time"

static scarce_context *greedy_context(scarce_model **m) {
    char err[512];
    scarce_model_params mp = scarce_model_default_params();
    mp.n_threads = 1;
    *m = NULL;
    if (scarce_model_open(shared_path(STORIES), &mp, m, err, sizeof err)) {
        CHECK_MSG(0, "%s", err);
        return NULL;
    }
    scarce_context_params cp = scarce_context_default_params();
    cp.temp = 0;
    scarce_context *ctx = NULL;
    CHECK_EQ_INT(scarce_context_new(*m, &cp, &ctx), SCARCE_OK);
    return ctx;
}

/* The counters add up: by position to the totals, by length to the passes. */
static void check_sums(const scarce_spec_report *r) {
    uint64_t drafted = 0, accepted = 0, passes = 0;
    for (int i = 0; i < SCARCE_MAX_DRAFT; i++)
        drafted += r->drafted_at[i], accepted += r->accepted_at[i];
    for (int k = 0; k <= SCARCE_MAX_DRAFT; k++) passes += r->passes_by_length[k];
    CHECK(r->passes > 0 && passes == r->passes);
    CHECK(drafted == r->drafted && accepted == r->accepted && r->accepted <= r->drafted);
    CHECK_EQ_INT((int)r->emitted, (int)(r->accepted + r->passes));
    CHECK(r->last_why && r->last_why[0] && r->t_target_s > 0);
}

/* The number after "key": in the JSON text (-1 when absent). */
static long json_int(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(json, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

TEST(api_spec_report_adds_up_and_equals_scarce_run) {
    NEED_SHARED(STORIES);
    scarce_model *m;
    scarce_context *ctx = greedy_context(&m);
    REQUIRE(ctx);
    scarce_spec_params sp = {.source = SCARCE_DRAFT_LOOKUP,
                             .lookup_n = 3,
                             .n_draft = 4,
                             .n_draft_min = 4,
                             .n_draft_max = 4,
                             .adapt = 1};
    int n_gen = 0;
    REQUIRE(scarce_generate_spec(ctx, PROMPT, 40, &sp, NULL, NULL, &n_gen) == SCARCE_OK);
    scarce_spec_report r = {.size = sizeof r};
    REQUIRE(scarce_context_spec_report(ctx, &r) == SCARCE_OK);
    check_sums(&r);
    CHECK(!r.has_quant && r.passes_by_length[4] + r.passes_by_length[0] == r.passes);
    CHECK_MSG(!strcmp(r.last_why, "fixed by policy"), "%s", r.last_why);
    scarce_stats st;
    REQUIRE(scarce_context_stats(ctx, &st) == SCARCE_OK);
    CHECK(st.spec_passes == r.passes && st.spec_drafted == r.drafted &&
          st.spec_accepted == r.accepted && st.spec_emitted == r.emitted);
    /* the same run through scarce run: the same counters in its JSON summary */
    char cmd[1200], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "%s run -m %s -p '%s' -n 40 --temp 0 -t 1 --lookup 3 --draft 4 --draft-min 4 "
             "--draft-max 4 --draft-policy adapt --json 2>/dev/null",
             scarce_bin(), shared_path(STORIES), PROMPT);
    REQUIRE(run_cmd(cmd, &out, NULL) == 0 && out);
    CHECK_MSG(json_int(out, "target_passes") == (long)r.passes &&
                  json_int(out, "drafted") == (long)r.drafted &&
                  json_int(out, "accepted") == (long)r.accepted &&
                  json_int(out, "lookup_misses") == (long)r.lookup_misses,
              "api: %llu passes, %llu drafted, %llu accepted, %llu misses\nrun: %s",
              (unsigned long long)r.passes, (unsigned long long)r.drafted,
              (unsigned long long)r.accepted, (unsigned long long)r.lookup_misses, out);
    free(out);
    scarce_context_free(ctx);
    scarce_model_close(m);
}

TEST(api_spec_report_describes_the_quantized_draft) {
    NEED_SHARED(STORIES);
    scarce_model *m;
    scarce_context *ctx = greedy_context(&m);
    REQUIRE(ctx);
    char type[8] = "q8_0"; /* the caller's string: the report must not point into it */
    scarce_spec_params sp = {.source = SCARCE_DRAFT_QUANT, .draft_type = type, .n_draft = 3};
    REQUIRE(scarce_generate_spec(ctx, PROMPT, 24, &sp, NULL, NULL, NULL) == SCARCE_OK);
    strcpy(type, "xxxx");
    scarce_spec_report r = {.size = sizeof r};
    REQUIRE(scarce_context_spec_report(ctx, &r) == SCARCE_OK);
    check_sums(&r);
    const scarce_draft_quant_info *q = &r.quant;
    REQUIRE(r.has_quant);
    CHECK_MSG(!strcmp(q->type, "q8_0"), "%s", q->type);
    CHECK(q->n_matrices > 0 && q->n_quantized + q->n_fallback + q->n_kept == q->n_matrices);
    CHECK(q->bytes > 0 && q->weight_bytes_per_token < q->target_weight_bytes_per_token);
    CHECK(q->seconds >= 0 && (q->n_fallback > 0) == (q->fallback != NULL));
    scarce_context_free(ctx);
    scarce_model_close(m);
}

TEST(api_spec_report_errors) {
    NEED_SHARED(STORIES);
    scarce_model *m;
    scarce_context *ctx = greedy_context(&m);
    REQUIRE(ctx);
    scarce_spec_report r = {.size = sizeof r};
    /* nothing generated yet, then a plain generation: no speculative report */
    CHECK_EQ_INT(scarce_context_spec_report(ctx, &r), SCARCE_ERR_ARGUMENT);
    REQUIRE(scarce_generate(ctx, PROMPT, 8, NULL, NULL, NULL) == SCARCE_OK);
    CHECK_EQ_INT(scarce_context_spec_report(ctx, &r), SCARCE_ERR_ARGUMENT);
    scarce_spec_params sp = {.source = SCARCE_DRAFT_LAYERS, .draft_layers = 1};
    REQUIRE(scarce_generate_spec(ctx, PROMPT, 8, &sp, NULL, NULL, NULL) == SCARCE_OK);
    CHECK_EQ_INT(scarce_context_spec_report(ctx, &r), SCARCE_OK);
    r.size = 8;
    CHECK_EQ_INT(scarce_context_spec_report(ctx, &r), SCARCE_ERR_ARGUMENT);
    r.size = sizeof r;
    CHECK_EQ_INT(scarce_context_spec_report(NULL, &r), SCARCE_ERR_ARGUMENT);
    CHECK_EQ_INT(scarce_context_spec_report(ctx, NULL), SCARCE_ERR_ARGUMENT);
    scarce_context_reset(ctx);
    CHECK_EQ_INT(scarce_context_spec_report(ctx, &r), SCARCE_ERR_ARGUMENT);
    scarce_context_free(ctx);
    scarce_model_close(m);
}

static int collect_why(void *user, const scarce_spec_pass *pass) {
    int *n_named = user;
    *n_named += pass->why && pass->why[0] && pass->n_asked >= 0;
    return 0;
}

static int append_text(void *user, int32_t token, const char *piece, size_t len) {
    (void)token;
    strncat(user, piece, len);
    return 0;
}

/* A greedy model draft that scores a shortlist of the vocabulary gives the target's text,
 * and every pass says why it drafted its length. */
TEST(api_spec_draft_vocab_keeps_the_text_and_passes_say_why) {
    NEED_SHARED(STORIES);
    scarce_model *m;
    scarce_context *ctx = greedy_context(&m);
    REQUIRE(ctx);
    static char plain[8192], spec[8192];
    plain[0] = spec[0] = 0;
    REQUIRE(scarce_generate(ctx, PROMPT, 40, append_text, plain, NULL) == SCARCE_OK);
    int n_named = 0;
    scarce_spec_params sp = {.source = SCARCE_DRAFT_MODEL,
                             .draft_model = m,
                             .n_draft = 4,
                             .draft_vocab = 100,
                             .on_pass = collect_why,
                             .pass_user = &n_named};
    REQUIRE(scarce_generate_spec(ctx, PROMPT, 40, &sp, append_text, spec, NULL) == SCARCE_OK);
    CHECK_MSG(!strcmp(plain, spec), "plain: %s\nspec:  %s", plain, spec);
    scarce_spec_report r = {.size = sizeof r};
    REQUIRE(scarce_context_spec_report(ctx, &r) == SCARCE_OK);
    CHECK_EQ_INT(n_named, (int)r.passes);
    sp.draft_vocab = -1;
    CHECK_EQ_INT(scarce_generate_spec(ctx, PROMPT, 4, &sp, NULL, NULL, NULL), SCARCE_ERR_ARGUMENT);
    CHECK(strstr(scarce_context_error(ctx), "draft_vocab"));
    scarce_context_free(ctx);
    scarce_model_close(m);
}

/* scarce_spec_compare times both sides on contexts of its own: ctx keeps its sequence;
 * scarce_context_truncate takes positions back. */
TEST(api_spec_compare_times_both_sides) {
    NEED_SHARED(STORIES);
    scarce_model *m;
    scarce_context *ctx = greedy_context(&m);
    REQUIRE(ctx);
    const float *logits;
    const int32_t ids[3] = {1, 20, 30};
    REQUIRE(scarce_eval(ctx, ids, 3, 0, &logits) == SCARCE_OK);
    scarce_spec_params sp = {.source = SCARCE_DRAFT_LOOKUP, .lookup_n = 2, .n_draft = 3};
    scarce_spec_compare_result cr;
    REQUIRE(scarce_spec_compare(ctx, ids, 3, 16, &sp, &cr) == SCARCE_OK);
    CHECK(cr.reps >= 1 && cr.plain_tok_s > 0 && cr.spec_tok_s > 0);
    CHECK(cr.spec.size == sizeof cr.spec && cr.spec.passes > 0 && !cr.spec.has_quant);
    CHECK_EQ_INT(scarce_context_n_pos(ctx), 3);
    /* truncate: back to the first position, then the same batch again */
    CHECK_EQ_INT(scarce_context_truncate(ctx, 4), SCARCE_ERR_ARGUMENT);
    CHECK_EQ_INT(scarce_context_truncate(ctx, -1), SCARCE_ERR_ARGUMENT);
    REQUIRE(scarce_context_truncate(ctx, 1) == SCARCE_OK);
    CHECK_EQ_INT(scarce_context_n_pos(ctx), 1);
    REQUIRE(scarce_eval(ctx, ids + 1, 2, 0, &logits) == SCARCE_OK);
    CHECK_EQ_INT(scarce_context_n_pos(ctx), 3);
    CHECK_EQ_INT(scarce_context_truncate(NULL, 0), SCARCE_ERR_ARGUMENT);
    const int n_ctx = scarce_context_n_ctx(ctx);
    CHECK_EQ_INT(scarce_spec_compare(ctx, ids, 3, n_ctx, &sp, &cr), SCARCE_ERR_CONTEXT);
    CHECK(scarce_context_error(ctx)[0]);
    const int32_t bad[1] = {1 << 20};
    CHECK_EQ_INT(scarce_spec_compare(ctx, bad, 1, 8, &sp, &cr), SCARCE_ERR_TOKEN);
    CHECK_EQ_INT(scarce_spec_compare(ctx, ids, 3, 0, &sp, &cr), SCARCE_ERR_ARGUMENT);
    CHECK_EQ_INT(scarce_spec_compare(ctx, NULL, 3, 8, &sp, &cr), SCARCE_ERR_ARGUMENT);
    CHECK_EQ_INT(scarce_spec_compare(ctx, ids, 3, 8, NULL, &cr), SCARCE_ERR_ARGUMENT);
    CHECK_EQ_INT(scarce_spec_compare(NULL, ids, 3, 8, &sp, &cr), SCARCE_ERR_ARGUMENT);
    sp.source = SCARCE_DRAFT_QUANT; /* without draft_type */
    CHECK_EQ_INT(scarce_spec_compare(ctx, ids, 3, 8, &sp, &cr), SCARCE_ERR_ARGUMENT);
    scarce_context_free(ctx);
    scarce_model_close(m);
}
