/* meta_check.h - metadata values checked against each other and against the tensors
 * before model.c allocates or loops by them: a file that lies about a count or a size is
 * refused with the key named, never run with values that do not fit its weights. */
#ifndef SCARCE_META_CHECK_H
#define SCARCE_META_CHECK_H

#include "error.h"
#include "gguf.h"
#include "model.h"

/* <arch>.block_count against the blk.N. tensors: layers past it would be silently skipped,
 * layers missing would be allocated for nothing. */
int meta_check_block_count(const gguf_file *f, const model_config *c, scarce_error *err);

/* Every float key "<arch>.*" is finite; the floats of the configuration are finite and in
 * their domain (rms epsilon > 0, rope
 * base > 0, soft-caps >= 0), the sliding window no wider than the training context. */
int meta_check_config(const gguf_file *f, const model_config *c, scarce_error *err);

/* tokenizer.ggml.tokens, when the file has one, holds n_vocab pieces (token_embd's rows):
 * a longer vocabulary would hand out ids past the embedding. */
int meta_check_vocab(const gguf_file *f, int64_t n_vocab, scarce_error *err);

#endif
