/* ppl.h - perplexity and KL divergence from rows of logits (llama-perplexity's method).
 *
 * The text is cut into non-overlapping windows of n_ctx tokens; each window starts from a
 * fresh cache with its first token replaced by BOS, and only its second half is scored:
 * logits row i (i = n_ctx/2 .. n_ctx-2) predicts token i+1. All sums are in double.
 *   NLL = -log softmax(logits)[target],   PPL = exp(mean NLL),
 *   error of PPL = PPL x stderr(mean NLL)              (first-order propagation)
 *   KL(base || model) = sum_v p_base(v) (log p_base(v) - log p_model(v)) per position. */
#ifndef SCARCE_PPL_H
#define SCARCE_PPL_H

#include <stddef.h>

#include "error.h"
#include "forward.h"

/* -log softmax(logits)[target] over n_vocab logits */
double nll_row(const float *logits, int n_vocab, int target);
/* KL(P_base || P_model) over the full vocabulary */
double kl_row(const float *base_logits, const float *logits, int n_vocab);
int argmax_row(const float *x, int n);

typedef struct {
    size_t n;               /* scored positions */
    double nll_sum, nll_sq; /* sum of NLL and of NLL^2 */
    /* with a base model (has_base) */
    int has_base;
    double base_nll_sum, base_nll_sq;
    double nll_cross;  /* sum of NLL x base NLL: the covariance of the PPL ratio */
    size_t top1_agree; /* positions where both argmaxes agree */
    double *kl;        /* per position, for the median / p99 */
    size_t n_kl, kl_cap;
} ppl_acc;

void ppl_acc_free(ppl_acc *a);

/* Scores rows first .. n-2 of n rows of logits against tokens[first+1 .. n-1];
 * base_logits may be NULL (no KL). Returns -1 only when out of memory. */
int ppl_score(ppl_acc *a, const float *logits, const float *base_logits, const int *tokens, int n,
              int first, int n_vocab, scarce_error *err);

/* PPL = exp(mean NLL); *err_out = PPL x standard error of the mean NLL. */
double ppl_estimate(const ppl_acc *a, double *err_out);
double ppl_base_estimate(const ppl_acc *a, double *err_out);

typedef struct {
    double mean, median, p99, max; /* KL divergence, nats */
    double top1_agree_pct;
    double ppl_ratio;     /* PPL(model) / PPL(base) = exp(mean(NLL - base NLL)) */
    double ppl_ratio_err; /* its standard error (first-order, covariance included) */
} kl_summary;

/* 0, or -1 when there is no base / nothing scored. Sorts a copy of the KL values. */
int ppl_kl_summary(const ppl_acc *a, kl_summary *out);

/* One window: tokens[0..n_ctx) with tokens[0] replaced by bos (when bos >= 0) through s
 * (and base, may be NULL) from an empty cache in forward() calls of at most n_batch tokens
 * (0 = all at once), all logits, second half scored into a. The models must share n_vocab. */
int ppl_window(session *s, session *base, const int *tokens, int n_ctx, int n_batch, int bos,
               ppl_acc *a, scarce_error *err);

/* What the model is compared with: at most one of a base session and a KL base file to
 * read (kl_base.h); out, when set, receives the model's own rows (it becomes the base). */
struct kl_base_file;
typedef struct {
    session *s;
    struct kl_base_file *in, *out;
} ppl_base;

/* ppl_window with a base of any kind; file rows are read / written in window order. */
int ppl_window_base(session *s, const ppl_base *base, const int *tokens, int n_ctx, int n_batch,
                    int bos, ppl_acc *a, scarce_error *err);

#endif
