/* cmd_logits_diff.c - scarce logits-diff: our next-token distributions against the ones
 * llama.cpp's llama-perplexity saved with --kl-divergence-base FILE, on the same tokens.
 *
 * That file holds: "_logits_", int32 n_ctx, int32 n_vocab, int32 n_chunk, the evaluated
 * tokens (n_chunk x n_ctx int32, from llama.cpp's own tokenizer, BOS first), then for each
 * chunk the scored rows (positions n_ctx/2 .. n_ctx-2), each 4 + 2*ceil(n_vocab/2) uint16:
 * float scale, float min_log_prob, then per token q with log p = min_log_prob + q * scale
 * (q = 0: at or below the floor, 16 nats under the top logit). Each chunk starts with BOS
 * in place of its first token, as llama-perplexity evaluates it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/scarce.h"
#include "api_setup.h"
#include "cli.h"
#include "readfile.h"

#define CMD "logits-diff"

typedef struct {
    int32_t n_ctx, n_vocab, n_chunk;
    int32_t *tokens;
    FILE *f;
} llama_logits;

/* 0, or -1 with msg (512 bytes) filled */
static int open_logits(const char *path, llama_logits *l, char *msg) {
    char magic[8];
    memset(l, 0, sizeof *l);
    if (!(l->f = fopen(path, "rb"))) return snprintf(msg, 512, "%s: cannot open", path), -1;
    if (fread(magic, 1, 8, l->f) != 8 || memcmp(magic, "_logits_", 8) ||
        fread(&l->n_ctx, 4, 1, l->f) != 1 || fread(&l->n_vocab, 4, 1, l->f) != 1 ||
        fread(&l->n_chunk, 4, 1, l->f) != 1)
        return snprintf(msg, 512, "%s: not a llama-perplexity --kl-divergence-base file", path), -1;
    if (l->n_ctx < 4 || l->n_ctx > (1 << 20) || l->n_vocab < 2 || l->n_chunk < 1 ||
        (int64_t)l->n_ctx * l->n_chunk > (1 << 26))
        return snprintf(msg, 512, "%s: implausible header (n_ctx %d, n_vocab %d, n_chunk %d)",
                        path, l->n_ctx, l->n_vocab, l->n_chunk),
               -1;
    size_t n = (size_t)l->n_ctx * l->n_chunk;
    if (!(l->tokens = malloc(n * 4)) || fread(l->tokens, 4, n, l->f) != n)
        return snprintf(msg, 512, "%s: truncated token list", path), -1;
    return 0;
}

/* The whole text of the file as ids, BOS first when the vocabulary adds one (as ppl and
 * imatrix read their text): malloc'd, *n ids; NULL with msg (512 bytes) naming the file. */
static int32_t *tokenize_text_file(scarce_model *m, const char *path, int *n, char *msg) {
    size_t len;
    char *text = read_file_text(path, &len, msg);
    if (!text) return NULL;
    /* a token covers at least one byte, plus BOS: len + 2 ids always suffice */
    int32_t *ids = len < (1u << 30) ? malloc((len + 2) * sizeof *ids) : NULL;
    *n = ids ? scarce_tokenize(m, text, scarce_token_add_flags(m) & SCARCE_ADD_BOS, ids,
                               (int)len + 2)
             : SCARCE_ERR_MEMORY;
    free(text);
    if (*n >= 0) return ids;
    snprintf(msg, 512, "%s: %s", path, ids ? scarce_model_error(m) : "out of memory");
    free(ids);
    return NULL;
}

typedef struct {
    double max_abs, sum_abs, kl;
    long n_cmp, rows, top1_same;
} diff_stats;

/* Compares one row of our logits with llama.cpp's quantized log-probabilities. */
static void compare_row(const float *logits, const uint16_t *row, int n_vocab, double *lp,
                        diff_stats *d) {
    float scale, min_lp;
    memcpy(&scale, row, 4);
    memcpy(&min_lp, row + 2, 4);
    const uint16_t *q = row + 4;
    double mx = logits[0];
    for (int i = 1; i < n_vocab; i++) mx = fmax(mx, logits[i]);
    double sum = 0;
    for (int i = 0; i < n_vocab; i++) sum += exp(logits[i] - mx);
    const double lse = mx + log(sum);
    int ours = 0, theirs = 0;
    for (int i = 0; i < n_vocab; i++) {
        lp[i] = logits[i] - lse;
        if (logits[i] > logits[ours]) ours = i;
        if (q[i] > q[theirs]) theirs = i;
    }
    double kl = 0;
    for (int i = 0; i < n_vocab; i++) {
        double their_lp = min_lp + q[i] * (double)scale;
        if (q[i] > 0) { /* above llama.cpp's floor: a real value to compare */
            double a = fabs(their_lp - lp[i]);
            d->max_abs = fmax(d->max_abs, a);
            d->sum_abs += a;
            d->n_cmp++;
            /* entries at the floor carry < e^-16 each and no exact value: left out */
            kl += exp(their_lp) * (their_lp - lp[i]);
        }
    }
    d->kl += kl;
    d->top1_same += ours == theirs;
    d->rows++;
}

int cmd_logits_diff(int argc, char **argv) {
    const char *model_path = NULL, *logits_path = NULL, *text_path = NULL;
    long threads = 1;
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) {
            printf("usage: scarce logits-diff -m MODEL --llama-logits FILE [-f TEXT] [-t N]\n"
                   "  FILE from: llama-perplexity -m MODEL -f TEXT -c N --kl-divergence-base FILE\n"
                   "  -f TEXT also compares our tokenization of TEXT with llama.cpp's\n");
            return EXIT_OK;
        }
        if (!(v = cli_value(CMD, argc, argv, &i))) return EXIT_USAGE;
        if (!strcmp(f, "-m")) model_path = v;
        else if (!strcmp(f, "--llama-logits")) logits_path = v;
        else if (!strcmp(f, "-f")) text_path = v;
        else if (!strcmp(f, "-t")) { if (cli_int(CMD, f, v, 1, 1024, &threads)) return EXIT_USAGE; }
        else return cli_error(CMD, EXIT_USAGE, "unknown option %s", f);
    }
    if (!model_path || !logits_path) return cli_error(CMD, EXIT_USAGE, "-m and --llama-logits are required");
    char msg[512] = "";
    llama_logits l;
    scarce_model *m = NULL;
    scarce_context *ctx = NULL;
    int rc = EXIT_RUNTIME;
    const scarce_model_params mp = api_setup_model_params((int)threads);
    if (open_logits(logits_path, &l, msg) || scarce_model_open(model_path, &mp, &m, msg, sizeof msg)) {
        cli_error(CMD, EXIT_RUNTIME, "%s", msg);
        goto done;
    }
    if (l.n_vocab != scarce_model_n_vocab(m)) {
        cli_error(CMD, EXIT_RUNTIME, "%s has %d tokens, %s %d", logits_path, l.n_vocab, model_path,
                  scarce_model_n_vocab(m));
        goto done;
    }
    if (text_path) { /* tokenization parity over the whole evaluated span */
        size_t n_tok = (size_t)l.n_ctx * l.n_chunk, same = 0;
        int n = 0;
        int32_t *ids = tokenize_text_file(m, text_path, &n, msg);
        while (ids && same < n_tok && same < (size_t)n && ids[same] == l.tokens[same]) same++;
        if (ids)
            printf("tokens: %zu of the %zu llama.cpp evaluated are identical%s\n", same, n_tok,
                   same == n_tok ? " (all)" : "");
        else
            printf("tokens: %s\n", msg);
        free(ids);
    }
    const int first = l.n_ctx / 2, nv = 2 * ((l.n_vocab + 1) / 2) + 4, n_rows = l.n_ctx - 1 - first;
    uint16_t *rows = malloc((size_t)n_rows * nv * 2);
    double *lp = malloc((size_t)l.n_vocab * sizeof(double));
    int32_t *chunk = malloc((size_t)l.n_ctx * sizeof *chunk);
    scarce_context_params cp = scarce_context_default_params();
    cp.n_ctx = l.n_ctx;
    if (!rows || !lp || !chunk || scarce_context_new(m, &cp, &ctx)) {
        cli_error(CMD, EXIT_RUNTIME, "%s", rows && lp && chunk ? scarce_model_error(m) : "out of memory");
        free(rows), free(lp), free(chunk);
        goto done;
    }
    const int bos = scarce_token_bos(m);
    const int add_bos = (scarce_token_add_flags(m) & SCARCE_ADD_BOS) && bos >= 0;
    diff_stats d = {0};
    for (int c = 0; c < l.n_chunk; c++) {
        if (fread(rows, 2 * (size_t)nv, (size_t)n_rows, l.f) != (size_t)n_rows) {
            cli_error(CMD, EXIT_RUNTIME, "%s: truncated at chunk %d", logits_path, c);
            break;
        }
        memcpy(chunk, l.tokens + (size_t)c * l.n_ctx, (size_t)l.n_ctx * sizeof *chunk);
        if (add_bos) chunk[0] = bos;
        const float *logits;
        if (scarce_context_reset(ctx) || scarce_eval(ctx, chunk, l.n_ctx, 1, &logits)) {
            cli_error(CMD, EXIT_RUNTIME, "%s", scarce_context_error(ctx));
            break;
        }
        for (int j = 0; j < n_rows; j++)
            compare_row(logits + (size_t)(first + j) * l.n_vocab, rows + (size_t)j * nv, l.n_vocab, lp, &d);
        if (c == l.n_chunk - 1) rc = EXIT_OK;
    }
    if (rc == EXIT_OK)
        printf("rows %ld (%d chunks of %d, second halves): max |dlogp| %.5f, mean |dlogp| %.6f, "
               "top-1 agreement %.2f%%, mean KL(llama.cpp || scarce) %.3g\n",
               d.rows, l.n_chunk, l.n_ctx, d.max_abs, d.sum_abs / (d.n_cmp ? d.n_cmp : 1),
               100.0 * d.top1_same / (d.rows ? d.rows : 1), d.kl / (d.rows ? d.rows : 1));
    free(rows), free(lp), free(chunk);
done:
    scarce_context_free(ctx);
    scarce_model_close(m);
    free(l.tokens);
    if (l.f) fclose(l.f);
    return rc;
}
