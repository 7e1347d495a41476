/* tokenizer.c - the vocabulary (tokenizer.ggml.*), SentencePiece encoding and decoding.
 *
 * SentencePiece ("llama") follows llama.cpp's llm_tokenizer_spm, which is also what
 * llama2.c's encode does: spaces become U+2581 "▁", a "▁" is put in front of the text
 * (add_space_prefix), the text is split into UTF-8 characters, and adjacent pieces are
 * merged greedily: always the pair whose concatenation is a vocabulary piece of highest
 * score (ties: leftmost). A final piece that is not in the vocabulary (a character the
 * vocabulary lacks) falls back to one <0xXX> byte token per byte, or <unk> without them.
 *
 * Decoding: a piece may be an incomplete UTF-8 sequence (byte tokens emit single bytes);
 * only the concatenation of the pieces of a sequence is guaranteed to be valid text. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"

/* ---- vocabulary hash: piece bytes -> id ------------------------------------------------ */

static uint32_t hash_bytes(const char *s, int len) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

int tok_lookup(const tokenizer *t, const char *s, int len) {
    for (uint32_t i = hash_bytes(s, len) & t->slot_mask;; i = (i + 1) & t->slot_mask) {
        int id = t->slot[i] - 1;
        if (id < 0) return -1;
        if (t->len[id] == len && memcmp(t->text[id], s, (size_t)len) == 0) return id;
    }
}

/* Later duplicates win, as in llama.cpp's token_to_id map. */
static void vocab_insert(tokenizer *t, int id) {
    for (uint32_t i = hash_bytes(t->text[id], t->len[id]) & t->slot_mask;;
         i = (i + 1) & t->slot_mask) {
        int old = t->slot[i] - 1;
        if (old < 0 || (t->len[old] == t->len[id] &&
                        memcmp(t->text[old], t->text[id], (size_t)t->len[id]) == 0)) {
            t->slot[i] = id + 1;
            return;
        }
    }
}

int tok_utf8_len(unsigned char c) {
    static const int by_high_nibble[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return by_high_nibble[c >> 4];
}

/* ---- loading ------------------------------------------------------------------------- */

/* An optional token id key: *id keeps def when absent, -1 when out of the vocabulary (as
 * llama.cpp, which warns and keeps no token); a key of another type is refused. */
static int get_id(const gguf_file *f, const char *key, int def, int n_vocab, int *id,
                  scarce_error *err) {
    int64_t v;
    *id = def;
    if (!gguf_find(f, key)) return 0;
    if (gguf_get_i64(f, key, &v, err)) return -1;
    *id = v >= 0 && v < n_vocab ? (int)v : -1;
    return 0;
}

static int get_flag(const gguf_file *f, const char *key, int def, int *out, scarce_error *err) {
    *out = def;
    return gguf_find(f, key) && gguf_get_bool(f, key, out, err) ? -1 : 0;
}

/* An optional string key: *out = NULL when absent. */
static int get_opt_str(const gguf_file *f, const char *key, const char **out,
                       scarce_error *err) {
    *out = NULL;
    return gguf_find(f, key) && gguf_get_string(f, key, out, err) ? -1 : 0;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* The byte a byte-fallback piece stands for: exactly "<0xHH>", two hex digits of either case
 * (llama.cpp's token_to_byte reads them with strtol base 16, which would also take a sign
 * or a space: those are refused here), or -1. */
static int byte_piece_value(const char *s, int len) {
    if (len != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int hi = hex_value(s[3]), lo = hex_value(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* An int32 score is an integer score (llama.cpp reads them as such); a float32's bits
 * declared int32 read as at least 2^23 in magnitude (for any normal float), a value no
 * integer-scored vocabulary has: the file is refused rather than ranked by those bits. */
#define INT_SCORE_LIMIT (1 << 23)

static int check_piece(const tokenizer *t, const gguf_file *f, const gguf_kv *scores, int i,
                       scarce_error *err) {
    if (t->type[i] == TOK_BYTE && byte_piece_value(t->text[i], t->len[i]) < 0)
        return scarce_fail(err, "%s: tokenizer.ggml.tokens[%d] \"%.40s\": a byte token "
                           "(token_type 6) must read <0xHH>", f->path, i, t->text[i]);
    if (scores && scores->arr_type == GGUF_I32) {
        int64_t v = gguf_arr_i64(scores, (uint64_t)i);
        if (v <= -INT_SCORE_LIMIT || v >= INT_SCORE_LIMIT)
            return scarce_fail(err, "%s: tokenizer.ggml.scores[%d] = %lld: an int32 score "
                               "beyond 2^23 (float32 bits declared int32?)", f->path, i,
                               (long long)v);
    }
    if (t->score[i] != t->score[i])
        return scarce_fail(err, "%s: tokenizer.ggml.scores[%d] is not a number", f->path, i);
    return 0;
}

/* The arrays of the vocabulary, typed as llama_vocab::load reads them: tokens strings,
 * scores float32 (or int32), token_type int32, each of one element per token. */
static int vocab_arrays(const gguf_file *f, const gguf_kv **tokens, const gguf_kv **scores,
                        const gguf_kv **types, scarce_error *err) {
    *scores = *types = NULL;
    *tokens = gguf_get_array(f, "tokenizer.ggml.tokens", GGUF_TYPE_BIT(GGUF_STRING),
                             GGUF_ANY_LENGTH, err);
    if (!*tokens) return -1;
    uint64_t n = (*tokens)->arr_n;
    if (n == 0 || n > (1u << 30))
        return scarce_fail(err, "%s: tokenizer.ggml.tokens: %llu pieces, expected 1..2^30",
                           f->path, (unsigned long long)n);
    if (gguf_find(f, "tokenizer.ggml.scores") &&
        !(*scores = gguf_get_array(f, "tokenizer.ggml.scores",
                                   GGUF_TYPE_BIT(GGUF_F32) | GGUF_TYPE_BIT(GGUF_I32), n, err)))
        return -1;
    if (gguf_find(f, "tokenizer.ggml.token_type") &&
        !(*types = gguf_get_array(f, "tokenizer.ggml.token_type", GGUF_TYPE_BIT(GGUF_I32), n,
                                  err)))
        return -1;
    return 0;
}

static int load_pieces(tokenizer *t, const gguf_file *f, scarce_error *err) {
    const gguf_kv *tokens, *scores, *types;
    if (vocab_arrays(f, &tokens, &scores, &types, err)) return -1;
    int n = (int)tokens->arr_n;
    t->n_vocab = n;
    t->max_piece = 3; /* "▅" for <unk> */
    t->text = calloc((size_t)n, sizeof *t->text);
    t->len = calloc((size_t)n, sizeof *t->len);
    t->score = calloc((size_t)n, sizeof *t->score);
    t->type = calloc((size_t)n, sizeof *t->type);
    uint32_t cap = 1;
    while (cap < 2u * (uint32_t)n) cap <<= 1;
    t->slot = calloc(cap, sizeof *t->slot);
    t->slot_mask = cap - 1;
    if (!t->text || !t->len || !t->score || !t->type || !t->slot)
        return scarce_fail(err, "%s: out of memory for %d vocabulary pieces", f->path, n);
    for (int i = 0; i < n; i++) {
        uint64_t len = tokens->arr_str_len[i];
        if (len > (1u << 20))
            return scarce_fail(err, "%s: tokenizer.ggml.tokens[%d]: piece too long", f->path, i);
        t->len[i] = (int)len;
        if (t->max_piece < (int)len) t->max_piece = (int)len;
        if (!(t->text[i] = malloc(len + 1)))
            return scarce_fail(err, "%s: out of memory for vocabulary piece %d", f->path, i);
        memcpy(t->text[i], tokens->arr_str[i], len);
        t->text[i][len] = 0;
        t->score[i] = scores ? (float)gguf_arr_f64(scores, (uint64_t)i) : 0.0f;
        t->type[i] = types ? (int)gguf_arr_i64(types, (uint64_t)i) : TOK_NORMAL;
        if (check_piece(t, f, scores, i, err)) return -1;
        vocab_insert(t, i);
    }
    return 0;
}

static void spm_byte_tokens(tokenizer *t) {
    static const char hex[] = "0123456789ABCDEF";
    for (int b = 0; b < 256; b++) {
        char name[7] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>', 0};
        char raw = (char)b;
        int id = tok_lookup(t, name, 6);
        if (id < 0) id = tok_lookup(t, &raw, 1); /* llama.cpp's fallback: the byte itself */
        t->byte_token[b] = id >= 0 ? id : t->unk;
    }
}

/* ---- special tokens ------------------------------------------------------------------ *
 * llama.cpp splits the text at control, user-defined and unknown tokens before tokenizing
 * the rest (tokenizer_st_partition, with special tokens parsed): "<|im_start|>" is one id,
 * and so are Gemma's user-defined runs of newlines and spaces and its HTML tags. We scan
 * left to right and take the longest special token at each position; llama.cpp takes the
 * longest token first over the whole text, which differs only when two special tokens
 * overlap (none of the supported vocabularies has such a pair). */

static int is_special(const tokenizer *t, int id) {
    int type = t->type[id];
    return (type == TOK_CONTROL || type == TOK_USER_DEFINED || type == TOK_UNKNOWN) &&
           t->len[id] > 0;
}

static int index_specials(tokenizer *t) {
    int n_long = 0;
    for (int id = 0; id < t->n_vocab; id++) {
        if (!is_special(t, id)) continue;
        if (t->len[id] <= 64)
            t->special_lens[(unsigned char)t->text[id][0]] |= 1ull << (t->len[id] - 1);
        else
            n_long++;
    }
    if (n_long && !(t->long_special = malloc(sizeof(int) * (size_t)n_long))) return -1;
    for (int id = 0; id < t->n_vocab; id++)
        if (is_special(t, id) && t->len[id] > 64) t->long_special[t->n_long_special++] = id;
    return 0;
}

/* Id of the longest special token at s (left bytes remain), or -1. */
static int special_at(const tokenizer *t, const char *s, int left) {
    int best = -1;
    for (int i = 0; i < t->n_long_special; i++) {
        int id = t->long_special[i];
        if (t->len[id] <= left && (best < 0 || t->len[id] > t->len[best]) &&
            memcmp(s, t->text[id], (size_t)t->len[id]) == 0)
            best = id;
    }
    if (best >= 0) return best;
    uint64_t lens = t->special_lens[(unsigned char)s[0]];
    if (left < 64) lens &= (1ull << left) - 1;
    while (lens) {
        int len = 64 - __builtin_clzll(lens); /* longest first */
        int id = tok_lookup(t, s, len);
        if (id >= 0 && is_special(t, id)) return id;
        lens &= ~(1ull << (len - 1));
    }
    return -1;
}

/* llama.cpp gives Phi-3's special tokens the RSTRIP attribute (whitespace after them is not
 * text), chosen by general.name, except these three. */
static int strips_right(const tokenizer *t, int id) {
    if (!t->rstrip_special) return 0;
    return strcmp(t->text[id], "<unk>") && strcmp(t->text[id], "<s>") &&
           strcmp(t->text[id], "<|endoftext|>");
}

static int names_phi3(const char *name) {
    char low[256];
    int n = 0;
    for (; name && name[n] && n < (int)sizeof low - 1; n++)
        low[n] = (char)(name[n] >= 'A' && name[n] <= 'Z' ? name[n] + 32 : name[n]);
    low[n] = 0;
    return strstr(low, "phi-3") || strstr(low, "phi3");
}

/* ---- end of generation ----------------------------------------------------------------- *
 * llama.cpp ends generation at EOS, EOT, EOM and at every token spelled like one of these
 * (llama_vocab's special_eog_ids), and treats those tokens as control tokens (not printed). */
static const char *const eog_texts[] = {"<|eot_id|>",
                                        "<|im_end|>",
                                        "<|end|>",
                                        "<|return|>",
                                        "<|call|>",
                                        "<|flush|>",
                                        "<|calls|>",
                                        "<end_of_turn>",
                                        "<|endoftext|>",
                                        "</s>",
                                        "<|eom_id|>",
                                        "<EOT>",
                                        "_<EOT>",
                                        "[EOT]",
                                        "[EOS]",
                                        "<|end_of_text|>",
                                        "<end_of_utterance>",
                                        "<eos>",
                                        "<turn|>",
                                        "<|tool_response>",
                                        "<\xef\xbd\x9c"
                                        "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
                                        "[e~["};

static void add_eog(tokenizer *t, int id) {
    if (id < 0 || t->n_eog == (int)(sizeof t->eog / sizeof t->eog[0])) return;
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return;
    t->eog[t->n_eog++] = id;
}

static int find_eog(tokenizer *t, const gguf_file *f, scarce_error *err) {
    int eot, eom;
    if (get_id(f, "tokenizer.ggml.eot_token_id", -1, t->n_vocab, &eot, err) ||
        get_id(f, "tokenizer.ggml.eom_token_id", -1, t->n_vocab, &eom, err))
        return -1;
    add_eog(t, t->eos);
    add_eog(t, eot);
    add_eog(t, eom);
    for (size_t i = 0; i < sizeof eog_texts / sizeof eog_texts[0]; i++) {
        int id = tok_lookup(t, eog_texts[i], (int)strlen(eog_texts[i]));
        if (id < 0) continue;
        add_eog(t, id);
        t->type[id] = TOK_CONTROL;
    }
    return 0;
}

int tokenizer_is_eog(const tokenizer *t, int id) {
    for (int i = 0; i < t->n_eog; i++)
        if (t->eog[i] == id) return 1;
    return 0;
}

int tokenizer_find(const tokenizer *t, const char *text) {
    return tok_lookup(t, text, (int)strlen(text));
}

/* Special ids and flags; llama.cpp's defaults: SPM <unk>=0 <s>=1 </s>=2, BPE none. */
static int read_specials(tokenizer *t, const gguf_file *f, scarce_error *err) {
    int n = t->n_vocab, spm = t->model == TOK_SPM, add_bos, add_eos;
    const char *name;
    if (get_id(f, "tokenizer.ggml.bos_token_id", spm ? 1 : -1, n, &t->bos, err) ||
        get_id(f, "tokenizer.ggml.eos_token_id", spm ? 2 : -1, n, &t->eos, err) ||
        get_id(f, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, n, &t->unk, err) ||
        get_flag(f, "tokenizer.ggml.add_bos_token", spm, &add_bos, err) ||
        get_flag(f, "tokenizer.ggml.add_eos_token", 0, &add_eos, err) ||
        get_flag(f, "tokenizer.ggml.add_space_prefix", spm, &t->add_space_prefix, err) ||
        get_opt_str(f, "general.name", &name, err))
        return -1;
    if (t->bos >= n) t->bos = -1;
    if (t->eos >= n) t->eos = -1;
    if (t->unk >= n) t->unk = -1;
    t->add_bos = add_bos && t->bos >= 0;
    t->add_eos = add_eos && t->eos >= 0;
    t->rstrip_special = names_phi3(name);
    return find_eog(t, f, err);
}

tokenizer *tokenizer_load(const gguf_file *f, scarce_error *err) {
    const char *model;
    if (gguf_get_string(f, "tokenizer.ggml.model", &model, err)) {
        if (!gguf_find(f, "tokenizer.ggml.model"))
            scarce_fail(err, "%s: tokenizer.ggml.model missing (expected \"llama\" or "
                        "\"gpt2\")", f->path);
        return NULL;
    }
    tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        scarce_fail(err, "%s: out of memory for the tokenizer", f->path);
        return NULL;
    }
    if (strcmp(model, "llama") == 0) {
        t->model = TOK_SPM;
    } else if (strcmp(model, "gpt2") == 0) {
        t->model = TOK_BPE;
    } else {
        scarce_fail(err,
                    "%s: tokenizer.ggml.model \"%s\" not supported (expected \"llama\" or "
                    "\"gpt2\")",
                    f->path, model);
        free(t);
        return NULL;
    }
    if (load_pieces(t, f, err) != 0 || read_specials(t, f, err) != 0) goto fail;
    if (index_specials(t) != 0) {
        scarce_fail(err, "%s: out of memory for special tokens", f->path);
        goto fail;
    }
    if (t->model == TOK_SPM) {
        spm_byte_tokens(t);
    } else if (bpe_load(t, f, err) != 0) {
        goto fail;
    } else if (t->pre == PRE_LLAMA3 && !gguf_find(f, "tokenizer.ggml.add_bos_token")) {
        t->add_bos = t->bos >= 0; /* llama.cpp's default for the Llama 3 pre-tokenizer */
    }
    return t;
fail:
    tokenizer_free(t);
    return NULL;
}

void tokenizer_free(tokenizer *t) {
    if (!t) return;
    if (t->text)
        for (int i = 0; i < t->n_vocab; i++) free(t->text[i]);
    free(t->text);
    free(t->len);
    free(t->score);
    free(t->type);
    free(t->slot);
    free(t->long_special);
    bpe_free(t);
    free(t);
}

int tokenizer_n_vocab(const tokenizer *t) {
    return t->n_vocab;
}
int tokenizer_bos(const tokenizer *t) {
    return t->bos;
}
int tokenizer_eos(const tokenizer *t) {
    return t->eos;
}
int tokenizer_add_bos(const tokenizer *t) {
    return t->add_bos;
}
int tokenizer_add_eos(const tokenizer *t) {
    return t->add_eos;
}
int tokenizer_file_flags(const tokenizer *t) {
    return (t->add_bos ? TOKENIZE_BOS : 0) | (t->add_eos ? TOKENIZE_EOS : 0);
}

/* ---- SentencePiece encoding ---------------------------------------------------------- */

typedef struct {
    int start, n; /* bytes of the escaped text; n == 0 once merged into its left neighbour */
    int prev, next;
} spm_symbol;

typedef struct {
    float score;
    int left, right, size; /* size: bytes of the pair when queued (stale if it changed) */
} spm_bigram;

typedef struct {
    spm_bigram *v;
    int n, cap;
} bigram_heap;

/* Highest score first; equal scores: leftmost first (llama.cpp's comparator). */
static int bigram_before(const spm_bigram *a, const spm_bigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static int heap_push(bigram_heap *h, spm_bigram b) {
    if (h->n == h->cap) {
        int cap = h->cap ? 2 * h->cap : 256;
        spm_bigram *v = realloc(h->v, (size_t)cap * sizeof *v);
        if (!v) return -1;
        h->v = v;
        h->cap = cap;
    }
    int i = h->n++;
    while (i > 0 && bigram_before(&b, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = b;
    return 0;
}

static spm_bigram heap_pop(bigram_heap *h) {
    spm_bigram top = h->v[0], last = h->v[--h->n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bigram_before(&h->v[c + 1], &h->v[c])) c++;
        if (!bigram_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

static int spm_try_bigram(const tokenizer *t, const char *s, const spm_symbol *sym, int left,
                          int right, bigram_heap *h) {
    if (left < 0 || right < 0) return 0;
    int size = sym[left].n + sym[right].n;
    int id = tok_lookup(t, s + sym[left].start, size);
    if (id < 0) return 0;
    return heap_push(h, (spm_bigram){t->score[id], left, right, size});
}

/* " " -> "▁", with a leading "▁" when prefix. Returns the escaped length, or -1 when out
 * of memory. */
static int spm_escape(const char *text, size_t len, int prefix, char **out) {
    char *s = malloc(3 * len + 4);
    if (!s) return -1;
    size_t n = 0;
    if (prefix && len > 0) {
        memcpy(s, "\xe2\x96\x81", 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(s + n, "\xe2\x96\x81", 3);
            n += 3;
        } else {
            s[n++] = text[i];
        }
    }
    *out = s;
    return (int)n;
}

size_t tokenizer_max_ids(size_t text_len) {
    return 3 * text_len + 3 + 2; /* spm_escape's bound, one id per escaped byte, BOS, EOS */
}

static int emit(int id, int *ids, int *n, int max_ids, scarce_error *err) {
    if (*n >= max_ids)
        return scarce_fail(err, "tokenizer: the text needs more than %d ids (max_ids)", max_ids);
    ids[(*n)++] = id;
    return 0;
}

static int spm_merge(const tokenizer *t, const char *s, spm_symbol *sym, int n_sym) {
    bigram_heap h = {0};
    int rc = 0;
    for (int i = 1; i < n_sym && rc == 0; i++) rc = spm_try_bigram(t, s, sym, i - 1, i, &h);
    while (rc == 0 && h.n > 0) {
        spm_bigram b = heap_pop(&h);
        spm_symbol *l = &sym[b.left], *r = &sym[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) continue; /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = b.left;
        rc = spm_try_bigram(t, s, sym, l->prev, b.left, &h);
        if (rc == 0) rc = spm_try_bigram(t, s, sym, b.left, l->next, &h);
    }
    free(h.v);
    return rc;
}

/* text[0..text_len) holds no special token; prefix: put the dummy "▁" in front. */
static int spm_encode(const tokenizer *t, const char *text, int text_len, int prefix, int *ids,
                      int *n, int max_ids, scarce_error *err) {
    char *s;
    int len = spm_escape(text, (size_t)text_len, prefix, &s);
    if (len < 0) return scarce_fail(err, "tokenizer: out of memory");
    spm_symbol *sym = malloc((size_t)(len + 1) * sizeof *sym);
    if (!sym) {
        free(s);
        return scarce_fail(err, "tokenizer: out of memory");
    }
    int n_sym = 0;
    for (int off = 0; off < len; n_sym++) {
        int cl = tok_utf8_len((unsigned char)s[off]);
        if (cl > len - off) cl = len - off;
        sym[n_sym] = (spm_symbol){off, cl, n_sym - 1, off + cl < len ? n_sym + 1 : -1};
        off += cl;
    }
    int rc = spm_merge(t, s, sym, n_sym);
    if (rc != 0) rc = scarce_fail(err, "tokenizer: out of memory");
    for (int i = 0; rc == 0 && n_sym > 0 && i >= 0; i = sym[i].next) {
        int id = tok_lookup(t, s + sym[i].start, sym[i].n);
        if (id >= 0) {
            rc = emit(id, ids, n, max_ids, err);
            continue;
        }
        for (int k = 0; rc == 0 && k < sym[i].n; k++) {
            int b = t->byte_token[(unsigned char)s[sym[i].start + k]];
            if (b < 0)
                rc = scarce_fail(err, "tokenizer: byte 0x%02x has no token and no <unk>",
                                 (unsigned char)s[sym[i].start + k]);
            else
                rc = emit(b, ids, n, max_ids, err);
        }
    }
    free(sym);
    free(s);
    return rc;
}

/* SentencePiece puts the dummy-prefix space in front of the text and of every piece of
 * text that follows a special token (llama.cpp's is_prev_special). */
static int encode_text(const tokenizer *t, const char *text, int len, int after_special, int *ids,
                       int *n, int max_ids, scarce_error *err) {
    if (t->model == TOK_SPM)
        return spm_encode(t, text, len, t->add_space_prefix && after_special, ids, n, max_ids, err);
    return bpe_encode(t, text, len, ids, n, max_ids, err);
}

static int is_ascii_space(char c) {
    return c == ' ' || (c >= '\t' && c <= '\r');
}

int tokenizer_encode(const tokenizer *t, const char *text, int flags, int *ids, int max_ids,
                     scarce_error *err) {
    int n = 0;
    size_t text_len = strlen(text);
    if (text_len > (size_t)1 << 28)
        return scarce_fail(err, "tokenizer: text of %zu bytes is too long", text_len);
    if (flags & TOKENIZE_BOS) {
        if (t->bos < 0)
            return scarce_fail(err, "tokenizer: BOS requested but the vocabulary "
                                    "has no tokenizer.ggml.bos_token_id");
        if (emit(t->bos, ids, &n, max_ids, err) != 0) return -1;
    }
    int len = (int)text_len, start = 0, after_special = 1, rc = 0;
    for (int i = 0; i <= len && rc == 0; i++) {
        int id = i < len ? special_at(t, text + i, len - i) : -1;
        if (id < 0 && i < len) continue;
        if (i > start) {
            rc = encode_text(t, text + start, i - start, after_special, ids, &n, max_ids, err);
            after_special = 0;
        }
        if (id >= 0 && rc == 0) {
            rc = emit(id, ids, &n, max_ids, err);
            after_special = 1;
            i += t->len[id] - 1;
            if (strips_right(t, id))
                while (i + 1 < len && is_ascii_space(text[i + 1])) i++;
        }
        start = i + 1;
    }
    if (rc == 0 && (flags & TOKENIZE_EOS)) {
        if (t->eos < 0)
            return scarce_fail(err, "tokenizer: EOS requested but the vocabulary "
                                    "has no tokenizer.ggml.eos_token_id");
        rc = emit(t->eos, ids, &n, max_ids, err);
    }
    return rc == 0 ? n : -1;
}

/* ---- decoding ------------------------------------------------------------------------ */

static int put(char *out, int cap, int n, const char *s, int len) {
    for (int i = 0; i < len && n < cap - 1; i++) out[n++] = s[i];
    return n;
}

static int spm_piece(const tokenizer *t, int id, char *out, int cap) {
    const char *s = t->text[id];
    int len = t->len[id], n = 0;
    switch (t->type[id]) {
    case TOK_BYTE: { /* "<0xHH>", checked at load */
        char c = (char)byte_piece_value(s, len);
        return put(out, cap, 0, &c, 1);
    }
    case TOK_UNKNOWN:
        return put(out, cap, 0, "\xe2\x96\x85", 3); /* llama.cpp shows "▅" */
    case TOK_CONTROL:
    case TOK_UNUSED:
        return 0;
    default:
        for (int i = 0; i < len;) {
            if (i + 3 <= len && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
                n = put(out, cap, n, " ", 1);
                i += 3;
            } else {
                n = put(out, cap, n, s + i++, 1);
            }
        }
        return n;
    }
}

int tokenizer_piece(const tokenizer *t, int prev, int id, char *out, int cap) {
    if (cap <= 0) return 0;
    out[0] = 0;
    if (id < 0 || id >= t->n_vocab) return 0;
    int n = t->model == TOK_SPM ? spm_piece(t, id, out, cap) : bpe_piece(t, id, out, cap);
    /* the space add_space_prefix put in front of the text is not part of it (llama2.c
     * drops it after BOS, llama.cpp at the start of a detokenized sequence) */
    if (t->add_space_prefix && (prev < 0 || prev == t->bos) && n > 0 && out[0] == ' ') {
        memmove(out, out + 1, (size_t)n - 1);
        n--;
    }
    out[n] = 0;
    return n;
}

int tokenizer_decode(const tokenizer *t, const int *ids, int n, char *out, size_t cap) {
    size_t used = 0;
    char *piece = malloc((size_t)t->max_piece + 1); /* a piece never outgrows max_piece */
    if (!piece) return -1;
    for (int i = 0; i < n; i++) {
        int len = tokenizer_piece(t, i > 0 ? ids[i - 1] : -1, ids[i], piece, t->max_piece + 1);
        if (used + (size_t)len + 1 > cap) {
            free(piece);
            return -1;
        }
        memcpy(out + used, piece, (size_t)len);
        used += (size_t)len;
    }
    free(piece);
    if (used + 1 > cap) return -1;
    out[used] = 0;
    return (int)used;
}
