/* fuzz_tokenizer.c - arbitrary bytes (invalid UTF-8 included) through encode and decode
 * with the real vocabularies: stories260K (SentencePiece), ggml-vocab-llama-spm and, when
 * the tokenizer supports it, ggml-vocab-gpt-2 (byte-level BPE).
 *
 * Input: byte 0 picks the vocabulary, byte 1 the mode and sizes, the rest is text (encode)
 * or little-endian u16 token ids (decode). Buffers are exact-size heap blocks so ASan sees
 * any write past max_ids / cap. For valid UTF-8 text without NUL, decode(encode(text))
 * must give the text back (set FUZZ_NO_ROUNDTRIP=1 to check crashes only), except text with
 * a literal U+2581, which SentencePiece cannot tell from the space it stands for. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/gguf.h"
#include "../../engine/tokenizer.h"

static const char *vocab_files[] = {
    "models/stories260K.gguf",
    "models/vocab/ggml-vocab-llama-spm.gguf",
    "models/vocab/ggml-vocab-gpt-2.gguf",
};
enum { MAX_VOCABS = sizeof vocab_files / sizeof vocab_files[0] };
static tokenizer *vocabs[MAX_VOCABS];
static gguf_file *files[MAX_VOCABS]; /* kept open: a tokenizer may point into its file */
static int n_vocabs, roundtrip = 1;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    const char *root = getenv("SCARCE_SHARED");
    if (!root || !*root) root = "../shared";
    roundtrip = !getenv("FUZZ_NO_ROUNDTRIP");
    for (int i = 0; i < MAX_VOCABS; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", root, vocab_files[i]);
        scarce_error err = {0};
        gguf_file *f = gguf_open(path, &err);
        tokenizer *t = f ? tokenizer_load(f, &err) : NULL;
        if (!t) {
            fprintf(stderr, "fuzz_tokenizer: skipping %s: %s\n", path, err.msg);
            gguf_close(f);
            continue;
        }
        files[n_vocabs] = f;
        vocabs[n_vocabs++] = t;
    }
    if (n_vocabs == 0) {
        fprintf(stderr, "fuzz_tokenizer: no vocabulary loaded (SCARCE_SHARED=%s)\n", root);
        exit(1);
    }
    return 0;
}

static int valid_utf8(const uint8_t *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n) return 0;
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        for (int k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += len;
    }
    return 1;
}

static void fuzz_encode(const tokenizer *t, int flags, const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    size_t len = strlen(text);
    int add_bos = flags & 1;
    /* small max_ids exercises the overflow check; tokenizer_max_ids is always enough (len + 3
     * was not: an invalid UTF-8 lead byte before a space swallows 2 of its 3 bytes) */
    int max_ids = flags & 2 ? 1 + (flags >> 2) % 8 : (int)tokenizer_max_ids(len);
    int *ids = malloc(sizeof(int) * (size_t)max_ids);
    scarce_error err = {0};
    int n = tokenizer_encode(t, text, add_bos, ids, max_ids, &err);
    if (n < 0 && (!err.msg[0] || strchr(err.msg, '\n'))) abort();
    if (n > max_ids || (n < 0 && !(flags & 2) && strstr(err.msg, "max_ids"))) abort();
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= tokenizer_n_vocab(t)) abort();
    /* control tokens matched in the text (e.g. "<|endoftext|>") decode to nothing, as
     * llama.cpp's detokenizer does without specials, and "<unk>" matched in the text
     * decodes to U+2585 as in llama.cpp: no round trip through either */
    int has_control = 0;
    const int unk = tokenizer_find(t, "<unk>");
    for (int i = 0; i < n; i++) {
        char piece[64];
        if (!(i == 0 && add_bos) && tokenizer_piece(t, -1, ids[i], piece, sizeof piece) == 0)
            has_control = 1;
        if (unk >= 0 && ids[i] == unk) has_control = 1;
    }
    if (n >= 0 && !(flags & 2) && roundtrip && add_bos && !has_control &&
        valid_utf8((uint8_t *)text, len) && !strstr(text, "\xe2\x96\x81")) {
        size_t cap = 4 * len + 64;
        char *back = malloc(cap);
        int got = tokenizer_decode(t, ids, n, back, cap);
        if (got < 0 || (size_t)got != len || memcmp(back, text, len)) {
            fprintf(stderr, "round trip: '%s' -> '%s' (%d ids)\n", text, got < 0 ? "" : back, n);
            abort();
        }
        free(back);
    }
    free(ids);
    free(text);
}

static void fuzz_decode(const tokenizer *t, int flags, const uint8_t *data, size_t size) {
    int n = (int)(size / 2), n_vocab = tokenizer_n_vocab(t);
    int *ids = malloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) ids[i] = (data[2 * i] | data[2 * i + 1] << 8) % n_vocab;
    size_t cap = 1 + (size_t)(flags >> 1) * 4; /* 1..509 bytes: often too small */
    char *out = malloc(cap);
    int got = tokenizer_decode(t, ids, n, out, cap);
    if (got >= 0 && ((size_t)got >= cap || out[got] != 0)) abort();
    for (int i = 0; i < n; i++) {
        int len = tokenizer_piece(t, i ? ids[i - 1] : -1, ids[i], out, (int)cap);
        if (len < 0 || (size_t)len >= cap) abort();
    }
    free(out);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const tokenizer *t = vocabs[data[0] % n_vocabs];
    int flags = data[1];
    if (flags & 0x80)
        fuzz_decode(t, flags & 0x7f, data + 2, size - 2);
    else
        fuzz_encode(t, flags, data + 2, size - 2);
    return 0;
}
