/* gen.c - the engine-side streaming generation loop of `scarce run`. */
#include "gen.h"

#include <stdlib.h>
#include <string.h>

#include "../engine/machine.h"
#include "cli.h"
#include "kernel_setup.h"

int gen_ctx_open(gen_ctx *g, const gen_opts *o, scarce_error *err) {
    memset(g, 0, sizeof *g);
    /* -t's default: one thread per physical core (see gen_opts_default) */
    int threads = o->n_threads ? (int)o->n_threads : cpu_physical_cores();
    if (threads > KERNEL_MAX_THREADS) threads = KERNEL_MAX_THREADS;
    const model_options opts = kernel_setup_options(threads);
    if (!(g->m = model_load(o->model_path, &opts, err))) return -1;
    if (!(g->tok = tokenizer_load(g->m->file, err))) goto fail;
    if (tokenizer_n_vocab(g->tok) != g->m->cfg.n_vocab) {
        scarce_fail(err, "%s: vocabulary has %d tokens, token_embd.weight %d rows",
                    o->model_path, tokenizer_n_vocab(g->tok), g->m->cfg.n_vocab);
        goto fail;
    }
    g->n_ctx = o->n_ctx ? (int)o->n_ctx
                        : (g->m->cfg.n_ctx_train < 4096 ? g->m->cfg.n_ctx_train : 4096);
    if (session_init(&g->s, g->m, g->n_ctx, err)) goto fail;
    const sampler_params sp = {.temp = o->sp.temp,
                               .top_k = o->sp.top_k,
                               .top_p = o->sp.top_p,
                               .min_p = o->sp.min_p,
                               .seed = o->sp.seed};
    if (sampler_init(&g->smp, &sp, g->m->cfg.n_vocab)) {
        scarce_fail(err, "out of memory for the sampler");
        goto fail;
    }
    return 0;
fail:
    gen_ctx_close(g);
    return -1;
}

void gen_ctx_close(gen_ctx *g) {
    sampler_free(&g->smp);
    if (g->s.m) session_free(&g->s);
    tokenizer_free(g->tok);
    model_free(g->m);
    memset(g, 0, sizeof *g);
}

static void put_piece(const tokenizer *tok, int prev, int id, FILE *out) {
    char piece[256];
    int len = tokenizer_piece(tok, prev, id, piece, sizeof piece);
    fwrite(piece, 1, (size_t)len, out);
    fflush(out);
}

int gen_stream(gen_ctx *g, const int *ids, int n, long n_predict, int end_id, FILE *out,
               volatile sig_atomic_t *interrupted, gen_result *res, scarce_error *err) {
    *res = (gen_result){.n_prompt = n, .last = -1, .stop = "-n tokens generated"};
    if (g->s.cache.n_pos + n > g->n_ctx)
        return scarce_fail(err, "prompt is %d tokens, %d positions are left in the context of %d (-c)",
                           n, g->n_ctx - g->s.cache.n_pos, g->n_ctx);
    double t0 = now_seconds();
    const float *logits = forward(&g->s, ids, n, 0, err);
    res->t_prompt = now_seconds() - t0;
    if (!logits) return -1;
    int prev = ids[n - 1];
    double t1 = now_seconds();
    while (res->n_gen < n_predict) {
        if (interrupted && *interrupted) {
            res->stop = "interrupted (SIGINT)";
            break;
        }
        int next = sampler_sample(&g->smp, logits);
        res->last = next;
        if (next == end_id || tokenizer_is_eog(g->tok, next) || next == tokenizer_bos(g->tok)) {
            res->stop = "end of text";
            break;
        }
        put_piece(g->tok, prev, next, out);
        res->n_gen++;
        int before = prev;
        prev = next;
        if (res->n_gen == n_predict) break;
        if (g->s.cache.n_pos >= g->n_ctx) {
            res->stop = "context full (-c)";
            break;
        }
        if (!(logits = forward(&g->s, &next, 1, 0, err))) return -1;
        res->last = -1;
        if (g->on_token) g->on_token(g->on_token_user, g, before, next);
    }
    res->t_gen = now_seconds() - t1;
    return 0;
}
