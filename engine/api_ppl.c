/* api_ppl.c - include/scarce.h's perplexity, KL divergence and importance matrix: the
 * windows of engine/ppl.c (scoring, KL base files) and engine/imatrix.c (activation
 * statistics) behind one handle that scores a window per call. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"
#include "imatrix.h"
#include "kl_base.h"
#include "ppl.h"

#define PPL_DEFAULT_CTX 256 /* scarce ppl's -c default */

struct scarce_ppl {
    scarce_model *model, *base_model;
    session s, base_s;
    int have_s, have_base_s;
    kl_base_file *in, *out;
    int saved; /* out is in place */
    imatrix *im;
    int32_t *ids;
    int n_ids, n_ctx, n_batch, n_windows, next, bos;
    scarce_ppl_scoring scoring;
    ppl_acc acc;
    char error[API_ERROR_CAP];
};

int scarce_ppl_is_base_file(const char *path) {
    return path && kl_base_is_file(path);
}

void scarce_ppl_free(scarce_ppl *pp) {
    if (!pp) return;
    kl_base_close(pp->in);
    kl_base_close(pp->out); /* removes the temporary file unless saved */
    if (pp->have_s) session_free(&pp->s);
    if (pp->have_base_s) session_free(&pp->base_s);
    imatrix_free(pp->im);
    ppl_acc_free(&pp->acc);
    free(pp->ids);
    free(pp);
}

const char *scarce_ppl_error(const scarce_ppl *pp) {
    return pp ? pp->error : "scarce_ppl_error: NULL handle";
}

/* NULL when the parameters can be used with model, else what is wrong. */
static const char *check_params(const scarce_model *sm, const scarce_ppl_params *p) {
    if (!sm->m) return "the model was opened vocab_only";
    /* a second half to score needs 4 positions; scoring every one, 2 */
    const int min_ctx = p->scoring == SCARCE_PPL_ALL ? 2 : 4;
    if (p->n_ctx < 0 || (p->n_ctx && p->n_ctx < min_ctx) || p->n_ctx > (1 << 20))
        return p->scoring == SCARCE_PPL_ALL ? "n_ctx must be 0 or 2 .. 2^20"
                                            : "n_ctx must be 0 or 4 .. 2^20";
    if (p->n_batch < 0) return "n_batch must be >= 0";
    if (p->n_windows < 0) return "n_windows must be >= 0";
    if (p->scoring != SCARCE_PPL_SECOND_HALF && p->scoring != SCARCE_PPL_ALL)
        return "unknown scoring";
    if (p->base_model && p->base_file) return "base_model and base_file: give one of them";
    if (p->scoring == SCARCE_PPL_ALL && (p->base_model || p->base_file || p->base_out))
        return "SCARCE_PPL_ALL scores no base and writes no base_out";
    if (p->base_model && !p->base_model->m) return "the base model was opened vocab_only";
    return NULL;
}

/* Opens the KL base file p->base_file: its window and tokens become pp's. 0 or a status. */
static int open_base_file(scarce_ppl *pp, const scarce_ppl_params *p, char *msg) {
    FILE *f = fopen(p->base_file, "rb");
    if (!f)
        return api_fail(msg, SCARCE_ERR_IO, "%s: cannot open: %s", p->base_file, strerror(errno));
    fclose(f);
    scarce_error err = {0};
    if (!(pp->in = kl_base_open(p->base_file, &err)))
        return api_fail_err(msg, SCARCE_ERR_FORMAT, &err);
    const kl_base_info bi = kl_base_get_info(pp->in);
    if (p->n_ctx && p->n_ctx != bi.n_ctx)
        return api_fail(msg, SCARCE_ERR_ARGUMENT, "%s: windows of %d, n_ctx %d asked", p->base_file,
                        bi.n_ctx, p->n_ctx);
    if (bi.n_vocab != pp->model->n_vocab)
        return api_fail(msg, SCARCE_ERR_ARGUMENT,
                        "%s has %d tokens in its vocabulary, the model %d: KL needs the same "
                        "vocabulary",
                        p->base_file, bi.n_vocab, pp->model->n_vocab);
    pp->n_ctx = bi.n_ctx, pp->n_ids = bi.n_ctx * bi.n_chunk;
    if (!(pp->ids = malloc((size_t)pp->n_ids * sizeof *pp->ids)))
        return api_fail(msg, SCARCE_ERR_MEMORY, "out of memory for %d tokens", pp->n_ids);
    memcpy(pp->ids, bi.tokens, (size_t)pp->n_ids * sizeof *pp->ids);
    return 0;
}

/* The tokens, the window and the number of windows; 0 or a status with msg. */
static int take_tokens(scarce_ppl *pp, const int32_t *ids, int n_ids, const scarce_ppl_params *p,
                       char *msg) {
    if (p->base_file) {
        if (ids || n_ids)
            return api_fail(msg, SCARCE_ERR_ARGUMENT,
                            "scarce_ppl_begin: the tokens are the base file's (ids NULL, n_ids 0)");
        int rc = open_base_file(pp, p, msg);
        if (rc) return rc;
    } else {
        if (!ids || n_ids < 1)
            return api_fail(msg, SCARCE_ERR_ARGUMENT, "scarce_ppl_begin: %s",
                            ids ? "n_ids < 1" : "ids is NULL");
        pp->n_ctx = p->n_ctx ? p->n_ctx : PPL_DEFAULT_CTX, pp->n_ids = n_ids;
        if (!(pp->ids = malloc((size_t)n_ids * sizeof *pp->ids)))
            return api_fail(msg, SCARCE_ERR_MEMORY, "out of memory for %d tokens", n_ids);
        memcpy(pp->ids, ids, (size_t)n_ids * sizeof *pp->ids);
    }
    for (int i = 0; i < pp->n_ids; i++)
        if (pp->ids[i] < 0 || pp->ids[i] >= pp->model->n_vocab)
            return api_fail(msg, SCARCE_ERR_TOKEN,
                            "token %d of %d: id %d is outside the vocabulary of %d", i, pp->n_ids,
                            pp->ids[i], pp->model->n_vocab);
    pp->n_windows = pp->n_ids / pp->n_ctx;
    if (p->n_windows && p->n_windows < pp->n_windows) pp->n_windows = p->n_windows;
    if (pp->n_windows < 1)
        return api_fail(msg, SCARCE_ERR_ARGUMENT, "%d tokens, fewer than one window of %d",
                        pp->n_ids, pp->n_ctx);
    return 0;
}

/* Sessions, base file to write and importance matrix; 0 or a status with msg. */
static int prepare(scarce_ppl *pp, const scarce_ppl_params *p, char *msg) {
    scarce_error err = {0};
    if (session_init(&pp->s, pp->model->m, pp->n_ctx, &err))
        return api_fail_err(msg, SCARCE_ERR_MEMORY, &err);
    pp->have_s = 1;
    if (p->base_model) {
        if (p->base_model->n_vocab != pp->model->n_vocab)
            return api_fail(msg, SCARCE_ERR_ARGUMENT,
                            "the base model has %d tokens in its vocabulary, the model %d: KL "
                            "needs the same vocabulary",
                            p->base_model->n_vocab, pp->model->n_vocab);
        if (session_init(&pp->base_s, p->base_model->m, pp->n_ctx, &err))
            return api_fail_err(msg, SCARCE_ERR_MEMORY, &err);
        pp->have_base_s = 1, pp->base_model = p->base_model;
    }
    if (p->base_out && !(pp->out = kl_base_create(p->base_out, pp->n_ctx, pp->model->n_vocab,
                                                  pp->n_windows, pp->ids, &err)))
        return api_fail_err(msg, SCARCE_ERR_IO, &err);
    if (p->imatrix) {
        if (!(pp->im = imatrix_new()))
            return api_fail(msg, SCARCE_ERR_MEMORY, "out of memory for the importance matrix");
        pp->s.act_hook = imatrix_observe, pp->s.act_hook_ctx = pp->im;
    }
    return 0;
}

int scarce_ppl_begin(scarce_model *sm, const int32_t *ids, int n_ids,
                     const scarce_ppl_params *params, scarce_ppl **out) {
    if (!sm) return SCARCE_ERR_ARGUMENT;
    if (!out) return api_fail(sm->error, SCARCE_ERR_ARGUMENT, "scarce_ppl_begin: out is NULL");
    *out = NULL;
    const scarce_ppl_params p = params ? *params : (scarce_ppl_params){0};
    const char *bad = check_params(sm, &p);
    if (bad) return api_fail(sm->error, SCARCE_ERR_ARGUMENT, "scarce_ppl_begin: %s", bad);
    scarce_ppl *pp = calloc(1, sizeof *pp);
    if (!pp) return api_fail(sm->error, SCARCE_ERR_MEMORY, "out of memory for scarce_ppl");
    pp->model = sm, pp->n_batch = p.n_batch, pp->scoring = p.scoring;
    pp->bos = p.scoring == SCARCE_PPL_ALL ? -1 : tokenizer_bos(sm->tok);
    int rc = take_tokens(pp, ids, n_ids, &p, sm->error);
    if (!rc) rc = prepare(pp, &p, sm->error);
    if (rc) {
        scarce_ppl_free(pp);
        return rc;
    }
    *out = pp;
    return SCARCE_OK;
}

int scarce_ppl_get_info(const scarce_ppl *pp, scarce_ppl_info *out) {
    if (!pp || !out) return SCARCE_ERR_ARGUMENT;
    out->n_ctx = pp->n_ctx, out->n_windows = pp->n_windows, out->n_tokens = pp->n_ids;
    out->scored_per_window =
        pp->scoring == SCARCE_PPL_ALL ? pp->n_ctx - 1 : pp->n_ctx - 1 - pp->n_ctx / 2;
    return SCARCE_OK;
}

/* SCARCE_PPL_ALL: the window from an empty cache in passes of n_batch, every row scored
 * against the next token. 0, or -1 with err. */
static int window_all(scarce_ppl *pp, const int *tokens, scarce_error *err) {
    const int n_ctx = pp->n_ctx, n_vocab = pp->model->n_vocab;
    const int n_batch = pp->n_batch > 0 && pp->n_batch < n_ctx ? pp->n_batch : n_ctx;
    kvcache_truncate(&pp->s.cache, 0);
    for (int b0 = 0; b0 < n_ctx; b0 += n_batch) {
        const int n = n_ctx - b0 < n_batch ? n_ctx - b0 : n_batch;
        const float *logits = forward(&pp->s, tokens + b0, n, 1, err);
        /* rows b0 .. b0+n-1 predict tokens b0+1 .. b0+n: the batch's n rows and, but for
         * the last batch, the first token of the next */
        if (!logits ||
            ppl_score(&pp->acc, logits, NULL, tokens + b0, n + (b0 + n < n_ctx), 0, n_vocab, err))
            return -1;
    }
    return 0;
}

int scarce_ppl_next(scarce_ppl *pp, scarce_ppl_window *out) {
    if (!pp) return SCARCE_ERR_ARGUMENT;
    if (pp->next >= pp->n_windows)
        return api_fail(pp->error, SCARCE_ERR_ARGUMENT, "all %d windows are scored", pp->n_windows);
    const int *tokens = pp->ids + (size_t)pp->next * pp->n_ctx;
    const size_t n0 = pp->acc.n;
    const double sum0 = pp->acc.nll_sum;
    scarce_error err = {0};
    const ppl_base base = {.s = pp->have_base_s ? &pp->base_s : NULL, .in = pp->in, .out = pp->out};
    const int failed = pp->scoring == SCARCE_PPL_ALL
                           ? window_all(pp, tokens, &err)
                           : ppl_window_base(&pp->s, &base, tokens, pp->n_ctx, pp->n_batch, pp->bos,
                                             &pp->acc, &err);
    if (failed) return api_fail_err(pp->error, SCARCE_ERR_RUNTIME, &err);
    if (out) {
        out->window = pp->next;
        out->n_scored = (int)(pp->acc.n - n0);
        out->nll = out->n_scored ? (pp->acc.nll_sum - sum0) / out->n_scored : 0;
        out->ppl = ppl_estimate(&pp->acc, NULL);
    }
    pp->next++;
    return SCARCE_OK;
}

int scarce_ppl_get_result(const scarce_ppl *pp, scarce_ppl_result *out) {
    if (!pp || !out) return SCARCE_ERR_ARGUMENT;
    memset(out, 0, sizeof *out);
    out->n_windows = pp->next;
    out->n_scored = pp->acc.n;
    out->ppl = ppl_estimate(&pp->acc, &out->ppl_err);
    out->n_imatrix = pp->im ? imatrix_count(pp->im) : 0;
    if (!pp->acc.has_base) return SCARCE_OK;
    out->base_ppl = ppl_base_estimate(&pp->acc, NULL);
    kl_summary kl;
    if (ppl_kl_summary(&pp->acc, &kl)) return SCARCE_OK;
    out->has_kl = 1;
    out->kl_mean = kl.mean, out->kl_median = kl.median, out->kl_p99 = kl.p99, out->kl_max = kl.max;
    out->top1_agree_pct = kl.top1_agree_pct;
    out->ppl_ratio = kl.ppl_ratio, out->ppl_ratio_err = kl.ppl_ratio_err;
    return SCARCE_OK;
}

int scarce_ppl_save_base(scarce_ppl *pp) {
    if (!pp) return SCARCE_ERR_ARGUMENT;
    if (!pp->out || pp->saved)
        return api_fail(pp->error, SCARCE_ERR_ARGUMENT, "scarce_ppl_save_base: %s",
                        pp->saved ? "saved already" : "no base_out was given");
    if (pp->next < pp->n_windows)
        return api_fail(pp->error, SCARCE_ERR_ARGUMENT,
                        "scarce_ppl_save_base: %d of %d windows are scored", pp->next,
                        pp->n_windows);
    scarce_error err = {0};
    if (kl_base_commit(pp->out, &err)) return api_fail_err(pp->error, SCARCE_ERR_IO, &err);
    pp->saved = 1;
    return SCARCE_OK;
}

int scarce_ppl_save_imatrix(scarce_ppl *pp, const char *path, const char *dataset) {
    if (!pp) return SCARCE_ERR_ARGUMENT;
    if (!path || !pp->im)
        return api_fail(pp->error, SCARCE_ERR_ARGUMENT, "scarce_ppl_save_imatrix: %s",
                        path ? "the imatrix parameter was not set" : "path is NULL");
    scarce_error err = {0};
    if (imatrix_write(pp->im, path, pp->next, pp->n_ctx, dataset, &err))
        return api_fail_err(pp->error, SCARCE_ERR_IO, &err);
    return SCARCE_OK;
}
