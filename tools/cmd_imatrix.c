/* cmd_imatrix.c - scarce imatrix -m MODEL -f TEXT [-c 256] [--chunks N] -o FILE [-t N]:
 * runs the model over chunks of the text and saves E[x^2] per input column of every
 * weight matrix (scarce_ppl_save_imatrix), for scarce quantize --imatrix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/scarce.h"
#include "api_setup.h"
#include "cli.h"
#include "readfile.h"

#define CMD "imatrix"

static void usage(FILE *out) {
    fprintf(out,
            "usage: scarce imatrix -m MODEL.gguf -f TEXT [-c 256] [--chunks N] -o FILE [-t N]\n"
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
        if (!strcmp(f, "-m"))
            a->model = v;
        else if (!strcmp(f, "-f"))
            a->text = v;
        else if (!strcmp(f, "-o"))
            a->out = v;
        else if (!strcmp(f, "-c")) {
            if (cli_int(CMD, f, v, 2, 1 << 20, &a->n_ctx)) return -1;
        } else if (!strcmp(f, "--chunks")) {
            if (cli_int(CMD, f, v, 1, 1 << 30, &a->max_chunks)) return -1;
        } else if (!strcmp(f, "-t")) {
            if (cli_int(CMD, f, v, 1, 1024, &a->threads)) return -1;
        } else
            return cli_error(CMD, -1, "unknown option %s", f);
    }
    if (!a->model || !a->text || !a->out) return usage(stderr), -1;
    return 0;
}

/* Every chunk as it is (no BOS put in), every position scored: the perplexity printed is
 * a check that the model ran sensibly on the text, not llama-perplexity's figure. */
static int collect(const args *a, scarce_model *m, const int32_t *ids, int n_tok) {
    const scarce_ppl_params pp = {.n_ctx = (int)a->n_ctx,
                                  .n_windows = (int)a->max_chunks,
                                  .scoring = SCARCE_PPL_ALL,
                                  .imatrix = 1};
    scarce_ppl *ppl = NULL;
    scarce_ppl_info in;
    scarce_ppl_result res;
    if (scarce_ppl_begin(m, ids, n_tok, &pp, &ppl))
        return cli_error(CMD, EXIT_RUNTIME, "%s", scarce_model_error(m));
    int rc = EXIT_RUNTIME;
    scarce_ppl_get_info(ppl, &in);
    for (int c = 0; c < in.n_windows; c++)
        if (scarce_ppl_next(ppl, NULL)) {
            cli_error(CMD, EXIT_RUNTIME, "chunk %d: %s", c, scarce_ppl_error(ppl));
            goto done;
        }
    if (scarce_ppl_save_imatrix(ppl, a->out, a->text)) {
        cli_error(CMD, EXIT_RUNTIME, "%s", scarce_ppl_error(ppl));
        goto done;
    }
    scarce_ppl_get_result(ppl, &res);
    printf("%d chunks of %ld tokens, %d weight matrices, perplexity %.4f; wrote %s\n",
           res.n_windows, a->n_ctx, res.n_imatrix, res.ppl, a->out);
    rc = EXIT_OK;
done:
    scarce_ppl_free(ppl);
    return rc;
}

int cmd_imatrix(int argc, char **argv) {
    args a = {.n_ctx = 256};
    int p = parse(argc, argv, &a);
    if (p) return p > 0 ? EXIT_OK : EXIT_USAGE;
    const scarce_model_params mp = api_setup_model_params(a.threads ? (int)a.threads : 1);
    scarce_model *m = NULL;
    int32_t *ids = NULL;
    int n_tok = 0, rc = EXIT_RUNTIME;
    char msg[512];
    if (scarce_model_open(a.model, &mp, &m, msg, sizeof msg) ||
        !(ids = read_text_ids(m, a.text, &n_tok, msg))) {
        cli_error(CMD, EXIT_RUNTIME, "%s", msg);
    } else if (n_tok / a.n_ctx < 1) {
        cli_error(CMD, EXIT_RUNTIME, "%s: %d tokens, fewer than one chunk of %ld", a.text, n_tok,
                  a.n_ctx);
    } else {
        rc = collect(&a, m, ids, n_tok);
    }
    free(ids);
    scarce_model_close(m);
    return rc;
}
