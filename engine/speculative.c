/* speculative.c - the draft / verify loop.
 *
 * State between rounds: tokens[0..n_tokens) is the committed text. The target's cache
 * holds all of it but the last token; a round feeds [last, d_1 .. d_k] in one batch with
 * all logits, giving the target's distribution after each prefix. The longest agreeing
 * prefix d_1..d_a is kept plus one token of the target's (correction or bonus), and both
 * caches are truncated to what is now committed. The draft's cache may lag behind; it
 * catches up at the start of the next round by feeding the tokens it has not seen.
 *
 * Exactness: greedy accepts d_i iff it is the target's argmax, so the text is the
 * target's greedy text. Sampling uses the rejection rule in spec_accept(), whose output
 * is distributed exactly as the target's sampler (Leviathan et al. 2023, Theorem 1). */
#include "speculative.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "draft_quant.h"
#include "machine.h"

/* ---- the acceptance rule ------------------------------------------------------------ */

int spec_sample_probs(const float *probs, int n_vocab, sampler *rng) {
    double total = 0;
    for (int i = 0; i < n_vocab; i++) total += probs[i];
    const double r = sampler_uniform(rng) * total;
    double cdf = 0;
    int last = 0;
    for (int i = 0; i < n_vocab; i++) {
        if (probs[i] <= 0) continue;
        cdf += probs[i];
        last = i;
        if (r < cdf) return i;
    }
    return last; /* rounding: r landed just past the final cdf */
}

/* Draw from normalize(max(0, p - q)): the part of p the draft under-proposes. */
static int sample_residual(const float *p, const float *q, int n_vocab, sampler *rng) {
    double total = 0;
    for (int i = 0; i < n_vocab; i++) total += p[i] > q[i] ? p[i] - q[i] : 0;
    if (total <= 0) return spec_sample_probs(p, n_vocab, rng); /* p == q up to rounding */
    const double r = sampler_uniform(rng) * total;
    double cdf = 0;
    int last = 0;
    for (int i = 0; i < n_vocab; i++) {
        if (p[i] <= q[i]) continue;
        cdf += p[i] - q[i];
        last = i;
        if (r < cdf) return i;
    }
    return last;
}

int spec_accept(const float *p_target, const float *p_draft, const int *draft, int n_vocab,
                int drafted, sampler *rng, int *next, float *ratio) {
    for (int i = 0; i < drafted; i++) {
        const float *p = p_target + (size_t)i * n_vocab, *q = p_draft + (size_t)i * n_vocab;
        const int x = draft[i];
        /* q(x) = 0 cannot have been drawn; treat it as a rejection */
        const float r = q[x] > 0 ? p[x] / q[x] : 0.0f;
        if (ratio) ratio[i] = r;
        if (r >= 1.0f || sampler_uniform(rng) < r) continue;
        *next = sample_residual(p, q, n_vocab, rng);
        return i;
    }
    *next = spec_sample_probs(p_target + (size_t)drafted * n_vocab, n_vocab, rng);
    return drafted;
}

/* ---- set-up ------------------------------------------------------------------------- */

static int token_strings_equal(const gguf_kv *a, const gguf_kv *b, uint64_t i) {
    return a->arr_str_len[i] == b->arr_str_len[i] &&
           memcmp(a->arr_str[i], b->arr_str[i], a->arr_str_len[i]) == 0;
}

int spec_check_vocab(const model *target, const model *draft, scarce_error *err) {
    const char *tp = target->file->path, *dp = draft->file->path;
    if (target->cfg.n_vocab != draft->cfg.n_vocab)
        return scarce_fail(err, "%s: draft vocabulary has %d tokens, target %s has %d", dp,
                           draft->cfg.n_vocab, tp, target->cfg.n_vocab);
    const gguf_kv *a = gguf_find(target->file, "tokenizer.ggml.tokens");
    const gguf_kv *b = gguf_find(draft->file, "tokenizer.ggml.tokens");
    if (!a && !b) return 0; /* no strings to compare: equal sizes is all we can check */
    if (!a || !b || a->type != GGUF_ARRAY || b->type != GGUF_ARRAY ||
        a->arr_type != GGUF_STRING || b->arr_type != GGUF_STRING)
        return scarce_fail(err, "%s: tokenizer.ggml.tokens missing or not strings in %s", dp,
                           a ? dp : tp);
    if (a->arr_n != b->arr_n)
        return scarce_fail(err, "%s: tokenizer.ggml.tokens has %llu strings, target %s %llu", dp,
                           (unsigned long long)b->arr_n, tp, (unsigned long long)a->arr_n);
    for (uint64_t i = 0; i < a->arr_n; i++)
        if (!token_strings_equal(a, b, i))
            return scarce_fail(err, "%s: token %llu is '%.40s', target %s has '%.40s' "
                               "(draft and target need the same vocabulary)", dp,
                               (unsigned long long)i, b->arr_str[i], tp, a->arr_str[i]);
    return 0;
}

static int check_params(const spec_params *p, const model *target, const model *draft_model,
                        scarce_error *err) {
    if (p->n_draft_min < 1 || p->n_draft_max > SPEC_MAX_DRAFT ||
        p->n_draft_min > p->n_draft_max || p->n_draft < p->n_draft_min ||
        p->n_draft > p->n_draft_max)
        return scarce_fail(err, "draft length %d must lie in --draft-min %d .. --draft-max %d "
                           "within 1..%d", p->n_draft, p->n_draft_min, p->n_draft_max,
                           SPEC_MAX_DRAFT);
    if ((p->source == SPEC_MODEL || p->source == SPEC_QUANT) && !draft_model)
        return scarce_fail(err, "speculative: no draft model given");
    if (p->source == SPEC_LAYERS &&
        (p->draft_layers < 1 || p->draft_layers > target->cfg.n_layer))
        return scarce_fail(err, "%s: --draft-layers %d, the model has %d layers",
                           target->file->path, p->draft_layers, target->cfg.n_layer);
    if (p->source == SPEC_LOOKUP &&
        (p->lookup_n < 1 || p->lookup_n > LOOKUP_MAX_N || p->lookup_min > p->lookup_n))
        return scarce_fail(err, "--lookup %d (shortest n-gram %d): the n-grams need 1 to %d "
                           "tokens", p->lookup_n, p->lookup_min, LOOKUP_MAX_N);
    return 0;
}

/* The index of the context (filled as tokens are committed) and of the lookup file. */
static int init_lookup(spec_decoder *sd, scarce_error *err) {
    const spec_params *p = &sd->p;
    const int n_min = p->lookup_min > 0 ? p->lookup_min : 1;
    if (lookup_index_init(&sd->lookup_ctx, n_min, p->lookup_n) ||
        (p->lookup_file && (lookup_index_init(&sd->lookup_file, n_min, p->lookup_n) ||
                            lookup_index_update(&sd->lookup_file, p->lookup_file,
                                                p->n_lookup_file)))) {
        lookup_index_free(&sd->lookup_ctx), lookup_index_free(&sd->lookup_file);
        return scarce_fail(err, "out of memory for the n-gram index (%d lookup-file tokens)",
                           p->n_lookup_file);
    }
    return 0;
}

int spec_init(spec_decoder *sd, session *target, sampler *smp, const model *draft_model,
              const spec_params *p, scarce_error *err) {
    memset(sd, 0, sizeof *sd);
    if (check_params(p, target->m, draft_model, err)) return -1;
    if (p->source == SPEC_MODEL && spec_check_vocab(target->m, draft_model, err)) return -1;
    sd->p = *p;
    sd->target = target;
    sd->smp = smp;
    sd->draft_len = p->n_draft;
    spec_cost_init(&sd->stats.cost, p->n_draft_min, p->n_draft_max, p->source == SPEC_LOOKUP);
    const int n_vocab = target->m->cfg.n_vocab, n_ctx = target->cache.n_ctx;
    if (p->source == SPEC_LOOKUP && init_lookup(sd, err)) return -1;
    if (p->source != SPEC_LOOKUP) {
        const model *dm = p->source == SPEC_LAYERS ? target->m : draft_model;
        /* sampling needs the draft's whole distribution: no shortlist then */
        const int n_short = smp->p.temp <= 0.0f ? p->draft_vocab : 0;
        if (!(sd->view = malloc(sizeof *sd->view)))
            return scarce_fail(err, "out of memory for the draft");
        /* greedy --draft-quant drafts score with the copy's coarse head (draft_view.h) */
        const qmatrix *coarse = p->source == SPEC_QUANT && smp->p.temp <= 0.0f
                                    ? draft_quant_coarse_head(dm) : NULL;
        if (draft_view_init(sd->view, dm, target->m, n_short, n_ctx, coarse, err)) {
            free(sd->view), sd->view = NULL;
            return -1;
        }
        if (session_init(&sd->draft, &sd->view->m, n_ctx, err)) {
            spec_free(sd);
            return -1;
        }
        sd->has_draft_session = 1;
        if (p->source == SPEC_LAYERS) sd->draft.n_layer_run = p->draft_layers;
    }
    sampler_params dp = smp->p;
    dp.seed = smp->p.seed ^ 0xD1B54A32D192ED03ull; /* the draft's own stream */
    sd->cap = n_ctx + SPEC_MAX_DRAFT + 2;
    sd->tokens = malloc((size_t)sd->cap * sizeof(int));
    sd->p_target = malloc((size_t)(SPEC_MAX_DRAFT + 1) * n_vocab * sizeof(float));
    sd->p_draft = malloc((size_t)SPEC_MAX_DRAFT * n_vocab * sizeof(float));
    if (sampler_init(&sd->draft_smp, &dp, n_vocab) || !sd->tokens || !sd->p_target ||
        !sd->p_draft) {
        spec_free(sd);
        return scarce_fail(err, "out of memory for speculative decoding (vocabulary %d)",
                           n_vocab);
    }
    return 0;
}

void spec_free(spec_decoder *sd) {
    if (sd->has_draft_session) session_free(&sd->draft);
    if (sd->view) draft_view_free(sd->view), free(sd->view);
    lookup_index_free(&sd->lookup_ctx), lookup_index_free(&sd->lookup_file);
    sampler_free(&sd->draft_smp);
    free(sd->tokens), free(sd->p_target), free(sd->p_draft);
    memset(sd, 0, sizeof *sd);
}

int spec_prefill(spec_decoder *sd, const int *prompt, int n, scarce_error *err) {
    if (n < 1) return scarce_fail(err, "speculative: the prompt needs at least one token");
    if (n > sd->target->cache.n_ctx)
        return scarce_fail(err, "prompt is %d tokens, longer than the context of %d", n,
                           sd->target->cache.n_ctx);
    memcpy(sd->tokens, prompt, (size_t)n * sizeof(int));
    sd->n_tokens = n;
    if (sd->view) draft_view_add(sd->view, prompt, n);
    /* all but the last token: the first round feeds it together with the draft */
    if (n > 1 && !forward(sd->target, prompt, n - 1, 0, err)) return -1;
    return 0;
}

/* ---- drafting ----------------------------------------------------------------------- */

/* The longest n-gram ending the text that occurred before, in the text or the file. */
static int draft_lookup(spec_decoder *sd, int k, int *draft) {
    lookup_index_update(&sd->lookup_ctx, sd->tokens, sd->n_tokens); /* out of memory: fewer */
    const lookup_source sources[2] = {{&sd->lookup_ctx, sd->tokens, sd->n_tokens},
                                      {&sd->lookup_file, sd->p.lookup_file, sd->p.n_lookup_file}};
    const int got = lookup_draft(sources, sd->p.lookup_file ? 2 : 1, sd->tokens, sd->n_tokens,
                                 k, draft, NULL, NULL);
    if (k > 0 && !got) sd->stats.lookup_misses++;
    return got;
}

static int is_greedy(const spec_decoder *sd) { return sd->smp->p.temp <= 0.0f; }

/* Draft model / truncated target: catch up on unseen tokens, then k autoregressive steps. */
static int draft_model_tokens(spec_decoder *sd, int k, int *draft, scarce_error *err) {
    session *d = &sd->draft;
    const int n_vocab = d->m->cfg.n_vocab;
    if (d->cache.n_pos >= sd->n_tokens) kvcache_truncate(&d->cache, sd->n_tokens - 1);
    const int from = d->cache.n_pos;
    sd->draft_fed = sd->n_tokens - from;
    const float *logits = forward(d, sd->tokens + from, sd->n_tokens - from, 0, err);
    for (int i = 0; i < k; i++) {
        if (!logits) return -1;
        if (is_greedy(sd)) {
            draft[i] = draft_view_argmax(sd->view, logits, d->rs.xb);
        } else {
            float *q = sd->p_draft + (size_t)i * n_vocab;
            sampler_probs(&sd->draft_smp, logits, q);
            draft[i] = spec_sample_probs(q, n_vocab, &sd->draft_smp);
        }
        if (i + 1 < k) logits = forward(d, &draft[i], 1, 0, err);
    }
    return k;
}

static int draft_tokens(spec_decoder *sd, int k, int *draft, scarce_error *err) {
    if (sd->p.source != SPEC_LOOKUP) return draft_model_tokens(sd, k, draft, err);
    int got = draft_lookup(sd, k, draft);
    if (!is_greedy(sd)) { /* a deterministic proposal: q is one-hot on the drafted token */
        const int n_vocab = sd->target->m->cfg.n_vocab;
        memset(sd->p_draft, 0, (size_t)got * n_vocab * sizeof(float));
        for (int i = 0; i < got; i++) sd->p_draft[(size_t)i * n_vocab + draft[i]] = 1.0f;
    }
    return got;
}

/* ---- verification ------------------------------------------------------------------- */

/* Target pass over [last, draft..]; returns accepted count, the target's token in *next. */
static int verify(spec_decoder *sd, const int *draft, int k, spec_pass *pass, scarce_error *err) {
    const int n_vocab = sd->target->m->cfg.n_vocab;
    int batch[SPEC_MAX_DRAFT + 1];
    batch[0] = sd->tokens[sd->n_tokens - 1];
    memcpy(batch + 1, draft, (size_t)k * sizeof(int));
    const float *logits = forward(sd->target, batch, k + 1, 1, err);
    if (!logits) return -1;
    int a = 0;
    if (is_greedy(sd)) {
        while (a < k && draft[a] == argmax(logits + (size_t)a * n_vocab, n_vocab)) {
            pass->ratio[a] = 1.0f;
            a++;
        }
        if (a < k) pass->ratio[a] = 0.0f;
        pass->next = argmax(logits + (size_t)a * n_vocab, n_vocab);
        return a;
    }
    for (int i = 0; i <= k; i++)
        sampler_probs(sd->smp, logits + (size_t)i * n_vocab, sd->p_target + (size_t)i * n_vocab);
    return spec_accept(sd->p_target, sd->p_draft, draft, n_vocab, k, sd->smp, &pass->next,
                       pass->ratio);
}

static void count_pass(spec_decoder *sd, int k, int a) {
    spec_stats *st = &sd->stats;
    st->passes++;
    st->drafted += k;
    st->accepted += a;
    st->emitted += a + 1;
    st->passes_by_length[k]++;
    for (int i = 0; i < k; i++) st->drafted_at[i]++;
    for (int i = 0; i < a; i++) st->accepted_at[i]++;
}

/* SPEC_ADAPT: one longer after a fully accepted draft, one shorter after a rejection */
static void adapt(spec_decoder *sd, int k, int a) {
    if (k < sd->draft_len) return; /* a clamped or short draft says nothing about the length */
    if (a == k && sd->draft_len < sd->p.n_draft_max) sd->draft_len++;
    if (a < k && sd->draft_len > sd->p.n_draft_min) sd->draft_len--;
}

/* The length of this pass: the cost model's choice, or the adaptive / fixed length with
 * what the cost model expects of it. */
static spec_choice next_choice(spec_decoder *sd) {
    if (sd->p.policy == SPEC_COST) return spec_cost_next(&sd->stats.cost);
    return sd->stats.cost.last = spec_cost_at(&sd->stats.cost, sd->draft_len, SPEC_WHY_FIXED);
}

/* What the pass taught the cost model: a draft time counts when it was k clean steps,
 * not a catch-up over many tokens (the first pass, or after plain steps). */
static void observe(spec_decoder *sd, int k, int a, double t_draft, double t_verify) {
    const int clean = sd->p.source == SPEC_LOOKUP || sd->draft_fed <= 2;
    spec_cost_observe(&sd->stats.cost, k, a, k > 0 && clean ? t_draft : -1, t_verify);
}

static double running_speedup(const spec_stats *st) {
    const double spent = st->t_draft + st->t_target;
    return spent > 0 ? st->emitted * spec_cost_plain_seconds(&st->cost) / spent : 0;
}

int spec_step(spec_decoder *sd, int max_emit, int *out, spec_pass *pass, scarce_error *err) {
    spec_pass local;
    if (!pass) pass = &local;
    session *t = sd->target;
    const int room = t->cache.n_ctx - sd->n_tokens; /* verify needs n_tokens + k positions */
    if (room < 0 || max_emit < 1) return 0;
    pass->choice = next_choice(sd);
    int k = pass->choice.k;
    if (k > room) k = room;
    if (k > max_emit - 1) k = max_emit - 1;
    int draft[SPEC_MAX_DRAFT];
    const double t0 = now_seconds();
    if (k > 0 && (k = draft_tokens(sd, k, draft, err)) < 0) return -1;
    const double t1 = now_seconds();
    const int n_old = sd->n_tokens;
    int a = verify(sd, draft, k, pass, err);
    if (a < 0) return -1;
    const double t2 = now_seconds();
    /* commit d_1..d_a and the target's token; roll both caches back to it */
    memcpy(sd->tokens + n_old, draft, (size_t)a * sizeof(int));
    sd->tokens[n_old + a] = pass->next;
    sd->n_tokens = n_old + a + 1;
    if (sd->view) draft_view_add(sd->view, sd->tokens + n_old, a + 1);
    kvcache_truncate(&t->cache, sd->n_tokens - 1);
    if (sd->has_draft_session) kvcache_truncate(&sd->draft.cache, n_old + a);
    sd->stats.t_draft += t1 - t0;
    if (sd->has_draft_session) {
        sd->stats.draft_steps = sd->draft.stats.decode.passes;
        sd->stats.draft_step_bytes = sd->draft.stats.decode.weight_bytes;
    }
    sd->stats.t_target += now_seconds() - t1;
    pass->n_drafted = k;
    pass->n_accepted = a;
    pass->sampling = !is_greedy(sd);
    memcpy(pass->drafted, draft, (size_t)k * sizeof(int));
    count_pass(sd, k, a);
    if (sd->p.policy == SPEC_ADAPT) adapt(sd, k, a);
    observe(sd, k, a, t1 - t0, t2 - t1);
    pass->running_speedup = running_speedup(&sd->stats);
    memcpy(out, sd->tokens + n_old, (size_t)(a + 1) * sizeof(int));
    return a + 1;
}

/* ---- plain vs speculative, measured in one run ------------------------------------- */

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double spec_bench_median(const double *t, int n) {
    double sorted[SPEC_BENCH_MAX_REPS];
    if (n < 1) return 0;
    if (n > SPEC_BENCH_MAX_REPS) n = SPEC_BENCH_MAX_REPS;
    memcpy(sorted, t, (size_t)n * sizeof *t);
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_double);
    return n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
}

int spec_bench_more(int reps, double plain_seconds, double spec_seconds) {
    if (reps >= SPEC_BENCH_MAX_REPS) return 0;
    return reps < SPEC_BENCH_MIN_REPS || plain_seconds < SPEC_BENCH_MIN_SECONDS ||
           spec_seconds < SPEC_BENCH_MIN_SECONDS;
}

/* Plain decoding of n_gen tokens from a fresh cache and sampler; seconds of the decoding
 * (the prefill of prompt[0..n-1) is not timed, as spec_prefill's is not), -1 on error. */
static double time_plain(session *s, const sampler_params *sp, const int *prompt, int n_prompt,
                         int n_gen, scarce_error *err) {
    sampler smp;
    kvcache_truncate(&s->cache, 0);
    if (n_prompt > 1 && !forward(s, prompt, n_prompt - 1, 0, err)) return -1;
    if (sampler_init(&smp, sp, s->m->cfg.n_vocab))
        return scarce_fail(err, "out of memory for the sampler");
    int last = prompt[n_prompt - 1];
    double t0 = now_seconds(), t = -1;
    for (int g = 0; g < n_gen; g++) {
        const float *logits = forward(s, &last, 1, 0, err);
        if (!logits) goto done;
        last = sampler_sample(&smp, logits);
    }
    t = now_seconds() - t0;
done:
    sampler_free(&smp);
    return t;
}

/* Speculative decoding of n_gen tokens from a fresh cache, sampler and decoder (its cost
 * model learns afresh, as a run's does); seconds, -1 on error. stats gets the run's. */
static double time_spec(session *s, const model *draft_model, const spec_params *p,
                        const sampler_params *sp, const int *prompt, int n_prompt, int n_gen,
                        spec_stats *stats, scarce_error *err) {
    sampler smp;
    spec_decoder sd;
    kvcache_truncate(&s->cache, 0);
    if (sampler_init(&smp, sp, s->m->cfg.n_vocab))
        return scarce_fail(err, "out of memory for the sampler");
    double t = -1;
    if (spec_init(&sd, s, &smp, draft_model, p, err)) goto no_decoder;
    if (spec_prefill(&sd, prompt, n_prompt, err)) goto done;
    int out[SPEC_MAX_DRAFT + 1];
    const double t0 = now_seconds();
    for (int done = 0; done < n_gen;) {
        int got = spec_step(&sd, n_gen - done, out, NULL, err);
        if (got < 0) goto done;
        if (got == 0) {
            scarce_fail(err, "context %d too small for %d tokens", s->cache.n_ctx, n_gen);
            goto done;
        }
        done += got;
    }
    t = now_seconds() - t0;
    *stats = sd.stats;
done:
    spec_free(&sd);
no_decoder:
    sampler_free(&smp);
    return t;
}

/* Plain and speculative runs alternate (plain first on even repetitions, speculative first
 * on odd ones) after one uncounted plain run that warms caches and page mappings, and each
 * side's median is taken. One timing per side was not enough: a run of stories260K lasts a
 * few milliseconds, so one preempted plain run on a shared 2-core machine reported a 24x
 * speed-up (tests/test_speculative.c: spec_bench_median_ignores_one_preempted_run). */
int spec_bench(const model *target, const model *draft_model, const spec_params *p,
               const sampler_params *sp, const int *prompt, int n_prompt, int n_gen, int n_ctx,
               spec_bench_result *out, scarce_error *err) {
    memset(out, 0, sizeof *out);
    if (n_prompt < 1 || n_gen < 1 || n_prompt + n_gen > n_ctx)
        return scarce_fail(err, "bench: %d prompt + %d generated tokens do not fit context %d",
                           n_prompt, n_gen, n_ctx);
    session s;
    if (session_init(&s, target, n_ctx, err)) return -1;
    int rc = -1;
    double t_plain[SPEC_BENCH_MAX_REPS], t_spec[SPEC_BENCH_MAX_REPS], sum_plain = 0, sum_spec = 0;
    if (time_plain(&s, sp, prompt, n_prompt, n_gen, err) < 0) goto done;
    int reps = 0;
    for (; spec_bench_more(reps, sum_plain, sum_spec); reps++) {
        for (int half = 0; half < 2; half++) {
            if ((half == 0) == (reps % 2 == 0)) {
                t_plain[reps] = time_plain(&s, sp, prompt, n_prompt, n_gen, err);
                if (t_plain[reps] < 0) goto done;
                sum_plain += t_plain[reps];
            } else {
                t_spec[reps] = time_spec(&s, draft_model, p, sp, prompt, n_prompt, n_gen,
                                         &out->stats, err);
                if (t_spec[reps] < 0) goto done;
                sum_spec += t_spec[reps];
            }
        }
    }
    const double plain = spec_bench_median(t_plain, reps), spec = spec_bench_median(t_spec, reps);
    out->reps = reps;
    out->tok_s_plain = n_gen / (plain > 0 ? plain : 1e-9);
    out->tok_s_spec = n_gen / (spec > 0 ? spec : 1e-9);
    rc = 0;
done:
    session_free(&s);
    return rc;
}
