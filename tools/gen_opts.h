/* gen_opts.h - the generation options `run` and `chat` share (llama.cpp's flags), in the
 * terms of include/scarce.h. */
#ifndef SCARCE_GEN_OPTS_H
#define SCARCE_GEN_OPTS_H

#include <stdio.h>

#include "../include/scarce.h"

typedef struct {
    const char *model_path;
    long n_predict, n_threads, n_ctx; /* n_threads 0: the physical cores */
    scarce_context_params sp;         /* the sampler's settings (its n_ctx is unused) */
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

#endif
