/* api.c - include/scarce.h over the engine: models, vocabulary, contexts, evaluation,
 * sampling and statistics (generation: api_gen.c). Every entry checks its handles and
 * arguments and returns a status with a message in the handle; nothing prints or exits. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "api_impl.h"
#include "machine.h"
#include "membw.h"
#include "moe.h"

_Static_assert(sizeof(int) == sizeof(int32_t), "token ids are passed to the engine as int");

_Static_assert(SCARCE_MAX_THREADS == KERNEL_MAX_THREADS, "scarce.h's thread bound is the kernels'");

#define API_MAX_CTX (1 << 24)

int api_fail(char *buf, int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, API_ERROR_CAP, fmt, ap);
    va_end(ap);
    return status;
}

int api_fail_err(char *buf, int status, const scarce_error *err) {
    return api_fail(buf, status, "%s", err->msg[0] ? err->msg : "unknown error");
}

const char *scarce_status_name(int status) {
    static const char *const names[] = {
        "SCARCE_OK",         "SCARCE_ERR_ARGUMENT", "SCARCE_ERR_IO",
        "SCARCE_ERR_FORMAT", "SCARCE_ERR_TOKEN",    "SCARCE_ERR_CONTEXT",
        "SCARCE_ERR_ISA",    "SCARCE_ERR_MEMORY",   "SCARCE_ERR_RUNTIME"};
    return status <= 0 && -status < (int)(sizeof names / sizeof *names) ? names[-status] : "?";
}

const char *scarce_version(void) {
    return "0.1.0";
}

/* ---- models --------------------------------------------------------------------------- */

scarce_model_params scarce_model_default_params(void) {
    return (scarce_model_params){.n_threads = 0, .isa = NULL, .repack = 1};
}

int api_model_options(const scarce_model_params *p, model_options *o, char *errbuf) {
    /* the ISA the dispatch table was set up with: the best of this CPU, unless the program
     * chose one itself before (scarce_backend_init: the scarce tools' $SCARCE_ISA) */
    o->kernels = kernel_config_default();
    if (p->isa) {
        int found = -1;
        for (int i = 0; i < ISA_COUNT && found < 0; i++)
            if (!strcmp(p->isa, kernels_isa_name(i))) found = i;
        if (found < 0)
            return api_fail(errbuf, SCARCE_ERR_ARGUMENT,
                            "unknown ISA '%s' (scalar, avx2, avx512, amx, neon)", p->isa);
        if (!kernels_isa_supported(found)) {
            char msg[128];
            kernels_explain_unsupported(found, msg);
            return api_fail(errbuf, SCARCE_ERR_ISA, "%s", msg);
        }
        o->kernels.isa = found;
    }
    int threads = p->n_threads ? p->n_threads : cpu_physical_cores();
    if (!p->n_threads && threads > KERNEL_MAX_THREADS) threads = KERNEL_MAX_THREADS;
    if (threads < 1 || threads > KERNEL_MAX_THREADS)
        return api_fail(errbuf, SCARCE_ERR_ARGUMENT, "n_threads %d: expected 0 .. %d", p->n_threads,
                        KERNEL_MAX_THREADS);
    o->kernels.threads = threads;
    o->kernels.repack = p->repack != 0;
    if (p->gemm && (o->kernels.gemm = kernel_config_parse_gemm(p->gemm)) == -2)
        return api_fail(errbuf, SCARCE_ERR_ARGUMENT,
                        "unknown gemm path '%s' (auto, tiles, own, blas, i8x8)", p->gemm);
    o->kernels.adapt_threads = !p->fixed_threads;
    o->kernels.steal = !p->static_rows;
    o->kernels.rescue = !p->wait_workers;
    if (p->lut && strcmp(p->lut, "auto")) {
        if (strcmp(p->lut, "off") && strcmp(p->lut, "on"))
            return api_fail(errbuf, SCARCE_ERR_ARGUMENT, "unknown lut setting '%s' (auto, off, on)",
                            p->lut);
        o->kernels.lut = !strcmp(p->lut, "on");
    }
    return 0;
}

/* Loads model and vocabulary into sm; 0 or a status with sm->error filled. */
static int load(scarce_model *sm, const char *path, const model_options *opts, int vocab_only) {
    FILE *f = fopen(path, "rb");
    if (!f) return api_fail(sm->error, SCARCE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    fclose(f);
    scarce_error err = {0};
    if (vocab_only) {
        if (!(sm->vocab = gguf_open(path, &err)) || !(sm->tok = tokenizer_load(sm->vocab, &err)))
            return api_fail_err(sm->error, SCARCE_ERR_FORMAT, &err);
        sm->n_vocab = tokenizer_n_vocab(sm->tok);
        return 0;
    }
    if (!(sm->m = model_load(path, opts, &err)) || !(sm->tok = tokenizer_load(sm->m->file, &err)))
        return api_fail_err(sm->error, SCARCE_ERR_FORMAT, &err);
    if (tokenizer_n_vocab(sm->tok) != sm->m->cfg.n_vocab)
        return api_fail(sm->error, SCARCE_ERR_FORMAT,
                        "%s: vocabulary has %d tokens, token_embd.weight %d rows", path,
                        tokenizer_n_vocab(sm->tok), sm->m->cfg.n_vocab);
    sm->n_vocab = sm->m->cfg.n_vocab;
    return 0;
}

int scarce_model_open(const char *path, const scarce_model_params *params, scarce_model **out,
                      char *errbuf, size_t errcap) {
    char msg[API_ERROR_CAP] = "";
    int rc = SCARCE_OK;
    scarce_model *sm = NULL;
    model_options opts;
    const scarce_model_params defaults = scarce_model_default_params();
    if (out) *out = NULL;
    if (!path || !out) {
        rc = api_fail(msg, SCARCE_ERR_ARGUMENT, "scarce_model_open: %s is NULL",
                      path ? "out" : "path");
    } else if (!(rc = api_kernels_ready(msg)) &&
               !(rc = api_model_options(params ? params : &defaults, &opts, msg))) {
        if (!(sm = calloc(1, sizeof *sm))) {
            rc = api_fail(msg, SCARCE_ERR_MEMORY, "%s: out of memory", path);
        } else if ((rc = load(sm, path, &opts, (params ? params : &defaults)->vocab_only))) {
            memcpy(msg, sm->error, sizeof msg);
            scarce_model_close(sm);
        } else {
            *out = sm;
        }
    }
    if (errbuf && errcap) snprintf(errbuf, errcap, "%s", rc ? msg : "");
    return rc;
}

void scarce_model_close(scarce_model *sm) {
    if (!sm) return;
    tokenizer_free(sm->tok);
    model_free(sm->m);
    if (sm->vocab) gguf_close(sm->vocab);
    free(sm);
}

const char *scarce_model_error(const scarce_model *sm) {
    return sm ? sm->error : "scarce_model_error: NULL model";
}

int scarce_model_n_vocab(const scarce_model *sm) {
    return sm ? sm->n_vocab : SCARCE_ERR_ARGUMENT;
}

int scarce_model_n_ctx_train(const scarce_model *sm) {
    return !sm ? SCARCE_ERR_ARGUMENT : sm->m ? sm->m->cfg.n_ctx_train : 0;
}

int scarce_model_n_threads(const scarce_model *sm) {
    return !sm ? SCARCE_ERR_ARGUMENT : sm->m ? model_kernel_config(sm->m)->threads : 0;
}

uint64_t scarce_model_weight_bytes(const scarce_model *sm) {
    return sm && sm->m ? model_weight_bytes(sm->m) : 0;
}

const char *scarce_model_arch(const scarce_model *sm) {
    return sm && sm->m ? sm->m->cfg.arch : "";
}

const char *scarce_model_isa(const scarce_model *sm) {
    return sm && sm->m ? kernels_isa_name(model_kernel_config(sm->m)->isa) : "";
}

/* ---- vocabulary ----------------------------------------------------------------------- */

int scarce_token_bos(const scarce_model *sm) {
    return sm ? tokenizer_bos(sm->tok) : SCARCE_ERR_ARGUMENT;
}

int scarce_token_eos(const scarce_model *sm) {
    return sm ? tokenizer_eos(sm->tok) : SCARCE_ERR_ARGUMENT;
}

static int bad_token(scarce_model *sm, int32_t id, const char *what) {
    return api_fail(sm->error, SCARCE_ERR_TOKEN, "%s: token id %d is outside the vocabulary of %d",
                    what, id, sm->n_vocab);
}

int scarce_token_is_eog(const scarce_model *sm, int32_t token) {
    if (!sm) return SCARCE_ERR_ARGUMENT;
    if (token < 0 || token >= sm->n_vocab) return SCARCE_ERR_TOKEN;
    return tokenizer_is_eog(sm->tok, token) != 0;
}

const char *scarce_token_text(const scarce_model *sm, int32_t token) {
    if (!sm || token < 0 || token >= sm->n_vocab) return NULL;
    const gguf_kv *kv = gguf_find(sm->m ? sm->m->file : sm->vocab, "tokenizer.ggml.tokens");
    return kv && kv->arr_str && (uint64_t)token < kv->arr_n ? kv->arr_str[token] : NULL;
}

_Static_assert((int)SCARCE_ADD_BOS == (int)TOKENIZE_BOS && (int)SCARCE_ADD_EOS == (int)TOKENIZE_EOS,
               "scarce.h's flags are the tokenizer's");

int scarce_token_add_flags(const scarce_model *sm) {
    return sm ? tokenizer_file_flags(sm->tok) : SCARCE_ERR_ARGUMENT;
}

int scarce_tokenize(scarce_model *sm, const char *text, int flags, int32_t *ids, int max_ids) {
    if (!sm) return SCARCE_ERR_ARGUMENT;
    if (!text || !ids || max_ids < 0)
        return api_fail(sm->error, SCARCE_ERR_ARGUMENT, "scarce_tokenize: %s",
                        !text  ? "text is NULL"
                        : !ids ? "ids is NULL"
                               : "max_ids < 0");
    scarce_error err = {0};
    const int known = SCARCE_ADD_BOS | SCARCE_ADD_EOS;
    if (flags & ~known)
        return api_fail(sm->error, SCARCE_ERR_ARGUMENT, "scarce_tokenize: unknown flags 0x%x",
                        flags & ~known);
    int n = tokenizer_encode(sm->tok, text, flags, ids, max_ids, &err);
    return n < 0 ? api_fail_err(sm->error, SCARCE_ERR_ARGUMENT, &err) : n;
}

int scarce_token_piece(scarce_model *sm, int32_t prev, int32_t token, char *out, size_t cap) {
    if (!sm) return SCARCE_ERR_ARGUMENT;
    if (!out || cap < 1 || cap > (1u << 30))
        return api_fail(sm->error, SCARCE_ERR_ARGUMENT, "scarce_token_piece: %s",
                        out ? "cap must be 1 .. 2^30 bytes" : "out is NULL");
    if (token < 0 || token >= sm->n_vocab) return bad_token(sm, token, "scarce_token_piece");
    if (prev < -1 || prev >= sm->n_vocab) return bad_token(sm, prev, "scarce_token_piece");
    return tokenizer_piece(sm->tok, prev, token, out, (int)cap);
}

int scarce_detokenize(scarce_model *sm, const int32_t *ids, int n, char *out, size_t cap) {
    if (!sm) return SCARCE_ERR_ARGUMENT;
    if ((!ids && n) || n < 0 || !out || !cap)
        return api_fail(sm->error, SCARCE_ERR_ARGUMENT,
                        "scarce_detokenize: ids, n or out/cap invalid (n %d, cap %zu)", n, cap);
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= sm->n_vocab) return bad_token(sm, ids[i], "scarce_detokenize");
    int len = tokenizer_decode(sm->tok, ids, n, out, cap);
    return len < 0 ? api_fail(sm->error, SCARCE_ERR_ARGUMENT,
                              "scarce_detokenize: the text needs more than %zu bytes", cap)
                   : len;
}

/* ---- contexts ------------------------------------------------------------------------- */

scarce_context_params scarce_context_default_params(void) {
    return (scarce_context_params){.temp = 0.8f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f};
}

/* NULL when the settings are valid, else what is wrong. */
static const char *check_params(const scarce_context_params *p) {
    if (p->n_ctx < 0 || p->n_ctx > API_MAX_CTX) return "n_ctx must be 0 .. 2^24";
    if (!(p->temp >= 0 && p->temp <= 100)) return "temp must be 0 .. 100";
    if (p->top_k < 0) return "top_k must be >= 0";
    if (!(p->top_p >= 0 && p->top_p <= 1)) return "top_p must be 0 .. 1";
    if (!(p->min_p >= 0 && p->min_p <= 1)) return "min_p must be 0 .. 1";
    return NULL;
}

int scarce_context_new(scarce_model *sm, const scarce_context_params *params,
                       scarce_context **out) {
    if (!sm) return SCARCE_ERR_ARGUMENT;
    if (!out) return api_fail(sm->error, SCARCE_ERR_ARGUMENT, "scarce_context_new: out is NULL");
    *out = NULL;
    const scarce_context_params p = params ? *params : scarce_context_default_params();
    const char *bad = check_params(&p);
    if (!bad && !sm->m) bad = "the model was opened vocab_only";
    if (bad) return api_fail(sm->error, SCARCE_ERR_ARGUMENT, "scarce_context_new: %s", bad);
    scarce_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return api_fail(sm->error, SCARCE_ERR_MEMORY, "out of memory for a context");
    ctx->model = sm;
    const int train = sm->m->cfg.n_ctx_train;
    ctx->n_ctx = p.n_ctx ? p.n_ctx : (train < 4096 ? train : 4096);
    scarce_error err = {0};
    if (session_init(&ctx->s, sm->m, ctx->n_ctx, &err)) {
        free(ctx);
        return api_fail_err(sm->error, SCARCE_ERR_MEMORY, &err);
    }
    const sampler_params sp = {
        .temp = p.temp, .top_k = p.top_k, .top_p = p.top_p, .min_p = p.min_p, .seed = p.seed};
    if (sampler_init(&ctx->smp, &sp, sm->m->cfg.n_vocab)) {
        scarce_context_free(ctx);
        return api_fail(sm->error, SCARCE_ERR_MEMORY, "out of memory for the sampler");
    }
    *out = ctx;
    return SCARCE_OK;
}

void scarce_context_free(scarce_context *ctx) {
    if (!ctx) return;
    sampler_free(&ctx->smp);
    moe_stats_free(ctx->s.moe);
    session_free(&ctx->s);
    free(ctx);
}

const char *scarce_context_error(const scarce_context *ctx) {
    return ctx ? ctx->error : "scarce_context_error: NULL context";
}

int scarce_context_n_ctx(const scarce_context *ctx) {
    return ctx ? ctx->n_ctx : SCARCE_ERR_ARGUMENT;
}

int scarce_context_n_pos(const scarce_context *ctx) {
    return ctx ? ctx->s.cache.n_pos : SCARCE_ERR_ARGUMENT;
}

int scarce_context_reset(scarce_context *ctx) {
    if (!ctx) return SCARCE_ERR_ARGUMENT;
    kvcache_truncate(&ctx->s.cache, 0);
    memset(&ctx->s.stats, 0, sizeof ctx->s.stats);
    memset(&ctx->run, 0, sizeof ctx->run);
    if (ctx->s.moe) moe_stats_reset(ctx->s.moe);
    return SCARCE_OK;
}

int scarce_context_truncate(scarce_context *ctx, int n_pos) {
    if (!ctx) return SCARCE_ERR_ARGUMENT;
    if (n_pos < 0 || n_pos > ctx->s.cache.n_pos)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT,
                        "scarce_context_truncate: %d positions asked, the context holds %d",
                        n_pos, ctx->s.cache.n_pos);
    kvcache_truncate(&ctx->s.cache, n_pos);
    return SCARCE_OK;
}

int api_check_ids(scarce_context *ctx, const int32_t *ids, int n) {
    const int n_vocab = ctx->model->m->cfg.n_vocab;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= n_vocab)
            return api_fail(ctx->error, SCARCE_ERR_TOKEN,
                            "token %d of %d: id %d is outside the vocabulary of %d", i, n, ids[i],
                            n_vocab);
    return SCARCE_OK;
}

int scarce_eval(scarce_context *ctx, const int32_t *ids, int n, int all_logits,
                const float **logits) {
    if (!ctx) return SCARCE_ERR_ARGUMENT;
    if (!ids || n < 1 || !logits)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT, "scarce_eval: %s",
                        !ids      ? "ids is NULL"
                        : !logits ? "logits is NULL"
                                  : "n < 1");
    *logits = NULL;
    int rc = api_check_ids(ctx, ids, n);
    if (rc) return rc;
    if (n > ctx->n_ctx - ctx->s.cache.n_pos)
        return api_fail(ctx->error, SCARCE_ERR_CONTEXT,
                        "%d tokens, %d of the context's %d positions are left", n,
                        ctx->n_ctx - ctx->s.cache.n_pos, ctx->n_ctx);
    scarce_error err = {0};
    if (!(*logits = forward(&ctx->s, ids, n, all_logits != 0, &err)))
        return api_fail_err(ctx->error, SCARCE_ERR_RUNTIME, &err);
    ctx->run.valid = 0; /* the statistics now cover everything since the reset */
    return SCARCE_OK;
}

int scarce_sample(scarce_context *ctx, const float *logits, int32_t *token) {
    if (!ctx) return SCARCE_ERR_ARGUMENT;
    if (!logits || !token)
        return api_fail(ctx->error, SCARCE_ERR_ARGUMENT, "scarce_sample: %s is NULL",
                        logits ? "token" : "logits");
    *token = sampler_sample(&ctx->smp, logits);
    return SCARCE_OK;
}

/* ---- statistics ----------------------------------------------------------------------- */

static void fill_phase_figures(scarce_stats *o, const api_run *r, const model *m) {
    const phase_figures pp = stats_figures(&r->prompt, r->t_prompt);
    const phase_figures tg = stats_figures(&r->decode, r->t_decode);
    const phase_figures main = r->decode.tokens ? tg : pp;
    o->prompt_tokens = pp.tokens, o->decode_tokens = tg.tokens;
    o->t_prompt_s = r->t_prompt, o->t_decode_s = r->t_decode;
    o->prompt_tok_s = pp.tok_s, o->decode_tok_s = tg.tok_s;
    o->weight_bytes_per_token = main.weight_bytes_per_token;
    o->kv_bytes_per_token = main.kv_bytes_per_token;
    o->flops_per_token = main.flops_per_token;
    o->prompt_weight_bytes_per_token = pp.weight_bytes_per_token;
    o->prompt_kv_bytes_per_token = pp.kv_bytes_per_token;
    o->prompt_flops_per_token = pp.flops_per_token;
    o->decode_weight_bytes_per_token = tg.weight_bytes_per_token;
    o->decode_kv_bytes_per_token = tg.kv_bytes_per_token;
    o->decode_flops_per_token = tg.flops_per_token;
    o->achieved_gb_s = main.achieved_gb_s;
    o->threads_prefill = stats_mean_threads(&r->prompt);
    o->threads_decode = stats_mean_threads(&r->decode);
    /* as tools/report.c's report_peak: a model inside the last-level cache is read from
     * cache, so a % of DRAM peak would mean nothing */
    const size_t llc = llc_bytes();
    o->fits_in_cache = llc && model_weight_bytes(m) < llc;
    o->model_bytes = model_weight_bytes(m), o->llc_bytes = llc;
    o->t_forward_prompt_s = r->prompt.t_forward, o->t_forward_decode_s = r->decode.t_forward;
    o->t_matmul_prompt_s = r->prompt.t_matmul, o->t_matmul_decode_s = r->decode.t_matmul;
    o->t_attention_prompt_s = r->prompt.t_attention;
    o->t_attention_decode_s = r->decode.t_attention;
    o->pct_of_peak = -1;
    if (membw_peak(&o->peak_gb_s, 0)) o->peak_gb_s = 0;
    if (o->peak_gb_s > 0 && !o->fits_in_cache)
        o->pct_of_peak = 100 * o->achieved_gb_s / o->peak_gb_s;
}

int scarce_context_stats(const scarce_context *ctx, scarce_stats *out) {
    if (!ctx || !out) return SCARCE_ERR_ARGUMENT;
    memset(out, 0, sizeof *out);
    api_run r = ctx->run;
    if (!r.valid) /* scarce_eval alone: all of it is "prompt" */
        r = (api_run){.prompt = ctx->s.stats, .t_prompt = ctx->s.stats.t_forward};
    const model *m = ctx->model->m;
    fill_phase_figures(out, &r, m);
    if (m->cfg.n_expert) {
        out->n_expert = m->cfg.n_expert, out->n_expert_used = m->cfg.n_expert_used;
        out->moe_active_bytes_per_token = moe_active_bytes(m);
    }
    out->spec_passes = r.spec.passes, out->spec_drafted = r.spec.drafted;
    out->spec_accepted = r.spec.accepted, out->spec_emitted = r.spec.emitted;
    return SCARCE_OK;
}
