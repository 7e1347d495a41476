/* speculative.h - speculative decoding: a cheap draft proposes k tokens, the target
 * verifies them in one batched pass and keeps the longest prefix it agrees with, plus one
 * token of its own. The output has exactly the target's distribution (greedy: the same
 * tokens as plain decoding); what changes is how many target passes it takes.
 *
 * Draft sources: a second model with the same vocabulary (SPEC_MODEL), a low-bit copy of
 * the target built in memory (SPEC_QUANT, engine/draft_quant.h, given as the draft model),
 * the target's own first L layers plus its output head (SPEC_LAYERS), or n-gram lookup in
 * the context so far and an optional token file (SPEC_LOOKUP, engine/lookup.h, no model).
 *
 * The draft length of each pass: fixed (n_draft_min == n_draft_max), the adaptive rule
 * (SPEC_ADAPT: one longer after a fully accepted draft, one shorter after a rejection), or
 * the cost model (SPEC_COST, engine/spec_cost.h: the length with the largest expected
 * speed-up from measured costs and acceptance, plain steps when none pays). */
#ifndef SCARCE_SPECULATIVE_H
#define SCARCE_SPECULATIVE_H

#include <stdint.h>

#include "draft_view.h"
#include "forward.h"
#include "lookup.h"
#include "sampler.h"
#include "spec_cost.h"

#define SPEC_MAX_DRAFT 32 /* the verify batch is at most SPEC_MAX_DRAFT + 1 tokens */

typedef enum { SPEC_MODEL, SPEC_LAYERS, SPEC_LOOKUP, SPEC_QUANT } spec_source;
typedef enum { SPEC_ADAPT, SPEC_COST } spec_policy;

typedef struct {
    spec_source source;
    spec_policy policy;
    int n_draft;      /* initial draft length (--draft) */
    int n_draft_min;  /* the range of lengths (equal: fixed length) */
    int n_draft_max;
    int draft_layers; /* SPEC_LAYERS: layers of the target the draft runs */
    int lookup_n;     /* SPEC_LOOKUP: the longest n-gram matched against the context */
    int lookup_min;   /* ... and the shortest (0 = 1) */
    const int *lookup_file; /* SPEC_LOOKUP: more text to find n-grams in (NULL = none) */
    int n_lookup_file;
    int draft_vocab; /* greedy model drafts: common ids their head scores, besides the text's
                        tokens (0: the whole vocabulary; engine/draft_view.h) */
} spec_params;

typedef struct {
    uint64_t passes;  /* target verification passes */
    uint64_t drafted; /* tokens proposed */
    uint64_t accepted;
    uint64_t emitted; /* tokens committed: accepted + one per pass */
    uint64_t drafted_at[SPEC_MAX_DRAFT], accepted_at[SPEC_MAX_DRAFT]; /* by draft position */
    double t_draft, t_target; /* seconds in drafting / in verification + acceptance */
    uint64_t passes_by_length[SPEC_MAX_DRAFT + 1]; /* passes that drafted k (0: plain) */
    uint64_t lookup_misses;   /* SPEC_LOOKUP: passes that wanted a draft and found none */
    /* the draft model's one-token steps and the weight bytes they read (forward()'s count:
     * with a coarse head, its bytes and the rescored rows', not the 8-bit head's) */
    uint64_t draft_steps, draft_step_bytes;
    spec_cost cost;           /* the cost model's figures and its latest choice */
} spec_stats;

/* What one target pass did (for the teaching trace). ratio[i] = p_target/p_draft of
 * drafted token i (1 or 0 when greedy). */
typedef struct {
    int n_drafted, n_accepted;
    int drafted[SPEC_MAX_DRAFT];
    float ratio[SPEC_MAX_DRAFT];
    int next;      /* the target's own token: correction, or bonus when all were accepted */
    int sampling;  /* 0 = greedy */
    spec_choice choice;     /* the length asked for and why (the draft may be shorter) */
    double running_speedup; /* plain-step time x tokens emitted / time spent, so far */
} spec_pass;

typedef struct {
    spec_params p;
    session *target;
    session draft;          /* SPEC_MODEL / SPEC_QUANT / SPEC_LAYERS, running view->m */
    draft_view *view;       /* ... the draft model with a shortlisted head (draft_view.h) */
    int has_draft_session;
    sampler *smp;           /* the target's sampler: its generator drives acceptance */
    sampler draft_smp;      /* same transforms, own generator */
    float *p_target;        /* [SPEC_MAX_DRAFT + 1][n_vocab] */
    float *p_draft;         /* [SPEC_MAX_DRAFT][n_vocab] */
    int *tokens;            /* committed sequence: prompt + generated */
    int n_tokens, cap;
    int draft_len;          /* current adaptive length */
    lookup_index lookup_ctx, lookup_file; /* SPEC_LOOKUP: n-grams of tokens[], of the file */
    int draft_fed;          /* tokens the draft model's last catch-up fed */
    spec_stats stats;
} spec_decoder;

/* The acceptance rule (Leviathan et al. 2023, Chen et al. 2023) for `drafted` tokens
 * draft[i] drawn from p_draft rows: accept draft[i] with probability
 * min(1, p_target(x)/p_draft(x)); at the first rejection draw the correction from
 * normalize(max(0, p_target - p_draft)); when all are accepted draw the bonus from row
 * `drafted` of p_target. Rows are n_vocab floats; p_target has drafted + 1 rows.
 * Returns the number accepted and the extra token in *next. ratio (may be NULL) gets the
 * p_target/p_draft ratio of each decided token. */
int spec_accept(const float *p_target, const float *p_draft, const int *draft, int n_vocab,
                int drafted, sampler *rng, int *next, float *ratio);
/* Draw from a probability vector with the generator of rng. */
int spec_sample_probs(const float *probs, int n_vocab, sampler *rng);

/* Refuses a draft model whose vocabulary (n_vocab and tokenizer.ggml.tokens) differs. */
int spec_check_vocab(const model *target, const model *draft, scarce_error *err);

/* target: an initialised session (empty cache) and its sampler; draft_model: the second
 * model for SPEC_MODEL (NULL otherwise). */
int spec_init(spec_decoder *sd, session *target, sampler *smp, const model *draft_model,
              const spec_params *p, scarce_error *err);
void spec_free(spec_decoder *sd);
/* Feeds the prompt (n >= 1 tokens). */
int spec_prefill(spec_decoder *sd, const int *prompt, int n, scarce_error *err);
/* One draft + verify round emitting between 1 and max_emit tokens into out[]; returns
 * how many, 0 when the context is full, -1 on error. pass (may be NULL) describes it. */
int spec_step(spec_decoder *sd, int max_emit, int *out, spec_pass *pass, scarce_error *err);

/* Same prompt, n_gen tokens plain and n_gen tokens speculative (fresh caches, no stop on
 * end-of-text), repeated and interleaved: the two speeds measured in one run, for
 * --spec-compare and `scarce bench --draft`. Each speed is n_gen / the median of its runs'
 * seconds; at least SPEC_BENCH_MIN_REPS runs a side and, up to SPEC_BENCH_MAX_REPS, until
 * each side has run SPEC_BENCH_MIN_SECONDS. stats: the last speculative run's. */
#define SPEC_BENCH_MIN_REPS 3
#define SPEC_BENCH_MAX_REPS 31
#define SPEC_BENCH_MIN_SECONDS 0.3
typedef struct {
    double tok_s_plain, tok_s_spec;
    int reps; /* runs of each side */
    spec_stats stats;
} spec_bench_result;
int spec_bench(const model *target, const model *draft_model, const spec_params *p,
               const sampler_params *sp, const int *prompt, int n_prompt, int n_gen, int n_ctx,
               spec_bench_result *out, scarce_error *err);
/* The median of t[0..n) (n <= SPEC_BENCH_MAX_REPS; 0 when n < 1). */
double spec_bench_median(const double *t, int n);
/* 1 while spec_bench wants another repetition after `reps`, whose sides took these seconds. */
int spec_bench_more(int reps, double plain_seconds, double spec_seconds);

#endif
