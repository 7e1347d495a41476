/* draft_view.h - the draft model as speculative decoding runs it: a shallow copy of the
 * draft (a -md file, the in-memory low-bit copy, or the target itself for --draft-layers)
 * with two per-token costs cut.
 *
 * 1. The output head scores a shortlist of the vocabulary, not all of it (greedy drafts).
 *    A greedy draft needs only its argmax, and a token the target would pick is almost
 *    always a common one or one already in the text: the shortlist is the first n_short
 *    ids (BPE and SentencePiece vocabularies list common pieces first) plus every token of
 *    the prompt and of the committed text, added as they appear. SmolLM2-135M: its head is
 *    49152 x 576, a fifth of the model's weights (a third of a q4_1 draft's bytes with its
 *    8-bit head); 16384 ids + the text's tokens read a third of it. A proposal outside the
 *    shortlist is never made, so acceptance drops; exactness never depends on the draft.
 *    Off unless asked for (--draft-vocab): on SmolLM2-135M f16 with a q4_1 copy, -n 128,
 *    16384 ids cut the draft's bytes per step 96 -> 76 MB but acceptance fell 0.87 -> 0.81
 *    (question) and 0.93 -> 0.89 (code): rare words (" generosity") are the tokens a story
 *    needs, and each miss costs a pass. The expected speed-up E(a,k) / (v(k) + k d) came
 *    out even, and the timings (2-core Xeon, AVX-512, load 12) could not tell them apart.
 *    A coarse head (--draft-quant's 4-bit copy of its 8-bit head, draft_quant.h) instead
 *    scores the whole vocabulary at half the bytes; its COARSE_TOP best ids are scored
 *    again with the 8-bit rows against the same hidden state (f32 dot products) and the
 *    best of them is proposed, so the proposal is the 8-bit head's argmax unless that id
 *    falls outside the coarse top. Greedy drafts only; not with a shortlist.
 * 2. The draft runs on the target's kernel context (thread pool and scratch) when its
 *    matrices fit in it and the configurations agree: two pools on a 2-core machine had the
 *    idle one's workers spinning on the cores the other one's calls needed.
 *
 * The view's model is the draft's, field for field, except its output matrix (the
 * shortlist's rows, gathered, in the head's own type, unpacked), global_pass_bytes (what
 * that head reads) and kernels. */
#ifndef SCARCE_DRAFT_VIEW_H
#define SCARCE_DRAFT_VIEW_H

#include <stdint.h>

#include "model.h"


typedef struct {
    model m;             /* what the draft session runs */
    const qmatrix *full; /* the draft's own head */
    uint8_t *rows;       /* cap rows of full's type; NULL: the full head, no shortlist */
    int *ids;            /* token of each row of m.output */
    uint8_t *listed;     /* per token id: 1 when it has a row */
    int n, cap;
    uint64_t other_pass_bytes; /* what a pass reads besides the head */
    int shared_kernels; /* 1: m.kernels is the target's */
    int coarse;         /* 1: m.output is a coarse head, full the rows that rescore it */
} draft_view;

/* Candidates of a coarse head scored again with the full rows. */
#define COARSE_TOP 8

/* A view of draft for a decoder of target. n_short: common ids in the shortlist (0, or as
 * many as the vocabulary: the whole head, no shortlist); n_text: how many more distinct
 * tokens the text may add; coarse: NULL, or a coarse head of draft's (used when there is
 * no shortlist). */
int draft_view_init(draft_view *v, const model *draft, const model *target, int n_short,
                    int n_text, const qmatrix *coarse, scarce_error *err);
void draft_view_free(draft_view *v);
/* Gives the tokens rows (those not listed yet, while there is room). */
void draft_view_add(draft_view *v, const int *tokens, int n);
/* The token the draft proposes from the view's logits: the argmax of its rows; with a
 * coarse head, of the full rows' scores of its COARSE_TOP best against hidden (the
 * n_embd inputs of the head, after the output norm). */
int draft_view_argmax(const draft_view *v, const float *logits, const float *hidden);

#endif
