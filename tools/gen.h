/* gen.h - `scarce run`'s generation on include/scarce.h: open a model and one context from
 * the shared options, and stream scarce_generate's text, with a hook that sees each token
 * after it has gone through the model (--trace-moe reads its routing there). */
#ifndef SCARCE_GEN_H
#define SCARCE_GEN_H

#include <signal.h>
#include <stdio.h>

#include "../include/scarce.h"
#include "gen_opts.h"

typedef struct {
    scarce_model *model;
    scarce_context *ctx;
    int n_ctx;
} gen_ctx;

/* The model with the start-up kernel configuration and -t, and a context of -c positions
 * with the sampler settings. 0, or -1 with msg (512 bytes). */
int gen_ctx_open(gen_ctx *g, const gen_opts *o, char *msg);
void gen_ctx_close(gen_ctx *g);

/* Called for each generated token once the model has run it: prev is the token before. */
typedef void (*gen_token_fn)(void *user, int32_t prev, int32_t token);

typedef struct {
    int n_gen;
    const char *stop; /* why generation ended */
} gen_result;

/* scarce_generate from the prompt (its ids[0..n) for the hook: last is ids[n-1]), writing
 * each piece to out as it is generated; stops as scarce_generate does or when *interrupted
 * becomes non-zero. 0, or -1 with msg (512 bytes). */
int gen_stream(gen_ctx *g, const char *prompt, int32_t last_prompt_id, long n_predict, FILE *out,
               volatile sig_atomic_t *interrupted, gen_token_fn on_token, void *user,
               gen_result *res, char *msg);

#endif
