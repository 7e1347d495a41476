/* tokenizer.h - text <-> token ids from the vocabulary stored in a GGUF file
 * (tokenizer.ggml.*): SentencePiece ("llama") now, byte-level BPE ("gpt2") beside it. */
#ifndef SCARCE_TOKENIZER_H
#define SCARCE_TOKENIZER_H

#include <stddef.h>

#include "error.h"
#include "gguf.h"

typedef struct tokenizer tokenizer;

tokenizer *tokenizer_load(const gguf_file *f, scarce_error *err);
void tokenizer_free(tokenizer *t);

int tokenizer_n_vocab(const tokenizer *t);
int tokenizer_bos(const tokenizer *t); /* -1 when the vocabulary has none */
int tokenizer_eos(const tokenizer *t);
int tokenizer_add_bos(const tokenizer *t); /* tokenizer.ggml.add_bos_token (default per model) */
int tokenizer_add_eos(const tokenizer *t); /* tokenizer.ggml.add_eos_token (default no) */

/* Id of the vocabulary entry spelled exactly text, or -1. */
int tokenizer_find(const tokenizer *t, const char *text);
/* 1 when generation ends at id: EOS, tokenizer.ggml.eot/eom_token_id, or a token spelled
 * like an end of turn or text ("<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|end|>" ...,
 * llama.cpp's end-of-generation list). */
int tokenizer_is_eog(const tokenizer *t, int id);

enum { TOKENIZE_BOS = 1, TOKENIZE_EOS = 2 };

/* Encodes text (NUL-terminated) into at most max_ids ids: BOS first when flags has
 * TOKENIZE_BOS, EOS last with TOKENIZE_EOS. Special tokens spelled in the text (control,
 * user-defined: "<|im_start|>", "<start_of_turn>") are their own ids, as llama.cpp's
 * tokenizer does with special-token parsing on. Returns the number of ids, or -1 with err
 * filled (too many ids, invalid input). */
/* The most ids tokenizer_encode can return for text_len bytes, BOS and EOS included: a
 * SentencePiece space becomes "\u2581" (3 bytes), and an invalid UTF-8 lead byte before
 * it can swallow 2 of them into a symbol that falls back to one id per byte. */
size_t tokenizer_max_ids(size_t text_len);
int tokenizer_encode(const tokenizer *t, const char *text, int flags, int *ids, int max_ids,
                     scarce_error *err);
/* The TOKENIZE_* flags the file asks for (add_bos_token, add_eos_token). */
int tokenizer_file_flags(const tokenizer *t);

/* The bytes token `id` stands for when it follows token `prev` (-1: none): byte tokens
 * give their byte, SentencePiece's U+2581 a space, and the leading space of the first
 * piece after BOS is dropped. Returns the length written (at most cap-1, NUL added). */
int tokenizer_piece(const tokenizer *t, int prev, int id, char *out, int cap);

/* Decodes a whole sequence (same rules); returns bytes written (NUL added) or -1 when
 * cap is too small. */
int tokenizer_decode(const tokenizer *t, const int *ids, int n, char *out, size_t cap);

#endif
