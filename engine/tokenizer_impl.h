/* tokenizer_impl.h - what tokenizer.c (vocabulary, SentencePiece, decoding) shares with
 * tokenizer_bpe.c (byte-level BPE) and unicode.c. Not part of the public API. */
#ifndef SCARCE_TOKENIZER_IMPL_H
#define SCARCE_TOKENIZER_IMPL_H

#include <stdint.h>

#include "tokenizer.h"

enum tok_model { TOK_SPM, TOK_BPE };

/* tokenizer.ggml.token_type values */
enum tok_type {
    TOK_NORMAL = 1,
    TOK_UNKNOWN = 2,
    TOK_CONTROL = 3,
    TOK_USER_DEFINED = 4,
    TOK_UNUSED = 5,
    TOK_BYTE = 6
};

/* BPE pre-tokenizers (tokenizer.ggml.pre); each is one of llama.cpp's split regexes. */
enum tok_pre { PRE_GPT2, PRE_SMOLLM, PRE_QWEN2, PRE_LLAMA3, PRE_GPT4O };

typedef struct {
    uint64_t key; /* (left id << 32 | right id) + 1; 0 = empty slot */
    int rank, merged;
} tok_merge;

struct tokenizer {
    int model; /* enum tok_model */
    int n_vocab;
    char **text; /* piece bytes as stored in the vocabulary, NUL-terminated */
    int *len;
    int max_piece; /* bytes of the longest decoded piece: longest text, at least 3 */
    float *score;
    int *type;
    int *slot; /* open-addressing hash piece -> id + 1 (0 = empty) */
    uint32_t slot_mask;
    int bos, eos, unk, add_bos, add_space_prefix;
    int byte_token[256]; /* token for a raw byte (SPM <0xXX>, BPE its mapped char) or -1 */
    int add_eos;
    int eog[32], n_eog; /* end-of-generation ids */
    /* special tokens (control, user-defined, unknown): found in the text before SentencePiece
     * or BPE sees it. special_lens[b]: bit L-1 set when a special token of L <= 64 bytes
     * starts with byte b; longer ones are listed in long_special. */
    uint64_t special_lens[256];
    int *long_special, n_long_special;
    int rstrip_special; /* Phi-3: whitespace after a special token is dropped (llama.cpp) */
    /* BPE */
    int pre; /* enum tok_pre */
    int ignore_merges;
    tok_merge *merges;
    uint32_t merge_mask;
};

/* Id of the piece s[0..len) or -1. */
int tok_lookup(const tokenizer *t, const char *s, int len);
/* Bytes of the UTF-8 sequence starting with byte c, as llama.cpp counts them (1..4). */
int tok_utf8_len(unsigned char c);

/* tokenizer_bpe.c */
int bpe_load(tokenizer *t, const gguf_file *f, scarce_error *err);
void bpe_free(tokenizer *t);
/* Appends the ids of text[0..len) (no special tokens inside) at ids[*n]; -1 when more than
 * max_ids are needed. */
int bpe_encode(const tokenizer *t, const char *text, int len, int *ids, int *n, int max_ids,
               scarce_error *err);
/* Bytes of a BPE piece (byte-level chars mapped back). Returns length (<= cap-1). */
int bpe_piece(const tokenizer *t, int id, char *out, int cap);

/* unicode.c: categories of a code point as the pre-tokenizer regexes see them */
enum { UCAT_OTHER = 0, UCAT_LETTER = 1, UCAT_NUMBER = 2, UCAT_SPACE = 3 };
int unicode_category(uint32_t cp);
/* Decodes one code point at s (n bytes available); invalid sequences give one byte and
 * cp = 0xFFFFFFFF (category OTHER). Returns the bytes consumed (>= 1). */
int unicode_decode(const unsigned char *s, int n, uint32_t *cp);

#endif
