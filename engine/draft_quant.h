/* draft_quant.h - a low-bit copy of a loaded model, built in memory, as the draft of
 * speculative decoding (--draft-quant TYPE): the same weights, fewer bytes per token.
 *
 * Every matmul weight (attention, FFN, router, experts, output head) is dequantized row by
 * row to f32 and quantized to TYPE (q4_0, q4_1, q8_0 by rounding to nearest, other types
 * with the type table's slower error-minimising quantizer; the output head at 8 bits
 * when TYPE has fewer); everything else (the
 * token embedding read row by row, norms, rope factors, the configuration, the GGUF file
 * and so the tokenizer) is shared with the target, so the copy costs only its matrices.
 * No file is written. */
#ifndef SCARCE_DRAFT_QUANT_H
#define SCARCE_DRAFT_QUANT_H

#include <stddef.h>

#include "model.h"

typedef struct {
    const char *type;     /* the requested type's name */
    int n_matrices;       /* matmul weights of the target */
    int n_quantized;      /* ... stored in the requested type */
    int n_fallback;       /* ... in a fallback type: the row length is not a multiple of the
                             requested type's block, or it has no kernel on this ISA */
    const char *fallback; /* the first fallback type used (NULL when none) */
    int n_shared;         /* ... kept as they are: already in that type or fewer bits */
    size_t bytes;         /* RAM of the quantized matrices */
    size_t packed_bytes;  /* RAM of their repacked copies (kernels/repack.h), 0 when off */
    size_t coarse_bytes;  /* the coarse head's (0: none; in bytes and packed_bytes too);
                             greedy drafts read it instead of the head: weight_bytes
                             - the head + this */
    size_t weight_bytes;  /* the draft's matmul weights per token (shared ones included) */
    size_t target_bytes;  /* the target's, for the ratio */
    double seconds;       /* wall time of building it */
} draft_quant_info;

/* The copy of target with its matrices in type_name (e.g. "q4_0", "q2_k", "tq2_0"); the
 * draft runs with kernel configuration opts (NULL: the target's). The target must outlive
 * it. NULL on error (unknown type, no kernel, non-finite weights, out of memory). */
model *draft_quant_new(const model *target, const char *type_name, const model_options *opts,
                       draft_quant_info *info, scarce_error *err);
/* The copy's coarse head, or NULL: when the head kept 8 bits (the default for types below
 * 8: its argmax decides what the target checks), a q4_0 copy of it too, for greedy drafts
 * that score the whole vocabulary with it and the best few candidates again with the 8-bit
 * rows (draft_view.h): the head is a third of a q4_1 draft's bytes. */
const qmatrix *draft_quant_coarse_head(const model *draft);
/* Frees what draft_quant_new allocated (not the shared parts). NULL is fine. */
void draft_quant_free(model *draft);

#endif
