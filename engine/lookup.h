/* lookup.h - n-gram lookup drafts (--lookup, --lookup-file): no draft model. The last n
 * tokens of the text so far are looked up in an index of every n-gram seen before, for
 * several n at once, longest first; what followed the most recent occurrence is the draft.
 * Cheap to the point of free, and right whenever the output repeats or quotes its input:
 * code, edits, summaries, retrieval-style answers (as prompt-lookup decoding does).
 *
 * An index maps each n-gram (n_min <= n <= n_max) of a token sequence to the position
 * after its most recent occurrence that has a following token. It grows with the
 * sequence (lookup_index_update indexes only what is new) and never needs to shrink:
 * speculative decoding only ever appends committed tokens. */
#ifndef SCARCE_LOOKUP_H
#define SCARCE_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#define LOOKUP_MAX_N 16

typedef struct {
    uint32_t hash; /* of the n tokens */
    int32_t n;     /* 0 = empty slot */
    int32_t next;  /* position of the token after the n-gram */
} lookup_slot;

typedef struct {
    int n_min, n_max;
    lookup_slot *slots; /* open addressing, a power of two of them */
    size_t cap, used;
    int indexed; /* positions [1, indexed) of the sequence are in the table */
} lookup_index;

/* 0, or -1 when n_min / n_max are not 1 <= n_min <= n_max <= LOOKUP_MAX_N or out of memory. */
int lookup_index_init(lookup_index *ix, int n_min, int n_max);
void lookup_index_free(lookup_index *ix);
/* Indexes the n-grams of t[0..len) not yet indexed (t[0..indexed) must be unchanged since
 * the last call). 0, or -1 when out of memory (the index stays usable, just smaller). */
int lookup_index_update(lookup_index *ix, const int *t, int len);

/* A draft from one indexed sequence for a text. */
typedef struct {
    const lookup_index *ix;
    const int *tokens; /* the sequence it indexes */
    int len;
} lookup_source;

/* Longest n first (n_max down to n_min), sources in order for each n: the suffix of
 * ctx[0..ctx_len) of n tokens is looked up and up to k tokens that followed it are
 * copied to draft. Returns how many (0: no match); *matched_n gets n, *source the source's
 * index (either may be NULL). */
int lookup_draft(const lookup_source *sources, int n_sources, const int *ctx, int ctx_len, int k,
                 int *draft, int *matched_n, int *source);

#endif
