/* lookup.c - the n-gram index behind lookup drafts (see lookup.h). */
#include "lookup.h"

#include <stdlib.h>
#include <string.h>

/* FNV-1a over the token ids, seeded with n so that equal prefixes of different lengths
 * land apart. */
static uint32_t ngram_hash(const int *t, int n) {
    uint32_t h = 2166136261u ^ (uint32_t)n * 0x9E3779B9u;
    for (int i = 0; i < n; i++) h = (h ^ (uint32_t)t[i]) * 16777619u;
    return h;
}

int lookup_index_init(lookup_index *ix, int n_min, int n_max) {
    memset(ix, 0, sizeof *ix);
    if (n_min < 1 || n_min > n_max || n_max > LOOKUP_MAX_N) return -1;
    ix->n_min = n_min, ix->n_max = n_max;
    ix->cap = 1024;
    ix->indexed = 1;
    ix->slots = calloc(ix->cap, sizeof *ix->slots);
    return ix->slots ? 0 : -1;
}

void lookup_index_free(lookup_index *ix) {
    free(ix->slots);
    memset(ix, 0, sizeof *ix);
}

/* The slot holding the n-gram key (of sequence t), or the empty slot where it goes. */
static lookup_slot *find_slot(const lookup_index *ix, const int *t, const int *key, int n,
                              uint32_t h) {
    for (size_t i = h & (ix->cap - 1);; i = (i + 1) & (ix->cap - 1)) {
        lookup_slot *s = &ix->slots[i];
        if (!s->n) return s;
        if (s->hash == h && s->n == n && !memcmp(t + s->next - n, key, (size_t)n * sizeof *key))
            return s;
    }
}

static int grow(lookup_index *ix, const int *t) {
    lookup_index bigger = *ix;
    bigger.cap = ix->cap * 2;
    if (!(bigger.slots = calloc(bigger.cap, sizeof *bigger.slots))) return -1;
    for (size_t i = 0; i < ix->cap; i++) {
        const lookup_slot *s = &ix->slots[i];
        if (s->n) *find_slot(&bigger, t, t + s->next - s->n, s->n, s->hash) = *s;
    }
    free(ix->slots);
    *ix = bigger;
    return 0;
}

int lookup_index_update(lookup_index *ix, const int *t, int len) {
    /* position f is indexed once the token at f exists: it continues the n-grams ending
     * at f - 1; a later occurrence replaces an earlier one (the most recent is likelier
     * to continue the same way) */
    for (int f = ix->indexed; f < len; f++) {
        for (int n = ix->n_min; n <= ix->n_max && n <= f; n++) {
            if (2 * (ix->used + 1) > ix->cap && grow(ix, t)) return -1;
            const int *key = t + f - n;
            const uint32_t h = ngram_hash(key, n);
            lookup_slot *s = find_slot(ix, t, key, n, h);
            if (!s->n) ix->used++;
            *s = (lookup_slot){.hash = h, .n = n, .next = f};
        }
        ix->indexed = f + 1;
    }
    return 0;
}

/* Position after the most recent earlier occurrence of key (n tokens) in src, or -1. */
static int find_next(const lookup_source *src, const int *key, int n) {
    const lookup_index *ix = src->ix;
    if (n < ix->n_min || n > ix->n_max) return -1;
    const lookup_slot *s = find_slot(ix, src->tokens, key, n, ngram_hash(key, n));
    return s->n && s->next < src->len ? s->next : -1;
}

int lookup_draft(const lookup_source *sources, int n_sources, const int *ctx, int ctx_len, int k,
                 int *draft, int *matched_n, int *source) {
    int n_max = 0;
    for (int i = 0; i < n_sources; i++)
        if (sources[i].ix->n_max > n_max) n_max = sources[i].ix->n_max;
    for (int n = n_max < ctx_len ? n_max : ctx_len; n >= 1; n--) {
        const int *key = ctx + ctx_len - n;
        for (int i = 0; i < n_sources; i++) {
            const int next = find_next(&sources[i], key, n);
            if (next < 0) continue;
            int got = 0;
            while (got < k && next + got < sources[i].len)
                draft[got] = sources[i].tokens[next + got], got++;
            if (matched_n) *matched_n = n;
            if (source) *source = i;
            return got;
        }
    }
    return 0;
}
