/* api_gen.c - generation through include/scarce.h: the prompt, then token after token
 * (plain, as `scarce run` does in tools/gen.c, so the same settings give the same text),
 * or through the speculative decoder (engine/speculative.c). */
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"

_Static_assert(SCARCE_MAX_DRAFT == SPEC_MAX_DRAFT, "scarce.h's draft bound is the engine's");
_Static_assert(SCARCE_MAX_LOOKUP_N == LOOKUP_MAX_N, "scarce.h's n-gram bound is the engine's");
#include "../quant/types.h"
#include "draft_quant.h"
#include "machine.h"

/* The prompt's ids as `scarce run` makes them: BOS when the vocabulary asks for it, and an
 * empty prompt starts from BOS alone. *ids is malloc'ed; returns their number or a status. */
static int encode_prompt(scarce_context *ctx, const char *prompt, int **ids) {
    const tokenizer *tok = ctx->model->tok;
    const size_t max_ids = tokenizer_max_ids(strlen(prompt));
    if (max_ids > (size_t)1 << 30)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT, "prompt of %zu bytes is too long",
                        strlen(prompt));
    if (!(*ids = malloc(max_ids * sizeof **ids)))
        return api_fail(ctx->error, SCARCE_ERR_MEMORY, "out of memory for the prompt's ids");
    scarce_error err = {0};
    const int flags = tokenizer_add_bos(tok) || !*prompt ? TOKENIZE_BOS : 0;
    int n = tokenizer_encode(tok, prompt, flags, *ids, (int)max_ids, &err);
    if (n < 0) return api_fail_err(ctx->error, SCARCE_ERR_ARGUMENT, &err);
    if (n == 0)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT,
                        "prompt: empty, and the vocabulary has no BOS to start from");
    if (n > ctx->n_ctx)
        return api_fail(ctx->error, SCARCE_ERR_CONTEXT,
                        "prompt is %d tokens, longer than the context of %d", n, ctx->n_ctx);
    return n;
}

/* 1 when token ends generation (end of generation, or BOS as gen_stream treats it). */
static int ends(const scarce_context *ctx, int token) {
    const tokenizer *tok = ctx->model->tok;
    return tokenizer_is_eog(tok, token) || token == tokenizer_bos(tok);
}

/* Gives token's text to cb; 1 when cb asks to stop. */
static int emit(scarce_context *ctx, int prev, int token, scarce_token_callback cb, void *user) {
    if (!cb) return 0;
    char piece[256];
    int len = tokenizer_piece(ctx->model->tok, prev, token, piece, sizeof piece);
    return cb(user, token, piece, (size_t)len) != 0;
}

/* Checks shared by both generators; then the prompt's ids (see encode_prompt). */
static int start(scarce_context *ctx, const char *prompt, int n_predict, int **ids) {
    *ids = NULL;
    if (!prompt || n_predict < 0)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT, "generate: %s",
                        prompt ? "n_predict < 0" : "prompt is NULL");
    scarce_context_reset(ctx);
    return encode_prompt(ctx, prompt, ids);
}

/* The decode loop after the prompt's logits; returns tokens given to cb or a status. */
static int decode(scarce_context *ctx, const float *logits, int prev, int n_predict,
                  scarce_token_callback cb, void *user) {
    int n_gen = 0;
    scarce_error err = {0};
    while (n_gen < n_predict) {
        int next = sampler_sample(&ctx->smp, logits);
        if (ends(ctx, next)) break;
        n_gen++;
        if (emit(ctx, prev, next, cb, user) || n_gen == n_predict) break;
        if (ctx->s.cache.n_pos >= ctx->n_ctx) break;
        prev = next;
        if (!(logits = forward(&ctx->s, &next, 1, 0, &err)))
            return api_fail_err(ctx->error, SCARCE_ERR_RUNTIME, &err);
    }
    return n_gen;
}

int scarce_generate(scarce_context *ctx, const char *prompt, int n_predict,
                    scarce_token_callback cb, void *user, int *n_generated) {
    if (n_generated) *n_generated = 0;
    if (!ctx) return SCARCE_ERR_ARGUMENT;
    int *ids, n = start(ctx, prompt, n_predict, &ids);
    if (n < 0) {
        free(ids);
        return n;
    }
    scarce_error err = {0};
    const double t0 = now_seconds();
    const float *logits = forward(&ctx->s, ids, n, 0, &err);
    const double t1 = now_seconds();
    int rc = logits ? decode(ctx, logits, ids[n - 1], n_predict, cb, user)
                    : api_fail_err(ctx->error, SCARCE_ERR_RUNTIME, &err);
    const double t2 = now_seconds();
    free(ids);
    if (rc < 0) return rc;
    if (n_generated) *n_generated = rc;
    /* as `scarce run`: a one-token prompt is a one-token pass, counted with decode */
    const int one = n == 1;
    ctx->run = (api_run){.valid = 1,
                         .prompt = stats_batched_part(&ctx->s.stats),
                         .decode = stats_decode_part(&ctx->s.stats),
                         .t_prompt = one ? 0 : t1 - t0,
                         .t_decode = t2 - t1 + (one ? t1 - t0 : 0)};
    return SCARCE_OK;
}

/* ---- speculative ---------------------------------------------------------------------- */

/* what target and draft have read */
static run_stats both_stats(const spec_decoder *sd) {
    return sd->has_draft_session ? stats_add(sd->target->stats, &sd->draft.stats)
                                 : sd->target->stats;
}

/* The draft lengths of in into p (0 = their defaults); 0 or a status. */
static int draft_lengths(scarce_context *ctx, const scarce_spec_params *in, spec_params *p) {
    const int n = in->n_draft ? in->n_draft : 5;
    const int lo = in->n_draft_min ? in->n_draft_min : 1,
              hi = in->n_draft_max ? in->n_draft_max : n;
    if (n < 1 || n > SPEC_MAX_DRAFT || lo < 1 || hi > SPEC_MAX_DRAFT || lo > hi)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT,
                        "n_draft %d, n_draft_min %d, n_draft_max %d: expected 1 <= min <= max "
                        "<= %d",
                        in->n_draft, in->n_draft_min, in->n_draft_max, SPEC_MAX_DRAFT);
    /* as `scarce run`: the first length inside the range */
    p->n_draft = n < lo ? lo : n > hi ? hi : n;
    p->n_draft_min = lo, p->n_draft_max = hi;
    return SCARCE_OK;
}

/* spec_params from the public ones; 0 or a status. */
static int spec_params_of(scarce_context *ctx, const scarce_spec_params *in, spec_params *p) {
    static const spec_source sources[] = {SPEC_MODEL, SPEC_LAYERS, SPEC_LOOKUP, SPEC_QUANT};
    if (in->source < SCARCE_DRAFT_MODEL || in->source > SCARCE_DRAFT_QUANT)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT, "unknown draft source %d", in->source);
    if (in->source == SCARCE_DRAFT_MODEL && !in->draft_model)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT, "SCARCE_DRAFT_MODEL without draft_model");
    if (in->source == SCARCE_DRAFT_QUANT && !in->draft_type)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT, "SCARCE_DRAFT_QUANT without draft_type");
    if (in->n_lookup_tokens < 0 || (in->n_lookup_tokens && !in->lookup_tokens) ||
        in->lookup_min < 0)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT,
                        "lookup_min %d, n_lookup_tokens %d (tokens %s): expected >= 0 and "
                        "tokens when n > 0",
                        in->lookup_min, in->n_lookup_tokens, in->lookup_tokens ? "given" : "NULL");
    int rc = api_check_ids(ctx, in->lookup_tokens, in->n_lookup_tokens);
    if (rc) return rc;
    *p = (spec_params){.source = sources[in->source],
                       .policy = in->adapt ? SPEC_ADAPT : SPEC_COST,
                       .draft_layers = in->draft_layers,
                       .lookup_n = in->lookup_n,
                       .lookup_min = in->lookup_min,
                       .lookup_file = in->lookup_tokens,
                       .n_lookup_file = in->n_lookup_tokens,
                       .draft_vocab = in->draft_vocab};
    if (in->draft_vocab < 0)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT, "draft_vocab %d: expected >= 0",
                        in->draft_vocab);
    return draft_lengths(ctx, in, p);
}

/* The draft model of the call: the caller's, a copy quantized now (*copy set), or NULL. */
static int draft_model_of(scarce_context *ctx, const scarce_spec_params *in, model **dm, int *copy,
                          draft_quant_info *info) {
    *dm = NULL, *copy = 0;
    if (in->source == SCARCE_DRAFT_MODEL) *dm = in->draft_model->m;
    if (in->source != SCARCE_DRAFT_QUANT) return SCARCE_OK;
    scarce_error err = {0};
    if (!(*dm = draft_quant_new(ctx->model->m, in->draft_type, NULL, info, &err)))
        return api_fail_err(ctx->error, SCARCE_ERR_ARGUMENT, &err);
    /* the report outlives the caller's string: the type by its table name */
    const quant_type *qt = qtype_by_name(in->draft_type);
    info->type = qt ? qt->name : "?";
    *copy = 1;
    return SCARCE_OK;
}

/* Streams spec_step() rounds; returns tokens given to cb or a status. */
static scarce_spec_pass pass_of(const spec_pass *ps) {
    scarce_spec_pass o = {.n_drafted = ps->n_drafted,
                          .n_accepted = ps->n_accepted,
                          .next = ps->next,
                          .sampling = ps->sampling,
                          .n_asked = ps->choice.k,
                          .expected_speedup = ps->choice.expected_speedup,
                          .running_speedup = ps->running_speedup,
                          .why = spec_why_name(ps->choice.why)};
    for (int i = 0; i < ps->n_drafted && i < SCARCE_MAX_DRAFT; i++)
        o.drafted[i] = ps->drafted[i], o.ratio[i] = ps->ratio[i];
    return o;
}

static int spec_decode(scarce_context *ctx, spec_decoder *sd, int n_predict,
                       const scarce_spec_params *spec, scarce_token_callback cb, void *user) {
    int n_gen = 0, out[SPEC_MAX_DRAFT + 1], prev = sd->tokens[sd->n_tokens - 1];
    scarce_error err = {0};
    while (n_gen < n_predict) {
        spec_pass ps = {0};
        int got = spec_step(sd, n_predict - n_gen, out, spec->on_pass ? &ps : NULL, &err);
        if (got < 0) return api_fail_err(ctx->error, SCARCE_ERR_RUNTIME, &err);
        if (got == 0) break; /* context full */
        if (spec->on_pass) {
            const scarce_spec_pass sp = pass_of(&ps);
            if (spec->on_pass(spec->pass_user, &sp)) return n_gen;
        }
        for (int i = 0; i < got; i++) {
            if (ends(ctx, out[i])) return n_gen;
            n_gen++;
            if (emit(ctx, prev, out[i], cb, user)) return n_gen;
            prev = out[i];
        }
    }
    return n_gen;
}

int scarce_generate_spec(scarce_context *ctx, const char *prompt, int n_predict,
                         const scarce_spec_params *spec, scarce_token_callback cb, void *user,
                         int *n_generated) {
    if (n_generated) *n_generated = 0;
    if (!ctx) return SCARCE_ERR_ARGUMENT;
    spec_params p;
    if (!spec) return api_fail(ctx->error, SCARCE_ERR_ARGUMENT, "spec params are NULL");
    int rc = spec_params_of(ctx, spec, &p);
    if (rc) return rc;
    int *ids, n = start(ctx, prompt, n_predict, &ids);
    if (n < 0) {
        free(ids);
        return n;
    }
    scarce_error err = {0};
    spec_decoder sd;
    model *dm;
    int copy;
    draft_quant_info quant = {0};
    if ((rc = draft_model_of(ctx, spec, &dm, &copy, &quant)) ||
        (spec_init(&sd, &ctx->s, &ctx->smp, dm, &p, &err) &&
         (rc = api_fail_err(ctx->error, SCARCE_ERR_ARGUMENT, &err)))) {
        if (copy) draft_quant_free(dm);
        free(ids);
        return rc;
    }
    const run_stats begin = both_stats(&sd);
    const double t0 = now_seconds();
    rc = spec_prefill(&sd, ids, n, &err) ? api_fail_err(ctx->error, SCARCE_ERR_RUNTIME, &err) : 0;
    const run_stats prefilled = both_stats(&sd);
    const double t1 = now_seconds();
    if (!rc) rc = spec_decode(ctx, &sd, n_predict, spec, cb, user);
    const run_stats end = both_stats(&sd);
    const double t2 = now_seconds();
    if (rc >= 0) {
        if (n_generated) *n_generated = rc;
        /* as tools/run_spec.c: the prompt's last token goes in with the first draft */
        ctx->run = (api_run){.valid = 1,
                             .prompt = stats_delta(&prefilled, &begin),
                             .decode = stats_delta(&end, &prefilled),
                             .t_prompt = t1 - t0,
                             .t_decode = t2 - t1,
                             .is_spec = 1,
                             .spec = sd.stats,
                             .has_quant = copy,
                             .quant = quant};
        ctx->run.prompt.tokens = (uint64_t)n - 1, ctx->run.decode.tokens = (uint64_t)rc;
        rc = SCARCE_OK;
    }
    spec_free(&sd);
    if (copy) draft_quant_free(dm);
    free(ids);
    return rc;
}

int scarce_spec_compare(scarce_context *ctx, const int32_t *ids, int n_ids, int n_predict,
                        const scarce_spec_params *spec, scarce_spec_compare_result *out) {
    if (!ctx) return SCARCE_ERR_ARGUMENT;
    if (!spec || !out || !ids || n_ids < 1 || n_predict < 1)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT, "scarce_spec_compare: %s",
                        !spec  ? "spec params are NULL"
                        : !out ? "out is NULL"
                        : !ids ? "ids is NULL"
                               : "n_ids or n_predict < 1");
    memset(out, 0, sizeof *out);
    spec_params p;
    int rc = spec_params_of(ctx, spec, &p);
    if (!rc) rc = api_check_ids(ctx, ids, n_ids);
    if (rc) return rc;
    if (n_ids + n_predict > ctx->n_ctx)
        return api_fail(ctx->error, SCARCE_ERR_CONTEXT,
                        "%d prompt + %d generated tokens do not fit the context of %d", n_ids,
                        n_predict, ctx->n_ctx);
    model *dm = NULL;
    int copy = 0;
    draft_quant_info quant;
    if ((rc = draft_model_of(ctx, spec, &dm, &copy, &quant))) return rc;
    scarce_error err = {0};
    spec_bench_result r;
    if (spec_bench(ctx->model->m, dm, &p, &ctx->smp.p, ids, n_ids, n_predict, ctx->n_ctx, &r,
                   &err)) {
        rc = api_fail_err(ctx->error, SCARCE_ERR_RUNTIME, &err);
    } else {
        out->plain_tok_s = r.tok_s_plain, out->spec_tok_s = r.tok_s_spec, out->reps = r.reps;
        api_spec_report(&r.stats, copy ? &quant : NULL, &out->spec);
    }
    if (copy) draft_quant_free(dm);
    return rc;
}
