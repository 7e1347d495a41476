/* cmd_imatrix.c - scarce imatrix -m MODEL -f TEXT [-c 256] [--chunks N] -o FILE [-t N]:
 * runs the model over chunks of the text and saves E[x^2] per input column of every
 * weight matrix (engine/imatrix.h), for scarce quantize --imatrix. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../engine/forward.h"
#include "../engine/imatrix.h"
#include "../engine/ppl.h"
#include "../engine/tokenizer.h"
#include "cli.h"
#include "kernel_setup.h"
#include "textfile.h"

#define CMD "imatrix"

static void usage(FILE *out) {
    fprintf(out, "usage: scarce imatrix -m MODEL.gguf -f TEXT [-c 256] [--chunks N] -o FILE [-t N]\n"
                 "  runs the model over up to N chunks of c tokens of TEXT (all of it by default)\n"
                 "  and writes the mean squared activation of every input column of every\n"
                 "  weight matrix to FILE (a GGUF), for scarce quantize --imatrix FILE.\n");
}

typedef struct {
    const char *model, *text, *out;
    long n_ctx, max_chunks, threads;
} args;

static int parse(int argc, char **argv, args *a) {
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v;
        if (!strcmp(f, "-h") || !strcmp(f, "--help")) return usage(stdout), 1;
        if (!(v = cli_value(CMD, argc, argv, &i))) return -1;
        if (!strcmp(f, "-m")) a->model = v;
        else if (!strcmp(f, "-f")) a->text = v;
        else if (!strcmp(f, "-o")) a->out = v;
        else if (!strcmp(f, "-c")) { if (cli_int(CMD, f, v, 2, 1 << 20, &a->n_ctx)) return -1; }
        else if (!strcmp(f, "--chunks")) { if (cli_int(CMD, f, v, 1, 1 << 30, &a->max_chunks)) return -1; }
        else if (!strcmp(f, "-t")) { if (cli_int(CMD, f, v, 1, 1024, &a->threads)) return -1; }
        else return cli_error(CMD, -1, "unknown option %s", f);
    }
    if (!a->model || !a->text || !a->out) return usage(stderr), -1;
    return 0;
}

int cmd_imatrix(int argc, char **argv) {
    args a = {.n_ctx = 256};
    int p = parse(argc, argv, &a);
    if (p) return p > 0 ? EXIT_OK : EXIT_USAGE;
    scarce_error err;
    model *m = NULL;
    tokenizer *tok = NULL;
    imatrix *im = imatrix_new();
    session s = {0};
    int *ids = NULL, n_tok = 0, rc = EXIT_RUNTIME, have_session = 0;
    const model_options opts = kernel_setup_options(a.threads ? (int)a.threads : 1);
    if (!(m = model_load(a.model, &opts, &err)) || !(tok = tokenizer_load(m->file, &err)) || !im ||
        session_init(&s, m, (int)a.n_ctx, &err)) {
        cli_error(CMD, EXIT_RUNTIME, "%s", im ? err.msg : "out of memory");
        goto done;
    }
    have_session = 1;
    if (!(ids = tokenize_file(a.text, tok, &n_tok, &err))) {
        cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    int n_chunks = n_tok / (int)a.n_ctx;
    if (a.max_chunks && n_chunks > a.max_chunks) n_chunks = (int)a.max_chunks;
    if (n_chunks < 1) {
        cli_error(CMD, EXIT_RUNTIME, "%s: %d tokens, fewer than one chunk of %ld", a.text, n_tok, a.n_ctx);
        goto done;
    }
    s.act_hook = imatrix_observe;
    s.act_hook_ctx = im;
    double sum_nll = 0;
    long n_scored = 0;
    for (int c = 0; c < n_chunks; c++) {
        int *chunk = ids + (size_t)c * a.n_ctx;
        kvcache_truncate(&s.cache, 0);
        const float *logits = forward(&s, chunk, (int)a.n_ctx, 1, &err);
        if (!logits) {
            cli_error(CMD, EXIT_RUNTIME, "chunk %d: %s", c, err.msg);
            goto done;
        }
        for (long t = 0; t + 1 < a.n_ctx; t++, n_scored++)
            sum_nll += nll_row(logits + (size_t)t * m->cfg.n_vocab, m->cfg.n_vocab, chunk[t + 1]);
    }
    if (imatrix_write(im, a.out, n_chunks, (int)a.n_ctx, a.text, &err)) {
        cli_error(CMD, EXIT_RUNTIME, "%s", err.msg);
        goto done;
    }
    printf("%d chunks of %ld tokens, %d weight matrices, perplexity %.4f; wrote %s\n", n_chunks,
           a.n_ctx, imatrix_count(im), exp(sum_nll / (double)n_scored), a.out);
    rc = EXIT_OK;
done:
    if (have_session) session_free(&s);
    tokenizer_free(tok);
    model_free(m);
    imatrix_free(im);
    free(ids);
    return rc;
}
