/* spec_cost.h - how many tokens to draft: the cost model of speculative decoding.
 *
 * With acceptance a (the chance the target keeps a drafted token, given it kept the ones
 * before), a pass that drafts k tokens emits on average
 *     E(a, k) = 1 + a + ... + a^k = (1 - a^(k+1)) / (1 - a)   tokens
 * and costs v(k) + k d plain decode steps, where v(k) = time of the target's pass over
 * k + 1 tokens / time of a plain step, and d = time of one draft step / a plain step.
 * Expected speed-up over plain decoding: S(k) = E(a, k) / (v(k) + k d); S(0) = 1 (a pass
 * that drafts nothing is a plain step). The chooser takes the k with the largest S(k), and
 * k = 0 (plain decoding) when no length's S(k) exceeds 1.
 *
 * The figures are learnt during the run (spec_cost_observe): v from the timed target
 * passes of each size (EWMA; sizes not yet seen are interpolated linearly), d from the
 * timed draft steps, a from the passes' outcomes with older passes discounted. A few
 * warm-up passes of chosen sizes measure them first; while decoding plain, a draft of
 * the length that would pay first (best_k) every SPEC_COST_PROBE passes keeps the
 * acceptance and that length's cost current; while drafting, a plain step every
 * SPEC_COST_REFRESH passes keeps the plain time current. */
#ifndef SCARCE_SPEC_COST_H
#define SCARCE_SPEC_COST_H

#define SPEC_COST_MAX 32     /* longest draft considered (= SPEC_MAX_DRAFT) */
#define SPEC_COST_PROBE 8    /* plain passes between probes */
#define SPEC_COST_REFRESH 48 /* drafting passes between plain steps that re-time a step */

/* Why a length was chosen */
typedef enum {
    SPEC_WHY_WARMUP,  /* measuring: the first passes try fixed lengths */
    SPEC_WHY_BEST,    /* the largest expected speed-up, above 1 */
    SPEC_WHY_NO_GAIN, /* no length is expected to beat plain decoding: plain step */
    SPEC_WHY_PROBE,   /* plain decoding, but a short draft to re-measure acceptance */
    SPEC_WHY_REFRESH, /* drafting, but a plain step to re-time plain decoding */
    SPEC_WHY_FIXED,   /* the length was not the cost model's to choose (policy) */
} spec_why;

typedef struct {
    int k; /* the chosen length; 0 = a plain step */
    spec_why why;
    double acceptance;       /* estimate a */
    double draft_cost;       /* d */
    double verify_cost;      /* v(k) */
    double expected_speedup; /* S(k) */
    int best_k;              /* argmax S (even when it does not pay) */
    double best_speedup;     /* S(best_k) */
} spec_choice;

typedef struct {
    int k_min, k_max;                 /* lengths considered besides 0 */
    int draft_is_free;                /* lookup: d = 0 */
    double t_pass[SPEC_COST_MAX + 2]; /* seconds of a target pass of b tokens; 0 = unseen */
    int n_pass[SPEC_COST_MAX + 2];    /* passes timed at each size */
    double t_draft_step;              /* seconds of one draft step; 0 = unseen */
    int n_draft;                      /* draft timings seen */
    double accepted, rejected; /* discounted counts: kept drafts; passes ending in a rejection */
    int warmup_k[4], n_warmup; /* the warm-up's lengths */
    int warmup;                /* warm-up passes done */
    int plain_run;             /* consecutive passes the model chose plain decoding */
    int drafting_run;          /* consecutive drafting passes */
    spec_choice last;          /* the latest decision */
} spec_cost;

/* E(a, k): expected tokens emitted by a pass drafting k tokens at acceptance a. */
double spec_expected_tokens(double a, int k);
/* The chooser on given figures: v[k] (k = 0..k_max, v[0] = 1) relative verify costs, d
 * the relative draft step, a the acceptance. Returns the k in {0} U [k_min, k_max] with
 * the largest S(k), 0 unless that S exceeds 1; fills c (c->why: BEST or NO_GAIN). */
int spec_choose_length(const double *v, double d, double a, int k_min, int k_max, spec_choice *c);

void spec_cost_init(spec_cost *c, int k_min, int k_max, int draft_is_free);
/* The length of the next pass (warm-up, chooser, probe or refresh). */
spec_choice spec_cost_next(spec_cost *c);
/* What a pass did: drafted k, the target kept `accepted`; its seconds drafting (< 0 when
 * not a clean measure of k steps) and in the target's pass of k + 1 tokens. */
void spec_cost_observe(spec_cost *c, int k, int accepted, double t_draft, double t_verify);
/* Current relative verify costs v[0..k_max] (v[0] = 1) and draft cost; 0 when plain
 * decoding has not been timed yet. */
int spec_cost_figures(const spec_cost *c, double *v, double *d);
/* What the figures expect of length k chosen for another reason (why). */
spec_choice spec_cost_at(const spec_cost *c, int k, spec_why why);
/* Seconds of a plain step as measured (0 = not yet). */
double spec_cost_plain_seconds(const spec_cost *c);
const char *spec_why_name(spec_why why);

#endif
