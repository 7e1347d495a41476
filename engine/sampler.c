/* sampler.c - logits -> next token.
 *
 * Order of the transforms: temperature, softmax, top-k, top-p, min-p, then one uniform
 * draw against the cumulative distribution. With top-k and min-p off this is exactly
 * llama2.c's procedure (same xorshift64* generator, same top-p cut-off and ordering), so
 * the same seed gives the same text as llama2.c. */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/ops.h"

int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* xorshift64* (Vigna): 64-bit state, upper 32 bits of the scrambled product. */
static uint32_t random_u32(uint64_t *state) {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    return (uint32_t)((*state * 0x2545F4914F6CDD1Dull) >> 32);
}

float sampler_uniform(sampler *s) { return (random_u32(&s->rng) >> 8) / 16777216.0f; }

int sampler_init(sampler *s, const sampler_params *p, int n_vocab) {
    memset(s, 0, sizeof *s);
    s->p = *p;
    s->n_vocab = n_vocab;
    s->rng = p->seed ? p->seed : 0x9E3779B97F4A7C15ull; /* xorshift needs a non-zero state */
    s->probs = malloc((size_t)n_vocab * sizeof(float));
    s->cand = malloc((size_t)n_vocab * sizeof(prob_id));
    if (!s->probs || !s->cand) {
        sampler_free(s);
        return -1;
    }
    return 0;
}

void sampler_free(sampler *s) {
    free(s->probs);
    free(s->cand);
    s->probs = NULL;
    s->cand = NULL;
}

/* descending probability; qsort over candidates, as llama2.c orders them */
static int by_prob_desc(const void *a, const void *b) {
    float pa = ((const prob_id *)a)->prob, pb = ((const prob_id *)b)->prob;
    return pa > pb ? -1 : pa < pb ? 1 : 0;
}

/* Candidate ids sorted by probability, after top-k and top-p; returns how many remain.
 * Ids whose probability is below (1 - top_p) / (n - 1) cannot be in the nucleus and are
 * dropped before sorting (llama2.c's shortcut). */
static int nucleus(sampler *s, float *probs) {
    const int n = s->n_vocab;
    const int use_p = s->p.top_p > 0.0f && s->p.top_p < 1.0f;
    const float cutoff = use_p && n > 1 ? (1.0f - s->p.top_p) / (n - 1) : 0.0f;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (probs[i] >= cutoff) s->cand[m++] = (prob_id){probs[i], i};
    qsort(s->cand, (size_t)m, sizeof(prob_id), by_prob_desc);
    if (s->p.top_k > 0 && s->p.top_k < m) m = s->p.top_k;
    if (use_p) {
        float cum = 0.0f;
        for (int i = 0; i < m; i++) {
            cum += s->cand[i].prob;
            if (cum > s->p.top_p) {
                m = i + 1;
                break;
            }
        }
    }
    if (s->p.min_p > 0.0f) {
        float floor_p = s->p.min_p * s->cand[0].prob;
        int keep = 1;
        while (keep < m && s->cand[keep].prob >= floor_p) keep++;
        m = keep;
    }
    return m;
}

static int is_plain(const sampler *s) {
    return s->p.top_k <= 0 && !(s->p.top_p > 0.0f && s->p.top_p < 1.0f) && s->p.min_p <= 0.0f;
}

void sampler_probs(sampler *s, const float *logits, float *probs) {
    const int n = s->n_vocab;
    if (s->p.temp <= 0.0f) {
        memset(probs, 0, (size_t)n * sizeof(float));
        probs[argmax(logits, n)] = 1.0f;
        return;
    }
    for (int i = 0; i < n; i++) s->probs[i] = logits[i] / s->p.temp;
    softmax(s->probs, n);
    if (is_plain(s)) {
        memcpy(probs, s->probs, (size_t)n * sizeof(float));
        return;
    }
    int m = nucleus(s, s->probs);
    float kept = 0.0f;
    for (int i = 0; i < m; i++) kept += s->cand[i].prob;
    memset(probs, 0, (size_t)n * sizeof(float));
    for (int i = 0; i < m; i++) probs[s->cand[i].id] = s->cand[i].prob / kept;
}

int sampler_sample(sampler *s, const float *logits) {
    const int n = s->n_vocab;
    if (s->p.temp <= 0.0f) return argmax(logits, n);
    for (int i = 0; i < n; i++) s->probs[i] = logits[i] / s->p.temp;
    softmax(s->probs, n);
    const float coin = sampler_uniform(s);
    if (is_plain(s)) {
        float cdf = 0.0f;
        for (int i = 0; i < n; i++) {
            cdf += s->probs[i];
            if (coin < cdf) return i;
        }
        return n - 1; /* rounding: the cdf may end just below 1 */
    }
    int m = nucleus(s, s->probs);
    float kept = 0.0f;
    for (int i = 0; i < m; i++) kept += s->cand[i].prob;
    const float r = coin * kept;
    float cdf = 0.0f;
    for (int i = 0; i < m; i++) {
        cdf += s->cand[i].prob;
        if (r < cdf) return s->cand[i].id;
    }
    return s->cand[m - 1].id;
}
