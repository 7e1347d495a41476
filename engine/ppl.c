/* ppl.c - perplexity and KL divergence, in double (see ppl.h for the method). */
#include "ppl.h"

#include "kl_base.h"

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

/* Appends one position's KL value (grows the array). */
static int push_kl(ppl_acc *a, double kl, scarce_error *err) {
    if (a->n_kl == a->kl_cap) {
        size_t cap = a->kl_cap ? 2 * a->kl_cap : 1024;
        double *grown = realloc(a->kl, cap * sizeof *grown);
        if (!grown) return scarce_fail(err, "out of memory for %zu KL values", cap);
        a->kl = grown, a->kl_cap = cap;
    }
    a->kl[a->n_kl++] = kl;
    return 0;
}

static void add_nll(ppl_acc *a, double nll) {
    a->nll_sum += nll, a->nll_sq += nll * nll, a->n++;
}

static int add_base(ppl_acc *a, double nll, double base_nll, double kl, int same_top,
                    scarce_error *err) {
    a->has_base = 1;
    a->base_nll_sum += base_nll, a->base_nll_sq += base_nll * base_nll;
    a->nll_cross += nll * base_nll;
    a->top1_agree += same_top;
    return push_kl(a, kl, err);
}

/* One position: the model's row of logits and, when base_row is not NULL, the base's. */
static int score_row(ppl_acc *a, const float *row, const float *base_row, int n_vocab, int target,
                     scarce_error *err) {
    const double nll = nll_row(row, n_vocab, target);
    add_nll(a, nll);
    if (!base_row) return 0;
    return add_base(a, nll, nll_row(base_row, n_vocab, target), kl_row(base_row, row, n_vocab),
                    argmax_row(base_row, n_vocab) == argmax_row(row, n_vocab), err);
}

int ppl_score(ppl_acc *a, const float *logits, const float *base_logits, const int *tokens, int n,
              int first, int n_vocab, scarce_error *err) {
    for (int i = first; i < n - 1; i++)
        if (score_row(a, logits + (size_t)i * n_vocab,
                      base_logits ? base_logits + (size_t)i * n_vocab : NULL, n_vocab,
                      tokens[i + 1], err))
            return -1;
    return 0;
}

/* One position against a row of a KL base file, summed as llama-perplexity does: the
 * base's log-probabilities decoded from 16 bits, terms with log p_base <= -16 left out. */
static int score_file_row(ppl_acc *a, const float *logits, const uint16_t *row, int n_vocab,
                          int target, scarce_error *err) {
    float head[2];
    memcpy(head, row, sizeof head);
    const uint16_t *u = row + 4;
    const double lse = log_sum_exp(logits, n_vocab), nll = lse - logits[target];
    double kl = 0, best = 0;
    int top_base = 0;
    for (int v = 0; v < n_vocab; v++) {
        const double log_pb = (double)(head[0] * u[v] + head[1]);
        if (v == 0 || log_pb > best) best = log_pb, top_base = v;
        if (log_pb > -16) kl += exp(log_pb) * (log_pb - (logits[v] - lse));
    }
    add_nll(a, nll);
    return add_base(a, nll, -(double)(head[0] * u[target] + head[1]), kl,
                    top_base == argmax_row(logits, n_vocab), err);
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
    if (!a->has_base || !a->n || a->n_kl != a->n) return -1;
    const size_t m = a->n_kl;
    double *sorted = malloc(m * sizeof *sorted);
    if (!sorted) return -1;
    memcpy(sorted, a->kl, m * sizeof *sorted);
    qsort(sorted, m, sizeof *sorted, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < m; i++) sum += sorted[i];
    out->mean = sum / m;
    out->median = m % 2 ? sorted[m / 2] : 0.5 * (sorted[m / 2 - 1] + sorted[m / 2]);
    out->p99 = sorted[(size_t)floor(0.99 * (m - 1))];
    out->max = sorted[m - 1];
    out->top1_agree_pct = 100.0 * a->top1_agree / a->n;
    /* ln(PPL/PPL_base) = mean(nll - nll_base): its error from the variance of the
     * difference, covariance included (the two are strongly correlated) */
    const double n = (double)a->n, d_mean = (a->nll_sum - a->base_nll_sum) / n;
    const double d_sq = a->nll_sq - 2 * a->nll_cross + a->base_nll_sq;
    const double d_var = n > 1 ? (d_sq / n - d_mean * d_mean) * n / (n - 1) : 0;
    out->ppl_ratio = exp(d_mean);
    out->ppl_ratio_err = out->ppl_ratio * sqrt((d_var > 0 ? d_var : 0) / n);
    free(sorted);
    return 0;
}

/* One window, forward()ed in batches of n_batch through s (and the base session), each
 * batch's scored rows taken straight from the sessions' logits: memory is the sessions'
 * own (n_batch x n_vocab), nothing per window or per text but one KL value a position. */
static int window(session *s, const ppl_base *base, const int *tokens, int n_ctx, int n_batch,
                  int bos, ppl_acc *a, scarce_error *err) {
    const int n_vocab = s->m->cfg.n_vocab, first = n_ctx / 2;
    if (base->s && base->s->m->cfg.n_vocab != n_vocab)
        return scarce_fail(err, "base model has %d tokens in its vocabulary, the model %d",
                           base->s->m->cfg.n_vocab, n_vocab);
    if (n_ctx < 4) return scarce_fail(err, "ppl: context %d too short (need >= 4)", n_ctx);
    if (n_batch <= 0 || n_batch > n_ctx) n_batch = n_ctx;
    const kl_base_file *f = base->in ? base->in : base->out;
    if (f && kl_base_get_info(f).n_vocab != n_vocab)
        return scarce_fail(err, "KL base file has %d tokens in its vocabulary, the model %d",
                           kl_base_get_info(f).n_vocab, n_vocab);
    int *ids = malloc((size_t)n_ctx * sizeof *ids), rc = -1;
    uint16_t *row = f ? malloc((size_t)kl_base_row_len(n_vocab) * sizeof *row) : NULL;
    if (!ids || (f && !row)) {
        scarce_fail(err, "out of memory for a window of %d", n_ctx);
        goto done;
    }
    memcpy(ids, tokens, (size_t)n_ctx * sizeof *ids);
    if (bos >= 0) ids[0] = bos;
    kvcache_truncate(&s->cache, 0);
    if (base->s) kvcache_truncate(&base->s->cache, 0);
    for (int b0 = 0; b0 < n_ctx; b0 += n_batch) {
        const int n = n_ctx - b0 < n_batch ? n_ctx - b0 : n_batch;
        const float *base_logits = base->s ? forward(base->s, ids + b0, n, 1, err) : NULL;
        const float *logits = base->s && !base_logits ? NULL : forward(s, ids + b0, n, 1, err);
        if (!logits) goto done;
        for (int i = b0 > first ? b0 : first; i < b0 + n && i < n_ctx - 1; i++) {
            const float *lg = logits + (size_t)(i - b0) * n_vocab;
            if (base->in) {
                if (kl_base_read_row(base->in, row, err) ||
                    score_file_row(a, lg, row, n_vocab, ids[i + 1], err))
                    goto done;
            } else if (score_row(a, lg,
                                 base_logits ? base_logits + (size_t)(i - b0) * n_vocab : NULL,
                                 n_vocab, ids[i + 1], err)) {
                goto done;
            }
            if (base->out && kl_base_write_row(base->out, lg, row, err)) goto done;
        }
    }
    rc = 0;
done:
    free(ids), free(row);
    return rc;
}

int ppl_window(session *s, session *base, const int *tokens, int n_ctx, int n_batch, int bos,
               ppl_acc *a, scarce_error *err) {
    const ppl_base b = {.s = base};
    return window(s, &b, tokens, n_ctx, n_batch, bos, a, err);
}

int ppl_window_base(session *s, const ppl_base *base, const int *tokens, int n_ctx, int n_batch,
                    int bos, ppl_acc *a, scarce_error *err) {
    return window(s, base, tokens, n_ctx, n_batch, bos, a, err);
}
