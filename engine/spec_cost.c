/* spec_cost.c - the draft-length chooser and the figures it learns (see spec_cost.h). */
#include "spec_cost.h"

#include <math.h>
#include <string.h>

/* Older passes count this much less per pass: about the last 20 passes decide. */
#define DECAY 0.95
/* A timing moves the average by 30%, and by at most a factor 2 (one preempted pass on a
 * shared machine must not flip the choice). */
#define EWMA_WEIGHT 0.3

double spec_expected_tokens(double a, int k) {
    if (a >= 1.0) return k + 1;
    if (a <= 0.0) return 1;
    return (1.0 - pow(a, k + 1)) / (1.0 - a);
}

int spec_choose_length(const double *v, double d, double a, int k_min, int k_max, spec_choice *c) {
    memset(c, 0, sizeof *c);
    c->acceptance = a, c->draft_cost = d;
    c->best_speedup = -1;
    for (int k = k_min < 1 ? 1 : k_min; k <= k_max; k++) {
        const double s = spec_expected_tokens(a, k) / (v[k] + k * d);
        if (s > c->best_speedup) c->best_speedup = s, c->best_k = k;
    }
    if (c->best_speedup > 1.0) {
        c->k = c->best_k, c->why = SPEC_WHY_BEST;
        c->verify_cost = v[c->k], c->expected_speedup = c->best_speedup;
    } else {
        c->k = 0, c->why = SPEC_WHY_NO_GAIN;
        c->verify_cost = 1, c->expected_speedup = 1;
    }
    return c->k;
}

void spec_cost_init(spec_cost *c, int k_min, int k_max, int draft_is_free) {
    memset(c, 0, sizeof *c);
    c->k_min = k_min < 1 ? 1 : k_min;
    c->k_max = k_max > SPEC_COST_MAX ? SPEC_COST_MAX : k_max;
    if (c->k_max < c->k_min) c->k_max = c->k_min;
    c->draft_is_free = draft_is_free;
    c->accepted = c->rejected = 1; /* prior: a = 0.5, worth two passes */
    /* warm-up: a plain step, the shortest, a middle and the longest draft, each once */
    const int want[4] = {0, c->k_min, (c->k_min + c->k_max + 1) / 2, c->k_max};
    for (int j = 0; j < 4; j++) {
        int seen = 0;
        for (int i = 0; i < c->n_warmup; i++) seen |= c->warmup_k[i] == want[j];
        if (!seen) c->warmup_k[c->n_warmup++] = want[j];
    }
}

/* n = timings seen before x. The first few keep the smallest (noise only ever adds
 * time, and a size's first pass runs cold); then a moving average. */
static void ewma(double *avg, double x, int n) {
    if (*avg <= 0 || (n < 3 && x < *avg)) {
        *avg = x;
        return;
    }
    if (n < 3) return;
    if (x > 2 * *avg) x = 2 * *avg;
    if (x < 0.5 * *avg) x = 0.5 * *avg;
    *avg += EWMA_WEIGHT * (x - *avg);
}

void spec_cost_observe(spec_cost *c, int k, int accepted, double t_draft, double t_verify) {
    if (k > 0) {
        c->accepted = DECAY * c->accepted + accepted;
        c->rejected = DECAY * c->rejected + (accepted < k);
        if (t_draft >= 0 && !c->draft_is_free) ewma(&c->t_draft_step, t_draft / k, c->n_draft++);
    }
    if (k + 1 < SPEC_COST_MAX + 2 && t_verify > 0) {
        ewma(&c->t_pass[k + 1], t_verify, c->n_pass[k + 1]++);
    }
}

double spec_cost_plain_seconds(const spec_cost *c) {
    return c->t_pass[1];
}

/* seconds of a pass of b tokens: measured, else interpolated between measured sizes, else
 * extended from the two largest below it (never falling) */
static double pass_seconds(const spec_cost *c, int b) {
    if (c->n_pass[b]) return c->t_pass[b];
    int lo = 0, lo2 = 0, hi = 0;
    for (int i = b - 1; i >= 1 && !lo2; i--)
        if (c->n_pass[i]) lo ? (lo2 = i) : (lo = i);
    for (int i = b + 1; i < SPEC_COST_MAX + 2 && !hi; i++)
        if (c->n_pass[i]) hi = i;
    if (lo && hi) return c->t_pass[lo] + (c->t_pass[hi] - c->t_pass[lo]) * (b - lo) / (hi - lo);
    if (lo && lo2) {
        double slope = (c->t_pass[lo] - c->t_pass[lo2]) / (lo - lo2);
        return c->t_pass[lo] + (slope > 0 ? slope : 0) * (b - lo);
    }
    return lo ? c->t_pass[lo] * b / lo : 0; /* one size known: assume compute-bound */
}

int spec_cost_figures(const spec_cost *c, double *v, double *d) {
    const double t1 = c->t_pass[1];
    if (t1 <= 0) return 0;
    for (int k = 0; k <= c->k_max; k++) v[k] = pass_seconds(c, k + 1) / t1;
    *d = c->draft_is_free ? 0 : c->t_draft_step / t1;
    return 1;
}

spec_choice spec_cost_next(spec_cost *c) {
    spec_choice ch;
    double v[SPEC_COST_MAX + 1], d;
    const double a = c->accepted / (c->accepted + c->rejected);
    const int known = spec_cost_figures(c, v, &d);
    if (known)
        spec_choose_length(v, d, a, c->k_min, c->k_max, &ch);
    else
        memset(&ch, 0, sizeof ch), ch.acceptance = a;
    if (c->warmup < c->n_warmup) {
        const int k = c->warmup_k[c->warmup++];
        ch.k = k, ch.why = SPEC_WHY_WARMUP;
        ch.verify_cost = known ? v[k] : 0;
        ch.expected_speedup = known && k ? spec_expected_tokens(a, k) / (v[k] + k * d) : 1;
        return c->last = ch;
    }
    if (!known) { /* not reachable after the warm-up's plain step, but never guess */
        ch.k = 0, ch.why = SPEC_WHY_NO_GAIN;
        return c->last = ch;
    }
    if (ch.k == 0) {
        c->drafting_run = 0;
        if (++c->plain_run >= SPEC_COST_PROBE) {
            c->plain_run = 0;
            /* at the length that would pay first: its cost is measured again too */
            ch.k = ch.best_k, ch.why = SPEC_WHY_PROBE, ch.verify_cost = v[ch.k];
            ch.expected_speedup = spec_expected_tokens(a, ch.k) / (v[ch.k] + ch.k * d);
        }
    } else {
        c->plain_run = 0;
        if (++c->drafting_run >= SPEC_COST_REFRESH) {
            c->drafting_run = 0;
            ch.k = 0, ch.why = SPEC_WHY_REFRESH, ch.verify_cost = 1, ch.expected_speedup = 1;
        }
    }
    return c->last = ch;
}

spec_choice spec_cost_at(const spec_cost *c, int k, spec_why why) {
    spec_choice ch = {.k = k, .why = why};
    double v[SPEC_COST_MAX + 1], d;
    ch.acceptance = c->accepted / (c->accepted + c->rejected);
    if (!spec_cost_figures(c, v, &d)) return ch;
    spec_choice best;
    spec_choose_length(v, d, ch.acceptance, c->k_min, c->k_max, &best);
    ch.best_k = best.best_k, ch.best_speedup = best.best_speedup, ch.draft_cost = d;
    const int kk = k > c->k_max ? c->k_max : k;
    ch.verify_cost = v[kk];
    ch.expected_speedup = spec_expected_tokens(ch.acceptance, kk) / (v[kk] + kk * d);
    return ch;
}

const char *spec_why_name(spec_why why) {
    static const char *const names[] = {
        "warm-up", "best", "no length pays", "probe", "plain re-timing", "fixed by policy"};
    return why <= SPEC_WHY_FIXED ? names[why] : "?";
}
