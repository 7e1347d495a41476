/* kl_base.h - llama-perplexity's KL-divergence base file, read and written, so that a base
 * model's distributions are computed once and scarce and llama.cpp score each other's
 * quantizations (llama-perplexity --kl-divergence-base FILE [--save-all-logits]).
 *
 * Layout (facts from llama.cpp tools/perplexity/perplexity.cpp), little-endian:
 *   "_logits_", uint32 n_ctx, int32 n_vocab, int32 n_chunk, int32 tokens[n_chunk * n_ctx]
 *   (the text's tokens; each window's first is replaced by BOS when it is evaluated), then
 *   for each chunk its n_ctx - 1 - n_ctx/2 scored rows (positions n_ctx/2 .. n_ctx-2), each
 *   nv = 2 * ((n_vocab + 1) / 2) + 4 uint16: float scale, float min_log_prob, then n_vocab
 *   codes u with log p(v) = scale * u + min_log_prob, then padding.
 *   Encoding: lo = max(min logit, max logit - 16), scale = (max - lo) / 65535,
 *   min_log_prob = lo - max - log sum exp(logit - max), u = round((logit - lo) / scale) for
 *   logits above lo, else 0: log-probabilities below max - 16 are clamped. */
#ifndef SCARCE_KL_BASE_H
#define SCARCE_KL_BASE_H

#include <stdint.h>

#include "error.h"

typedef struct kl_base_file kl_base_file;

typedef struct {
    int n_ctx, n_vocab, n_chunk;
    const int *tokens; /* n_chunk * n_ctx */
} kl_base_info;

/* 1 when path starts with the file's magic "_logits_" (else a model, or unreadable). */
int kl_base_is_file(const char *path);

/* Reading: the header and tokens are read and checked against the file's size. */
kl_base_file *kl_base_open(const char *path, scarce_error *err);
/* Writing: to a temporary file beside path, renamed into place by kl_base_commit. */
kl_base_file *kl_base_create(const char *path, int n_ctx, int n_vocab, int n_chunk,
                             const int *tokens, scarce_error *err);
kl_base_info kl_base_get_info(const kl_base_file *f);
/* Row length in uint16 (nv above). */
int kl_base_row_len(int n_vocab);

/* The next row, in file order: read into row[nv] / encode logits[n_vocab] and write. */
int kl_base_read_row(kl_base_file *f, uint16_t *row, scarce_error *err);
int kl_base_write_row(kl_base_file *f, const float *logits, uint16_t *row, scarce_error *err);
/* Encodes one row of logits into row[nv]. */
void kl_base_encode(const float *logits, int n_vocab, uint16_t *row);

/* Writer: flush, fsync, rename into place (0 ok). */
int kl_base_commit(kl_base_file *f, scarce_error *err);
/* Closes; an uncommitted writer's temporary file is removed. NULL is fine. */
void kl_base_close(kl_base_file *f);

#endif
