/* sampler.h - next token from logits: greedy, temperature, top-k, top-p, min-p, seeded. */
#ifndef SCARCE_SAMPLER_H
#define SCARCE_SAMPLER_H

#include <stdint.h>

typedef struct {
    float temp;  /* 0 = greedy */
    int top_k;   /* 0 = off */
    float top_p; /* 1 = off */
    float min_p; /* 0 = off */
    uint64_t seed;
} sampler_params;

typedef struct {
    float prob;
    int id;
} prob_id;

typedef struct {
    sampler_params p;
    int n_vocab;
    uint64_t rng;
    float *probs; /* [n_vocab] */
    prob_id *cand; /* [n_vocab] candidates, sorted by probability */
} sampler;

int sampler_init(sampler *s, const sampler_params *p, int n_vocab);
void sampler_free(sampler *s);
/* The distribution sampling draws from after temperature, top-k, top-p and min-p:
 * probs[n_vocab] (zeros outside the kept set). Greedy gives a one-hot distribution. */
void sampler_probs(sampler *s, const float *logits, float *probs);
int sampler_sample(sampler *s, const float *logits);
/* Uniform in [0, 1) from the sampler's generator (xorshift64*). */
float sampler_uniform(sampler *s);
/* Index of the largest value (first on ties). */
int argmax(const float *x, int n);

#endif
