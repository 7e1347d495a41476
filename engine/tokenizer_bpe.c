/* tokenizer_bpe.c - byte-level BPE ("gpt2" model) as llama.cpp's llm_tokenizer_bpe.
 *
 * encode: the text between special tokens (tokenizer.c finds those) is split into words by the
 * model's pre-tokenizer regex (tokenizer.ggml.pre, hand-written matchers below); each word's bytes
 * become GPT-2's byte-level characters (bytes 33..126, 161..172, 174..255 stand for
 * themselves, the other 68 bytes for U+0100 + n in byte order), one symbol each, and
 * adjacent symbols are merged by the rank of tokenizer.ggml.merges ("a b", rank = index;
 * lowest first, ties leftmost). Invalid UTF-8 is split as single OTHER characters, so every
 * byte still reaches BPE and decodes back to itself. */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"

/* ---- GPT-2 byte <-> code point ------------------------------------------------------- */

/* The 68 remapped bytes in order: 0..32 -> U+0100.., 127..160 -> U+0121.., 173 -> U+0143. */
static uint32_t byte_cp(int b) {
    if (b <= 32) return 256u + (uint32_t)b;
    if (b >= 127 && b <= 160) return (uint32_t)b + 162u;
    if (b == 173) return 323u;
    return (uint32_t)b;
}

static int cp_byte(uint32_t cp) {
    if (cp < 256) return byte_cp((int)cp) == cp ? (int)cp : -1;
    if (cp <= 288) return (int)cp - 256;
    if (cp <= 322) return (int)cp - 162;
    return cp == 323 ? 173 : -1;
}

static int utf8_put(uint32_t cp, char *s) {
    if (cp < 0x80) return s[0] = (char)cp, 1;
    if (cp < 0x800) return s[0] = (char)(0xC0 | cp >> 6), s[1] = (char)(0x80 | (cp & 63)), 2;
    s[0] = (char)(0xE0 | cp >> 12);
    s[1] = (char)(0x80 | ((cp >> 6) & 63));
    s[2] = (char)(0x80 | (cp & 63));
    return 3; /* byte-level characters are all below U+0800 */
}

/* ---- merges: (left id, right id) -> rank, merged id ----------------------------------- */

static uint64_t pair_key(int l, int r) {
    return (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) + 1;
}

static uint32_t pair_hash(uint64_t k) {
    return (uint32_t)((k * 0x9E3779B97F4A7C15ull) >> 32);
}

static const tok_merge *merge_find(const tokenizer *t, int l, int r) {
    uint64_t k = pair_key(l, r);
    for (uint32_t i = pair_hash(k) & t->merge_mask;; i = (i + 1) & t->merge_mask) {
        if (t->merges[i].key == k) return &t->merges[i];
        if (t->merges[i].key == 0) return NULL;
    }
}

static int load_merges(tokenizer *t, const gguf_file *f, scarce_error *err) {
    const gguf_kv *kv = gguf_get_array(f, "tokenizer.ggml.merges", GGUF_TYPE_BIT(GGUF_STRING),
                                       GGUF_ANY_LENGTH, err);
    if (!kv) return -1;
    if (kv->arr_n > (1u << 28))
        return scarce_fail(err, "%s: tokenizer.ggml.merges: %llu merges, at most 2^28",
                           f->path, (unsigned long long)kv->arr_n);
    uint32_t cap = 1;
    while (cap < 2 * kv->arr_n + 2) cap <<= 1;
    if (!(t->merges = calloc(cap, sizeof *t->merges)))
        return scarce_fail(err, "%s: out of memory for merges", f->path);
    t->merge_mask = cap - 1;
    char buf[1024];
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        const char *m = kv->arr_str[i];
        int len = (int)kv->arr_str_len[i];
        const char *sp = len > 1 ? memchr(m + 1, ' ', (size_t)len - 1) : NULL;
        if (!sp || len >= (int)sizeof buf)
            return scarce_fail(err, "%s: tokenizer.ggml.merges[%llu] \"%s\": expected \"a b\"",
                               f->path, (unsigned long long)i, m);
        int nl = (int)(sp - m), nr = len - nl - 1;
        memcpy(buf, m, (size_t)nl);
        memcpy(buf + nl, sp + 1, (size_t)nr);
        int l = tok_lookup(t, m, nl), r = tok_lookup(t, sp + 1, nr),
            lr = tok_lookup(t, buf, nl + nr);
        if (l < 0 || r < 0 || lr < 0) continue; /* cannot apply to vocabulary pieces */
        uint64_t k = pair_key(l, r);
        uint32_t s = pair_hash(k) & t->merge_mask;
        while (t->merges[s].key != 0 && t->merges[s].key != k) s = (s + 1) & t->merge_mask;
        if (t->merges[s].key == 0) t->merges[s] = (tok_merge){k, (int)i, lr}; /* first wins */
    }
    return 0;
}

int bpe_load(tokenizer *t, const gguf_file *f, scarce_error *err) {
    const char *pre = "default";
    if (gguf_find(f, "tokenizer.ggml.pre") && gguf_get_string(f, "tokenizer.ggml.pre", &pre, err))
        return -1;
    if (!strcmp(pre, "default") || !strcmp(pre, "gpt2") || !strcmp(pre, "gpt-2")) {
        t->pre = PRE_GPT2;
    } else if (!strcmp(pre, "smollm") || !strcmp(pre, "starcoder") || !strcmp(pre, "refact")) {
        /* one regex in llama.cpp for all three */
        t->pre = PRE_SMOLLM;
    } else if (!strcmp(pre, "qwen2") || !strcmp(pre, "qwen2.5") || !strcmp(pre, "qwen-2.5") ||
               !strcmp(pre, "deepseek-r1-qwen") || !strcmp(pre, "megrez")) {
        t->pre = PRE_QWEN2;
    } else if (!strcmp(pre, "gpt-4o") || !strcmp(pre, "llama4")) {
        t->pre = PRE_GPT4O;
    } else if (!strcmp(pre, "llama-bpe") || !strcmp(pre, "llama3") || !strcmp(pre, "llama-v3") ||
               !strcmp(pre, "falcon3") || !strcmp(pre, "pixtral")) {
        t->pre = PRE_LLAMA3;
        t->ignore_merges = 1; /* llama.cpp: a word that is a token is taken whole */
    } else {
        return scarce_fail(
            err,
            "%s: tokenizer.ggml.pre \"%s\" not supported (expected one of "
            "default, gpt2, gpt-2, smollm, starcoder, refact, qwen2, llama-bpe, llama3, gpt-4o)",
            f->path, pre);
    }
    if (load_merges(t, f, err) != 0) return -1;
    for (int b = 0; b < 256; b++) {
        char s[4];
        t->byte_token[b] = tok_lookup(t, s, utf8_put(byte_cp(b), s));
    }
    return 0;
}

void bpe_free(tokenizer *t) {
    free(t->merges);
}

/* ---- pre-tokenizers ------------------------------------------------------------------ *
 * Each matcher returns the end of the word starting at pos in cp[pos..end); lookahead never
 * passes end (llama.cpp splits fragment by fragment the same way). */

typedef struct {
    const uint32_t *cp;
    const uint8_t *cat;
    int end;
} span;

static int cat_at(const span *s, int i) {
    return i < s->end ? s->cat[i] : -1;
}
static uint32_t cp_at(const span *s, int i) {
    return i < s->end ? s->cp[i] : 0xFFFFFFFF;
}
static uint32_t lower(uint32_t c) {
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 's 't 're 've 'm 'll 'd (any case when fold): length matched, 0 if none */
static int contraction(const span *s, int pos, int fold) {
    if (cp_at(s, pos) != '\'') return 0;
    uint32_t a = cp_at(s, pos + 1), b = cp_at(s, pos + 2);
    if (fold) a = lower(a), b = lower(b);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    return 0;
}

/* \s+(?!\S)|\s+ : a whitespace run gives up its last character to a following word. */
static int whitespace_run(const span *s, int pos) {
    int n = 0;
    while (cat_at(s, pos + n) == UCAT_SPACE) n++;
    if (n > 1 && pos + n < s->end) return pos + n - 1;
    return pos + (n > 0 ? n : 1);
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static int match_gpt2(const span *s, int pos) {
    int c = contraction(s, pos, 0);
    if (c) return pos + c;
    int k = s->cp[pos] == ' ' ? cat_at(s, pos + 1) : s->cat[pos];
    if (k == UCAT_LETTER || k == UCAT_NUMBER || k == UCAT_OTHER) {
        int p = pos + (s->cp[pos] == ' ');
        while (cat_at(s, p) == k) p++;
        return p;
    }
    return whitespace_run(s, pos);
}

static int is_crlf(uint32_t c) {
    return c == '\r' || c == '\n';
}

/* The tail the llama3, qwen2 and gpt-4o regexes share:
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+   (gpt-4o: [\r\n/]* after the symbols) */
static int symbols_or_space(const span *s, int pos, int slash) {
    uint32_t cp = s->cp[pos];
    int k = cp == ' ' ? cat_at(s, pos + 1) : s->cat[pos];
    if (k == UCAT_OTHER) {
        int p = pos + (cp == ' ');
        while (cat_at(s, p) == UCAT_OTHER) p++;
        while (p < s->end && (is_crlf(s->cp[p]) || (slash && s->cp[p] == '/'))) p++;
        return p;
    }
    int last_crlf = -1, n = 0;
    for (; cat_at(s, pos + n) == UCAT_SPACE; n++)
        if (is_crlf(s->cp[pos + n])) last_crlf = pos + n + 1;
    if (last_crlf > 0) return last_crlf;
    return whitespace_run(s, pos);
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
 *  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+        (llama3: 3 digits, qwen2: 1) */
static int match_llama3(const span *s, int pos, int max_digits) {
    int c = contraction(s, pos, 1);
    if (c) return pos + c;
    uint32_t cp = s->cp[pos];
    int k = s->cat[pos];
    if (!is_crlf(cp) && k != UCAT_NUMBER &&
        (k == UCAT_LETTER || cat_at(s, pos + 1) == UCAT_LETTER)) {
        int p = pos + 1;
        while (cat_at(s, p) == UCAT_LETTER) p++;
        return p;
    }
    if (k == UCAT_NUMBER) {
        int p = pos + 1;
        while (p - pos < max_digits && cat_at(s, p) == UCAT_NUMBER) p++;
        return p;
    }
    return symbols_or_space(s, pos, 0);
}

/* gpt-4o (Phi-4-mini, Llama 4). As llama.cpp runs it (std::regex over text whose non-ASCII
 * characters are collapsed to their category), "upper" is a letter other than a-z and
 * "lower" a letter other than A-Z, so a non-ASCII letter is both:
 *   [^\r\n\p{L}\p{N}]?U*L+('s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?U+L*(...)?|
 *   \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
 * Alternatives are tried in order with backtracking, as the regex engine does. */
static int is_upper(const span *s, int i) {
    return cat_at(s, i) == UCAT_LETTER && !(s->cp[i] >= 'a' && s->cp[i] <= 'z');
}
static int is_lower(const span *s, int i) {
    return cat_at(s, i) == UCAT_LETTER && !(s->cp[i] >= 'A' && s->cp[i] <= 'Z');
}

/* U*L+ (upper_first == 0) or U+L* (1) from q, then an optional contraction; -1: no match */
static int cased_word(const span *s, int q, int upper_first) {
    int u = q;
    while (is_upper(s, u)) u++;
    if (upper_first) {
        if (u == q) return -1;
        int l = u;
        while (is_lower(s, l)) l++;
        return l + contraction(s, l, 1);
    }
    for (int k = u; k >= q; k--) { /* U* gives back characters until L+ can match */
        if (!is_lower(s, k)) continue;
        int l = k;
        while (is_lower(s, l)) l++;
        return l + contraction(s, l, 1);
    }
    return -1;
}

static int match_gpt4o(const span *s, int pos) {
    uint32_t cp = s->cp[pos];
    int k = s->cat[pos];
    int prefix = !is_crlf(cp) && k != UCAT_LETTER && k != UCAT_NUMBER;
    for (int alt = 0; alt < 2; alt++)
        for (int pre = prefix; pre >= 0; pre--) {
            int end = cased_word(s, pos + pre, alt);
            if (end >= 0) return end;
        }
    if (k == UCAT_NUMBER) {
        int p = pos + 1;
        while (p - pos < 3 && cat_at(s, p) == UCAT_NUMBER) p++;
        return p;
    }
    return symbols_or_space(s, pos, 1);
}

static int next_word(const tokenizer *t, const span *s, int pos) {
    switch (t->pre) {
    case PRE_GPT4O:
        return match_gpt4o(s, pos);
    case PRE_QWEN2:
        return match_llama3(s, pos, 1);
    case PRE_LLAMA3:
        return match_llama3(s, pos, 3);
    default:
        return match_gpt2(s, pos);
    }
}

/* ---- BPE of one word ----------------------------------------------------------------- */

typedef struct {
    int rank, left, right, lid, rid;
} bpe_bigram;

typedef struct {
    int id, prev, next;
} bpe_symbol;

typedef struct {
    bpe_bigram *heap;
    int n_heap, cap_heap;
    bpe_symbol *sym;
    int cap_sym;
} bpe_work;

static int bigram_before(const bpe_bigram *a, const bpe_bigram *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static int push_pair(const tokenizer *t, bpe_work *w, int left, int right) {
    if (left < 0 || right < 0 || w->sym[left].id < 0 || w->sym[right].id < 0) return 0;
    const tok_merge *m = merge_find(t, w->sym[left].id, w->sym[right].id);
    if (!m) return 0;
    if (w->n_heap == w->cap_heap) {
        int cap = w->cap_heap ? 2 * w->cap_heap : 64;
        bpe_bigram *h = realloc(w->heap, sizeof *h * (size_t)cap);
        if (!h) return -1;
        w->heap = h;
        w->cap_heap = cap;
    }
    bpe_bigram b = {m->rank, left, right, w->sym[left].id, w->sym[right].id};
    int i = w->n_heap++;
    for (; i > 0 && bigram_before(&b, &w->heap[(i - 1) / 2]); i = (i - 1) / 2)
        w->heap[i] = w->heap[(i - 1) / 2];
    w->heap[i] = b;
    return 0;
}

static bpe_bigram pop_pair(bpe_work *w) {
    bpe_bigram top = w->heap[0], last = w->heap[--w->n_heap];
    int i = 0;
    for (int c; (c = 2 * i + 1) < w->n_heap; i = c) {
        if (c + 1 < w->n_heap && bigram_before(&w->heap[c + 1], &w->heap[c])) c++;
        if (!bigram_before(&w->heap[c], &last)) break;
        w->heap[i] = w->heap[c];
    }
    if (w->n_heap > 0) w->heap[i] = last;
    return top;
}

static int whole_word_token(const tokenizer *t, const unsigned char *word, int len) {
    char buf[256];
    int n = 0;
    for (int i = 0; i < len; i++) {
        if (n + 3 > (int)sizeof buf) return -1;
        n += utf8_put(byte_cp(word[i]), buf + n);
    }
    return tok_lookup(t, buf, n);
}

static int bpe_word(const tokenizer *t, bpe_work *w, const unsigned char *word, int len, int *ids,
                    int *n, int max_ids, scarce_error *err) {
    int id = t->ignore_merges ? whole_word_token(t, word, len) : -1;
    if (id >= 0) {
        if (*n >= max_ids) goto full;
        ids[(*n)++] = id;
        return 0;
    }
    if (len > w->cap_sym) {
        bpe_symbol *s = realloc(w->sym, sizeof *s * (size_t)len);
        if (!s) return scarce_fail(err, "tokenizer: out of memory");
        w->sym = s;
        w->cap_sym = len;
    }
    for (int i = 0; i < len; i++)
        w->sym[i] = (bpe_symbol){t->byte_token[word[i]], i - 1, i + 1 < len ? i + 1 : -1};
    w->n_heap = 0;
    for (int i = 1; i < len; i++)
        if (push_pair(t, w, i - 1, i) != 0) return scarce_fail(err, "tokenizer: out of memory");
    while (w->n_heap > 0) {
        bpe_bigram b = pop_pair(w);
        bpe_symbol *l = &w->sym[b.left], *r = &w->sym[b.right];
        if (l->next != b.right || l->id != b.lid || r->id != b.rid) continue; /* stale */
        l->id = merge_find(t, b.lid, b.rid)->merged;
        r->id = -2; /* merged away */
        l->next = r->next;
        if (r->next >= 0) w->sym[r->next].prev = b.left;
        if (push_pair(t, w, l->prev, b.left) != 0 || push_pair(t, w, b.left, l->next) != 0)
            return scarce_fail(err, "tokenizer: out of memory");
    }
    for (int i = 0; i >= 0 && i < len; i = w->sym[i].next) {
        if (w->sym[i].id < 0) continue; /* a byte the vocabulary lacks: dropped, as llama.cpp */
        if (*n >= max_ids) goto full;
        ids[(*n)++] = w->sym[i].id;
    }
    return 0;
full:
    return scarce_fail(err, "tokenizer: the text needs more than %d ids (max_ids)", max_ids);
}

/* Splits text[0..len) into words and encodes each. */
static int bpe_fragment(const tokenizer *t, bpe_work *w, const char *text, int len, int *ids,
                        int *n, int max_ids, scarce_error *err) {
    uint32_t *cp = malloc(sizeof *cp * (size_t)(len + 1));
    int *off = malloc(sizeof *off * (size_t)(len + 1));
    uint8_t *cat = malloc((size_t)len + 1);
    if (!cp || !off || !cat) {
        free(cp), free(off), free(cat);
        return scarce_fail(err, "tokenizer: out of memory");
    }
    int n_cp = 0;
    for (int i = 0; i < len; n_cp++) {
        off[n_cp] = i;
        i += unicode_decode((const unsigned char *)text + i, len - i, &cp[n_cp]);
        cat[n_cp] = (uint8_t)(cp[n_cp] == 0xFFFFFFFF ? UCAT_OTHER : unicode_category(cp[n_cp]));
    }
    off[n_cp] = len;
    int rc = 0;
    for (int a = 0; a < n_cp && rc == 0;) {
        /* smollm first cuts every digit out as its own fragment (llama.cpp's "\p{N}") */
        int b = n_cp;
        if (t->pre == PRE_SMOLLM) {
            b = a + 1;
            if (cat[a] != UCAT_NUMBER)
                while (b < n_cp && cat[b] != UCAT_NUMBER) b++;
        }
        span s = {cp, cat, b};
        for (int pos = a; pos < b && rc == 0;) {
            int end = next_word(t, &s, pos);
            rc = bpe_word(t, w, (const unsigned char *)text + off[pos], off[end] - off[pos], ids, n,
                          max_ids, err);
            pos = end;
        }
        a = b;
    }
    free(cp), free(off), free(cat);
    return rc;
}

int bpe_encode(const tokenizer *t, const char *text, int len, int *ids, int *n, int max_ids,
               scarce_error *err) {
    bpe_work w = {0};
    int rc = len > 0 ? bpe_fragment(t, &w, text, len, ids, n, max_ids, err) : 0;
    free(w.heap);
    free(w.sym);
    return rc;
}
/* ---- decoding ------------------------------------------------------------------------ */

int bpe_piece(const tokenizer *t, int id, char *out, int cap) {
    const char *s = t->text[id];
    int len = t->len[id], n = 0;
    if (t->type[id] == TOK_CONTROL || t->type[id] == TOK_UNUSED) return 0;
    if (t->type[id] == TOK_USER_DEFINED) {
        for (; n < len && n < cap - 1; n++) out[n] = s[n];
        return n;
    }
    for (int i = 0; i < len && n < cap - 1;) {
        uint32_t cp;
        int k = unicode_decode((const unsigned char *)s + i, len - i, &cp);
        int b = cp == 0xFFFFFFFF ? -1 : cp_byte(cp);
        if (b >= 0) {
            out[n++] = (char)b;
        } else { /* not a byte-level character: kept as it is */
            for (int j = 0; j < k && n < cap - 1; j++) out[n++] = s[i + j];
        }
        i += k;
    }
    return n;
}
