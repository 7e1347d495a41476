/* api_stream.h - the prefill-then-decode loop that streams text, on include/scarce.h
 * alone: what `scarce chat` runs each turn (tools/gen.c has `scarce run`'s, which also
 * reads the engine's counters for its summary). */
#ifndef SCARCE_API_STREAM_H
#define SCARCE_API_STREAM_H

#include <signal.h>
#include <stdio.h>

#include "../include/scarce.h"

typedef struct {
    int n_prompt, n_gen;
    const char *stop; /* why generation ended */
    int last;         /* the last sampled token, not yet in the context (-1: none) */
} stream_result;

/* Evaluates ids[0..n) after what ctx already holds, then samples up to n_predict tokens
 * with ctx's sampler, writing each piece to out as it is generated. Stops at an
 * end-of-generation token or BOS, at end_id (>= 0, a chat template's end of turn), at
 * n_predict, at the end of the context, or when *interrupted becomes non-zero. The last
 * sampled token (the one that ended generation, or the last printed) is not in the
 * context yet: res->last, for a caller that goes on. 0, or -1 with msg (512 bytes). */
int api_stream(scarce_context *ctx, scarce_model *m, const int32_t *ids, int n, long n_predict,
               int end_id, FILE *out, volatile sig_atomic_t *interrupted, stream_result *res,
               char *msg);

#endif
