/* ppl.c - perplexity and KL divergence, in double (see ppl.h for the method). */
#include "ppl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* log sum_v exp(x_v), shifted by the maximum so no exp overflows */
static double log_sum_exp(const float *x, int n) {
    double max = x[0], sum = 0;
    for (int v = 1; v < n; v++)
        if (x[v] > max) max = x[v];
    for (int v = 0; v < n; v++) sum += exp((double)x[v] - max);
    return max + log(sum);
}

double nll_row(const float *logits, int n_vocab, int target) {
    return log_sum_exp(logits, n_vocab) - (double)logits[target];
}

double kl_row(const float *base_logits, const float *logits, int n_vocab) {
    const double lse_base = log_sum_exp(base_logits, n_vocab), lse = log_sum_exp(logits, n_vocab);
    double kl = 0;
    for (int v = 0; v < n_vocab; v++) {
        const double log_p = base_logits[v] - lse_base, log_q = logits[v] - lse;
        kl += exp(log_p) * (log_p - log_q);
    }
    return kl > 0 ? kl : 0; /* rounding can leave -1e-17 for identical rows */
}

int argmax_row(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

void ppl_acc_free(ppl_acc *a) {
    free(a->kl);
    memset(a, 0, sizeof *a);
}

int ppl_score(ppl_acc *a, const float *logits, const float *base_logits, const int *tokens,
              int n, int first, int n_vocab, scarce_error *err) {
    if (base_logits && a->n + (size_t)n > a->kl_cap) {
        size_t cap = a->kl_cap ? 2 * a->kl_cap : 1024;
        while (cap < a->n + (size_t)n) cap *= 2;
        double *grown = realloc(a->kl, cap * sizeof *grown);
        if (!grown) return scarce_fail(err, "out of memory for %zu KL values", cap);
        a->kl = grown, a->kl_cap = cap;
    }
    for (int i = first; i < n - 1; i++) {
        const float *row = logits + (size_t)i * n_vocab;
        const double nll = nll_row(row, n_vocab, tokens[i + 1]);
        a->nll_sum += nll, a->nll_sq += nll * nll;
        if (base_logits) {
            const float *base_row = base_logits + (size_t)i * n_vocab;
            const double base_nll = nll_row(base_row, n_vocab, tokens[i + 1]);
            a->has_base = 1;
            a->base_nll_sum += base_nll, a->base_nll_sq += base_nll * base_nll;
            a->kl[a->n] = kl_row(base_row, row, n_vocab);
            a->top1_agree += argmax_row(base_row, n_vocab) == argmax_row(row, n_vocab);
        }
        a->n++;
    }
    return 0;
}

/* exp(mean) and its propagated error from a sum and a sum of squares of n values */
static double estimate(double sum, double sq, size_t n, double *err_out) {
    if (!n) {
        if (err_out) *err_out = NAN;
        return NAN;
    }
    const double mean = sum / n, var = n > 1 ? (sq / n - mean * mean) * n / (n - 1) : 0;
    const double ppl = exp(mean);
    if (err_out) *err_out = ppl * sqrt((var > 0 ? var : 0) / n);
    return ppl;
}

double ppl_estimate(const ppl_acc *a, double *err_out) {
    return estimate(a->nll_sum, a->nll_sq, a->n, err_out);
}

double ppl_base_estimate(const ppl_acc *a, double *err_out) {
    return estimate(a->base_nll_sum, a->base_nll_sq, a->has_base ? a->n : 0, err_out);
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int ppl_kl_summary(const ppl_acc *a, kl_summary *out) {
    memset(out, 0, sizeof *out);
    if (!a->has_base || !a->n) return -1;
    double *sorted = malloc(a->n * sizeof *sorted);
    if (!sorted) return -1;
    memcpy(sorted, a->kl, a->n * sizeof *sorted);
    qsort(sorted, a->n, sizeof *sorted, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < a->n; i++) sum += sorted[i];
    out->mean = sum / a->n;
    out->median = a->n % 2 ? sorted[a->n / 2] : 0.5 * (sorted[a->n / 2 - 1] + sorted[a->n / 2]);
    out->p99 = sorted[(size_t)floor(0.99 * (a->n - 1))];
    out->max = sorted[a->n - 1];
    out->top1_agree_pct = 100.0 * a->top1_agree / a->n;
    out->ppl_ratio = ppl_estimate(a, NULL) / ppl_base_estimate(a, NULL);
    free(sorted);
    return 0;
}

/* All n_ctx rows of logits of one window from an empty cache, into out. */
static int window_logits(session *s, const int *window, int n_ctx, int n_batch, float *out,
                         scarce_error *err) {
    const size_t n_vocab = (size_t)s->m->cfg.n_vocab;
    kvcache_truncate(&s->cache, 0);
    for (int done = 0; done < n_ctx; done += n_batch) {
        const int n = n_ctx - done < n_batch ? n_ctx - done : n_batch;
        const float *logits = forward(s, window + done, n, 1, err);
        if (!logits) return -1;
        memcpy(out + done * n_vocab, logits, n * n_vocab * sizeof *out);
    }
    return 0;
}

int ppl_window(session *s, session *base, const int *tokens, int n_ctx, int n_batch, int bos,
               ppl_acc *a, scarce_error *err) {
    const int n_vocab = s->m->cfg.n_vocab;
    if (base && base->m->cfg.n_vocab != n_vocab)
        return scarce_fail(err, "base model has %d tokens in its vocabulary, the model %d",
                           base->m->cfg.n_vocab, n_vocab);
    if (n_ctx < 4) return scarce_fail(err, "ppl: context %d too short (need >= 4)", n_ctx);
    if (n_batch <= 0 || n_batch > n_ctx) n_batch = n_ctx;
    const size_t rows = (size_t)n_ctx * n_vocab;
    int *window = malloc((size_t)n_ctx * sizeof *window);
    float *logits = malloc(rows * sizeof *logits);
    float *base_logits = base ? malloc(rows * sizeof *base_logits) : NULL;
    int rc = -1;
    if (!window || !logits || (base && !base_logits)) {
        scarce_fail(err, "out of memory for %d x %d logits", n_ctx, n_vocab);
        goto done;
    }
    memcpy(window, tokens, (size_t)n_ctx * sizeof *window);
    if (bos >= 0) window[0] = bos;
    if (window_logits(s, window, n_ctx, n_batch, logits, err) ||
        (base && window_logits(base, window, n_ctx, n_batch, base_logits, err)))
        goto done;
    rc = ppl_score(a, logits, base_logits, window, n_ctx, n_ctx / 2, n_vocab, err);
done:
    free(window), free(logits), free(base_logits);
    return rc;
}
