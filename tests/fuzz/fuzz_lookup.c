/* fuzz_lookup.c - the n-gram lookup (engine/lookup.c) on arbitrary token sequences, held
 * to a brute-force search.
 *
 * Input: byte 0 picks n_max (1..LOOKUP_MAX_N) and n_min, byte 1 the draft length k
 * (0..31) and the alphabet (a small one makes n-grams repeat), byte 2 where the input
 * splits into the --lookup-file part and the prompt/history part, byte 3 how the history
 * grows between drafts; the rest are little-endian u16 token ids. When the vocabulary of
 * stories260K is found (SCARCE_SHARED), flag bit 7 of byte 1 makes the file part text that
 * goes through the tokenizer first, as `--lookup-file` does (tools/textfile.c).
 *
 * As speculative.c does, the history is indexed in steps (lookup_index_update on a growing
 * prefix) and a draft is asked for after each step, from the history and the file. Each
 * draft must equal what a linear scan finds: for the longest n first, the most recent
 * earlier occurrence of the last n tokens in the source searched first, then what followed
 * it, up to k tokens. ASan checks every read stays inside the sequences. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../engine/gguf.h"
#include "../../engine/lookup.h"
#include "../../engine/tokenizer.h"

static gguf_file *vocab_file;
static tokenizer *vocab;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    const char *root = getenv("SCARCE_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/models/stories260K.gguf", root && *root ? root : "../shared");
    scarce_error err = {0};
    if ((vocab_file = gguf_open(path, &err)) && !(vocab = tokenizer_load(vocab_file, &err))) {
        gguf_close(vocab_file);
        vocab_file = NULL;
    }
    if (!vocab) fprintf(stderr, "fuzz_lookup: no vocabulary, file part stays ids: %s\n", err.msg);
    return 0;
}

/* The oracle is not instrumented: its branches are no coverage of lookup.c, and tracing
 * its compares cost 20x the target's own time. */
#if defined(__clang__)
#define ORACLE __attribute__((no_sanitize("coverage")))
#else
#define ORACLE
#endif

/* at[n] = position after the most recent occurrence in t[0..len) of the last n tokens of
 * ctx that has a token after it, or -1 (n <= n_max): the index's answers, by one scan. */
ORACLE static void scan_source(const int *t, int len, const int *ctx, int ctx_len, int n_max,
                               int *at) {
    for (int n = 0; n <= n_max; n++) at[n] = -1;
    for (int f = len - 1; f >= 1; f--) {
        int m = 0; /* common suffix of t[0..f) and ctx */
        while (m < n_max && m < f && m < ctx_len && t[f - 1 - m] == ctx[ctx_len - 1 - m]) m++;
        for (int n = 1; n <= m; n++)
            if (at[n] < 0) at[n] = f;
    }
}

/* The draft lookup_draft must return, by brute force: longest n first, sources in order. */
ORACLE static int scan_draft(const lookup_source *src, int n_src, const int *ctx, int ctx_len,
                             int k, int *draft, int *matched_n, int *source) {
    int n_max = 0, at[2][LOOKUP_MAX_N + 1];
    for (int i = 0; i < n_src; i++) {
        if (src[i].ix->n_max > n_max) n_max = src[i].ix->n_max;
        scan_source(src[i].tokens, src[i].len, ctx, ctx_len, src[i].ix->n_max, at[i]);
    }
    for (int n = n_max < ctx_len ? n_max : ctx_len; n >= 1; n--)
        for (int i = 0; i < n_src; i++) {
            if (n < src[i].ix->n_min || n > src[i].ix->n_max) continue;
            const int next = at[i][n];
            if (next < 0) continue;
            int got = 0;
            while (got < k && next + got < src[i].len)
                draft[got] = src[i].tokens[next + got], got++;
            *matched_n = n, *source = i;
            return got;
        }
    return 0;
}

/* The file part as ids: raw u16 ids, or its bytes tokenized (BOS dropped, as run_spec.c
 * does). NULL on a tokenizer refusal (then nothing to test). */
static int *file_ids(const uint8_t *p, size_t bytes, int as_text, int alphabet, int *n) {
    int *ids = malloc((bytes + 2) * sizeof *ids);
    if (!ids) abort();
    if (as_text && vocab) {
        char *text = malloc(bytes + 1);
        if (!text) abort();
        memcpy(text, p, bytes);
        text[bytes] = 0;
        scarce_error err = {0};
        *n = tokenizer_encode(vocab, text, tokenizer_add_bos(vocab), ids, (int)bytes + 2, &err);
        free(text);
        if (*n < 0) return free(ids), NULL;
        if (*n > 0 && ids[0] == tokenizer_bos(vocab))
            memmove(ids, ids + 1, (size_t)-- * n * sizeof *ids);
        return ids;
    }
    *n = (int)(bytes / 2);
    for (int i = 0; i < *n; i++) ids[i] = (p[2 * i] | p[2 * i + 1] << 8) % alphabet;
    return ids;
}

static void check_draft(const lookup_source *src, int n_src, const int *ctx, int ctx_len, int k) {
    int draft[32], want[32], n = -1, i = -1, want_n = -1, want_i = -1;
    const int got = lookup_draft(src, n_src, ctx, ctx_len, k, draft, &n, &i);
    const int expect = scan_draft(src, n_src, ctx, ctx_len, k, want, &want_n, &want_i);
    if (got != expect || (got && (n != want_n || i != want_i)) ||
        memcmp(draft, want, (size_t)got * sizeof *draft)) {
        fprintf(stderr, "lookup_draft: %d tokens (n %d, source %d), scan: %d (n %d, source %d)\n",
                got, n, i, expect, want_n, want_i);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    const int n_max = 1 + data[0] % LOOKUP_MAX_N, n_min = 1 + (data[0] >> 4) % n_max;
    const int k = data[1] & 31, alphabet = (data[1] & 64) ? 4 : 65536, as_text = data[1] >> 7;
    int step = 1 + data[3] % 8;
    const uint8_t *body = data + 4;
    size_t rest = size - 4, split = rest * data[2] / 256;
    int n_file = 0, *file = file_ids(body, split, as_text, alphabet, &n_file);
    if (!file) return 0;
    const int n_hist = (int)((rest - split) / 2);
    int *hist = malloc((size_t)(n_hist + 1) * sizeof *hist); /* exact size: ASan sees overreads */
    if (!hist) abort();
    for (int j = 0; j < n_hist; j++)
        hist[j] = (body[split + 2 * j] | body[split + 2 * j + 1] << 8) % alphabet;
    if (step < n_hist / 64) step = n_hist / 64; /* the scan is quadratic: at most ~64 drafts */

    lookup_index ctx_ix, file_ix;
    if (lookup_index_init(&ctx_ix, n_min, n_max) || lookup_index_init(&file_ix, n_min, n_max) ||
        lookup_index_update(&file_ix, file, n_file))
        abort(); /* inputs this small never run out of memory */
    /* the history grows by `step` tokens between drafts, the way committed tokens do */
    for (int len = 0;; len = len + step < n_hist ? len + step : n_hist) {
        if (lookup_index_update(&ctx_ix, hist, len)) abort();
        const lookup_source src[2] = {{&ctx_ix, hist, len}, {&file_ix, file, n_file}};
        check_draft(src, 2, hist, len, k);
        check_draft(src, 1, hist, len, k); /* no --lookup-file */
        if (len == n_hist) break;
    }
    lookup_index_free(&ctx_ix);
    lookup_index_free(&file_ix);
    free(hist);
    free(file);
    return 0;
}
