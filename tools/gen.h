/* gen.h - what `run` and `chat` share: the generation options (llama.cpp's flags) and the
 * prefill-then-decode loop that streams text. */
#ifndef SCARCE_GEN_H
#define SCARCE_GEN_H

#include <signal.h>
#include <stdio.h>

#include "../engine/forward.h"
#include "../engine/sampler.h"
#include "../engine/tokenizer.h"

typedef struct {
    const char *model_path;
    long n_predict, n_threads, n_ctx;
    sampler_params sp;
    int seed_given;
} gen_opts;

/* Defaults: -n 256, all cores, the model's context up to 4096, llama.cpp's sampling. */
void gen_opts_default(gen_opts *o);
/* Handles argv[*i] when it is a generation option (consuming its value): 1 when it was,
 * 0 when it is not one, -1 on a bad value (an error line has been printed). */
int gen_opts_parse(const char *cmd, int argc, char **argv, int *i, gen_opts *o);
/* The lines of -h for these options. */
void gen_opts_usage(FILE *out);
/* After parsing: -m present, seed from the clock when not given. 0 or -1 (printed). */
int gen_opts_finish(const char *cmd, gen_opts *o);

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
