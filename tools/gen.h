/* gen.h - `scarce run`'s prefill-then-decode loop that streams text, on the engine (its
 * --moe-stats / --trace-moe and summary read the session); chat streams through
 * include/scarce.h (api_stream.h). */
#ifndef SCARCE_GEN_H
#define SCARCE_GEN_H

#include <signal.h>
#include <stdio.h>

#include "../engine/forward.h"
#include "../engine/sampler.h"
#include "../engine/tokenizer.h"
#include "gen_opts.h"

/* Everything one generation needs, loaded from gen_opts. */
typedef struct gen_ctx_s {
    model *m;
    tokenizer *tok;
    session s;
    sampler smp;
    int n_ctx;
    /* optional: called after each generated token has gone through the model */
    void (*on_token)(void *user, const struct gen_ctx_s *g, int prev, int token);
    void *on_token_user;
} gen_ctx;

int gen_ctx_open(gen_ctx *g, const gen_opts *o, scarce_error *err);
void gen_ctx_close(gen_ctx *g);

typedef struct {
    int n_prompt, n_gen;
    double t_prompt, t_gen;
    const char *stop; /* why generation ended */
    int last;         /* the last sampled token, not yet in the cache (-1: none) */
} gen_result;

/* Prefills ids[0..n) after what the session already holds, then samples up to n_predict
 * tokens, writing each piece to out as it is generated. Stops at an end-of-generation token
 * (tokenizer_is_eog) or BOS, at end_id (>= 0,
 * e.g. a chat template's end of turn), at n_predict, at the context end, or when
 * *interrupted becomes non-zero. The last sampled token (the one that ended generation,
 * or the last printed) is not in the cache yet: res->last, for a caller that goes on. */
int gen_stream(gen_ctx *g, const int *ids, int n, long n_predict, int end_id, FILE *out,
               volatile sig_atomic_t *interrupted, gen_result *res, scarce_error *err);

#endif
